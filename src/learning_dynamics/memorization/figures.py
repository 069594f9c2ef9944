"""Memorization study: one figure per seed cell and per capacity sweep (the `plot` verb).

Every figure reads the files its analysis wrote (summary.json, table.csv, arrays.h5) and the
jobs' extracts for curves; nothing here trains.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..history import read_arrays
from ..plotting import COLUMN, plt, save_figure
from .analysis import Extract
from .capacity import AXIS as CAPACITY_AXIS
from .capacity import plot_capacity


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Running mean over `window` steps (shorter at the start), for noisy batch curves."""
    window = max(1, min(window, len(y)))
    c = np.cumsum(np.insert(y, 0, 0.0))
    out = (c[window:] - c[:-window]) / window
    head = c[1:window] / np.arange(1, window)
    return np.concatenate([head, out])


def plot_dynamics(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
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


def _bars(ax, labels, values, random, title) -> None:  # noqa: ANN001
    y = np.arange(len(labels))
    ax.barh(y, values, color="C0")
    for yi, v in zip(y, values, strict=True):
        ax.text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, labels)
    ax.axvline(random, color="C3", ls="--", label="random: log N − H")
    ax.set(xlabel="final exact divergence (nats)", title=title)
    ax.legend(fontsize=8, loc="lower right")


def plot_freezing(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 2: what training only the out-projections O buys, against training everything else."""
    fig, ax = plt.subplots(figsize=(1.6 * COLUMN, 0.5 * COLUMN + 0.3 * len(table)))
    labels = [
        f"trains {t}\n(acc {a:.2f})" for t, a in zip(table.trains, table.accuracy, strict=True)
    ]
    _bars(
        ax,
        labels,
        table.divergence.to_numpy(),
        summary["random_baseline"],
        f"freezing (N={table.N.iloc[0]}, d={table.d.iloc[0]}, H={table.para.iloc[0]})",
    )
    save_figure(fig, pdf, png)


def plot_architecture(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 4: final divergence for each setting of the skip switches."""
    fig, ax = plt.subplots(figsize=(1.8 * COLUMN, 0.4 * COLUMN + 0.22 * len(table)))
    labels = [f"skip {s}" if s != "none" else "full model" for s in table.skips]
    _bars(
        ax,
        labels,
        table.divergence.to_numpy(),
        summary["random_baseline"],
        "architecture: which inputs the heads need",
    )
    save_figure(fig, pdf, png)


def plot_scaling(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 3: final divergence over the grid, one line per setting besides the varied heads."""
    fig, ax = plt.subplots(figsize=(1.6 * COLUMN, 1.1 * COLUMN))
    keys = ["N", "alphas", "d", "mlp_width", "mlp_depth", "heads", "layers"]
    for i, (key, rows) in enumerate(table.groupby(keys, sort=True)):
        rows = rows.sort_values("para")
        label = f"N={key[0]} α={json.loads(key[1])} d={key[2]}"
        if key[3]:
            label += f" MLP {key[3]}×{key[4]}"
        if key[6] > 1:
            label += f" L={key[6]}"
        ax.plot(rows.para, rows.divergence, "o-", color=f"C{i}", label=label)
        ax.axhline(rows.best_divergence.iloc[0], color=f"C{i}", ls="--", lw=0.8)
    ax.axhline(table.unif_loss.iloc[0], color="C3", ls=":", label="random: log N − H")
    ax.set(
        xscale="log",
        xlabel="parallel heads",
        ylabel="final exact divergence (nats)",
        title="scaling (dashed: low-rank optimum)",
    )
    ax.legend(fontsize=7)
    save_figure(fig, pdf, png)


PLOTS = {
    "dynamics": plot_dynamics,
    "freezing": plot_freezing,
    "architecture": plot_architecture,
    "scaling": plot_scaling,
    **{s: (lambda *a, _s=s: plot_capacity(*a, sweep=_s)) for s in CAPACITY_AXIS},
}


def plot(
    cell: str,
    summary: str,
    table: str,
    arrays: str,
    extracts: str | list[str],
    pdf: str,
    png: str,
) -> None:
    """Draw the figure of `cell` from its analysis files and its jobs' extracts."""
    from . import interp_cells

    plots: dict[str, Any] = {**PLOTS, **interp_cells.PLOTS}
    if cell not in plots:
        raise ValueError(f"no figure for memorization cell {cell!r}; choose from {sorted(plots)}")
    extracts = [extracts] if isinstance(extracts, str) else extracts
    with open(summary) as f:
        values = json.load(f)
    plots[cell](
        values, pd.read_csv(table), read_arrays(arrays), [Extract(p) for p in extracts], pdf, png
    )
