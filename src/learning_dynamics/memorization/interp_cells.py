"""Memorization study: the interpretability seed cells 5-9 (analysis and figure of each).

`ANALYSES[cell](exs, data, config) -> Result` and `PLOTS[cell](summary, table, arrays, extracts,
pdf, png)`, looked up by `analysis.analyse` and the figures verb. Each cell is one training job,
so `exs` and `data` hold one element; `config` is the study's `memorization` block.

Seed bugs fixed here (beyond the model ones fixed in `model`/`runs`):
- cells 6 and 7 read intermediates at sequence position 2 of (x1, x2, x3), the position of the
  target x3 itself; x3 is predicted at the last *input* position (x2's), which is what
  `transformer_forward` returns;
- cell 7 indexed the low-rank table with x1 + x2·N while the table is in pair order x1·N + x2;
  one order (x1·N + x2) is used everywhere here;
- cells 5 and 6 drew attention maps from raw E + P (no layer norm, skip switches ignored); the
  maps here are the model's exact layer-0 attention (`interp.attention_maps`).
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.colors import TwoSlopeNorm

from ..plotting import COLUMN, save_figure
from . import interp
from .analysis import Extract, Result, random_baseline
from .laws import Law, enumerate_sequences, prior
from .model import all_pairs, exact_metrics, read_laws, skip_coefficients

DIVERGING = "RdBu_r"


def _law(path: str, k: int = 0) -> Law:
    return read_laws(path)[0][k]


def _final(ex: Extract, k: int) -> dict[str, float]:
    return {key: round(v, 6) for key, v in ex.final(k).items()}


def _attention(ex: Extract, k: int) -> torch.Tensor:
    """Member k's layer-0 attention maps (H, N, N), entry [x1, x2]."""
    keep = skip_coefficients([ex.members[k].get("skips", {})], torch.device("cpu"))
    with torch.no_grad():
        return interp.attention_maps(ex.params(k), ex.arch(k), keep)[0]


# ---- cell 5: attention pattern ------------------------------------------------------------------


def attention(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Per-head attention maps over all N² pairs and their singular values."""
    ex, law = exs[0], _law(data[0])
    maps = _attention(ex, 0).double()
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
        **_final(ex, 0),
        "random_baseline": random_baseline(Law(*(p[None] for p in law))),
        "top_singular_values": {
            f"head{h}": [round(float(s), 4) for s in sv[h, :5]] for h in range(len(sv))
        },
        "attention_on_law": [round(v, 4) for v in table.attention_on_law],
    }
    arrays = {"maps": maps.numpy(), "singular_values": sv.numpy(), "prior": weight.numpy()}
    return Result(summary, table, arrays)


def _map_panel(ax: plt.Axes, m: np.ndarray, support: np.ndarray, title: str) -> Any:
    """A map [x1, x2] restricted to the law's tokens (x1 in the support of P(x1), x2 in the
    support of some P(x2 | x1)): x1 down, x2 across, the law's pairs dotted."""
    rows, cols = np.flatnonzero(support.any(1)), np.flatnonzero(support.any(0))
    image = ax.imshow(
        m[np.ix_(rows, cols)], vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="none"
    )
    r, c = np.nonzero(support[np.ix_(rows, cols)])
    ax.scatter(c, r, s=7, c="white", edgecolors="black", lw=0.4)
    for axis, ticks in ((ax.xaxis, cols), (ax.yaxis, rows)):
        step = max(1, len(ticks) // 20)
        axis.set_ticks(range(0, len(ticks), step), [str(t) for t in ticks[::step]], fontsize=6)
    ax.set_xlabel("$x_2$ (query token)")
    ax.set_ylabel("$x_1$")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    return image


def plot_attention(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    maps, sv, support = arrays["maps"], arrays["singular_values"], arrays["prior"] > 0
    heads = len(maps)
    fig = plt.figure(figsize=(2.6 * COLUMN, (0.75 * heads + 0.6) * COLUMN / 1.4))
    grid = fig.add_gridspec(heads, 2, width_ratios=[3, 1])
    for h in range(heads):
        ax = fig.add_subplot(grid[h, 0])
        image = _map_panel(
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


# ---- cell 6: head contributions -----------------------------------------------------------------


def contributions(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Per example of the law: each head's margin (right token's contribution minus the best
    wrong token's) alone ('solo') and summed over heads ('group'); the tokens × components
    contributions and new-basis coefficients of one example; W_U's Gram; the attention maps."""
    ex, law = exs[0], _law(data[0])
    arch, params = ex.arch(0), ex.params(0)
    seqs = enumerate_sequences(law)  # every sequence of the law, x1 varying fastest (seed order)
    logits, trace = ex.forward(0, seqs[None, :, :2], trace=True)
    outputs = interp.component_outputs(arch, trace)[0]  # (M, H + 1, d)
    contrib = interp.head_contributions(params["U"], outputs[None])[0]  # (M, H + 1, N)
    target, heads = seqs[:, 2], arch.n_heads
    solo = interp.margins(contrib[:, :heads], target[:, None].expand(-1, heads))  # (M, H)
    group = interp.margins(contrib[:, :heads].sum(1), target)
    logit = interp.margins(logits[0], target)
    table = pd.DataFrame(seqs.numpy(), columns=["x1", "x2", "x3"])
    for h in range(heads):
        table[f"solo_head{h}"] = solo[:, h].numpy()
        table[f"attention_head{h}"] = trace["attention_layer0"][0, :, h].numpy()
    table["group"], table["logit_margin"] = group.numpy(), logit.numpy()

    example = int(config["contributions"]["example"])
    u = params["U"][0]
    basis = interp.new_computation_basis(u.double(), outputs[example].double())  # (H + 1, N)
    positive = solo > 0
    summary = {
        **_final(ex, 0),
        "examples": len(seqs),
        "group_right": float((group > 0).float().mean()),
        "solo_right": [round(float(v), 4) for v in positive.float().mean(0)],
        "right_by_no_head_alone": int((~positive.any(1) & (group > 0)).sum()),
        "example": {
            "index": example,
            "sequence": seqs[example].tolist(),
            "solo": [round(float(v), 4) for v in solo[example]],
            "group": round(float(group[example]), 4),
            "basis_norms": [round(float(v), 4) for v in basis.norm(dim=-1)],
        },
    }
    arrays = {
        "example_contributions": contrib[example].numpy(),  # (H + 1, N): heads, residual
        "example_basis": basis.numpy(),
        "example_sequence": seqs[example].numpy(),
        "unembedding_gram": (u @ u.T).numpy(),
        "maps": _attention(ex, 0).numpy(),
        "prior": prior(law).numpy(),
    }
    return Result(summary, table, arrays)


def _tokens_by_parts(ax: plt.Axes, values: np.ndarray, target: int, title: str) -> None:
    """values (C, N) as a tokens × (heads, residual, total) heatmap, the target row boxed."""
    parts = values.shape[0] - 1
    grid = np.concatenate([values, values.sum(0, keepdims=True)]).T  # (N, C + 1)
    limit = np.abs(grid).max() or 1.0
    ax.imshow(grid, cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto", interpolation="none")
    ax.set_xticks(range(parts + 2), [f"head {h}" for h in range(parts)] + ["resid.", "sum"])
    ax.set_yticks(range(grid.shape[0]))
    ax.set_ylabel("token")
    ax.add_patch(plt.Rectangle((-0.5, target - 0.5), parts + 2, 1, fill=False, ec="black", lw=1.5))
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6)
    ax.set_title(title)
    ax.grid(False)


def plot_contributions(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    heads = len(arrays["maps"])
    fig, axes = plt.subplots(2, 3, figsize=(3 * 1.1 * COLUMN, 2 * 1.05 * COLUMN))
    ax = axes[0, 0]
    idx = np.arange(len(table))
    for h in range(heads):
        ax.scatter(idx, table[f"solo_head{h}"], s=10, label=f"head {h} alone (solo)")
    ax.plot(idx, table.group, color="black", lw=1, marker=".", ms=3, label="heads summed (group)")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("example (x1 varies fastest)")
    ax.set_ylabel("right − best wrong contribution")
    ax.set_title(f"margins; group > 0 on {summary['group_right']:.0%} of examples")
    ax.legend(fontsize=7)

    seq = arrays["example_sequence"]
    name = f"example {summary['example']['index']} ({seq[0]}, {seq[1]}) → {seq[2]}"
    _tokens_by_parts(axes[0, 1], arrays["example_contributions"], seq[2], f"{name}: contributions")
    _tokens_by_parts(axes[0, 2], arrays["example_basis"], seq[2], "new basis $W_U(W_U^TW_U)^{-1}v$")
    gram = arrays["unembedding_gram"]
    limit = np.abs(gram).max()
    image = axes[1, 0].imshow(gram, cmap=DIVERGING, norm=TwoSlopeNorm(0, -limit, limit))
    fig.colorbar(image, ax=axes[1, 0], shrink=0.8)
    axes[1, 0].set_title(r"$\langle w_U(i), w_U(j)\rangle$ (Gram of $W_U$)")
    axes[1, 0].set_xlabel("token j")
    axes[1, 0].set_ylabel("token i")
    axes[1, 0].grid(False)
    support = arrays["prior"] > 0
    for h in range(min(heads, 2)):
        image = _map_panel(axes[1, 1 + h], arrays["maps"][h], support, f"head {h}: attention")
    fig.colorbar(image, ax=axes[1, 2], shrink=0.8)
    fig.suptitle(
        f"Head contributions (residual skipped): divergence {summary['divergence']:.2g}, "
        f"accuracy {summary['accuracy']:.3f}",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(fig, pdf, png)


# ---- cell 7: superposition ----------------------------------------------------------------------


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


def superposition(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Low-rank model (member 0) and transformer (member 1) on the last-position law: Grams of
    W_U and of the pair embeddings (low-rank W rows; transformer: residual after the layer at the
    last position), each pair's cosine with its target's unembedding, the (W_E + POS) Gram."""
    ex, law = exs[0], _law(data[0])
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
        summary[name] = {**_final(ex, k), **_pair_geometry(emb[name], u[name], target)}
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


def plot_superposition(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    names = {"low_rank": "low-rank", "transformer": "transformer"}
    order = np.argsort(arrays["target"], kind="stable")  # pairs grouped by target token
    fig, axes = plt.subplots(2, 3, figsize=(3 * 1.15 * COLUMN, 2 * 1.05 * COLUMN))
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


# ---- cell 8: rank-d distance --------------------------------------------------------------------


def rank_distance(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
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
                **_final(ex, k),
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


def plot_rank_distance(
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


# ---- cell 9: almost-rank-d ----------------------------------------------------------------------


def almost_rank(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Exact divergence of three rank-d predictors of the almost-rank-d law: the trained
    low-rank model W·W_Uᵀ, the second-order "theory" embeddings with the trained W_U, and the
    truncated SVD of the centred log-probabilities (least squares)."""
    ex, law = exs[0], _law(data[0])
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
        "seed_formula_max_gap": float((table.seed_formula - table.divergence).abs().max()),
        "prior_uniform": bool(torch.allclose(weights, torch.full_like(weights, 1 / n**2))),
        "theory_vs_trained_embedding_cosine": round(float(cos.mean()), 4),
        "random_baseline": random_baseline(law64),
        "d": d,
        "N": n,
        "law_rank": ex.members[0]["law"]["dim"],
    }
    return Result(summary, table, {})


def plot_almost_rank(
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


ANALYSES = {
    "attention": attention,
    "contributions": contributions,
    "superposition": superposition,
    "rank_distance": rank_distance,
    "almost_rank": almost_rank,
}
PLOTS = {
    "attention": plot_attention,
    "contributions": plot_contributions,
    "superposition": plot_superposition,
    "rank_distance": plot_rank_distance,
    "almost_rank": plot_almost_rank,
}
