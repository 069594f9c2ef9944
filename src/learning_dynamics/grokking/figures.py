"""Grokking study: the four figures. Each reads files only (extracts and member tables)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap

from ..io import read_arrays, read_json
from ..plotting import COLUMN, save_figure
from .analysis import PHASES, fraction_table

PHASE_COLOURS = {
    "comprehension": "#2ca02c",
    "grokking": "#ff7f0e",
    "memorization": "#1f77b4",
    "confusion": "#7f7f7f",
}
LETTERS = {"comprehension": "C", "grokking": "G", "memorization": "M", "confusion": "X"}
TIMES = (
    ("t_train", "train acc ≥ 0.9", "tab:blue"),
    ("t_test", "test acc ≥ 0.9", "tab:red"),
    ("t_rqi", "RQI > 0.99", "tab:green"),
)


def _title(row: pd.Series) -> str:
    return f"rep. lr {row.rep_lr:g}, decoder lr {row.dec_lr:g}, wd {row.dec_wd:g}\n{row.phase}"


def pairs_label(p: int, train_num: int) -> str:
    """E.g. "p = 10, 45 of 55 pairs" (the dataset is the p(p+1)/2 pairs i <= j)."""
    return f"p = {p}, {train_num} of {p * (p + 1) // 2} pairs"


def plot_curves(extracts: list[str], members: list[str], pdf: str, png: str, p: int = 10) -> None:
    """Train/test accuracy and RQI vs step, the three grokking times marked; one panel per run
    (the faithful default first)."""
    fig, axes = plt.subplots(
        1,
        len(extracts),
        figsize=(2 * COLUMN, 0.9 * COLUMN),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, path, table in zip(axes[0], extracts, members, strict=True):
        x, row = read_arrays(path), pd.read_csv(table).iloc[0]
        steps = x["metric_step"]
        ax.plot(steps, x["train_acc"][:, 0], color="tab:blue", lw=1.2, label="train accuracy")
        ax.plot(steps, x["test_acc"][:, 0], color="tab:red", lw=1.2, label="test accuracy")
        ax.plot(steps, x["rqi"][:, 0], color="tab:green", lw=1.2, label="RQI")
        for key, label, colour in TIMES:
            t = row[key]
            text = f"{label}: step {int(t)}" if np.isfinite(t) else f"{label}: never"
            if np.isfinite(t):
                ax.axvline(t, color=colour, ls="--", lw=0.9, label=text)
            else:
                ax.plot([], [], color=colour, ls="--", lw=0.9, label=text)
        ax.set_xlim(0, steps[-1] + 1)
        ax.set_xlabel("step")
        ax.set_title(_title(row), fontsize=9)
        ax.legend(fontsize=6, loc="center left")
    axes[0, 0].set_ylabel("accuracy / RQI")
    train_num = int(pd.read_csv(members[0]).train_num.iloc[0])
    label = pairs_label(int(p), train_num)
    fig.suptitle(f"Addition ({label}): accuracy and representation quality")
    save_figure(fig, pdf, png)


def plot_representation(extracts: list[str], members: list[str], pdf: str, png: str) -> None:
    """The 1-D representation E_i of every symbol vs step, one panel per run: does it become an
    evenly spaced line (E_i = a·i + b, what addition needs)?"""
    fig, axes = plt.subplots(
        1, len(extracts), figsize=(2 * COLUMN, 0.9 * COLUMN), squeeze=False, layout="constrained"
    )
    for ax, path, table in zip(axes[0], extracts, members, strict=True):
        x, row = read_arrays(path), pd.read_csv(table).iloc[0]
        rep = x["rep"][:, 0]  # (S, p)
        colours = plt.cm.viridis(np.linspace(0, 1, rep.shape[1]))
        for i in range(rep.shape[1]):
            ax.plot(x["rep_step"], rep[:, i], color=colours[i], lw=1.1)
            ax.annotate(str(i), (x["rep_step"][-1], rep[-1, i]), fontsize=6, va="center")
        ax.set_xlabel("step")
        ax.set_title(f"{_title(row)}, final RQI {row.final_rqi:.2f}", fontsize=9)
    axes[0, 0].set_ylabel("representation $E_i$ (numbers: symbol $i$)")
    save_figure(fig, pdf, png)


def _grid(table: pd.DataFrame, rows: str, cols: str, value: str) -> tuple:
    pivot = table.pivot(index=rows, columns=cols, values=value)  # keeps NaN cells
    return pivot.to_numpy(), pivot.index.to_numpy(), pivot.columns.to_numpy()


def _axis_labels(ax: plt.Axes, rows: np.ndarray, cols: np.ndarray, ylabel: str) -> None:
    ax.set_xticks(range(len(cols)), [f"{c:.2g}" for c in cols], rotation=90, fontsize=6)
    ax.set_yticks(range(len(rows)), [f"{r:.2g}" for r in rows], fontsize=6)
    ax.set_xlabel("decoder learning rate")
    ax.set_ylabel(ylabel)
    ax.grid(False)


def _phase_panels(fig, ax_phase, ax_delay, cells: pd.DataFrame, rows: str, ylabel: str) -> None:
    """Left: each cell's majority phase over its seeds, labelled with its letter and how many
    seeds agree (e.g. C4/5). Right: the median grokking delay of the cell's seeds where both
    accuracies were reached. `cells`: one row per cell (`analysis.cell_phases`)."""
    cells = cells.copy()
    cells["code"] = cells.majority.map({p: k for k, p in enumerate(PHASES)})
    phases, r, c = _grid(cells, rows, "dec_lr", "code")
    agree, _, _ = _grid(cells, rows, "dec_lr", "agree")
    seeds, _, _ = _grid(cells, rows, "dec_lr", "seeds")
    cmap = ListedColormap([PHASE_COLOURS[p] for p in PHASES])
    ax_phase.imshow(
        phases, origin="lower", aspect="auto", cmap=cmap, norm=BoundaryNorm(np.arange(5) - 0.5, 4)
    )
    for (i, j), k in np.ndenumerate(phases):
        text = f"{LETTERS[PHASES[int(k)]]}{int(agree[i, j])}/{int(seeds[i, j])}"
        ax_phase.text(j, i, text, ha="center", va="center", fontsize=5)
    _axis_labels(ax_phase, r, c, ylabel)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLOURS[p]) for p in PHASES]
    names = [f"{LETTERS[p]}: {p}" for p in PHASES]
    ax_phase.legend(handles, names, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    delay, r, c = _grid(cells, rows, "dec_lr", "delay_median")
    ax_delay.set_facecolor("0.9")
    finite = delay[np.isfinite(delay)]
    image = ax_delay.imshow(
        np.ma.masked_invalid(delay),
        origin="lower",
        cmap="magma",
        aspect="auto",
        vmin=min(0.0, float(finite.min())) if finite.size else 0.0,
        vmax=max(1.0, float(finite.max())) if finite.size else 1.0,
        extent=(-0.5, len(c) - 0.5, -0.5, len(r) - 0.5),
    )
    for (i, j), d in np.ndenumerate(delay):
        if np.isfinite(d):
            ax_delay.text(j, i, f"{d:.0f}", ha="center", va="center", fontsize=5, color="tab:cyan")
    _axis_labels(ax_delay, r, c, ylabel)
    fig.colorbar(
        image,
        ax=ax_delay,
        label="median delay over seeds (steps)\nblank: no seed reached both",
    )


def plot_phases(
    lr_cells: str,
    wd_cells: str,
    pdf: str,
    png: str,
    steps: int,
    lr_dec_wd: float,
    wd_rep_lr: float,
    window: int | None = None,
) -> None:
    """Phase diagrams over seeds, from the diagrams' cells.csv (verb `cells`): representation lr
    × decoder lr (top; its decoder weight decay `lr_dec_wd`) and decoder weight decay × decoder
    lr (bottom; its representation lr `wd_rep_lr`); each cell its majority phase and agreement,
    with the median grokking delay beside it. `steps` (the budget) and `window` (comprehension:
    test within this many steps of train) go into the title."""
    lr, wd = pd.read_csv(lr_cells), pd.read_csv(wd_cells)
    fig, axes = plt.subplots(2, 2, figsize=(3 * COLUMN, 2.1 * COLUMN), layout="constrained")
    _phase_panels(fig, axes[0, 0], axes[0, 1], lr, "rep_lr", "representation learning rate")
    _phase_panels(fig, axes[1, 0], axes[1, 1], wd, "dec_wd", "decoder weight decay")
    axes[0, 0].set_title(f"majority phase over seeds (decoder wd {lr_dec_wd:g})")
    axes[0, 1].set_title("grokking delay")
    axes[1, 0].set_title(f"majority phase over seeds (representation lr {wd_rep_lr:g})")
    axes[1, 1].set_title("grokking delay")
    rule = f"; comprehension: test within {window} steps of train" if window else ""
    fig.suptitle(
        f"Phases of learning: {lr.seeds.min()} seeds per cell (label: majority letter, seeds"
        f" agreeing), budget {steps} steps{rule}",
        fontsize=9,
    )
    save_figure(fig, pdf, png)


INIT_STYLE = {"notebook": ("tab:blue", "o"), "authors": ("tab:orange", "s")}


def plot_fraction(
    theory: str, summary: str, members: list[str], pdf: str, png: str, p: int = 10
) -> None:
    """Training fraction: (a) the effective theory's share of training sets that force the
    linear representation and the network's share of seeds reaching RQI > 0.95 (each start),
    with the crossings of 1/2; (b) steps to RQI > 0.95 per seed and their median (the paper's
    Fig. 4b criterion); (c) mean final test accuracy. `members`: one table per start."""
    p = int(p)
    theo, summ = pd.read_csv(theory), read_json(summary)
    fig, (ax_p, ax_t, ax_a) = plt.subplots(
        1, 3, figsize=(3 * COLUMN, 1.05 * COLUMN), layout="constrained"
    )
    crit = summ["theory"]["critical_fraction"]
    ax_p.plot(theo.fraction, theo.share, color="k", lw=1.4, label="theory: sets forcing a line")
    if crit is not None:
        ax_p.axvline(crit, color="k", ls="--", lw=0.8)
        ax_p.annotate(f"{crit:.3f}", (crit, 0.02), fontsize=6, rotation=90, ha="right")
    ax_p.axhline(0.5, color="0.6", lw=0.6)
    budget = None
    for path in members:
        table = pd.read_csv(path)
        name = next(n for n in summ["network"] if f"fraction_{n}" in path)
        colour, marker = INIT_STYLE.get(name, ("tab:green", "^"))
        net = summ["network"][name]
        budget = net["steps"]
        frac = fraction_table(table, p)
        ax_p.plot(
            frac.fraction,
            frac.rqi_paper_reached,
            color=colour,
            marker=marker,
            ms=3,
            lw=1.1,
            label=f"network, {name} start: seeds reaching RQI > 0.95",
        )
        c = net["critical_fraction"]["rqi_paper"]
        if c is not None:
            ax_p.axvline(c, color=colour, ls="--", lw=0.8)
            ax_p.annotate(f"{c:.3f}", (c, 0.02), fontsize=6, rotation=90, ha="right", color=colour)
        table["fraction"] = table.train_num / (p * (p + 1) // 2)
        reached = np.isfinite(table.t_rqi_paper)
        jitter = np.random.default_rng(0).uniform(-0.006, 0.006, len(table))
        ax_t.scatter(
            (table.fraction + jitter)[reached], table.t_rqi_paper[reached], s=6, alpha=0.5,
            color=colour,
        )  # fmt: skip
        ax_t.scatter(
            (table.fraction + jitter)[~reached], np.full((~reached).sum(), budget), s=8,
            facecolors="none", edgecolors=colour, alpha=0.6,
        )  # fmt: skip
        median = frac.rqi_paper_median.where(np.isfinite(frac.rqi_paper_median))
        ax_t.plot(
            frac.fraction, median, color=colour, marker=marker, ms=4, lw=1.3,
            label=f"median, {name} start",
        )  # fmt: skip
        ax_a.plot(
            frac.fraction, frac.test_acc_mean, color=colour, marker=marker, ms=3, lw=1.1,
            label=f"{name} start ({int(frac.seeds.min())} seeds)",
        )  # fmt: skip
    ax_p.set_xlabel("training fraction (dashed: crossing of 1/2; network: critical fraction)")
    ax_p.set_ylabel("share")
    ax_p.legend(fontsize=5, loc="upper left")
    ax_t.axhline(budget, color="0.5", lw=0.6)
    ax_t.set_xlabel("training fraction")
    ax_t.set_ylabel("steps to RQI > 0.95")
    ax_t.set_title(f"hollow, at the budget ({budget}): never", fontsize=7)
    ax_t.legend(fontsize=6)
    ax_a.set_xlabel("training fraction")
    ax_a.set_ylabel("mean final test accuracy")
    ax_a.set_ylim(-0.02, 1.02)
    ax_a.legend(fontsize=6)
    theo_sets = summ["theory"]["samples_per_size"]
    fig.suptitle(
        f"Training fraction (p = {p}): effective theory ({theo_sets} random sets per size, exact"
        f" where fewer) and network ({budget} steps)",
        fontsize=9,
    )
    save_figure(fig, pdf, png)
