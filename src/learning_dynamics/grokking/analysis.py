"""Grokking study: extract (curves and representations per job), analyse (grokking times,
phases, tables per run; phase-diagram cells over seeds; critical fractions of the fraction
sweeps) and the fraction summary (the effective theory beside the network's sweeps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History
from ..io import read_arrays, read_json, write_arrays, write_csv, write_json
from .model import STUDY, parallelograms
from .runs import MEMBER_KEYS
from .theory import constraint_matrix, crossing, effective_first_step

PHASES = ("comprehension", "grokking", "memorization", "confusion")
METRICS = ("loss", "train_acc", "test_acc", "rqi")
LOSS_EVERY = 100  # single runs' summaries list the loss every this many steps (the seed's log)


def first_step(values: np.ndarray, steps: np.ndarray, threshold: float, strict: bool) -> np.ndarray:
    """First step where values (S, E) reach the threshold (> if strict, else >=), per member;
    NaN where never. (The seed records the last epoch instead of "never", which makes a run that
    never generalises look like one that generalises at the very end; we keep them apart.)"""
    hit = values > threshold if strict else values >= threshold
    first = np.where(hit.any(axis=0), steps[hit.argmax(axis=0)], np.nan)
    return first.astype(np.float64)


def phase(t_train: float, t_test: float, window: float) -> str:
    """Comprehension: test follows train within `window` steps; grokking: test follows later;
    memorization: train only; confusion: train never reaches the threshold."""
    if np.isnan(t_train):
        return "confusion"
    if np.isnan(t_test):
        return "memorization"
    return "comprehension" if t_test - t_train <= window else "grokking"


def extract(history: str, data: str, out: str) -> None:
    """Per-step metric curves (steps, E), the representation snapshots (S, E, p), the members'
    settings and training masks (E, N; from the job's data file), from one job's history."""
    with History(history) as h:
        config = h.config
        arrays: dict[str, Any] = {
            "metric_step": h.steps("metrics"),
            "rep_step": h.steps("params"),
            "rep": h.read("params", "rep"),
        }
        for name in METRICS:
            arrays[name] = h.read("metrics", name)
    for key in MEMBER_KEYS:
        arrays[f"member/{key}"] = np.asarray(config[key])
    arrays["member/mask"] = read_arrays(data)["mask"]
    write_arrays(out, arrays, {"study": STUDY, "source": str(history)})


def predicted_accuracy(rep: np.ndarray, mask: np.ndarray, eps: float) -> np.ndarray:
    """The accuracy over all pairs that a representation predicts (Liu et al. 2022, Fig. 3:
    Acc-hat, the authors' Dbar(D, P)): training pairs count as right, and a test pair (i, j)
    too when some training pair (m, n) with m + n = i + j forms a parallelogram the
    representation satisfies (mean squared E_i + E_j - E_m - E_n below `eps`, E scaled by its
    std as in the RQI), since the decoder then sees the same input for both. `rep` (E, p) or
    (E, p, k), `mask` (E, N) the training pairs in the order of `model.pairs`; returns (E,)."""
    mask = np.asarray(mask, dtype=bool)
    e, p = rep.shape[:2]
    rep = rep.reshape(e, p, -1)
    scaled = rep / rep.std(axis=1, ddof=1, keepdims=True)
    gap = np.einsum("qs,esk->eqk", constraint_matrix(p), scaled)
    holds = (gap**2).mean(-1) < eps  # (E, P)
    par = parallelograms(p)
    reach = np.zeros(mask.shape[::-1])  # (N, E): test pairs reached through a training pair
    for a, b in ((par[:, 0], par[:, 1]), (par[:, 1], par[:, 0])):
        np.add.at(reach, a, (holds & ~mask[:, a] & mask[:, b]).T)
    return (mask | (reach.T > 0)).mean(axis=1)


def member_table(extracts: list[str], config: dict[str, Any]) -> pd.DataFrame:
    """One row per member of all jobs of a run: settings, grokking times, phase, final values,
    the final accuracy over all pairs and the accuracy its final representation predicts."""
    rows = []
    for path in extracts:
        x = read_arrays(path)
        mask = x["member/mask"]
        n_train = mask.sum(axis=1)
        predicted = predicted_accuracy(x["rep"][-1], mask, config["rqi_eps"])
        # The effective loss over all the dataset's parallelograms, as the authors' train_add
        # (Task 3) computes Fig. 4c; over the training set's only it is slower (see the docs).
        t_eff = effective_first_step(
            x["rep"][0], np.ones_like(mask), x["member/rep_lrs"], int(config["steps"]),
            config["rqi_paper"], config["rqi_eps"],
        )  # fmt: skip
        steps = x["metric_step"]
        t_train = first_step(x["train_acc"], steps, config["acc"], strict=False)
        t_test = first_step(x["test_acc"], steps, config["acc"], strict=False)
        t_rqi = first_step(x["rqi"], steps, config["rqi"], strict=True)
        t_rqi_paper = first_step(x["rqi"], steps, config["rqi_paper"], strict=True)
        for k in range(x["loss"].shape[1]):
            row = {key[:-1]: x[f"member/{key}"][k].item() for key in MEMBER_KEYS}
            row |= {
                "t_train": t_train[k],
                "t_test": t_test[k],
                "t_rqi": t_rqi[k],
                "t_rqi_paper": t_rqi_paper[k],
                "t_rqi_paper_theory": t_eff[k],
                "delay": t_test[k] - t_train[k],
                "phase": phase(t_train[k], t_test[k], config["comprehension_window"]),
                "final_loss": float(x["loss"][-1, k]),
                "final_train_acc": float(x["train_acc"][-1, k]),
                "final_test_acc": float(x["test_acc"][-1, k]),
                "final_acc": float(
                    (
                        n_train[k] * x["train_acc"][-1, k]
                        + (mask.shape[1] - n_train[k]) * x["test_acc"][-1, k]
                    )
                    / mask.shape[1]
                ),
                "predicted_acc": float(predicted[k]),
                "max_test_acc": float(x["test_acc"][:, k].max()),
                "final_rqi": float(x["rqi"][-1, k]),
                "max_rqi": float(x["rqi"][:, k].max()),
            }
            rows.append(row)
    return pd.DataFrame(rows)


def _clean(value: Any) -> Any:
    """NaN -> None for JSON (a time that was never reached)."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def majority(counts: dict[str, int]) -> str:
    """The most frequent phase; a tie goes to the phase first in PHASES (comprehension,
    grokking, memorization, confusion)."""
    return max(PHASES, key=lambda ph: (counts.get(ph, 0), -PHASES.index(ph)))


def cell_phases(table: pd.DataFrame, rows: str, cols: str = "dec_lr") -> pd.DataFrame:
    """One row per diagram cell (rows × cols): how many of its seeds fall in each phase, the
    majority phase, how many seeds agree with it, and the median grokking delay of its seeds
    where both accuracies were reached."""
    out = []
    for (r, c), cell in table.groupby([rows, cols], sort=True):
        counts = {ph: int((cell.phase == ph).sum()) for ph in PHASES}
        top = majority(counts)
        delays = cell.delay[np.isfinite(cell.delay)]
        out.append(
            {
                rows: r,
                cols: c,
                "seeds": len(cell),
                **counts,
                "majority": top,
                "agree": counts[top],
                "delay_median": float(delays.median()) if len(delays) else np.nan,
            }
        )
    return pd.DataFrame(out)


def weight_decay_effect(cells: pd.DataFrame) -> dict[str, Any]:
    """Fig. 5b's finding in numbers: the decoder lrs whose cell memorises (majority) without
    weight decay and comprehends (majority) at some weight decay > 0, with those weight decays."""
    found = {}
    for lr, col in cells.groupby("dec_lr", sort=True):
        col = col.sort_values("dec_wd")
        if col.majority.iloc[0] == "memorization" and col.dec_wd.iloc[0] == 0:
            wds = col.dec_wd[(col.dec_wd > 0) & (col.majority == "comprehension")]
            if len(wds):
                found[f"{lr:g}"] = [float(w) for w in wds]
    return {"memorization_to_comprehension": found, "decoder_lrs": len(found), "any": bool(found)}


def cells(members: str, rows: str, out: str) -> None:
    """DAG verb: a phase diagram's cells (`cell_phases`) as a CSV, one row per cell."""
    write_csv(out, cell_phases(pd.read_csv(members), rows))


def median_steps(t: pd.Series) -> float:
    """Median over seeds of the first step reaching a criterion, "never" counting as later than
    any budget (+inf): finite exactly when more than half the seeds reach it."""
    return float(np.median(np.where(np.isfinite(t), t, np.inf)))


# The fraction sweep's criteria: (name, member-table column, what it is).
CRITERIA = (
    ("rqi_paper", "t_rqi_paper", "RQI above analysis.rqi_paper (the paper's Fig. 4b: 0.95)"),
    ("rqi", "t_rqi", "RQI above analysis.rqi (ours: 0.99)"),
    ("test_acc", "t_test", "test accuracy at least analysis.acc (0.9)"),
)


def critical_fraction(fractions: np.ndarray, shares: np.ndarray) -> float | None:
    """Where the share of seeds reaching a criterion first reaches 1/2, linearly interpolated
    between the two swept fractions around it (the theory's rule, `theory.crossing`). None if
    no swept size gets there, or if the smallest already does: the crossing then lies below
    the grid, and the smallest fraction would only be a floor."""
    shares = np.asarray(shares, float)
    if len(shares) == 0 or shares[0] >= 0.5:
        return None
    return crossing(np.asarray(fractions, float), shares, 0.5)


def fraction_table(table: pd.DataFrame, p: int) -> pd.DataFrame:
    """Per training-set size: mean final test accuracy and, per criterion, the share of seeds
    that reach it and the median steps to it (inf: more than half never do)."""
    n_all = p * (p + 1) // 2
    rows = []
    for n, g in table.groupby("train_num", sort=True):
        row = {"train_num": int(n), "fraction": n / n_all, "seeds": len(g)}
        row["test_acc_mean"] = float(g.final_test_acc.mean())
        for name, column, _ in CRITERIA:
            row[f"{name}_reached"] = float(np.isfinite(g[column]).mean())
            row[f"{name}_median"] = median_steps(g[column])
        rows.append(row)
    return pd.DataFrame(rows)


def _json_number(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def analyse(config: dict[str, Any], extracts: list[str], summary: str, members: str) -> None:
    """Grokking times and phases of every member of a run; `config` is the study's analysis
    block (thresholds, comprehension window) plus `p`, `rqi_eps`, `run` and `steps` (the run's
    budget)."""
    table = member_table(extracts, config)
    write_csv(members, table)
    out: dict[str, Any] = {"members": len(table), "steps": int(config["steps"])}
    run = config["run"]
    if len(table) == 1:
        row = table.iloc[0].to_dict()
        out |= {k: _clean(v) for k, v in row.items()}
        # The training loss every LOSS_EVERY steps (the seed notebook prints it every 100).
        x = read_arrays(extracts[0])
        steps, loss = x["metric_step"], x["loss"][:, 0]
        out["theory_time_ratio"] = _json_number(
            float(row["t_rqi_paper"]) / float(row["t_rqi_paper_theory"])
        )  # Fig. 4c/d: the network's steps to RQI > rqi_paper over the effective theory's
        out["loss_at_step"] = {
            str(int(t)): float(v) for t, v in zip(steps, loss, strict=True) if t % LOSS_EVERY == 0
        }
    else:
        out["phase_counts"] = {ph: int((table.phase == ph).sum()) for ph in PHASES}
        grok = table[table.phase == "grokking"]
        out["grokking_delay"] = {
            "median": _clean(float(grok.delay.median())) if len(grok) else None,
            "max": _clean(float(grok.delay.max())) if len(grok) else None,
        }
    if run in ("lr", "wd"):
        rows = {"lr": "rep_lr", "wd": "dec_wd"}[run]
        cells = cell_phases(table, rows)
        out["seeds_per_cell"] = int(cells.seeds.min())
        out["seeds"] = sorted(int(s) for s in table.seed.unique())
        out["cells"] = len(cells)
        out["majority_counts"] = {ph: int((cells.majority == ph).sum()) for ph in PHASES}
        out["unanimous_cells"] = int((cells.agree == cells.seeds).sum())
        if run == "wd":
            out["weight_decay_effect"] = weight_decay_effect(cells)
        out["cell_table"] = [
            {k: _clean(v.item() if hasattr(v, "item") else v) for k, v in r.items()}
            for r in cells.to_dict("records")
        ]
    if run.startswith("fraction"):
        frac = fraction_table(table, config["p"])
        out["seeds_per_size"] = int(frac.seeds.min())
        out["by_train_num"] = {
            int(r["train_num"]): {
                k: _json_number(float(v)) for k, v in r.items() if k != "train_num"
            }
            for r in frac.to_dict("records")
        }
        out["critical_fraction"] = {
            name: critical_fraction(frac.fraction.to_numpy(), frac[f"{name}_reached"].to_numpy())
            for name, _, _ in CRITERIA
        }
        out["criteria"] = {name: text for name, _, text in CRITERIA}
        gap = (table.final_acc - table.predicted_acc).abs()
        out["predicted_accuracy"] = {  # Fig. 3: accuracy over all pairs, measured vs predicted
            "mean_abs_error": float(gap.mean()),
            "max_abs_error": float(gap.max()),
            "correlation": _json_number(
                float(np.corrcoef(table.final_acc, table.predicted_acc)[0, 1])
            ),
            "members": len(table),
        }
        both = table[np.isfinite(table.t_rqi_paper) & np.isfinite(table.t_rqi_paper_theory)]
        ratio = both.t_rqi_paper / both.t_rqi_paper_theory
        out["effective_theory"] = {  # Fig. 4c/d: network's steps to RQI > 0.95 over the theory's
            "median_ratio": _json_number(float(ratio.median())) if len(both) else None,
            "members_both": len(both),
            "members_theory": int(np.isfinite(table.t_rqi_paper_theory).sum()),
        }
    write_json(summary, out)


def fraction_summary(theory: str, runs: list[str], names: list[str], out: str) -> None:
    """DAG verb: the effective theory's critical fraction beside each fraction sweep's (one per
    start of the representation), in one JSON (`grokking/fraction/summary.json`)."""
    result: dict[str, Any] = {"theory": read_json(theory), "network": {}}
    for name, path in zip(names, runs, strict=True):
        s = read_json(path)
        result["network"][name] = {
            "critical_fraction": s["critical_fraction"],
            "seeds_per_size": s["seeds_per_size"],
            "steps": s["steps"],
            "by_train_num": s["by_train_num"],
            "predicted_accuracy": s["predicted_accuracy"],
            "effective_theory": s["effective_theory"],
        }
    write_json(out, result)
