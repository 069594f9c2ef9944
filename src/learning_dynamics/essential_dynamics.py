"""Essential dynamics: the principal components of a model's outputs over training.

Hoogland et al. ("The developmental landscape of in-context learning") stack the model's outputs
on a fixed probe set at every checkpoint into one vector per checkpoint and take the PCA of those
vectors over checkpoints; the trajectory in the top components shows the stages of development,
with the turning points of the curve at the transitions. Here the stages are read from the
speed of that trajectory, the distance covered per interval between the given points (so the
caller's spacing of the points, e.g. even in log-step, sets the clock): a *plateau* is a stretch
of at least `min_length` intervals slower than `slow` times the fastest interval, a *transition*
a local peak of the speed above `fast` times the median speed.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np


def pca(outputs: np.ndarray, components: int = 3) -> dict[str, np.ndarray]:
    """PCA over snapshots of outputs (S, ...) flattened per snapshot: the trajectory (S, k) in the
    top k components and each one's share of the variance."""
    x = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    k = min(components, len(s))
    total = float(np.square(s).sum()) or 1.0
    return {"pcs": u[:, :k] * s[:k], "explained": np.square(s[:k]) / total}


def stages(pcs: np.ndarray, steps: np.ndarray, slow: float, fast: float, min_length: int):
    """(plateaus [(start step, end step)], transitions [step]) of a PC trajectory (S, k)."""
    steps = np.asarray(steps, dtype=np.float64)
    speed = np.linalg.norm(np.diff(pcs, axis=0), axis=1)
    if len(speed) < 3 or not np.any(speed > 0):
        return [], []
    typical = float(np.median(speed[speed > 0]))
    calm = np.concatenate([[0], (speed < slow * speed.max()).astype(np.int8), [0]])
    edges = np.diff(calm)
    plateaus = [
        (float(steps[a]), float(steps[b]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
        if b - a >= min_length
    ]
    padded = np.concatenate([[-np.inf], speed, [-np.inf]])
    peaks = (padded[1:-1] >= padded[:-2]) & (padded[1:-1] > padded[2:])
    transitions = [
        float((steps[i] + steps[i + 1]) / 2)
        for i in np.flatnonzero(peaks & (speed > fast * typical))
    ]
    return plateaus, transitions


def essential_dynamics(outputs: np.ndarray, steps: np.ndarray, config: dict[str, Any]):
    """PCA trajectory and its stages; `config`: components, slow, fast, min_length."""
    out = pca(outputs, config["components"])
    plateaus, transitions = stages(
        out["pcs"], steps, config["slow"], config["fast"], config["min_length"]
    )
    out["plateaus"] = np.asarray(plateaus, dtype=np.float64).reshape(-1, 2)
    out["transitions"] = np.asarray(transitions, dtype=np.float64)
    return out


def draw(ax: plt.Axes, steps: np.ndarray, pcs: np.ndarray, explained: np.ndarray, transitions):
    """The trajectory in PC1 × PC2, coloured by step, transitions marked with crosses."""
    colour = np.log10(np.asarray(steps, dtype=np.float64) + 1)
    ax.plot(pcs[:, 0], pcs[:, 1], color="0.7", lw=0.8, zorder=1)
    points = ax.scatter(pcs[:, 0], pcs[:, 1], c=colour, s=10, cmap="viridis", zorder=2)
    for t in transitions:
        i = int(np.argmin(np.abs(steps - t)))
        ax.plot(pcs[i, 0], pcs[i, 1], "x", color="tab:red", ms=8, mew=2, zorder=3)
    ax.plot([], [], "x", color="tab:red", label="transition")
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f} % of variance)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f} %)" if len(explained) > 1 else "PC2")
    ax.legend(fontsize=7)
    plt.colorbar(points, ax=ax, label="log10(step + 1)")
