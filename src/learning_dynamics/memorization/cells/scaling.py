"""Memorization cell 3 (scaling): one row per transformer of the grid with its law's random
baseline and the trained low-rank model of the same (N, alphas, d) as the optimal one."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result, member_table


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 3: one row per transformer of the grid, with its law's random baseline and the
    trained low-rank model of the same (N, alphas, d) as the optimal one (seed columns kept:
    loss, unif_loss, best_loss)."""
    frame = pd.concat(
        [member_table(ex, d) for ex, d in zip(exs, data, strict=True)], ignore_index=True
    )
    base = frame[frame.model == "low_rank"].set_index(["N", "alphas", "d"])
    rows = frame[frame.model == "transformer"].copy()
    key = list(zip(rows.N, rows.alphas, rows.d, strict=True))
    rows["unif_loss"] = rows["random"]
    rows["best_loss"] = [float(base.loc[k, "loss"]) for k in key]
    rows["best_divergence"] = [float(base.loc[k, "divergence"]) for k in key]
    # where the transformer sits between random (0) and the optimal rank-d model (1)
    rows["closed_gap"] = (rows.unif_loss - rows.divergence) / (
        rows.unif_loss - rows.best_divergence
    )
    rows = rows.drop(columns=["member", "model"]).reset_index(drop=True)
    summary = {"rows": len(rows), "max_closed_gap": float(rows.closed_gap.max())}
    return Result(summary, rows, {})


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 3: final divergence over the grid, one line per setting besides the varied heads."""
    fig, ax = plt.subplots(figsize=(1.6 * COLUMN, 1.1 * COLUMN))
    keys = ["N", "alphas", "d", "mlp_width", "mlp_depth", "heads", "layers"]
    for i, (key, rows) in enumerate(table.groupby(keys, sort=True)):
        rows = rows.sort_values("para")
        label = f"N={key[0]} α={json.loads(key[1])} d={key[2]}"
        if key[3]:
            label += f" MLP {key[3]}×{key[4]}"
        if key[6] > 1:
            label += f" L={key[6]}"
        ax.plot(rows.para, rows.divergence, "o-", color=f"C{i}", label=label)
        ax.axhline(rows.best_divergence.iloc[0], color=f"C{i}", ls="--", lw=0.8)
    ax.axhline(table.unif_loss.iloc[0], color="C3", ls=":", label="random: log N − H")
    ax.set(
        xscale="log",
        xlabel="parallel heads",
        ylabel="final exact divergence (nats)",
        title="scaling (dashed: low-rank optimum)",
    )
    ax.legend(fontsize=7)
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
