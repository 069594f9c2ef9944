"""Memorization study: the interactive page. Cell 1's transformer (the notebook's seed, full
divergence loss) over training: its layer-0 attention maps and what each head contributes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..explorer import Page, colorbar, frame_indices, frames_within
from ..history import History
from . import interp
from .laws import enumerate_sequences, prior
from .model import Arch, model_logits, skip_coefficients
from .train import groups, read_laws


def _member_params(h: History, members: list[dict], k: int) -> tuple[Arch, dict[str, np.ndarray]]:
    """Member k's shape and parameter snapshots (S, ...), from its group's series."""
    for g, (arch, idx) in enumerate(groups(members)):
        if k in idx:
            j = idx.index(k)
            return arch, {n: h.read(f"params_g{g}", n)[:, j] for n in h.names(f"params_g{g}")}
    raise ValueError(f"no member {k}")


def contributions(
    arch: Arch, params: dict[str, np.ndarray], skips: dict, seqs: torch.Tensor, chunk: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """For every snapshot (S) and sequence of the law (M): each head's margin alone (the right
    token's centred-logit contribution minus the best wrong token's), the residual stream's,
    and the heads' summed; (S, M, H + 1) and (S, M). Snapshots go through as members."""
    heads = arch.n_heads
    target = seqs[:, 2]
    alone, summed = [], []
    for start in range(0, len(params["E"]), chunk):
        p = {n: torch.from_numpy(v[start : start + chunk]) for n, v in params.items()}
        e = len(p["E"])
        keep = skip_coefficients([skips] * e, torch.device("cpu"))
        with torch.no_grad():
            _, trace = model_logits(arch, p, keep, seqs[None, :, :2].expand(e, -1, -1), True)
            contrib = interp.head_contributions(p["U"], interp.component_outputs(arch, trace))
            parts = contrib[:, :, : heads + 1]  # (e, M, H + 1, N): heads, then the residual
            alone.append(interp.margins(parts, target[None, :, None].expand(e, -1, heads + 1)))
            summed.append(interp.margins(parts[:, :, :heads].sum(2), target[None].expand(e, -1)))
    return torch.cat(alone).numpy(), torch.cat(summed).numpy()


def page(history: str, data: str, out: str, member: int = 0) -> None:
    """A slider over the stored steps of cell 1's member `member` (0: the notebook's seed with
    the full divergence loss): each head's layer-0 attention of x2 on x1 over the law's token
    pairs; each head's margin alone, the residual stream's and the heads' summed, averaged over
    every sequence of the law, at the step; the share of sequences each gets right over
    training; and the exact divergence and accuracy, with markers at the step."""
    with History(history) as h:
        members = h.config["members"]
        arch, params = _member_params(h, members, member)
        steps = h.steps("params_g0")
        exact_steps = h.steps("exact")
        divergence = h.read("exact", "divergence")[:, member]
        accuracy = h.read("exact", "accuracy")[:, member]
        batch_steps, batch_loss = h.steps("metrics"), h.read("metrics", "loss")[:, member]
    law = read_laws(data)[0][member]
    support = prior(law) > 0  # (N, N): the law's pairs (x1, x2)
    x1 = torch.nonzero(support.any(1)).ravel().numpy()
    x2 = torch.nonzero(support.any(0)).ravel().numpy()
    skips = members[member].get("skips", {})
    heads = arch.n_heads
    idx = frame_indices(len(steps), frames_within(heads * len(x1) * len(x2)))
    framed = {n: v[idx] for n, v in params.items()}
    keep = skip_coefficients([skips] * len(idx), torch.device("cpu"))
    with torch.no_grad():
        maps = interp.attention_maps(
            {n: torch.from_numpy(v) for n, v in framed.items()}, arch, keep
        )
    maps = maps.numpy()[:, :, x1][:, :, :, x2]  # (F, H, x1, x2)
    alone, summed = contributions(arch, params, skips, enumerate_sequences(law))

    # row 1: one map per head; row 2: three panels (a grid of 3·H columns holds both)
    fig = make_subplots(
        rows=2,
        cols=3 * heads,
        specs=[
            [{"colspan": 3}, None, None] * heads,
            ([{"colspan": heads}] + [None] * (heads - 1)) * 3,
        ],
        horizontal_spacing=0.03,
        vertical_spacing=0.16,
        subplot_titles=[f"head {h}: attention on x1" for h in range(heads)]
        + ["mean margin over the law's sequences", "share of sequences right", "loss"],
    )
    cells = [(2, 1), (2, heads + 1), (2, 2 * heads + 1)]
    m = members[member]
    title = (
        f"Memorization, cell 1: N = {arch.N}, d = {arch.d}, {heads} heads, "
        f"{m['loss']} loss, init seed {m['seed']}"
    )
    p = Page(fig, steps[idx], title)
    tokens1, tokens2 = [str(t) for t in x1], [str(t) for t in x2]
    for hd in range(heads):
        bar = colorbar(fig, 1, 3 * hd + 1) if hd == heads - 1 else None
        t = p.add(
            go.Heatmap(
                name=f"head {hd}",
                x=tokens2,
                y=tokens1,
                zmin=0,
                zmax=1,
                colorscale="viridis",
                colorbar=bar,
                showscale=hd == heads - 1,
                hovertemplate="x1 %{y}, x2 %{x}: %{z}<extra>head " + str(hd) + "</extra>",
            ),
            1,
            3 * hd + 1,
        )
        p.bind(t, "z", maps[:, hd])
        fig.update_xaxes(title_text="x2", row=1, col=3 * hd + 1)
        fig.update_yaxes(autorange="reversed", row=1, col=3 * hd + 1)
    fig.update_xaxes(type="category", nticks=6, row=1)  # token ids, in order, one cell each
    fig.update_yaxes(type="category", nticks=8, row=1)
    fig.update_yaxes(title_text="x1", row=1, col=1)
    names = [f"head {h}" for h in range(heads)] + ["residual", "heads summed"]
    mean = np.concatenate([alone.mean(1), summed.mean(1)[:, None]], axis=1)  # (S, H + 2)
    t = p.add(go.Bar(x=names, name="mean margin at the step", marker_color="#636efa"), *cells[0])
    p.bind(t, "y", mean[idx])
    right = np.concatenate([(alone > 0).mean(1), (summed > 0).mean(1)[:, None]], axis=1)
    for k, name in enumerate(names):
        p.curve(steps, right[:, k], *cells[1], name=f"{name} right", width=3 if k > heads else 1.5)
    p.curve(exact_steps, divergence, *cells[2], name="exact divergence")
    p.curve(exact_steps, accuracy, *cells[2], name="exact accuracy")
    p.curve(batch_steps, batch_loss, *cells[2], name="batch loss", width=1)
    fig.update_yaxes(title_text="right − best wrong (centred logits)", row=2, col=1)
    fig.update_yaxes(title_text="share", range=[-0.02, 1.02], row=2, col=heads + 1)
    for row, col in cells[1:]:
        fig.update_xaxes(title_text="step", row=row, col=col)
    fig.update_layout(legend={"font": {"size": 10}, "y": 0.42, "yanchor": "top"})
    p.write(out)
