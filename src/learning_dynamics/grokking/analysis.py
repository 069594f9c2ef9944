"""Grokking study: extract (curves and representations per job), analyse (grokking times,
phases, tables per run; phase-diagram cells over seeds; critical fractions of the fraction
sweeps) and the fraction summary (the effective theory beside the network's sweeps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History
from ..io import read_arrays, read_json, write_arrays, write_csv, write_json
from .model import STUDY
from .runs import MEMBER_KEYS

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


def extract(history: str, out: str) -> None:
    """Per-step metric curves (steps, E), the representation snapshots (S, E, p) and the
    members' settings, from one job's history."""
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
    write_arrays(out, arrays, {"study": STUDY, "source": str(history)})


def member_table(extracts: list[str], config: dict[str, Any]) -> pd.DataFrame:
    """One row per member of all jobs of a run: settings, grokking times, phase, final values."""
    rows = []
    for path in extracts:
        x = read_arrays(path)
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
                "delay": t_test[k] - t_train[k],
                "phase": phase(t_train[k], t_test[k], config["comprehension_window"]),
                "final_loss": float(x["loss"][-1, k]),
                "final_train_acc": float(x["train_acc"][-1, k]),
                "final_test_acc": float(x["test_acc"][-1, k]),
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


def critical_fraction(fractions: np.ndarray, medians: np.ndarray) -> float | None:
    """The smallest swept fraction from which on (it and every larger one) the median over
    seeds of the steps to the criterion is within the budget (finite); None if not even at the
    largest fraction."""
    ok = np.isfinite(medians)
    tail = np.flatnonzero(~ok)
    start = 0 if len(tail) == 0 else int(tail[-1]) + 1
    return float(fractions[start]) if start < len(fractions) else None


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
    block (thresholds, comprehension window) plus `p`, `run` and `steps` (the run's budget)."""
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
            name: critical_fraction(frac.fraction.to_numpy(), frac[f"{name}_median"].to_numpy())
            for name, _, _ in CRITERIA
        }
        out["criteria"] = {name: text for name, _, text in CRITERIA}
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
        }
    write_json(out, result)
