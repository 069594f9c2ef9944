"""Memorization cell 2 (freezing): the final loss when only some components train (only the
out-projections O, against everything but O).

Seed bug fixed: the seed's freezer dict has no `freeze_pos` key (the cell raises a KeyError); here
P is a component of its own."""

from __future__ import annotations

from typing import Any

from ...plotting import COLUMN, plt, save_figure
from ..panels import bars
from ..results import Extract, Result, member_table


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 2: the final loss when only some components train."""
    frame = member_table(exs[0], data[0])
    every = ["E", "P", "QKV", "O", "U"]
    frame.insert(
        0, "trains", ["+".join(c for c in every if c not in m["freeze"]) for m in exs[0].members]
    )
    summary = {
        f"trains {r.trains}": {"loss": r.loss, "divergence": r.divergence, "accuracy": r.accuracy}
        for r in frame.itertuples()
    }
    summary["random_baseline"] = float(frame.random.iloc[0])
    return Result(summary, frame, {})


def plot(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 2: what training only the out-projections O buys, against training everything else."""
    fig, ax = plt.subplots(figsize=(1.6 * COLUMN, 0.5 * COLUMN + 0.3 * len(table)))
    labels = [
        f"trains {t}\n(acc {a:.2f})" for t, a in zip(table.trains, table.accuracy, strict=True)
    ]
    bars(
        ax,
        labels,
        table.divergence.to_numpy(),
        summary["random_baseline"],
        f"freezing (N={table.N.iloc[0]}, d={table.d.iloc[0]}, H={table.para.iloc[0]})",
    )
    save_figure(fig, pdf, png)
