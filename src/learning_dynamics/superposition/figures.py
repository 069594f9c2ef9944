"""Superposition study: the five figures. Each reads files only (history, extract, tables)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm

from ..history import History
from ..io import read_arrays
from ..plotting import COLUMN, save_animation, save_figure
from .model import FOUR_FEATURES_LOSS, directions, tied_optimum_loss

CMAP = "RdBu_r"


def _reference_lines(ax: plt.Axes, features: int) -> None:
    ax.axhline(
        FOUR_FEATURES_LOSS,
        color="0.3",
        ls="--",
        lw=1,
        label="4 features, no interference (46/2500)",
    )
    ax.axhline(
        tied_optimum_loss(features),
        color="tab:red",
        ls=":",
        lw=1.2,
        label=f"best tied pentagon ({tied_optimum_loss(features):.6f})",
    )


def _stride(n: int, points: int = 5000) -> int:
    """Plot every k-th epoch: a curve needs no more than `points` points (keeps PDFs small)."""
    return max(1, n // points)


def _snapshot_indices(steps: np.ndarray, epochs: Sequence[int]) -> list[int]:
    """Index of the last snapshot at or before each requested epoch (duplicates dropped)."""
    idx = [int(np.searchsorted(steps, e, side="right") - 1) for e in epochs]
    return sorted({max(i, 0) for i in idx})


def _frame_indices(n_snapshots: int, frames: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_snapshots - 1, max(2, frames)).round().astype(int))


def _draw_vectors(ax: plt.Axes, vectors: np.ndarray, limit: float, color: str) -> None:
    """Feature vectors (f, 2) as arrows from the origin, labelled where they are long enough."""
    ax.quiver(
        np.zeros(len(vectors)),
        np.zeros(len(vectors)),
        vectors[:, 0],
        vectors[:, 1],
        angles="xy",
        scale_units="xy",
        scale=1,
        color=color,
        width=0.012,
    )
    lengths = np.linalg.norm(vectors, axis=1)
    for i in np.flatnonzero(lengths > 0.25 * limit):
        ax.annotate(str(i), vectors[i] * 1.08, fontsize=7, ha="center", va="center")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")


def plot_loss(extract: str, plateaus: str, pdf: str, png: str) -> None:
    """Loss vs epoch of the faithful run, detected plateaus shaded and labelled."""
    x = read_arrays(extract)
    features = x["self_weight"].shape[-1]
    fig, ax = plt.subplots(figsize=(2 * COLUMN, 0.7 * 2 * COLUMN))
    stride = _stride(len(x["loss/step"]))
    ax.plot(
        x["loss/step"][::stride],
        x["loss/value"][::stride, 0],
        color="tab:blue",
        lw=1.2,
        label="training loss",
    )
    for row in pd.read_csv(plateaus).itertuples():
        colour = "0.9" if row.final else "tab:orange"
        ax.axvspan(row.start, row.end, color=colour, alpha=0.3, lw=0)
        kind = "final level" if row.final else "plateau"
        ax.annotate(
            f"{kind}\n{row.level:.5f}",
            ((row.start + row.end) / 2, row.level),
            xytext=(0, 14),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    _reference_lines(ax, features)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.set_title(f"Untied toy model, seed {int(np.atleast_1d(x['seed'])[0])}: loss and plateaus")
    ax.legend(loc="upper right")
    save_figure(fig, pdf, png)


def plot_geometry(
    history: str, epochs: list[int], frames: int, pdf: str, png: str, gif: str
) -> None:
    """W_E columns and W_U rows as 2-D arrows at chosen epochs; a GIF over all of training."""
    with History(history) as h:
        steps, w_e, w_u = (
            h.steps("params"),
            h.read("params", "W_E")[:, 0],
            h.read("params", "W_U")[:, 0],
        )
    chosen = _snapshot_indices(steps, epochs)
    limits = 1.15 * np.array([np.linalg.norm(w_e, axis=1).max(), np.linalg.norm(w_u, axis=2).max()])
    rows = [
        ("$W_E$ columns", lambda i: w_e[i].T, "tab:blue"),
        ("$W_U$ rows", lambda i: w_u[i], "tab:green"),
    ]

    fig, axes = plt.subplots(2, len(chosen), figsize=(1.6 * len(chosen) + 0.6, 3.6), squeeze=False)
    for r, (label, vectors, colour) in enumerate(rows):
        for c, i in enumerate(chosen):
            _draw_vectors(axes[r, c], vectors(i), limits[r], colour)
            axes[r, c].tick_params(labelsize=7)
            if r == 0:
                axes[r, c].set_title(f"epoch {steps[i]}")
        axes[r, 0].set_ylabel(label)
    fig.suptitle("Feature geometry over training (numbers: feature index)")
    save_figure(fig, pdf, png)

    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    order = _frame_indices(len(steps), frames)

    def update(k: int) -> list:
        i = order[k]
        for ax, (label, vectors, colour), limit in zip(axes, rows, limits, strict=True):
            ax.clear()
            _draw_vectors(ax, vectors(i), limit, colour)
            ax.set_title(label)
        fig.suptitle(f"epoch {steps[i]}")
        return []

    save_animation(fig, update, len(order), gif)


def plot_products(
    extract: str, epochs: list[int], frames: int, pdf: str, png: str, gif: str
) -> None:
    """W_U·W_E and ReLU(W_U·W_E) heatmaps at chosen epochs on one colour scale; a GIF."""
    x = read_arrays(extract)
    steps, m = x["step"], x["products"]
    chosen = _snapshot_indices(steps, epochs)
    # One scale for every panel; negative weights get their own slope (they reach ~-9 while the
    # positive ones stay below ~1), so both signs stay readable.
    norm = TwoSlopeNorm(
        vmin=min(float(m.min()), -1e-3), vcenter=0.0, vmax=max(float(m.max()), 1e-3)
    )
    fig, axes = plt.subplots(2, len(chosen), figsize=(1.6 * len(chosen) + 1.2, 3.6), squeeze=False)
    for c, i in enumerate(chosen):
        for r, matrix in enumerate((m[i], np.maximum(m[i], 0))):
            image = axes[r, c].imshow(matrix, norm=norm, cmap=CMAP)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[0, c].set_title(f"epoch {steps[i]}")
    axes[0, 0].set_ylabel("$W_U W_E$")
    axes[1, 0].set_ylabel("ReLU($W_U W_E$)")
    bar = fig.colorbar(image, ax=axes, shrink=0.8, label="entry of $W_U W_E$")
    bar.set_ticks([norm.vmin, norm.vmin / 2, 0.0, norm.vmax / 2, norm.vmax])
    bar.ax.yaxis.set_major_formatter("{x:.2f}")
    save_figure(fig, pdf, png)

    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.2))
    order = _frame_indices(len(steps), frames)
    images = [ax.imshow(m[0], norm=norm, cmap=CMAP) for ax in axes]
    for ax, title in zip(axes, ("$W_U W_E$", "ReLU($W_U W_E$)"), strict=True):
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])

    def update(k: int) -> list:
        i = order[k]
        images[0].set_data(m[i])
        images[1].set_data(np.maximum(m[i], 0))
        fig.suptitle(f"epoch {steps[i]}")
        return images

    save_animation(fig, update, len(order), gif)


def plot_tied(extract: str, history: str, pdf: str, png: str) -> None:
    """Tied control W_U = W_Eᵀ: loss against the pentagon optimum, and the final geometry."""
    x = read_arrays(extract)
    with History(history) as h:
        w_e = h.read("params", "W_E", -1)[0]  # (hidden, features)
    features = w_e.shape[1]
    fig, (ax, geo) = plt.subplots(
        1, 2, figsize=(2 * COLUMN, 0.55 * 2 * COLUMN), gridspec_kw={"width_ratios": [1.6, 1]}
    )
    stride = _stride(len(x["loss/step"]))
    ax.plot(
        x["loss/step"][::stride], x["loss/value"][::stride, 0], lw=1.2, label="tied training loss"
    )
    _reference_lines(ax, features)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.set_title(f"final loss {x['snapshot_loss'][-1, 0]:.6f}")
    ax.legend(loc="upper right", fontsize=7)
    vectors = w_e.T
    _draw_vectors(geo, vectors, 1.2 * np.linalg.norm(vectors, axis=1).max(), "tab:purple")
    found = directions(vectors)
    geo.set_title(
        f"final $W_E$: {int((np.linalg.norm(vectors, axis=1) > 0.05).sum())} features"
        f" on {len(found)} directions",
        fontsize=9,
    )
    radius = 0.75 * geo.get_xlim()[1]
    for angle, sq_norm in found:  # label each direction with the squared norm it carries
        x, y = radius * np.cos(np.radians(angle)), radius * np.sin(np.radians(angle))
        geo.text(x, y, f"Σr²={sq_norm:.2f}", fontsize=6, ha="center", va="center", alpha=0.8)
    save_figure(fig, pdf, png)


def plot_ensemble(extract: str, members: str, pdf: str, png: str) -> None:
    """Seed ensemble: loss median/IQR, the seeds that plateau at the pentagon then drop, and the
    distributions of final loss and of per-feature reconstruction error."""
    x = read_arrays(extract)
    table = pd.read_csv(members)
    steps, loss = x["loss/step"], x["loss/value"]
    features = x["self_weight"].shape[-1]
    fig, axes = plt.subplots(
        1,
        3,
        figsize=(3 * COLUMN, 1.0 * COLUMN),
        gridspec_kw={"width_ratios": [1.6, 1, 1]},
        layout="constrained",
    )
    stride = _stride(len(steps))
    q25, median, q75 = np.quantile(loss[::stride], [0.25, 0.5, 0.75], axis=1)
    band = axes[0]
    band.fill_between(steps[::stride], q25, q75, color="tab:blue", alpha=0.3, lw=0, label="IQR")
    band.plot(
        steps[::stride], median, color="tab:blue", lw=1.2, label=f"median of {loss.shape[1]} seeds"
    )
    jumpers = np.flatnonzero(table["pentagon_plateau_then_drop"].to_numpy())
    seeds = ", ".join(str(table.seed[k]) for k in jumpers)
    for n, k in enumerate(jumpers):
        label = None if n else f"pentagon plateau, then drop (seeds {seeds})"
        band.plot(steps[::stride], loss[::stride, k], color="tab:orange", lw=0.7, label=label)
    _reference_lines(band, features)
    band.set_yscale("log")
    band.set_xlabel("epoch")
    band.set_ylabel("MSE loss")
    band.legend(fontsize=6, loc="upper right")
    axes[1].hist(table["final_loss"], bins=20, color="tab:blue")
    axes[1].axvline(tied_optimum_loss(features), color="tab:red", ls=":")
    axes[1].set_xlabel("final loss")
    axes[1].set_ylabel("seeds")
    errors = x["feature_error"][-1].ravel()
    axes[2].hist(errors, bins=40, color="tab:green")
    axes[2].axvline(0.5, color="0.3", ls="--", lw=1, label="represented below")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("final per-feature error\n(1 = feature dropped)")
    axes[2].set_ylabel("features (all seeds)")
    axes[2].legend(fontsize=7)
    fig.suptitle("Seed ensemble, trained as one vectorised run")
    save_figure(fig, pdf, png)
