"""Superposition study: extract (derived arrays per snapshot) and analyse (plateaus, tables)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History
from ..io import read_arrays, write_arrays, write_csv, write_json
from .model import FOUR_FEATURES_LOSS, STUDY, tied_optimum_loss

REPRESENTED_ERROR = 0.5
# Feature directions (the geometry): W_E columns whose angles lie within DIRECTION_GAP_DEG of a
# neighbour form one direction; a direction counts when it carries at least DIRECTION_MIN_SHARE
# of Σ‖W_E column‖² (the tied pentagon: 5 directions of 20 % each; stragglers carry < 1 %).
DIRECTION_GAP_DEG = 10.0
DIRECTION_MIN_SHARE = 0.05
DIRECTION_MIN_NORM = 0.05  # columns shorter than this share of the longest have no direction


def find_plateaus(
    loss: np.ndarray, window: int, rel_tol: float, min_length: int, min_drop: float
) -> list[dict[str, Any]]:
    """Stretches where the loss falls by less than `rel_tol` (relative) over every `window` steps,
    lasting at least `min_length` steps. A plateau followed by a fall of at least `min_drop`
    (relative to its level) is transient; the others are marked `final`."""
    loss = np.asarray(loss, dtype=np.float64)
    if len(loss) <= window:
        return []
    fall = (loss[:-window] - loss[window:]) / loss[:-window]
    flat = np.concatenate([[0], (np.abs(fall) < rel_tol).astype(np.int8), [0]])
    edges = np.diff(flat)
    plateaus = []
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        end = min(len(loss), stop + window)
        if end - start < min_length:
            continue
        level = float(np.median(loss[start:end]))
        lowest_after = float(loss[end:].min()) if end < len(loss) else level
        drop = (level - lowest_after) / level
        plateaus.append(
            {
                "start": int(start),
                "end": int(end),
                "level": level,
                "drop_after": drop,
                "final": drop < min_drop,
            }
        )
    return plateaus


def direction_norms(w_e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature directions of every `W_E` in `w_e` (..., 2, f): mean angle (degrees, rising through
    one turn) and squared norm (summed over its columns) of each direction, as (..., f) arrays
    padded with NaN and 0. Columns shorter than DIRECTION_MIN_NORM of the longest are left out;
    sorted by angle, a gap of more than DIRECTION_GAP_DEG (around the circle) starts a new one."""
    lead, f = w_e.shape[:-2], w_e.shape[-1]
    w = w_e.reshape(-1, 2, f).astype(np.float64)
    rows = np.arange(len(w))[:, None]
    sq = np.square(w).sum(axis=1)  # (R, f)
    keep = sq >= DIRECTION_MIN_NORM**2 * sq.max(axis=1, keepdims=True)
    angle = np.where(keep, np.degrees(np.arctan2(w[:, 1], w[:, 0])), np.inf)
    order = np.argsort(angle, axis=1)  # kept columns first
    angle, sq = np.take_along_axis(angle, order, 1), np.take_along_axis(sq * keep, order, 1)
    last = keep.sum(axis=1) - 1
    nxt = np.roll(angle, -1, axis=1)
    nxt[rows[:, 0], last] = angle[:, 0] + 360  # the last kept column's neighbour: the first
    with np.errstate(invalid="ignore"):  # inf - inf past the kept columns
        gap = np.where(np.isfinite(angle), nxt - angle, -np.inf)  # gap[i]: from i to the next
    # Start after the widest gap, so that no direction straddles the start; angles then rise
    # from `first` (the angle after that gap) through one turn.
    widest = np.argmax(gap, axis=1)[:, None]
    first = np.take_along_axis(nxt, widest, 1)
    roll = (widest + 1 + np.arange(f)) % f
    angle, sq, gap = (np.take_along_axis(a, roll, 1) for a in (angle, sq, gap))
    angle = np.where(np.isfinite(angle), angle + 360 * (angle < first - 1e-9), first)
    step = np.concatenate([np.zeros_like(gap[:, :1]), gap[:, :-1]], 1) > DIRECTION_GAP_DEG
    index = (rows * f + np.cumsum(step, axis=1)).ravel()
    norms = np.bincount(index, sq.ravel(), len(w) * f).reshape(len(w), f)
    with np.errstate(invalid="ignore", divide="ignore"):  # mean angle, weighted by squared norm
        mean = np.bincount(index, (sq * angle).ravel(), len(w) * f).reshape(len(w), f) / norms
    mean = np.where(norms > 0, mean, np.nan)  # rising by direction, within one turn
    return mean.reshape(*lead, f), norms.reshape(*lead, f)


def direction_count(w_e: np.ndarray) -> np.ndarray:
    """Number of directions holding at least DIRECTION_MIN_SHARE of Σ‖W_E column‖²."""
    sq = direction_norms(w_e)[1]
    return (sq >= DIRECTION_MIN_SHARE * sq.sum(axis=-1, keepdims=True)).sum(axis=-1)


def counted_directions(w_e: np.ndarray) -> np.ndarray:
    """One `W_E` (2, f): rows (angle in degrees, Σ squared norm) of the directions that count,
    by rising angle. The tied optimum is degenerate: features sharing a direction act as one
    feature whose squared norm is their sum, so it may spread all 50 features over 5 directions."""
    mean, sq = direction_norms(w_e)
    counted = sq >= DIRECTION_MIN_SHARE * sq.sum()
    return np.stack([mean[counted], sq[counted]], axis=1)


def direction_geometry(w_e: np.ndarray) -> dict[str, float]:
    """One `W_E` (2, f): the counted directions' smallest angle to a neighbour (degrees) and mean
    squared norm (the tied optimum: 72° and 1/(1 + 2c²) = 0.8396, c = cos 72°)."""
    found = counted_directions(w_e)
    gaps = np.diff(np.append(found[:, 0], found[0, 0] + 360))
    return {
        "direction_gap_min": float(gaps.min()) if len(found) > 1 else float("nan"),
        "direction_sq_norm_mean": float(found[:, 1].mean()),
    }


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def extract(history: str, out: str) -> None:
    """Per snapshot and member: loss, feature norms, self-reconstruction weight diag ReLU(W_U W_E),
    per-feature error, the number of represented features and of feature directions
    (`direction_count`); the final W_E; W_U W_E itself for single runs."""
    with History(history) as h:
        steps, seeds = h.steps("params"), h.seed
        w_e, w_u = h.read("params", "W_E"), h.read("params", "W_U")  # (S, E, n, f), (S, E, f, n)
        arrays: dict[str, Any] = {
            "step": steps,
            "seed": seeds,
            "loss/step": h.steps("metrics"),
            "loss/value": h.read("metrics", "loss"),
        }
    n_snap, members, _, f = w_e.shape
    eye = np.eye(f, dtype=np.float32)
    snap_loss = np.empty((n_snap, members), np.float32)
    self_weight = np.empty((n_snap, members, f), np.float32)
    feature_error = np.empty((n_snap, members, f), np.float32)
    products = np.empty((n_snap, f, f), np.float32) if members == 1 else None
    for rows in _chunks(n_snap, 64):  # bounded memory for large ensembles
        m = np.matmul(w_u[rows], w_e[rows])  # (s, E, f, f); column i is the output for feature i
        relu = np.maximum(m, 0)
        sq_err = np.square(relu - eye)
        snap_loss[rows] = sq_err.mean(axis=(-1, -2))
        feature_error[rows] = sq_err.sum(axis=-2)
        self_weight[rows] = np.diagonal(relu, axis1=-2, axis2=-1)
        if products is not None:
            products[rows] = m[:, 0]
    arrays |= {
        "snapshot_loss": snap_loss,
        "embed_norm": np.linalg.norm(w_e, axis=2),
        "unembed_norm": np.linalg.norm(w_u, axis=3),
        "self_weight": self_weight,
        "feature_error": feature_error,
        # Represented: reconstructed with less than half the error of dropping it (which costs 1).
        "represented": (feature_error < REPRESENTED_ERROR).sum(axis=-1),
        "directions": direction_count(w_e),
        "final_W_E": w_e[-1],
    }
    if products is not None:
        arrays["products"] = products
    write_arrays(out, arrays, {"study": STUDY, "source": str(history)})


def analyse(
    config: dict[str, Any], extract: str, summary: str, members: str, plateaus: str
) -> None:
    """Plateaus and final state of every member; `config` is the study's `analysis` block."""
    x = read_arrays(extract)
    loss, seeds = x["loss/value"], np.atleast_1d(x["seed"])
    pentagon = tied_optimum_loss(x["self_weight"].shape[-1])
    plateau_rows, member_rows = [], []
    for k, seed in enumerate(seeds):
        found = find_plateaus(
            loss[:, k],
            config["window"],
            config["rel_tol"],
            config["min_length"],
            config["min_drop"],
        )
        plateau_rows += [{"seed": int(seed), **p} for p in found]
        at_pentagon = [
            p
            for p in found
            if not p["final"] and abs(p["level"] - pentagon) / pentagon < config["pentagon_tol"]
        ]
        if at_pentagon:  # the geometry in the middle of the pentagon plateau
            middle = (at_pentagon[0]["start"] + at_pentagon[0]["end"]) // 2
            on_plateau = int(x["directions"][np.searchsorted(x["step"], middle), k])
        member_rows.append(
            {
                "seed": int(seed),
                "final_loss": float(x["snapshot_loss"][-1, k]),
                "min_loss": float(x["snapshot_loss"][:, k].min()),
                "represented": int(x["represented"][-1, k]),
                "transient_plateaus": sum(not p["final"] for p in found),
                "pentagon_plateau_then_drop": bool(at_pentagon),
                "pentagon_plateau_end": at_pentagon[0]["end"] if at_pentagon else -1,
                "directions": int(x["directions"][-1, k]),
                "plateau_directions": on_plateau if at_pentagon else -1,
                **direction_geometry(x["final_W_E"][k]),
            }
        )
    table = pd.DataFrame(member_rows)
    columns = ["seed", "start", "end", "level", "drop_after", "final"]
    write_csv(plateaus, pd.DataFrame(plateau_rows, columns=columns))
    write_csv(members, table)
    final = table["final_loss"]
    out = {
        "members": len(table),
        "final_loss": {
            "median": final.median(),
            "q25": final.quantile(0.25),
            "q75": final.quantile(0.75),
            "min": final.min(),
            "max": final.max(),
        },
        "represented": table["represented"].value_counts().sort_index().to_dict(),
        "directions": table["directions"].value_counts().sort_index().to_dict(),
        "pentagon_plateau_then_drop_seeds": table.loc[
            table.pentagon_plateau_then_drop, "seed"
        ].tolist(),
        "reference": {"four_features": FOUR_FEATURES_LOSS, "tied_pentagon": pentagon},
        "per_seed": member_rows if len(table) <= 4 else None,
        "plateaus": plateau_rows if len(table) <= 4 else None,
    }
    write_json(summary, {k: v for k, v in out.items() if v is not None})
