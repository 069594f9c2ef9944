"""Memorization study: the plot verb (a cell's figure, drawn by the `draw` of the cell's module,
looked up in the registry `runs.CELLS`), and figure panels several cells draw (bars of final
divergences, an attention map over the law's tokens) with the diverging colour map of signed
matrices."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..io import read_arrays
from ..plotting import plt
from .analysis import Extract
from .cells import module


def drawing(cell: str) -> Callable[..., None]:
    """The function that draws `cell`'s figure: `draw` of its module in `cells/`."""
    return module(cell).draw


def plot(
    cell: str, summary: str, table: str, arrays: str, extracts: list[str], pdf: str, png: str
) -> None:
    """Draw the figure of `cell` (a seed cell or sweep) from its analysis files and its jobs'
    extracts, with `drawing(cell)`: the `draw` of the cell's module in `cells/`."""
    with open(summary) as f:
        values = json.load(f)
    frame = pd.read_csv(table)
    extracted = [Extract(p) for p in extracts]
    drawing(cell)(values, frame, read_arrays(arrays), extracted, pdf, png)


DIVERGING = "RdBu_r"


def bars(ax, labels, values, random, title) -> None:  # noqa: ANN001
    """Horizontal bars of final exact divergences, each labelled, with the random baseline."""
    y = np.arange(len(labels))
    ax.barh(y, values, color="C0")
    for yi, v in zip(y, values, strict=True):
        ax.text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, labels)
    ax.axvline(random, color="C3", ls="--", label="random: log N − H")
    ax.set(xlabel="final exact divergence (nats)", title=title)
    ax.legend(fontsize=8, loc="lower right")


def map_panel(ax: plt.Axes, m: np.ndarray, support: np.ndarray, title: str) -> Any:
    """A map [x1, x2] restricted to the law's tokens (x1 in the support of P(x1), x2 in the
    support of some P(x2 | x1)): x1 down, x2 across, the law's pairs dotted."""
    rows, cols = np.flatnonzero(support.any(1)), np.flatnonzero(support.any(0))
    image = ax.imshow(
        m[np.ix_(rows, cols)], vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="none"
    )
    r, c = np.nonzero(support[np.ix_(rows, cols)])
    ax.scatter(c, r, s=7, c="white", edgecolors="black", lw=0.4)
    for axis, ticks in ((ax.xaxis, cols), (ax.yaxis, rows)):
        step = max(1, len(ticks) // 20)
        axis.set_ticks(range(0, len(ticks), step), [str(t) for t in ticks[::step]], fontsize=6)
    ax.set_xlabel("$x_2$ (query token)")
    ax.set_ylabel("$x_1$")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    return image
