"""Memorization cell 4 (architecture): the final divergence for every valid setting of the five
skip switches (residual, positions and embeddings in QK and OV).

Seed bug fixed: the seed built the skip flags but never passed them to the model."""

from __future__ import annotations

from typing import Any

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result, member_table
from ..figures import bars


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 4: final divergence for every setting of the skip switches."""
    frame = member_table(exs[0], data[0]).sort_values("divergence", ignore_index=True)
    summary = {
        "divergence": dict(zip(frame.skips, frame.divergence, strict=True)),
        "accuracy": dict(zip(frame.skips, frame.accuracy, strict=True)),
        "random_baseline": float(frame.random.iloc[0]),
    }
    return Result(summary, frame, {})


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 4: final divergence for each setting of the skip switches."""
    fig, ax = plt.subplots(figsize=(1.8 * COLUMN, 0.4 * COLUMN + 0.22 * len(table)))
    labels = [f"skip {s}" if s != "none" else "full model" for s in table.skips]
    bars(
        ax,
        labels,
        table.divergence.to_numpy(),
        summary["random_baseline"],
        "architecture: which inputs the heads need",
    )
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
