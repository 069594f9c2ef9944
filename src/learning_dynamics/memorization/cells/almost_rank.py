"""Memorization cell 9 (almost-rank-d): exact divergence of three rank-d predictors of the
almost-rank-d law (trained low-rank model, second-order theory, truncated SVD)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from ...plotting import COLUMN, plt, save_figure
from .. import interp
from ..analysis import Extract, Result, member_law, random_baseline
from ..laws import Law, prior
from ..model import exact_metrics


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Exact divergence of three rank-d predictors of the almost-rank-d law: the trained
    low-rank model W·W_Uᵀ, the second-order "theory" embeddings with the trained W_U, and the
    truncated SVD of the centred log-probabilities (least squares)."""
    ex, law = exs[0], member_law(data[0])
    law64 = Law(*(p.double() for p in law))
    n = law.pi0.shape[-1]
    pi2 = law64.pi2.reshape(n * n, n)
    params = {k: v[0].double() for k, v in ex.params(0).items()}
    w, u, d = params["W"], params["U"], ex.arch(0).d
    theory = interp.second_order_embeddings(u, pi2)
    predictors = {
        "trained": w @ u.T,
        "theory": theory @ u.T,
        "least_squares": interp.truncated_log_probs(pi2, d),
    }
    weights = prior(law64).flatten()
    rows = []
    for name, logits in predictors.items():
        exact = exact_metrics(logits[None], law64)
        rows.append(
            {
                "predictor": name,
                "divergence": float(exact["divergence"][0]),
                "seed_formula": float(interp.seed_kl(logits, pi2)),
                "accuracy": float(exact["accuracy"][0]),
            }
        )
    table = pd.DataFrame(rows)
    cos = torch.nn.functional.cosine_similarity(theory, w, dim=-1)
    summary = {
        **{r.predictor: round(r.divergence, 6) for r in table.itertuples()},
        "trained_exact_from_training": round(ex.final(0)["divergence"], 6),
        # the seed's question: does the second-order theory give the trained model's KL?
        "theory_over_trained": float(table.divergence[1] / table.divergence[0]),
        "seed_formula_max_gap": float((table.seed_formula - table.divergence).abs().max()),
        "prior_uniform": bool(torch.allclose(weights, torch.full_like(weights, 1 / n**2))),
        "theory_vs_trained_embedding_cosine": round(float(cos.mean()), 4),
        "random_baseline": random_baseline(law64),
        "d": d,
        "N": n,
        "law_rank": ex.members[0]["law"]["dim"],
    }
    return Result(summary, table, {})


def draw(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    fig, ax = plt.subplots(figsize=(1.3 * COLUMN, 1.1 * COLUMN))
    labels = {
        "trained": "trained\nlow-rank",
        "theory": "second-order\ntheory",
        "least_squares": "least-squares\n(truncated SVD)",
    }
    bars = ax.bar([labels[p] for p in table.predictor], table.divergence, color=["C0", "C1", "C2"])
    ax.bar_label(bars, fmt="%.2e", fontsize=8)
    ax.axhline(summary["random_baseline"], color="0.3", ls="--", lw=1, label="uniform prediction")
    ax.set_ylabel("exact divergence (KL, nats)")
    ax.set_title(
        f"Almost-rank-{summary['law_rank']} law (N = {summary['N']}), rank-{summary['d']} "
        "predictors",
        fontsize=10,
    )
    ax.set_ylim(0, 1.2 * max(table.divergence.max(), summary["random_baseline"]))
    ax.legend(fontsize=7)
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
