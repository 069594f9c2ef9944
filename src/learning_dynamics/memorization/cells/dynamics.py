"""Memorization cell 1 (learning dynamics): a transformer trained with each loss (full divergence,
next token) against the random (log N − entropy) and optimal (trained low-rank) baselines, batch
and exact, for the notebook's init seed and the config's `extra_seeds` (the spread over inits).

Jobs: `dynamics` (the transformers, one batched ensemble) and `dynamics_low_rank` (the low-rank
baseline, one model per seed, trained its own `low_rank_steps` as the notebook's 4000)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...plotting import COLUMN, plt, save_figure
from ..analysis import FINAL_METRICS, Extract, Result, member_table, seed_spread

RUNS = {
    ("transformer", "divergence"): "full_divergence",
    ("transformer", "next_token"): "next_token",
    ("low_rank", "divergence"): "low_rank",
}


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 1: per run (both losses, the low-rank baseline) the notebook seed's final values and
    their spread over every init seed; both baselines; the gap of each loss to the optimum."""
    frames = []
    for j, (ex, path) in enumerate(zip(exs, data, strict=True)):
        frame = member_table(ex, path)
        frame.insert(0, "job", j)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "run", [RUNS[(r.model, r.loss_type)] for r in frame.itertuples()])
    # every run's first member has the notebook's seed (runs.init_seeds)
    frame.insert(1, "notebook_seed", ~frame.run.duplicated())
    notebook = frame[frame.notebook_seed]
    summary: dict[str, Any] = {
        r.run: {k: getattr(r, k) for k in FINAL_METRICS} for r in notebook.itertuples()
    }
    summary["spread"] = {run: seed_spread(rows) for run, rows in frame.groupby("run", sort=False)}
    summary["random_baseline"] = float(frame.random.iloc[0])
    summary["optimal_baseline"] = summary["low_rank"]["divergence"]
    low = frame[frame.run == "low_rank"].divergence.mean()
    summary["gap_to_optimal"] = {  # mean over seeds of (final divergence − low-rank optimum)
        run: float(frame[frame.run == run].divergence.mean() - low)
        for run in ("full_divergence", "next_token")
    }
    summary["params"] = int(frame.params.iloc[0])
    return Result(summary, frame, {})


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Running mean over `window` steps (shorter at the start), for noisy batch curves."""
    window = max(1, min(window, len(y)))
    c = np.cumsum(np.insert(y, 0, 0.0))
    out = (c[window:] - c[:-window]) / window
    head = c[1:window] / np.arange(1, window)
    return np.concatenate([head, out])


def _band(ax, spread: dict, colour: str, label: str) -> None:  # noqa: ANN001
    """A baseline over seeds: its mean dashed, its min–max shaded."""
    ax.axhspan(spread["min"], spread["max"], color=colour, alpha=0.15, lw=0)
    ax.axhline(spread["mean"], color=colour, ls="--", label=label)


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 1: divergence and accuracy vs step for both losses (the notebook's seed bold, the
    extra seeds thin), both baselines (low-rank: mean and min–max over seeds)."""
    ex = extracts[0]
    step, estep = ex["metrics/step"], ex["exact/step"]
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(2.2 * COLUMN, 0.8 * COLUMN))
    styles = {"full_divergence": ("C0", "full divergence"), "next_token": ("C1", "next token")}
    for row in table[table.job == 0].itertuples():
        colour, label = styles[row.run]
        k = row.member
        if not row.notebook_seed:
            ax_l.plot(estep, ex["exact/divergence"][:, k], color=colour, lw=0.6, alpha=0.6)
            ax_a.plot(estep, ex["exact/accuracy"][:, k], color=colour, lw=0.6, alpha=0.6)
            continue
        s = summary["spread"][row.run]
        ax_l.plot(step, _smooth(ex["metrics/loss"][:, k], 50), color=colour, alpha=0.35, lw=0.8)
        ax_l.plot(
            estep,
            ex["exact/divergence"][:, k],
            color=colour,
            lw=1.6,
            label=f"{label} (exact; {s['divergence']['seeds']} seeds: "
            f"{s['divergence']['mean']:.3f} ± {s['divergence']['std']:.3f})",
        )
        ax_a.plot(step, _smooth(ex["metrics/accuracy"][:, k], 50), color=colour, alpha=0.35, lw=0.8)
        ax_a.plot(
            estep,
            ex["exact/accuracy"][:, k],
            color=colour,
            lw=1.6,
            label=f"{label} (expected; {s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f})",
        )
    low = summary["spread"]["low_rank"]
    ax_l.axhline(summary["random_baseline"], color="C3", ls="--", label="random: log N − H")
    _band(
        ax_l,
        low["divergence"],
        "C2",
        f"optimal: low-rank ({low['divergence']['mean']:.4f} ± {low['divergence']['std']:.4f})",
    )
    ax_l.set(
        xlabel="batch (step)", ylabel="divergence (nats)", ylim=(0, None), title="learning dynamics"
    )
    n = int(table.N.iloc[0])
    ax_a.axhline(1 / n, color="k", ls=":", label="random 1/N")
    _band(ax_a, low["accuracy"], "C2", "low-rank (expected)")
    ax_a.set(xlabel="batch (step)", ylabel="accuracy", ylim=(-0.05, 1.05), title="accuracy")
    for ax, where in ((ax_l, "upper right"), (ax_a, "center right")):
        ax.plot([], [], color="grey", alpha=0.35, lw=0.8, label="batch values (50-step mean)")
        ax.plot([], [], color="grey", lw=0.6, label="extra init seeds (exact)")
        ax.legend(fontsize=6, loc=where)
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
