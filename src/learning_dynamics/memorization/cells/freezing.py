"""Memorization cell 2 (freezing): the final loss when only some components train (only the
out-projections O, against everything but O), for the notebook's init seed and the config's
`extra_seeds` (the spread over inits; members of the same batched ensembles).

Seed bug fixed: the notebook's freezer dicts have no `freeze_pos` key, which the authors'
`Transformer.freeze` reads, so the cell raises a KeyError; here P is a component of its own,
frozen or trained like the others."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result, member_table, spread
from ..figures import bars

METRICS = ("loss", "divergence", "accuracy")


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 2: per setting, the notebook seed's final values and their spread over init seeds."""
    frame = member_table(exs[0], data[0])
    every = ["E", "P", "QKV", "O", "U"]
    frame.insert(
        0, "trains", ["+".join(c for c in every if c not in m["freeze"]) for m in exs[0].members]
    )
    # every setting's first member has the notebook's seed (runs.init_seeds)
    frame.insert(1, "notebook_seed", ~frame.trains.duplicated())
    summary: dict[str, Any] = {
        f"trains {r.trains}": {k: getattr(r, k) for k in METRICS}
        for r in frame[frame.notebook_seed].itertuples()
    }
    summary["spread"] = {
        f"trains {t}": {k: spread(rows[k]) for k in METRICS}
        for t, rows in frame.groupby("trains", sort=False)
    }
    summary["random_baseline"] = float(frame.random.iloc[0])
    return Result(summary, frame, {})


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 2: what training only the out-projections O buys, against training everything else:
    the notebook seed's bar, every init seed a dot, the min–max over seeds as an error bar."""
    first = table[table.notebook_seed].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(1.6 * COLUMN, 0.5 * COLUMN + 0.3 * len(first)))
    labels = []
    for i, t in enumerate(first.trains):
        s = summary["spread"][f"trains {t}"]
        labels.append(
            f"trains {t}\n(acc {first.accuracy[i]:.2f}; {s['divergence']['seeds']} seeds: "
            f"{s['divergence']['mean']:.3f} ± {s['divergence']['std']:.3f})"
        )
        rows = table[table.trains == t]
        ax.scatter(rows.divergence, np.full(len(rows), i), s=10, color="black", zorder=3)
        ax.errorbar(
            s["divergence"]["mean"],
            i,
            xerr=[
                [s["divergence"]["mean"] - s["divergence"]["min"]],
                [s["divergence"]["max"] - s["divergence"]["mean"]],
            ],
            color="C1",
            capsize=3,
            zorder=4,
        )
    ax.scatter([], [], s=10, color="black", label="each init seed")
    ax.errorbar([], [], xerr=[], color="C1", capsize=3, label="mean, min–max over seeds")
    bars(
        ax,
        labels,
        first.divergence.to_numpy(),
        summary["random_baseline"],
        f"freezing (N={first.N[0]}, d={first.d[0]}, H={first.para[0]}; bars: notebook seed)",
    )
    ax.legend(fontsize=8, loc="upper center")  # clear of the per-seed dots
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
