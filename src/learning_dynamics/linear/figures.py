"""Linear study: the five figures. Each reads files only (extract, tables)."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from ..io import read_arrays
from ..plotting import COLUMN, save_figure
from .theory import balanced_trajectory, exact_trajectory

WEIGHT_LABELS = ["$W_{11}$", "$W_{12}$", "$W_{21}$", "$W_{22}$"]  # W[output, input]


def _log_steps(steps: np.ndarray, count: int = 800) -> np.ndarray:
    """Indices of ~count steps spaced evenly on a log axis (x is plotted as step + 1)."""
    idx = np.unique(np.geomspace(1, len(steps), count).astype(int) - 1)
    return idx


def plot_modes(extract: str, modes: str, pdf: str, png: str) -> None:
    """Mode strength u(t) of each singular mode: simulation, exact unbalanced closed form and the
    balanced Saxe sigmoid from the same u0; halfway times marked."""
    x = read_arrays(extract)
    table = pd.read_csv(modes)
    steps, idx = x["step"], _log_steps(x["step"])
    t = np.geomspace(1, steps[-1] + 1, 600) - 1
    n = len(x["s"])
    fig, axes = plt.subplots(1, n, figsize=(2 * COLUMN, 0.45 * 2 * COLUMN), squeeze=False)
    for i, ax in enumerate(axes[0]):
        a0, b0, s, lam = x["a0"][i], x["b0"][i], x["s"][i], x["lam"][i]
        common = {"s": s, "lam": lam, "lr": float(x["lr"]), "u0": a0 * b0}
        ax.plot(steps[idx] + 1, x["u"][idx, i], color="tab:blue", lw=3, alpha=0.5, label="GD")
        exact = exact_trajectory(t, c=a0**2 - b0**2, **common)
        ax.plot(t + 1, exact, color="k", lw=1, label="exact (unbalanced)")
        if common["u0"] > 0:
            ax.plot(
                t + 1,
                balanced_trajectory(t, **common),
                "--",
                color="tab:red",
                lw=1,
                label="balanced (Saxe)",
            )
        half = table[(table["mode"] == i) & (table.fraction == 0.5)].iloc[0]
        ax.axvline(half.t_sim + 1, color="tab:blue", ls=":", lw=1)
        ax.axvline(
            half.t_exact + 1,
            color="k",
            ls=":",
            lw=1,
            label=f"halfway: {half.t_sim:.0f} (GD), {half.t_exact:.0f} (exact)",
        )
        ax.axhline(s, color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("iteration + 1")
        ax.set_title(f"mode {i + 1}: s = {s:.5g}, λ = {lam:.3g}")
        ax.legend(fontsize=7, loc="upper left")
    axes[0, 0].set_ylabel("mode strength $u = a\\,b$")
    save_figure(fig, pdf, png)


def plot_loss(extract: str, pdf: str, png: str) -> None:
    """Training loss (50 rows) and test risk (5000 rows), summed squared errors, vs iteration."""
    x = read_arrays(extract)
    steps, idx = x["step"], _log_steps(x["step"])
    fig, ax = plt.subplots(figsize=(COLUMN * 1.4, COLUMN))
    ax.plot(steps[idx] + 1, x["loss"][idx], label="training loss (50 samples)")
    ax.plot(steps[idx] + 1, x["risk"][idx], label="test risk (5000 samples)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration + 1")
    ax.set_ylabel("summed squared error")
    ax.legend()
    save_figure(fig, pdf, png)


def plot_weight_error(extract: str, pdf: str, png: str) -> None:
    """(W − β)² of each entry of the end-to-end map, all in the original basis (the seed compared
    synaptic-basis weights with the original-basis β)."""
    x = read_arrays(extract)
    steps, idx = x["step"], _log_steps(x["step"])
    err = np.square(x["map"] - x["beta"]).reshape(len(steps), -1)
    fig, ax = plt.subplots(figsize=(COLUMN * 1.4, COLUMN))
    for k in range(err.shape[1]):
        label = WEIGHT_LABELS[k] if err.shape[1] == 4 else f"weight {k + 1}"
        if not err[:, k].any():  # exactly zero throughout: invisible on a log axis
            label += ": exactly 0"
        ax.plot(steps[idx] + 1, err[idx, k], label=label)
    ax.plot(steps[idx] + 1, err[idx].mean(axis=1), "k--", lw=1, label="mean")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration + 1")
    ax.set_ylabel("$(W - \\beta)^2$, original basis")
    ax.legend(fontsize=8)
    save_figure(fig, pdf, png)


def _trajectory_panels(sub, weights: np.ndarray, arrows: np.ndarray, target: np.ndarray, title):
    """The seed's 2×3 grid: every pair of the four map entries, start (*) and end (x) marked.
    Input-space arrows (rows of `arrows`) are drawn where both axes are one output row of W; the
    seed draws them in every panel, where they mean nothing."""
    axes = sub.subplots(2, 3)
    for ax, (i, j) in zip(axes.ravel(), itertools.combinations(range(4), 2), strict=True):
        ax.plot(weights[:, i], weights[:, j], lw=1.2)
        ax.plot(weights[0, i], weights[0, j], "*", color="tab:orange", ms=9, label="start")
        ax.plot(target[i], target[j], "x", color="k", ms=7, label="target")
        if (i, j) in ((0, 1), (2, 3)):  # each axis scaled to the panel, so arrows stay visible
            span = np.array([np.ptp(ax.get_xlim()), np.ptp(ax.get_ylim())])
            for v in arrows:
                ax.annotate(
                    "",
                    xy=0.4 * span * v,
                    xytext=(0, 0),
                    arrowprops={"arrowstyle": "->", "lw": 1, "color": "tab:red"},
                )
        ax.set_xlabel(WEIGHT_LABELS[i])
        ax.set_ylabel(WEIGHT_LABELS[j])
        ax.locator_params(nbins=4)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    sub.suptitle(title)


def plot_trajectories(extract: str, pdf: str, png: str) -> None:
    """Map entries over training, in the synaptic basis (Uᵀ·W·Vhᵀ) and the original basis (W)."""
    x = read_arrays(extract)
    idx = _log_steps(x["step"], 3000)
    orig = x["map"][idx]
    syn = x["U"].T @ orig @ x["Vh"].T
    if orig.shape[1:] != (2, 2):
        raise ValueError("the trajectory panels are drawn for a 2 × 2 map")
    s_matrix = np.diag(x["s"])
    fig = plt.figure(figsize=(3 * COLUMN, 4 * COLUMN * 0.62), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    _trajectory_panels(
        top,
        syn.reshape(len(idx), 4),
        np.eye(2),
        s_matrix.ravel(),
        "synaptic basis $U^T W V_h^T$ (arrows: its input axes = right singular vectors)",
    )
    _trajectory_panels(
        bottom,
        orig.reshape(len(idx), 4),
        x["Vh"],
        x["beta"].ravel(),
        "original basis $W$ (arrows: rows of $V_h$, right singular vectors of T)",
    )
    save_figure(fig, pdf, png)


def plot_sweep(table: str, pdf: str, png: str, fraction: float = 0.5) -> None:
    """Time to learn (to `fraction` of the way) vs s and vs init scale: vectorised GD (markers)
    against the exact closed form (lines) and the balanced sigmoid (dashed)."""
    df = pd.read_csv(table)
    df = df[np.isclose(df.fraction, fraction)]
    s_all, w_all = np.sort(df.s.unique()), np.sort(df.scale.unique())
    pick = lambda v: v[np.unique(np.linspace(0, len(v) - 1, 4).round().astype(int))]  # noqa: E731
    fig, axes = plt.subplots(1, 2, figsize=(2 * COLUMN, 0.45 * 2 * COLUMN))
    for ax, (vary, fixed, values, name) in zip(
        axes,
        (("s", "scale", pick(w_all), "init scale $w$"), ("scale", "s", pick(s_all), "$s$")),
        strict=True,
    ):
        for k, v in enumerate(values):
            rows = df[np.isclose(df[fixed], v)].sort_values(vary)
            colour = f"C{k}"
            ax.plot(rows[vary], rows.t_exact, color=colour, lw=1, label=f"{name} = {v:.3g}")
            ax.plot(rows[vary], rows.t_balanced, "--", color=colour, lw=0.8)
            ax.plot(rows[vary], rows.t_sim, "o", color=colour, ms=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=7)
    axes[0].set_ylabel(f"iterations to {fraction:.0%} of the way to $s$")
    axes[0].set_xlabel("singular value $s$")
    axes[1].set_xlabel("init scale $w$ ($a_0 = w$, $b_0 = r\\,w$)")
    fig.suptitle(
        "markers: GD (all settings in one batch); lines: exact; dashed: balanced", fontsize=9
    )
    save_figure(fig, pdf, png)
