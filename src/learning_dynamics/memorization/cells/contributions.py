"""Memorization cell 6 (head contributions): what each head adds to the right token's logit, alone
and summed, for every example of the law; one example's tokens × heads contributions and its
new-basis coefficients; W_U's Gram; the attention maps; and what the notebook's cell draws and
prints beyond that: the Gram of W_U times the example's summed new-basis coefficients X
(W_UᵀW_U·X, whose row sums are the heads' logits) and, per target token, whether every head
raises each token on average over the examples with that target (the sign check).

Seed bug fixed: the seed read intermediates at sequence position 2 of (x1, x2, x3), the position
of the target x3 itself; x3 is predicted at the last *input* position (x2's), which is what
`transformer_forward` returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.colors import TwoSlopeNorm

from ...plotting import COLUMN, plt, save_figure
from .. import interp
from ..analysis import Extract, Result, member_law, member_table, seed_spread
from ..figures import DIVERGING, map_panel
from ..laws import enumerate_sequences, prior


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Per example of the law: each head's margin (right token's contribution minus the best
    wrong token's) alone ('solo') and summed over heads ('group'); the tokens × components
    contributions and new-basis coefficients of one example; W_U's Gram; the attention maps."""
    ex, law = exs[0], member_law(data[0])
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
    x = basis[:heads].sum(0)  # the heads' summed coefficients X (N,)
    gram = (u @ u.T).double()
    # sign check: per target i and head h, the mean centred contribution to every token over
    # the examples with target i; True where every head raises the token
    targets = torch.unique(target)
    mean = torch.stack([contrib[target == i, :heads].mean(0) for i in targets])  # (T, H, N)
    every_head_up = (mean > 0).all(1)  # (T, N)
    right = every_head_up[torch.arange(len(targets)), targets]
    positive = solo > 0
    summary = {
        **ex.final_rounded(0),
        "spread": seed_spread(member_table(ex)),  # the notebook's init seed and the extra ones
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
        "sign_check": {
            # share of target tokens that every head raises on average over their examples
            "every_head_raises_target": round(float(right.float().mean()), 4),
            "targets": len(targets),
            # share of the other tokens that every head raises too
            "every_head_raises_other": round(
                float((every_head_up.sum() - right.sum()) / (len(targets) * (arch.N - 1))), 4
            ),
        },
    }
    arrays = {
        "example_contributions": contrib[example].numpy(),  # (H + 1, N): heads, residual
        "example_basis": basis.numpy(),
        "example_sequence": seqs[example].numpy(),
        "unembedding_gram": (u @ u.T).numpy(),
        "gram_times_basis": (gram * x[None, :]).numpy(),  # W_UᵀW_U·X: [token i, basis token j]
        "sign_check_targets": targets.numpy(),
        "sign_check": every_head_up.numpy(),  # (targets, N)
        "maps": ex.attention(0).numpy(),
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


def draw(
    summary: dict, table: pd.DataFrame, arrays: dict, extracts: list, pdf: str, png: str
) -> None:
    heads = len(arrays["maps"])
    fig, axes = plt.subplots(3, 3, figsize=(3 * 1.1 * COLUMN, 3 * 1.05 * COLUMN))
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
        image = map_panel(axes[1, 1 + h], arrays["maps"][h], support, f"head {h}: attention")
    fig.colorbar(image, ax=axes[1, 2], shrink=0.8)

    weighted = arrays["gram_times_basis"]
    limit = np.abs(weighted).max() or 1.0
    image = axes[2, 0].imshow(weighted, cmap=DIVERGING, norm=TwoSlopeNorm(0, -limit, limit))
    fig.colorbar(image, ax=axes[2, 0], shrink=0.8)
    axes[2, 0].set_title(f"$W_U^TW_U X$, X: {name}'s heads\n(row sums: the heads' logits)")
    axes[2, 0].set_xlabel("basis token j")
    axes[2, 0].set_ylabel("token i")
    axes[2, 0].grid(False)
    check, targets = arrays["sign_check"], arrays["sign_check_targets"]
    axes[2, 1].imshow(check, cmap="Greys", vmin=0, vmax=1.6, aspect="auto", interpolation="none")
    right = np.flatnonzero(np.isin(np.arange(check.shape[1]), targets))
    for row, t in enumerate(targets):
        axes[2, 1].add_patch(plt.Rectangle((t - 0.5, row - 0.5), 1, 1, fill=False, ec="C3", lw=1.2))
    axes[2, 1].set_yticks(range(len(targets)), [str(t) for t in targets], fontsize=6)
    axes[2, 1].set_xticks(right, [str(t) for t in right], fontsize=6)
    sign = summary["sign_check"]
    axes[2, 1].set_title(
        f"sign check: every head raises the token\n(mean over a target's examples; red: the "
        f"target; {sign['every_head_raises_target']:.0%} of targets)",
        fontsize=9,
    )
    axes[2, 1].set_xlabel("token")
    axes[2, 1].set_ylabel("target token")
    axes[2, 1].grid(False)
    axes[2, 2].axis("off")
    fig.suptitle(
        f"Head contributions (residual skipped): divergence {summary['divergence']:.2g}, "
        f"accuracy {summary['accuracy']:.3f}",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
