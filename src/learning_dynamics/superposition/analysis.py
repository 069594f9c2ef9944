"""Superposition study: extract (derived arrays per snapshot) and analyse (plateaus, tables)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History
from ..io import read_arrays, write_arrays, write_csv, write_json
from .model import FOUR_FEATURES_LOSS, STUDY, tied_optimum_loss

REPRESENTED_ERROR = 0.5


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


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def extract(history: str, out: str) -> None:
    """Per snapshot and member: loss, feature norms, self-reconstruction weight diag ReLU(W_U W_E),
    per-feature error and the number of represented features; W_U W_E itself for single runs."""
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
        member_rows.append(
            {
                "seed": int(seed),
                "final_loss": float(x["snapshot_loss"][-1, k]),
                "min_loss": float(x["snapshot_loss"][:, k].min()),
                "represented": int(x["represented"][-1, k]),
                "transient_plateaus": sum(not p["final"] for p in found),
                "pentagon_plateau_then_drop": bool(at_pentagon),
                "pentagon_plateau_end": at_pentagon[0]["end"] if at_pentagon else -1,
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
        "pentagon_plateau_then_drop_seeds": table.loc[
            table.pentagon_plateau_then_drop, "seed"
        ].tolist(),
        "reference": {"four_features": FOUR_FEATURES_LOSS, "tied_pentagon": pentagon},
        "per_seed": member_rows if len(table) <= 4 else None,
        "plateaus": plateau_rows if len(table) <= 4 else None,
    }
    write_json(summary, {k: v for k, v in out.items() if v is not None})
