"""Grokking study: the four figures. Each reads files only (extracts and member tables)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap

from ..history import read_arrays
from ..plotting import COLUMN, save_figure
from .analysis import PHASES

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


def plot_curves(extracts: list[str], members: list[str], pdf: str, png: str) -> None:
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
    fig.suptitle("Addition (p = 10, 45 of 55 pairs): accuracy and representation quality")
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


def _phase_panels(fig, ax_phase, ax_delay, table: pd.DataFrame, rows: str, ylabel: str) -> None:
    code = table.assign(code=table.phase.map({p: k for k, p in enumerate(PHASES)}))
    phases, r, c = _grid(code, rows, "dec_lr", "code")
    cmap = ListedColormap([PHASE_COLOURS[p] for p in PHASES])
    ax_phase.imshow(
        phases, origin="lower", aspect="auto", cmap=cmap, norm=BoundaryNorm(np.arange(5) - 0.5, 4)
    )
    for (i, j), k in np.ndenumerate(phases):
        ax_phase.text(j, i, LETTERS[PHASES[int(k)]], ha="center", va="center", fontsize=6)
    _axis_labels(ax_phase, r, c, ylabel)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLOURS[p]) for p in PHASES]
    names = [f"{LETTERS[p]}: {p}" for p in PHASES]
    ax_phase.legend(handles, names, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    # Delay wherever both accuracies got there (comprehension and grokking cells); blank else.
    delay, r, c = _grid(table, rows, "dec_lr", "delay")
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
        image, ax=ax_delay, label="delay: test minus train time (steps)\nblank: test never ≥ 0.9"
    )


def plot_phases(lr_members: str, wd_members: str, pdf: str, png: str) -> None:
    """Phase diagrams: representation lr × decoder lr (top) and decoder weight decay × decoder
    lr (bottom), each with the grokking-delay heatmap (test minus train time) beside it."""
    lr, wd = pd.read_csv(lr_members), pd.read_csv(wd_members)
    fig, axes = plt.subplots(2, 2, figsize=(3 * COLUMN, 2.1 * COLUMN), layout="constrained")
    _phase_panels(fig, axes[0, 0], axes[0, 1], lr, "rep_lr", "representation learning rate")
    _phase_panels(fig, axes[1, 0], axes[1, 1], wd, "dec_wd", "decoder weight decay")
    axes[0, 0].set_title(f"phases (decoder wd {lr.dec_wd.iloc[0]:g})")
    axes[0, 1].set_title("grokking delay")
    axes[1, 0].set_title(f"phases (representation lr {wd.rep_lr.iloc[0]:g})")
    axes[1, 1].set_title("grokking delay")
    fig.suptitle("Phases of learning")
    save_figure(fig, pdf, png)


def plot_fraction(members: str, pdf: str, png: str, p: int = 10) -> None:
    """Final test accuracy and steps to RQI > 0.99 vs training fraction, every seed a dot and
    the mean/median a line; runs that never reach the RQI are drawn at the top, hollow."""
    table = pd.read_csv(members)
    n_all = int(p) * (int(p) + 1) // 2
    table["fraction"] = table.train_num / n_all
    by = table.groupby("fraction")
    fig, (acc, rqi) = plt.subplots(1, 2, figsize=(2.4 * COLUMN, COLUMN), layout="constrained")
    jitter = np.random.default_rng(0).uniform(-0.006, 0.006, len(table))
    acc.scatter(table.fraction + jitter, table.final_test_acc, s=8, alpha=0.5, color="tab:red")
    acc.plot(by.final_test_acc.mean(), color="tab:red", lw=1.4, label="mean over seeds")
    acc.set_xlabel("training fraction")
    acc.set_ylabel("final test accuracy")
    acc.legend(fontsize=7)
    reached = np.isfinite(table.t_rqi)
    top = (table.t_rqi.max() if reached.any() else 1) * 1.3
    rqi.scatter(
        table.fraction[reached] + jitter[reached],
        table.t_rqi[reached],
        s=8,
        color="tab:green",
        alpha=0.6,
        label="reached",
    )
    rqi.scatter(
        table.fraction[~reached] + jitter[~reached],
        np.full((~reached).sum(), top),
        s=10,
        facecolors="none",
        edgecolors="0.4",
        label="never reached",
    )
    rqi.plot(by.t_rqi.median(), color="tab:green", lw=1.4, label="median")
    twin = rqi.twinx()
    twin.plot(by.t_rqi.apply(lambda t: np.isfinite(t).mean()), color="0.2", ls=":", lw=1.2)
    twin.set_ylabel("dotted: fraction of seeds reaching RQI > 0.99", fontsize=8)
    twin.set_ylim(-0.05, 1.05)
    twin.axvline(0.4, color="0.5", ls="--", lw=0.8)
    rqi.set_xlabel("training fraction (dashed: theory's 0.4)")
    rqi.set_ylabel("steps to RQI > 0.99")
    rqi.legend(fontsize=6, loc="center left")
    fig.suptitle(f"Training fraction sweep ({table.seed.nunique()} seeds per size)")
    save_figure(fig, pdf, png)
