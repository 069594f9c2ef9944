"""Memorization cell 1 (learning dynamics): a transformer trained with each loss (full divergence,
next token) against the random (log N − entropy) and optimal (trained low-rank) baselines, batch
and exact."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...plotting import COLUMN, plt, save_figure
from ..results import Extract, Result, member_table


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 1: both losses against the random (log N − entropy) and optimal (trained low-rank)
    baselines, batch and exact."""
    frame = member_table(exs[0], data[0])
    names = {
        ("transformer", "divergence"): "full_divergence",
        ("transformer", "next_token"): "next_token",
        ("low_rank", "divergence"): "low_rank",
    }
    frame.insert(0, "run", [names[(r.model, r.loss_type)] for r in frame.itertuples()])
    summary = {
        r.run: {k: getattr(r, k) for k in ("loss", "batch_accuracy", "divergence", "accuracy")}
        for r in frame.itertuples()
    }
    summary["random_baseline"] = float(frame.random.iloc[0])
    summary["optimal_baseline"] = summary["low_rank"]["divergence"]
    summary["params"] = int(frame.params.iloc[0])
    return Result(summary, frame, {})


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Running mean over `window` steps (shorter at the start), for noisy batch curves."""
    window = max(1, min(window, len(y)))
    c = np.cumsum(np.insert(y, 0, 0.0))
    out = (c[window:] - c[:-window]) / window
    head = c[1:window] / np.arange(1, window)
    return np.concatenate([head, out])


def plot(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 1: divergence and accuracy vs step for both losses, with both baselines."""
    ex = extracts[0]
    step, estep = ex["metrics/step"], ex["exact/step"]
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(2.2 * COLUMN, 0.8 * COLUMN))
    styles = {"full_divergence": ("C0", "full divergence"), "next_token": ("C1", "next token")}
    for row in table.itertuples():
        if row.run not in styles:
            continue
        colour, label = styles[row.run]
        k = row.member
        ax_l.plot(step, _smooth(ex["metrics/loss"][:, k], 50), color=colour, alpha=0.35, lw=0.8)
        ax_l.plot(estep, ex["exact/divergence"][:, k], color=colour, label=f"{label} (exact)")
        ax_a.plot(step, _smooth(ex["metrics/accuracy"][:, k], 50), color=colour, alpha=0.35, lw=0.8)
        ax_a.plot(estep, ex["exact/accuracy"][:, k], color=colour, label=f"{label} (expected)")
    ax_l.axhline(summary["random_baseline"], color="C3", ls="--", label="random: log N − H")
    ax_l.axhline(summary["optimal_baseline"], color="C2", ls="--", label="optimal: low-rank")
    ax_l.set(
        xlabel="batch (step)", ylabel="divergence (nats)", ylim=(0, None), title="learning dynamics"
    )
    n = int(table.N.iloc[0])
    ax_a.axhline(1 / n, color="k", ls=":", label="random 1/N")
    low = table[table.run == "low_rank"].iloc[0]
    ax_a.axhline(low.accuracy, color="C2", ls="--", label="low-rank (expected)")
    ax_a.set(xlabel="batch (step)", ylabel="accuracy", ylim=(-0.05, 1.05), title="accuracy")
    for ax, where in ((ax_l, "upper right"), (ax_a, "center right")):
        ax.plot([], [], color="grey", alpha=0.35, lw=0.8, label="batch values (50-step mean)")
        ax.legend(fontsize=7, loc=where)
    save_figure(fig, pdf, png)
