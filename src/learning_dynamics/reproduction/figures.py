"""The scorecard figure: every claim's reproduced value relative to expected ± tolerance;
reproductions as filled markers, consistency checks as open ones, counted apart in the title."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plotting import COLUMN, save_figure

LIMIT = 3.0  # deviations beyond ±3 tolerances are drawn at the edge, as a triangle
COLOURS = {"reproduced": "tab:green", "differs": "tab:red"}


def deviation(expected: str, tolerance: str, reproduced: str, status: str) -> float:
    """(reproduced − expected) in units of the tolerance: inside [−1, 1] means reproduced.

    Exact matches are 0 when equal; a value that differs with no finite distance (an exact
    mismatch, a zero tolerance, no value at all) is +inf."""
    if status == "reproduced" and tolerance in ("exact", "abs 0", "rel 0"):
        return 0.0
    try:
        e, r = float(expected), float(reproduced)
        kind, size = tolerance.split()
        bound = float(size) * (abs(e) if kind == "rel" else 1.0)
    except ValueError:
        return np.inf
    if not np.isfinite(r):
        return np.inf
    if bound == 0:
        return 0.0 if r == e else float(np.sign(r - e) * np.inf)
    return (r - e) / bound


def plot_scorecard(scorecard: str, pdf: str, png: str) -> None:
    table = pd.read_csv(scorecard, dtype=str, keep_default_na=False)
    z = np.array(
        [deviation(r.expected, r.tolerance, r.reproduced, r.status) for r in table.itertuples()]
    )
    n = len(table)
    fig, ax = plt.subplots(figsize=(2 * COLUMN, 0.9 + 0.22 * n))
    y = np.arange(n)[::-1]
    ax.axvspan(-1, 1, color="0.9", zorder=0, label="within tolerance")
    ax.axvline(0, color="0.5", lw=0.8)
    consistency = (table.kind == "consistency").to_numpy()
    labels = {"reproduced": "consistency check holds", "differs": "consistency check fails"}
    for kind in ("reproduction", "consistency"):
        for status, colour in COLOURS.items():
            pick = (table.status == status).to_numpy() & (consistency == (kind == "consistency"))
            inside = pick & (np.abs(z) <= LIMIT)
            outside = pick & ~(np.abs(z) <= LIMIT)
            label = status if kind == "reproduction" else labels[status]
            face = colour if kind == "reproduction" else "none"
            style = dict(edgecolors=colour, facecolors=face, zorder=3)
            ax.scatter(z[inside], y[inside], s=22, label=label if pick.any() else None, **style)
            edge = np.where(np.nan_to_num(z[outside], posinf=1, neginf=-1) < 0, -LIMIT, LIMIT)
            for side, marker in ((-LIMIT, "<"), (LIMIT, ">")):
                at = edge == side
                ax.scatter(edge[at], y[outside][at], marker=marker, s=30, **style)
    studies = table.study.to_numpy()
    for i in range(1, n):
        if studies[i] != studies[i - 1]:
            ax.axhline(y[i] + 0.5, color="0.6", lw=0.6)
    ax.set_yticks(y, [f"{s}/{c}" for s, c in zip(table.study, table.claim, strict=True)])
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(-LIMIT - 0.4, LIMIT + 0.4)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("(reproduced − expected) / tolerance   (triangles: beyond ±3 or no value)")
    rep = table.kind == "reproduction"
    ok = int((rep & (table.status == "reproduced")).sum())
    held = int((~rep & (table.status == "reproduced")).sum())
    ax.set_title(
        f"Reproduction scorecard: {ok} of {int(rep.sum())} reproductions reproduced;"
        f" {held} of {int((~rep).sum())} consistency checks hold (open markers)",
        pad=20,
    )
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=5, frameon=False, fontsize=7)
    ax.grid(axis="y", alpha=0)
    save_figure(fig, pdf, png)
