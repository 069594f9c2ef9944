"""Memorization cell 5 (attention pattern): the layer-0 attention of x2's query on x1 over all N²
pairs, per head, and the singular values of each map; trained without the residual stream.

Seed bug fixed: the notebook's `attention_map` is not the model's attention (raw E + P, no layer
norm, 1/√d, and the transposed bilinear form W_QW_Kᵀ for W_QᵀW_K; `interp.notebook_attention_maps`);
the maps here are the model's exact layer-0 attention (`interp.attention_maps`), and the summary
records how far the notebook's maps are from them, on random inits and on the trained model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ...plotting import COLUMN, plt, save_figure
from .. import interp
from ..analysis import Extract, Result, member_law, member_table, random_baseline, seed_spread
from ..figures import map_panel
from ..laws import Law, prior
from ..model import init_params, skip_coefficients


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Per-head attention maps over all N² pairs and their singular values."""
    ex, law = exs[0], member_law(data[0])
    maps = ex.attention(0).double()
    sv = torch.linalg.svdvals(maps)  # (H, N)
    weight = prior(law).double()  # P(x1, x2): the pairs the model was trained on
    rows = []
    for h in range(len(maps)):
        rows.append(
            {
                "head": h,
                # prior-weighted attention on x1 over the law's pairs, and over all pairs
                "attention_on_law": float((weight * maps[h]).sum()),
                "attention_all_pairs": float(maps[h].mean()),
                **{f"s{i + 1}": float(s) for i, s in enumerate(sv[h, :5])},
                "s2_over_s1": float(sv[h, 1] / sv[h, 0]),
            }
        )
    table = pd.DataFrame(rows)
    summary = {
        **ex.final_rounded(0),
        "random_baseline": random_baseline(Law(*(p[None] for p in law))),
        "top_singular_values": {
            f"head{h}": [round(float(s), 4) for s in sv[h, :5]] for h in range(len(sv))
        },
        "attention_on_law": [round(v, 4) for v in table.attention_on_law],
        "spread": seed_spread(member_table(ex)),  # the notebook's init seed and the extra ones
    }
    summary["notebook_map_deviation"] = _notebook_deviation(ex)
    arrays = {"maps": maps.numpy(), "singular_values": sv.numpy(), "prior": weight.numpy()}
    return Result(summary, table, arrays)


def _notebook_deviation(ex: Extract, inits: int = 10) -> dict[str, Any]:
    """Largest |notebook map − true map| over pairs and heads: for `inits` random starts of the
    cell's shape (the member's seed and the next ones) and for the trained member."""
    arch, m = ex.arch(0), ex.members[0]
    keep = skip_coefficients([m.get("skips", {})] * inits, torch.device("cpu"))
    start = init_params(arch, range(m["seed"], m["seed"] + inits))
    gap = interp.attention_maps(start, arch, keep) - interp.notebook_attention_maps(
        start, arch, keep
    )
    trained = ex.params(0)
    keep = skip_coefficients([m.get("skips", {})], torch.device("cpu"))
    gap_trained = interp.attention_maps(trained, arch, keep) - interp.notebook_attention_maps(
        trained, arch, keep
    )
    worst = gap.abs().amax((1, 2, 3))
    return {
        "random_init_max": [round(float(worst.min()), 4), round(float(worst.max()), 4)],
        "random_init_mean": round(float(gap.abs().mean()), 4),
        "trained_max": round(float(gap_trained.abs().max()), 4),
        "trained_mean": round(float(gap_trained.abs().mean()), 4),
    }


def draw(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    maps, sv, support = arrays["maps"], arrays["singular_values"], arrays["prior"] > 0
    heads = len(maps)
    fig = plt.figure(figsize=(2.6 * COLUMN, (0.75 * heads + 0.6) * COLUMN / 1.4))
    grid = fig.add_gridspec(heads, 2, width_ratios=[3, 1])
    for h in range(heads):
        ax = fig.add_subplot(grid[h, 0])
        image = map_panel(
            ax,
            maps[h],
            support,
            f"head {h}: attention on $x_1$ (mean over the law's pairs "
            f"{table.attention_on_law[h]:.2f})",
        )
        if h < heads - 1:
            ax.set_xlabel("")
        fig.colorbar(image, ax=ax, pad=0.01)
    ax = fig.add_subplot(grid[:, 1])
    for h in range(heads):
        ax.semilogy(np.arange(1, sv.shape[1] + 1), sv[h], marker=".", ms=3, label=f"head {h}")
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    ax.set_title("singular values of\neach full N × N map", fontsize=10)
    ax.legend()
    fig.suptitle(
        "Layer-0 attention of $x_2$ on $x_1$, the law's tokens only (dots: the law's pairs); "
        f"divergence {summary['divergence']:.2g}, accuracy {summary['accuracy']:.3f}",
        fontsize=10,
    )
    fig.tight_layout()
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
