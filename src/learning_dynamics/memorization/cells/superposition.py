"""Memorization cell 7 (superposition): on the last-position law, a low-rank model and a
transformer; Grams of W_U and of the pair embeddings, each pair's cosine with its target's
unembedding (the notebook prints it), the raw Gram of the pair embeddings (the notebook's
heatmap) beside their cosines, the Gram of W_E + P.

Seed bug fixed: the seed read the transformer's residual at position 2 (x3's own); here the last
input position. Pairs are in the order x1·N + x2 everywhere, as the low-rank table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.colors import TwoSlopeNorm

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result, member_law, random_baseline
from ..figures import DIVERGING
from ..laws import Law
from ..model import all_pairs


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every row of a with every row of b."""
    a, b = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    return a @ b.T


def _pair_geometry(emb: torch.Tensor, u: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    cos = _cosine(emb, u)  # (pairs, N)
    same = target[:, None] == target[None, :]
    off = ~torch.eye(len(target), dtype=torch.bool)
    pairs = _cosine(emb, emb)
    return {
        "cosine_with_target_mean": float(cos[torch.arange(len(target)), target].mean()),
        "cosine_with_target_min": float(cos[torch.arange(len(target)), target].min()),
        # share of pairs whose embedding points closest (in angle) to its target's w_U
        "nearest_direction_is_target": float((cos.argmax(-1) == target).float().mean()),
        "pair_cosine_same_target": float(pairs[same & off].mean()),
        "pair_cosine_other_target": float(pairs[~same].mean()),
    }


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Low-rank model (member 0) and transformer (member 1) on the last-position law: Grams of
    W_U and of the pair embeddings (low-rank W rows; transformer: residual after the layer at the
    last position), each pair's cosine with its target's unembedding, the (W_E + POS) Gram."""
    ex, law = exs[0], member_law(data[0])
    n = law.pi0.shape[-1]
    target = law.pi2.reshape(n * n, n).argmax(-1)  # the p-mass token of each pair
    x = all_pairs(n, 1, torch.device("cpu"))  # pair order x1·N + x2, as the W table
    _, trace = ex.forward(1, x, trace=True)
    low, tf = ex.params(0), ex.params(1)
    emb = {"low_rank": low["W"][0], "transformer": trace["res_after_mlp_layer0"][0]}
    u = {"low_rank": low["U"][0], "transformer": tf["U"][0]}
    summary: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {"target": target.numpy()}
    table = pd.DataFrame(
        {"x1": x[0, :, 0].numpy(), "x2": x[0, :, 1].numpy(), "target": target.numpy()}
    )
    for k, name in enumerate(emb):
        summary[name] = {**ex.final_rounded(k), **_pair_geometry(emb[name], u[name], target)}
        cos = _cosine(emb[name], u[name])[torch.arange(n * n), target]
        table[f"cosine_{name}"] = cos.numpy()
        table[f"norm_{name}"] = emb[name].norm(dim=-1).numpy()
        arrays[f"{name}/unembedding_gram"] = (u[name] @ u[name].T).numpy()
        arrays[f"{name}/pair_gram"] = (emb[name] @ emb[name].T).numpy()
        arrays[f"{name}/pair_cosine"] = _cosine(emb[name], emb[name]).numpy()
        arrays[f"{name}/cosine_with_target"] = cos.numpy()
    word_pos = (tf["E"][0][None] + tf["P"][0, :2, None]).flatten(0, 1)  # rows: (t, token)
    arrays["transformer/word_pos_gram"] = (word_pos @ word_pos.T).numpy()
    summary["random_baseline"] = random_baseline(Law(*(p[None] for p in law)))
    return Result(summary, table, arrays)


def _gram_panel(ax: plt.Axes, fig: plt.Figure, m: np.ndarray, title: str, label: str) -> None:
    limit = np.abs(m).max()
    image = ax.imshow(m, cmap=DIVERGING, norm=TwoSlopeNorm(0, -limit, limit), interpolation="none")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    ax.set_xlabel(label)
    ax.set_ylabel(label)
    ax.grid(False)


def draw(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    names = {"low_rank": "low-rank", "transformer": "transformer"}
    order = np.argsort(arrays["target"], kind="stable")  # pairs grouped by target token
    fig, axes = plt.subplots(3, 3, figsize=(3 * 1.15 * COLUMN, 3 * 1.05 * COLUMN))
    for i, (key, name) in enumerate(names.items()):
        _gram_panel(
            axes[0, i], fig, arrays[f"{key}/unembedding_gram"], f"{name}: Gram of $W_U$", "token"
        )
        _gram_panel(
            axes[1, i],
            fig,
            arrays[f"{key}/pair_cosine"][np.ix_(order, order)],
            f"{name}: cosine of pair embeddings",
            "pair (sorted by target)",
        )
        _gram_panel(  # the notebook's own heatmap: the raw Gram, norms included
            axes[2, i],
            fig,
            arrays[f"{key}/pair_gram"][np.ix_(order, order)],
            f"{name}: raw Gram of pair embeddings",
            "pair (sorted by target)",
        )
    axes[2, 2].axis("off")
    _gram_panel(
        axes[0, 2],
        fig,
        arrays["transformer/word_pos_gram"],
        "transformer: Gram of $W_E + P_t$",
        "token at position t",
    )
    n = len(arrays["target"]) ** 0.5
    for axis in (axes[0, 2].xaxis, axes[0, 2].yaxis):
        axis.set_ticks([(n - 1) / 2, (3 * n - 1) / 2], ["t = 0 ($x_1$)", "t = 1 ($x_2$)"])
    for line in (axes[0, 2].axhline, axes[0, 2].axvline):
        line(n - 0.5, color="black", lw=0.8)
    ax = axes[1, 2]
    bins = np.linspace(-1, 1, 41)
    for key, name in names.items():
        cos = arrays[f"{key}/cosine_with_target"]
        ax.hist(cos, bins=bins, alpha=0.6, label=f"{name} (mean {cos.mean():.2f})")
    ax.set_xlabel("cos(pair embedding, $w_U$(target))")
    ax.set_ylabel("pairs")
    ax.set_title("alignment with the target's unembedding")
    ax.legend(fontsize=7)
    fig.suptitle(
        "Last-position law: low-rank divergence "
        f"{summary['low_rank']['divergence']:.3f}, transformer "
        f"{summary['transformer']['divergence']:.3f} (random {summary['random_baseline']:.3f})",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
