"""Memorization capacity sweeps (paper Figs. 1a, 1b, 2a; cells `capacity_heads`,
`capacity_head_dim`, `capacity_embed_dim`): accuracy against heads, head size and width, with the
paper's lower bound and its stored results."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...plotting import COLUMN, plt, save_figure
from ..results import Extract, Result, member_table

# The paper's stored results at N = 50 (spec): endpoints of each capacity curve.
PAPER_CAPACITY = {
    "capacity_heads": [(1, 0.130), (31, 0.997)],
    "capacity_head_dim": [(1, 0.081), (10, 0.804)],
    "capacity_embed_dim": [(5, 0.26), (10, 0.81)],
}
AXIS = {
    "capacity_heads": ("para", "heads H"),
    "capacity_head_dim": ("d_head", "head dimension $d_h$"),
    "capacity_embed_dim": ("d", "embedding dimension $d$"),
}


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """A capacity sweep: accuracy per (point, seed) as the paper reports it (mean of the last
    `last` batch accuracies) and the exact expected accuracy, with the paper's lower bound
    1/N + (1 − 1/N)(H·d_head + d)/N²."""
    last = int(config["capacity"]["last"])
    frame = pd.concat([member_table(ex, None, last) for ex in exs], ignore_index=True)
    frame["d_head"] = [int(h) for h in frame.d_head]
    n = frame.N
    frame["lower_bound"] = 1 / n + (1 - 1 / n) * (frame.para * frame.d_head + frame.d) / n**2
    frame["facts"] = n**2
    points = frame.groupby(["para", "d_head", "d"], as_index=False).agg(
        accuracy_mean=("batch_accuracy", "mean"),
        accuracy_min=("batch_accuracy", "min"),
        accuracy_max=("batch_accuracy", "max"),
        exact_mean=("accuracy", "mean"),
        lower_bound=("lower_bound", "first"),
    )
    summary = {
        "points": points.to_dict(orient="records"),
        "above_bound": bool((frame.batch_accuracy >= frame.lower_bound).all()),
    }
    return Result(summary, frame, {})


def plot(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """A capacity sweep: accuracy (mean of the last batch accuracies; band: min–max over seeds)
    vs the varied size, the exact expected accuracy, and the paper's lower bound."""
    sweep = summary["cell"]
    column, label = AXIS[sweep]
    points = pd.DataFrame(summary["points"]).sort_values(column)
    fig, ax = plt.subplots(figsize=(1.4 * COLUMN, 1.0 * COLUMN))
    x = points[column]
    ax.fill_between(x, points.accuracy_min, points.accuracy_max, color="C0", alpha=0.25)
    ax.plot(x, points.accuracy_mean, "o-", color="C0", label="trained (last batches)")
    ax.plot(x, points.exact_mean, "s:", color="C1", ms=3, label="expected (exact)")
    ax.plot(
        x,
        points.lower_bound,
        "k--",
        label=r"bound $\frac{1}{N}+(1-\frac{1}{N})"
        r"\frac{H d_h + d}{N^2}$",
    )
    n = int(table.N.iloc[0])
    if n == 50:
        px, py = zip(*PAPER_CAPACITY[sweep], strict=True)
        ax.plot(px, py, "r*", ms=9, label="paper (stored results)")
    fixed = {"para": "H", "d_head": "d_h", "d": "d"}
    rest = ", ".join(f"{fixed[c]}={int(table[c].iloc[0])}" for c in fixed if c != column)
    ax.set(
        xlabel=label,
        ylabel="accuracy",
        ylim=(0, 1.05),
        title=f"capacity: N={n} ({n * n} facts), {rest}",
    )
    ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, pdf, png)
