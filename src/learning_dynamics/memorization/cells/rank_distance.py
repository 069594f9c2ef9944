"""Memorization cell 8 (rank-d distance): low-rank models trained on d-laws of rank dim = d..N,
axis-aligned or not; how far W_U's span is from the law's directions, against random spans."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import torch

from ...plotting import COLUMN, plt, save_figure
from .. import interp
from ..analysis import Extract, Result
from ..train import read_laws


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Per member, two distances between projections (Frobenius), each against a random
    baseline of `random_draws` Gaussian N × d matrices (fixed seed):

    - the seed's: ‖P_W − P_{W_U}‖, W the d-law's matrix truncated to rank d by SVD (only its
      leading-d left singular span matters; the seed's N × d matrix U_d S_d V[:d, :d] has that
      span);
    - the identifiable one: logits are centred (softmax ignores the all-ones direction), so only
      the centred span C·W_U (C = I − 11ᵀ/N) can be learned; it is compared with the top-d
      right singular span of the law's centred log-probability matrix (N² × N), the span of the
      least-squares rank-d predictor, which is well defined even where W's singular values tie
      (axis-aligned, dim > d: every d-subspace of W's span is a rank-d truncation of W)."""
    ex = exs[0]
    block = config["rank_distance"]
    laws, ws = read_laws(data[0])
    g = torch.Generator().manual_seed(int(block["law_seed"]))
    rows = []
    for k, m in enumerate(ex.members):
        d, n = m["d"], m["N"]
        centre = torch.eye(n, dtype=torch.float64) - 1 / n
        w = interp.top_subspace(torch.from_numpy(ws[k]).double(), d)
        log_probs = interp.centred_log_probs(laws[k].pi2.double().reshape(n * n, n))
        v = interp.top_subspace(log_probs.T, d)
        u = ex.params(k)["U"][0].double()
        q = torch.randn(int(block["random_draws"]), n, d, generator=g, dtype=torch.float64)
        rows.append(
            {
                "dim": m["law"]["dim"],
                "aligned": m["law"]["axis_aligned"],
                "law_seed": m["law_seed"],
                "seed": m["seed"],
                "distance": float(interp.projection_distance(u, w)),
                "random": float(interp.projection_distance(q, w).mean()),
                "distance_centred": float(interp.projection_distance(centre @ u, v)),
                "random_centred": float(interp.projection_distance(centre @ q, v).mean()),
                **ex.final_rounded(k),
            }
        )
    table = pd.DataFrame(rows)
    d, n = ex.members[0]["d"], ex.members[0]["N"]

    def means(column: str) -> dict[str, dict[int, float]]:
        mean = table.groupby(["dim", "aligned"])[column].mean().unstack()
        return {
            "aligned": {int(k): round(v, 4) for k, v in mean[True].items()},
            "unaligned": {int(k): round(v, 4) for k, v in mean[False].items()},
        }

    summary = {
        "d": d,
        "N": n,
        "seed_metric": {
            **means("distance"),
            "random": {int(k): round(v, 4) for k, v in table.groupby("dim").random.mean().items()},
        },
        "centred_metric": {
            **means("distance_centred"),
            "random": {
                int(k): round(v, 4) for k, v in table.groupby("dim").random_centred.mean().items()
            },
        },
        # E‖P_Q − P_V‖² = 2d(1 − d/n) for a uniformly random d-dimensional span Q in R^n
        "random_rms_theory": math.sqrt(2 * d * (1 - d / n)),
        "random_rms_theory_centred": math.sqrt(2 * d * (1 - d / (n - 1))),
    }
    return Result(summary, table, {})


def draw(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(2 * 1.4 * COLUMN, 1.15 * COLUMN), sharey=True)
    panels = (
        ("", "", "as the seed: $W_U$ vs rank-$d$ truncation of $W$"),
        ("_centred", "_centred", "centred $W_U$ vs top-$d$ span of centred log-probs"),
    )
    for ax, (column, theory, title) in zip(axes, panels, strict=True):
        for aligned, name, colour in ((True, "axis aligned", "C0"), (False, "unaligned", "C1")):
            part = table[table.aligned == aligned]
            ax.scatter(part.dim, part[f"distance{column}"], s=8, color=colour, alpha=0.4)
            mean = part.groupby("dim")[f"distance{column}"].mean()
            ax.plot(mean.index, mean.values, marker="o", ms=4, color=colour, label=name)
        rand = table.groupby("dim")[f"random{column}"].mean()
        ax.plot(rand.index, rand.values, marker="s", ms=3, color="C3", label="random $W_U$")
        ax.axhline(
            summary[f"random_rms_theory{theory}"], color="C3", ls=":", lw=1, label="random (rms)"
        )
        ax.set_xlabel("rank of the law's log-probabilities (dim)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel(r"$\|P_A - P_B\|_F$")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Rank-{summary['d']} low-rank models on d-laws (N = {summary['N']}): "
        "does $W_U$ span the law's directions?",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
