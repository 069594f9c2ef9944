"""Memorization study: attention-only transformers and the low-rank baseline, as ensembles.

Every model here is an *ensemble* of E members that share a shape: each parameter is one tensor
with a leading member dimension, so E independent models (seeds, laws, skip settings) train in
one set of batched kernels. Members never share a number: the objective is the sum of the
members' losses and Adam is elementwise, so member k follows exactly its own single run.

Transformer (spec: `shared/specs/memorization.md`): word embedding E (N×d), positional embedding
P (T×d); the residual stream starts as E[x] alone and P enters only through the attention inputs.
Per layer, n = LN(res) (parameter-free, population std + 1e-10); H = para·heads heads of size
d_head (free, the seed's d / heads by default) read queries/keys from n·[emb in QK] + P·[pos in
QK] and values from n·[emb in OV] + P·[pos in OV]; their outputs are summed and added to
res·[residual kept]; an optional GELU MLP follows. Logits = U·res at the last input position.
`para` modules of `heads` heads each are the same map as H = para·heads heads with one summed
out-projection, so they are stored that way; parameter counts and initialisation match
`para` nn.MultiheadAttention(d, heads, bias=False) modules, and E, P, U are initialised as the
authors' nn.Linear weights (uniform in ±1/√d).

Low-rank model: a free d-vector per context pair (N²×d table, pair index x1·N + x2 everywhere;
the seed's helpers mixed both orders) and U (N×d): the best any width-d encoder can do.

Also here: the losses and the exact (noise-free) metrics. Training (ensembles, the job trainer,
the data and train verbs) is in `train.py`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .laws import Law

STUDY = "memorization"
SKIPS = ("residual", "pos_qk", "emb_qk", "pos_ov", "emb_ov")
LAYOUTS = ("per_head", "shared")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Arch:
    """What fixes the parameter shapes of a member; members with equal Arch train together. The
    sizes come from config/config.yaml (through the members of `runs.job_config`); the defaults
    are the plain architecture: one attention-only layer of single-head modules."""

    N: int  # vocabulary
    d: int  # residual width
    para: int  # parallel attention modules
    model: str = "transformer"  # or "low_rank"
    layers: int = 1
    mlp_width: int = 0
    mlp_depth: int = 0
    heads: int = 1  # heads per module
    d_head: int | None = None  # None: d // heads (nn.MultiheadAttention)
    context: int = 3  # T: rows of P
    freeze: tuple[str, ...] = ()  # components that never train
    # "per_head": every head reads the stream through its own d -> d_head maps (the paper's
    # equation (1)); "shared": the authors' final code, every head reads the stream through one
    # shared d -> d_head map C and the heads' sum is written back by one shared d_head -> d map D
    # (no C, D when d == d_head), P lives in d_head dimensions
    layout: str = "per_head"
    norm: bool = True  # parameter-free layer norm on the attention (and MLP) inputs

    @classmethod
    def of(cls, member: dict[str, Any]) -> Arch:
        keys = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in member.items() if k in keys}
        values["freeze"] = tuple(sorted(values.get("freeze", ())))
        return cls(**values)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose from {LAYOUTS}")
        if self.layout == "shared" and self.model == "transformer" and self.heads != 1:
            raise ValueError("the shared layout has one head per module (heads = 1)")

    @property
    def head_dim(self) -> int:
        return self.d_head or self.d // self.heads

    @property
    def n_heads(self) -> int:
        return self.para * self.heads

    @property
    def has_mlp(self) -> bool:
        return self.layers * self.mlp_width * self.mlp_depth > 0


def param_count(arch: Arch) -> int:
    """Parameters of one member (what `sum(p.numel())` of the seed's model gives)."""
    params = init_params(arch, [0])
    return sum(p[0].numel() for p in params.values())


# ---- initialisation: PyTorch's defaults for the seed's modules --------------------------------


def _uniform(g: torch.Generator, shape: Sequence[int], bound: float) -> torch.Tensor:
    return torch.empty(shape).uniform_(-bound, bound, generator=g)


def _init_member(arch: Arch, g: torch.Generator) -> dict[str, torch.Tensor]:
    n, d = arch.N, arch.d
    # The authors store the tables E (N×d), P (T×d) and the low-rank W (N²×d) as weights of
    # nn.Linear(d, rows, bias=False): uniform in ±1/√d (fan_in = d), not nn.Embedding's N(0, 1).
    if arch.model == "low_rank":  # nn.Linear(d, N², bias=False), nn.Linear(d, N, bias=False)
        return {"W": _uniform(g, (n * n, d), d**-0.5), "U": _uniform(g, (n, d), d**-0.5)}
    hd = arch.head_dim
    p = {"E": _uniform(g, (n, d), d**-0.5), "P": _uniform(g, (arch.context, d), d**-0.5)}
    qkv, out = [], []
    for _ in range(arch.layers * arch.para):  # one nn.MultiheadAttention per (layer, module)
        rows = 3 * arch.heads * hd  # in_proj_weight: xavier_uniform
        w = _uniform(g, (rows, d), math.sqrt(6 / (rows + d)))
        qkv.append(w.reshape(3, arch.heads * hd, d))
        out.append(_uniform(g, (d, arch.heads * hd), (arch.heads * hd) ** -0.5))  # out_proj
    L, H = arch.layers, arch.n_heads
    # (layers, 3, H·hd, d) and (layers, d, H·hd): modules side by side along the head axis
    p["QKV"] = (
        torch.stack(qkv).reshape(L, arch.para, 3, -1, d).transpose(1, 2).reshape(L, 3, H * hd, d)
    )
    p["O"] = torch.stack(out).reshape(L, arch.para, d, -1).transpose(1, 2).reshape(L, d, H * hd)
    if arch.has_mlp:
        w = arch.mlp_width
        sizes = [(w, d)] + [(w, w)] * (arch.mlp_depth - 1)
        for layer in range(L):
            for i, (fan_out, fan_in) in enumerate(sizes):
                p[f"MLP{layer}.w{i}"] = _uniform(g, (fan_out, fan_in), fan_in**-0.5)
                p[f"MLP{layer}.b{i}"] = _uniform(g, (fan_out,), fan_in**-0.5)
            p[f"MLP{layer}.out"] = _uniform(g, (d, w), w**-0.5)
    p["U"] = _uniform(g, (n, d), d**-0.5)
    return p


def _init_shared(arch: Arch, g: torch.Generator) -> dict[str, torch.Tensor]:
    """The authors' final model (`models.Transformer` of their last commits): E, U as
    nn.Linear(d, N) weights, P as nn.Linear(d_head, T), per head one
    nn.MultiheadAttention(d_head, 1, bias=False) (in-projection xavier-uniform, out-projection
    nn.Linear's uniform ±1/√d_head), and when d != d_head the shared maps C = nn.Linear(d, d_head)
    and D = nn.Linear(d_head, d). Every nn.Linear weight is uniform in ±1/√fan_in."""
    n, d, hd, L, H = arch.N, arch.d, arch.head_dim, arch.layers, arch.n_heads
    p = {"E": _uniform(g, (n, d), d**-0.5), "P": _uniform(g, (arch.context, hd), hd**-0.5)}
    qkv = [_uniform(g, (3, hd, hd), math.sqrt(6 / (4 * hd))) for _ in range(L * H)]
    out = [_uniform(g, (hd, hd), hd**-0.5) for _ in range(L * H)]
    # (layers, 3, H·hd, hd) and (layers, hd, H·hd): heads side by side, as in the per-head layout
    p["QKV"] = torch.stack(qkv).reshape(L, H, 3, hd, hd).transpose(1, 2).reshape(L, 3, H * hd, hd)
    p["O"] = torch.stack(out).reshape(L, H, hd, hd).permute(0, 2, 1, 3).reshape(L, hd, H * hd)
    if d != hd:
        p["C"] = _uniform(g, (hd, d), d**-0.5)
        p["D"] = _uniform(g, (d, hd), hd**-0.5)
    if arch.has_mlp:
        raise ValueError("the shared layout is attention-only (mlp_width = 0)")
    p["U"] = _uniform(g, (n, d), d**-0.5)
    return p


def init_params(arch: Arch, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
    """Parameters of E members, (E, ...) each; member k drawn from torch seed seeds[k]."""
    init = _init_shared if arch.model == "transformer" and arch.layout == "shared" else _init_member
    members = [init(arch, torch.Generator().manual_seed(int(s))) for s in seeds]
    return {k: torch.stack([m[k] for m in members]) for k in members[0]}


def component(name: str) -> str:
    """The freezable component a parameter belongs to."""
    return "MLP" if name.startswith("MLP") else {"W": "E", "C": "QKV", "D": "O"}.get(name, name)


# ---- forward ----------------------------------------------------------------------------------


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """Parameter-free layer norm: (x − mean) / (population std + 1e-10)."""
    mean = x.mean(-1, keepdim=True)
    centred = x - mean
    std = centred.square().mean(-1, keepdim=True).sqrt()
    return centred / (std + 1e-10)


def _norm(arch: Arch, x: torch.Tensor) -> torch.Tensor:
    return layer_norm(x) if arch.norm else x


def _attention_maps(
    p: dict[str, torch.Tensor], layer: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(w_in (E, 3·H·hd, d), w_pos (E, 3·H·hd, width of P), o (E, d, H·hd)): the maps from the
    residual stream and from P into every head's q, k, v, and from the heads back to the stream.
    In the shared layout C is folded into the first (QKV·C) and D into the last (D·O): the same
    linear maps, so the same outputs and gradients; P enters after C, so it meets QKV alone."""
    w = p["QKV"][:, layer].flatten(1, 2)
    o = p["O"][:, layer]
    if "C" in p:
        return w @ p["C"], w, p["D"] @ o
    return w, w, o


def skip_coefficients(
    skips: Sequence[dict[str, bool]], device: torch.device
) -> list[torch.Tensor | None]:
    """Per term of SKIPS, a multiplier (E, 1, 1) that is 0 where a member skips the term, or None
    where no member does (the common case: no multiply at all)."""
    out: list[torch.Tensor | None] = []
    for key in SKIPS:
        keep = [0.0 if s.get(key, False) else 1.0 for s in skips]
        out.append(None if all(keep) else torch.tensor(keep, device=device)[:, None, None])
    return out


def _linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x (E, ..., in) times wᵀ for w (E, out, in) -> (E, ..., out), as one bmm over members
    (a weight broadcast over the batch axes would become thousands of tiny matmuls)."""
    return (x.flatten(1, -2) @ w.transpose(-1, -2)).unflatten(1, x.shape[1:-1])


def _scale(x: torch.Tensor, coefficient: torch.Tensor | None) -> torch.Tensor:
    if coefficient is None:
        return x
    return x * coefficient.view(-1, *[1] * (x.dim() - 1))


def _rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """table (E, R, k) rows picked per member by index (E, ...) -> (E, ..., k), as one
    index_select (much faster on CPU than advanced indexing, forward and backward)."""
    e, r, k = table.shape
    offset = torch.arange(e, device=index.device).view(-1, *[1] * (index.dim() - 1)) * r
    flat = table.reshape(e * r, k).index_select(0, (index + offset).flatten())
    return flat.view(*index.shape, k)


def _mlp(p: dict[str, torch.Tensor], arch: Arch, layer: int, res: torch.Tensor) -> torch.Tensor:
    """res + MLP(LN(res)): Linear → GELU → [Linear → GELU]×(depth − 1) → Linear (no bias)."""
    h = _norm(arch, res)
    for i in range(arch.mlp_depth):
        w_i, b_i = p[f"MLP{layer}.w{i}"], p[f"MLP{layer}.b{i}"]
        h = F.gelu(_linear(h, w_i) + b_i.view(b_i.shape[0], *[1] * (h.dim() - 2), -1))
    return res + _linear(h, p[f"MLP{layer}.out"])


def _one_layer_forward(
    p: dict[str, torch.Tensor],
    arch: Arch,
    keep: list[torch.Tensor | None],
    x: torch.Tensor,
    trace: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """`transformer_forward` for one layer, through token tables.

    With one layer every attention input depends on a single token, so everything before the
    per-sequence mixing is a table over the N tokens: the scores q(x2)·k(x1) of every pair and
    head (E, N, N, H), the self-scores q(x2)·k(x2), and each head's value rows already passed
    through its out-projection (E, N, H, d). A batch then only gathers rows: the attention on x1
    is a = sigmoid((s(x2, x1) − s(x2, x2))/√d_head) and the layer adds
    Σ_h y1_h(x2) + a_h·(y0_h(x1) − y1_h(x2)) to the residual (y0/y1: value rows at position
    0/1 times O_h)."""
    H, hd, n = arch.n_heads, arch.head_dim, arch.N
    k_res, k_pos_qk, k_emb_qk, k_pos_ov, k_emb_ov = keep
    w, w_pos, o = _attention_maps(p, 0)  # (E, 3·H·hd, d), (E, 3·H·hd, ·), (E, d, H·hd)
    tq, tk, tv = _linear(_norm(arch, p["E"]), w).chunk(3, -1)  # token rows (E, N, H·hd)
    pq, pk, pv = _linear(p["P"][:, :2], w_pos).chunk(3, -1)  # position rows (E, 2, H·hd)

    def rows(tok, k_emb, pos, t, k_pos):  # noqa: ANN001, ANN202
        """Input rows of position t for every token, skip switches applied: (E, N, H, hd)."""
        return (_scale(tok, k_emb) + _scale(pos[:, t : t + 1], k_pos)).unflatten(-1, (H, hd))

    q1 = rows(tq, k_emb_qk, pq, 1, k_pos_qk)
    k0, k1 = rows(tk, k_emb_qk, pk, 0, k_pos_qk), rows(tk, k_emb_qk, pk, 1, k_pos_qk)
    # s01[e, x2·N + x1, h] = q1(x2)·k0(x1); s11[e, x2, h] = q1(x2)·k1(x2)
    s01 = torch.einsum("eahc,ebhc->eabh", q1, k0).reshape(-1, n * n, H)
    s11 = (q1 * k1).sum(-1)
    o = o.unflatten(-1, (H, hd))  # (E, d, H, hd)
    y0 = torch.einsum("enhc,edhc->enhd", rows(tv, k_emb_ov, pv, 0, k_pos_ov), o)
    y1 = torch.einsum("enhc,edhc->enhd", rows(tv, k_emb_ov, pv, 1, k_pos_ov), o)

    x1, x2 = x[..., 0], x[..., 1]
    a0 = torch.sigmoid((_rows(s01, x2 * n + x1) - _rows(s11, x2)) * hd**-0.5)  # (E, B, H)
    base = _rows(y1.sum(2), x2)  # Σ_h y1_h(x2): every head attending only to x2
    diff = (_rows(y0.flatten(-2), x1) - _rows(y1.flatten(-2), x2)).unflatten(-1, (H, arch.d))
    res = base + (a0.unsqueeze(-1) * diff).sum(-2) + _scale(_rows(p["E"], x2), k_res)
    out: dict[str, torch.Tensor] = {}
    if trace:
        out["heads_layer0"] = _rows(y1.flatten(-2), x2).unflatten(-1, (H, arch.d)) + (
            a0.unsqueeze(-1) * diff
        )
        out["attention_layer0"] = a0
        out["res_after_attn_layer0"] = res
    if arch.has_mlp:
        res = _mlp(p, arch, 0, res)
    if trace:
        out["res_after_mlp_layer0"] = res
    return _linear(res, p["U"]), out


def transformer_forward(
    p: dict[str, torch.Tensor],
    arch: Arch,
    keep: list[torch.Tensor | None],
    x: torch.Tensor,
    trace: bool = False,
    tables: bool | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits (E, B, N) at the last input position for inputs x (E, B, 2) = (x1, x2), and with
    `trace` the intermediates: residual after each stage, every head's output at the last
    position (E, B, H, d) and its attention on x1 (E, B, H), per layer.

    Only x3 is scored, so there are two input positions: under the causal mask position 0
    attends to itself (its head output is its value) and position 1 gives weight
    a = sigmoid(q1·(k0 − k1)/√d_head) to position 0 and 1 − a to itself; this closed form of the
    two-key softmax is all the attention there is.

    One-layer models can go through token tables (`_one_layer_forward`); `tables=None` does so
    when the N² pair table is smaller than the batch's per-head work (B·d_head/2 per head)."""
    if tables is None:
        tables = arch.N**2 * 2 < x.shape[1] * arch.head_dim
    if arch.layers == 1 and tables:
        return _one_layer_forward(p, arch, keep, x, trace)
    H, hd = arch.n_heads, arch.head_dim
    k_res, k_pos_qk, k_emb_qk, k_pos_ov, k_emb_ov = keep
    pos = p["P"][:, :2]  # (E, 2, d)
    out: dict[str, torch.Tensor] = {}
    res = None  # residual stream (E, B, t, d); gathered from E when a layer first needs it
    for layer in range(arch.layers):
        last = layer == arch.layers - 1  # the last layer needs its last position only
        w, w_pos, o = _attention_maps(p, layer)
        wq, wk, wv = w.chunk(3, 1)  # (E, H·hd, d) each
        # Projections are linear, so the [emb]/[pos] switches scale projected rows.
        if layer == 0:
            # Layer-0 rows depend on one token each: project the N rows of LN(E) with Q, K, V
            # in one matmul, then pick rows per sequence (cheaper than B·2 projections).
            table = _linear(_norm(arch, p["E"]), w)
            tq, tk, tv = table.unflatten(-1, (3, H * hd)).unbind(2)
            q1, k_tok, v_tok = _rows(tq, x[:, :, 1]), _rows(tk, x), _rows(tv, x)
        else:
            n = _norm(arch, res)
            q1, k_tok, v_tok = _linear(n[:, :, 1], wq), _linear(n, wk), _linear(n, wv)
        pq, pk, pv = _linear(pos, w_pos).chunk(3, -1)  # (E, 2, H·hd)
        k0, k1 = k_tok.unbind(2)
        v0, v1 = v_tok.unbind(2)
        q1 = _scale(q1, k_emb_qk) + _scale(pq[:, None, 1], k_pos_qk)
        dk = _scale(k0 - k1, k_emb_qk) + _scale((pk[:, 0] - pk[:, 1])[:, None], k_pos_qk)
        v0 = _scale(v0, k_emb_ov) + _scale(pv[:, None, 0], k_pos_ov)
        v1 = _scale(v1, k_emb_ov) + _scale(pv[:, None, 1], k_pos_ov)
        # attention of the last position on x1: sigmoid(q1·(k0 − k1)/√hd) per head
        a0 = torch.sigmoid((q1 * dk).unflatten(-1, (H, hd)).sum(-1) * hd**-0.5)  # (E, B, H)
        heads1 = v1 + (a0[..., None] * (v0 - v1).unflatten(-1, (H, hd))).flatten(-2)
        heads = heads1[:, :, None] if last else torch.stack([v0, heads1], 2)  # (E, B, t, H·hd)
        if res is None:
            res = _rows(p["E"], x[:, :, -1:] if last else x)
        elif last:
            res = res[:, :, -1:]
        res = _linear(heads, o) + _scale(res, k_res)  # (E, B, t, d)
        if trace:
            per_head = torch.einsum(
                "ebhc,edhc->ebhd", heads1.unflatten(-1, (H, hd)), o.unflatten(-1, (H, hd))
            )
            out[f"heads_layer{layer}"] = per_head
            out[f"attention_layer{layer}"] = a0
            out[f"res_after_attn_layer{layer}"] = res[:, :, -1]
        if arch.has_mlp:
            res = _mlp(p, arch, layer, res)
        if trace:
            out[f"res_after_mlp_layer{layer}"] = res[:, :, -1]
    logits = _linear(res[:, :, -1], p["U"])  # (E, B, N)
    return logits, out


def low_rank_forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits (E, B, N) = U·w[(x1, x2)]."""
    n = p["U"].shape[1]
    return _linear(_rows(p["W"], x[..., 0] * n + x[..., 1]), p["U"])


def model_logits(
    arch: Arch,
    params: dict[str, torch.Tensor],
    keep: list[torch.Tensor | None],
    x: torch.Tensor,
    trace: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits (E, B, N) of either model on inputs x (E, B, 2) (and the transformer's trace)."""
    if arch.model == "low_rank":
        return low_rank_forward(params, x), {}
    return transformer_forward(params, arch, keep, x, trace)


def centred(logits: torch.Tensor) -> torch.Tensor:
    """Logits minus their mean over tokens (the model's output convention; softmax-invariant,
    so training skips it)."""
    return logits - logits.mean(-1, keepdim=True)


# ---- losses and exact (noise-free) metrics ------------------------------------------------------


class _CrossEntropy(torch.autograd.Function):
    """Per member, the batch mean of −Σ_x target(x)·log softmax(logits)(x), with its gradient
    (softmax − target)/B written out (cheaper than autograd's chain through log_softmax)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        logq = logits.log_softmax(-1)
        ctx.save_for_backward(logq, target)
        return -(target * logq).sum(-1).mean(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        logq, target = ctx.saved_tensors
        scale = (grad / logq.shape[-2]).view(-1, 1, 1)
        return (logq.exp() - target) * scale, None


def loss_targets(
    x3: torch.Tensor, pi2_rows: torch.Tensor | None, next_token: bool | torch.Tensor, n: int
) -> torch.Tensor:
    """The row each member's cross-entropy is taken against (E, B, N): one-hot x3 for the
    next-token loss, pi2[x1, x2] for the full divergence. `next_token` is a bool when every
    member uses the same loss (the rows are needed only for the divergence), else an (E,) bool
    mask on the device."""
    if next_token is False:
        return pi2_rows
    one_hot = torch.zeros(*x3.shape, n, device=x3.device).scatter_(-1, x3[..., None], 1.0)
    if next_token is True:
        return one_hot
    return torch.where(next_token[:, None, None], one_hot, pi2_rows)


def batch_losses(
    logits: torch.Tensor, x3: torch.Tensor, target: torch.Tensor, entropy: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member loss (E,) and accuracy (E,) of one batch.

    next token: cross-entropy of the sampled x3 minus the entropy of the law (0 is optimal);
    full divergence: −entropy − E_batch Σ_x pi2[x1, x2](x)·log q(x), an unbiased KL estimate.
    Both are a cross-entropy against a target row (`loss_targets`) minus the entropy.
    Accuracy: argmax vs the sampled x3."""
    loss = _CrossEntropy.apply(logits, target) - entropy
    # x3 scores a hit when its logit is the maximum (argmax is slow on CPU; ties have measure 0)
    hit = logits.gather(-1, x3[..., None]).squeeze(-1) >= logits.amax(-1)
    return loss, hit.float().mean(-1)


def all_pairs(n: int, members: int, device: torch.device) -> torch.Tensor:
    """Every context (x1, x2) in pair order x1·N + x2, as inputs (E, N², 2)."""
    x1, x2 = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    pairs = torch.stack([x1.flatten(), x2.flatten()], -1).to(device)
    return pairs.expand(members, -1, -1)


def exact_metrics(logits: torch.Tensor, law: Law) -> dict[str, torch.Tensor]:
    """Noise-free divergence E_{x1,x2} KL(pi2[x1, x2] ‖ q) and expected accuracy
    E_{x1,x2} pi2[x1, x2](argmax q), weighted by the prior, from logits (E, N², N) over all
    pairs."""
    n = law.pi0.shape[-1]
    w = (law.pi0[..., :, None] * law.pi1).reshape(-1, n * n)  # (E, N²)
    pi2 = law.pi2.reshape(-1, n * n, n)
    logq = logits.log_softmax(-1)
    kl = (torch.special.xlogy(pi2, pi2) - pi2 * logq).sum(-1)
    hit = pi2.gather(-1, logits.argmax(-1, keepdim=True)).squeeze(-1)
    return {"divergence": (w * kl).sum(-1), "accuracy": (w * hit).sum(-1)}
