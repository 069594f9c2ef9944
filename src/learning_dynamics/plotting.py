"""One figure style for the paper, and saving every figure as PDF + PNG."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from .io import atomic_path  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "magma",
}
plt.rcParams.update(STYLE)

# Width of one column of a two-column paper, in inches; figures are multiples of it.
COLUMN = 3.4


def save_figure(fig: plt.Figure, pdf: str | os.PathLike, png: str | os.PathLike) -> None:
    """Save `fig` as PDF (for the paper) and PNG (for the report), atomically, then close it."""
    for path in (pdf, png):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:])
    plt.close(fig)


def save_animation(
    fig: plt.Figure,
    update: Callable[[int], Sequence[object]],
    frames: int,
    path: str | os.PathLike,
    fps: int = 8,
) -> None:
    """Render `update(i)` for every frame into an animated GIF, atomically, then close `fig`."""
    animation = FuncAnimation(fig, update, frames=frames, blit=False)
    with atomic_path(path) as tmp:
        animation.save(tmp, writer=PillowWriter(fps=fps), dpi=80)
    plt.close(fig)
