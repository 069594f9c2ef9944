"""Grokking study: extract (curves and representations per job) and analyse (grokking times,
phases, tables per run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History, read_arrays, write_arrays
from ..io import write_csv, write_json
from .model import STUDY
from .runs import MEMBER_KEYS

PHASES = ("comprehension", "grokking", "memorization", "confusion")
METRICS = ("loss", "train_acc", "test_acc", "rqi")


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
        for k in range(x["loss"].shape[1]):
            row = {key[:-1]: x[f"member/{key}"][k].item() for key in MEMBER_KEYS}
            row |= {
                "t_train": t_train[k],
                "t_test": t_test[k],
                "t_rqi": t_rqi[k],
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


def analyse(config: dict[str, Any], extracts: list[str] | str, summary: str, members: str) -> None:
    """Grokking times and phases of every member of a run; `config` is the study's analysis
    block (thresholds, comprehension window) plus `p`."""
    extracts = [extracts] if isinstance(extracts, str) else extracts
    table = member_table(extracts, config)
    write_csv(members, table)
    out: dict[str, Any] = {"members": len(table)}
    if len(table) == 1:
        row = table.iloc[0].to_dict()
        out |= {k: _clean(v) for k, v in row.items()}
    else:
        out["phase_counts"] = {ph: int((table.phase == ph).sum()) for ph in PHASES}
        grok = table[table.phase == "grokking"]
        out["grokking_delay"] = {
            "median": _clean(float(grok.delay.median())) if len(grok) else None,
            "max": _clean(float(grok.delay.max())) if len(grok) else None,
        }
        if table.train_num.nunique() > 1:  # the training-fraction sweep
            n_all = config["p"] * (config["p"] + 1) // 2
            by = table.groupby("train_num")
            frac = pd.DataFrame(
                {
                    "fraction": by.size().index / n_all,
                    "test_acc_mean": by.final_test_acc.mean(),
                    "rqi_reached": by.t_rqi.apply(lambda t: float(np.isfinite(t).mean())),
                    "t_rqi_median": by.t_rqi.median(),
                }
            )
            forced = frac[frac.rqi_reached >= 0.5]
            out["by_train_num"] = {
                int(n): {k: _clean(float(v)) for k, v in r.items()} for n, r in frac.iterrows()
            }
            # Smallest fraction from which on at least half the seeds reach RQI > threshold.
            reached = (frac.rqi_reached >= 0.5).to_numpy()
            tail = np.flatnonzero(~reached)
            start = 0 if len(tail) == 0 else tail[-1] + 1
            out["critical_fraction"] = (
                float(frac.fraction.iloc[start]) if start < len(frac) and len(forced) else None
            )
    write_json(summary, out)
