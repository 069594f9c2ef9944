"""Memorization study: interpretability helpers (the seed's missing `interp` module).

Everything works on a one-layer model's parameters with a leading member axis (E, ...), as
`analysis.Extract.params` returns them, and is vectorised over members, pairs and tokens.

- `attention_maps`: the layer-0 attention that x2's query gives to x1, for every pair (x1, x2).
- `new_computation_basis`: a residual vector v as the minimum-norm token coefficients c with
  W_Uᵀc = v.
- `head_contributions` and `margins`: what each head (and the residual stream) adds to every
  token's centred logit, and the right token's lead over the best wrong one.
- `projection_distance`, `kl`-style predictors for the rank-d cells (8, 9).
"""

from __future__ import annotations

import torch

from .model import Arch, layer_norm


def _coefficient(keep: torch.Tensor | None) -> torch.Tensor | float:
    """A skip multiplier (E, 1, 1) from `model.skip_coefficients`, or 1 where nobody skips."""
    return 1.0 if keep is None else keep


def attention_maps(
    p: dict[str, torch.Tensor], arch: Arch, keep: list[torch.Tensor | None]
) -> torch.Tensor:
    """(E, H, N, N): entry [x1, x2] is the attention that x2's query gives to x1 in layer 0.

    Exactly what `transformer_forward` computes (its `attention_layer0` on the input (x1, x2)):
    queries and keys read LN(E[x])·[emb in QK] + P[t]·[pos in QK], and with two keys the softmax
    is sigmoid(q(x2)·(k0(x1) − k1(x2)) / √d_head). The seed's `attention_map` used the raw
    E + P (no layer norm, skip switches ignored) and 1/√d: an approximation of this map."""
    if arch.model != "transformer":
        raise ValueError("attention maps need a transformer member")
    H, hd = arch.n_heads, arch.head_dim
    _, pos_qk, emb_qk, _, _ = (_coefficient(k) for k in keep)
    wq, wk, _ = p["QKV"][:, 0].unbind(1)  # (E, H·hd, d)
    tokens = layer_norm(p["E"])  # (E, N, d)
    pos = p["P"][:, :2]  # (E, 2, d)
    q = emb_qk * (tokens @ wq.mT) + pos_qk * (pos[:, 1:] @ wq.mT)  # query of x2 at position 1
    k_tok, k_pos = emb_qk * (tokens @ wk.mT), pos_qk * (pos @ wk.mT)
    k0 = k_tok + k_pos[:, :1]  # key of x1 at position 0
    k1 = k_tok + k_pos[:, 1:]  # key of x2 at position 1
    q, k0, k1 = (t.unflatten(-1, (H, hd)) for t in (q, k0, k1))  # (E, N, H, hd)
    cross = torch.einsum("eyhc,exhc->ehxy", q, k0)  # q(x2)·k0(x1)
    self_ = torch.einsum("eyhc,eyhc->ehy", q, k1)  # q(x2)·k1(x2)
    return torch.sigmoid((cross - self_[:, :, None, :]) * hd**-0.5)


def notebook_attention_maps(
    p: dict[str, torch.Tensor], arch: Arch, keep: list[torch.Tensor | None]
) -> torch.Tensor:
    """(E, H, N, N), entry [x1, x2]: what the notebook's `attention_map` (the authors' interp.py)
    computes, for modules of one head of size d (cells 5 and 6). It is not the model's
    attention: from the raw rows a_t(x) = E[x]·[emb in QK] + P[t]·[pos in QK] (no layer norm)
    it takes sigmoid((a_1(x2)ᵀW_QW_Kᵀa_0(x1) − a_1(x2)ᵀW_QW_Kᵀa_1(x2))/√d), the transposed
    bilinear form: the model's score is q·k = a_1(x2)ᵀW_QᵀW_K a_0(x1) (W_Q, W_K as stored,
    rows = outputs). Kept to measure how far the notebook's maps are from the real ones."""
    if arch.model != "transformer" or arch.heads != 1 or arch.head_dim != arch.d:
        raise ValueError("the notebook's map is defined for modules of one head of size d")
    H, d = arch.n_heads, arch.d
    _, pos_qk, emb_qk, _, _ = (_coefficient(k) for k in keep)
    wq, wk = (w.unflatten(1, (H, d)) for w in p["QKV"][:, 0, :2].unbind(1))  # (E, H, d, d)
    a0 = emb_qk * p["E"] + pos_qk * p["P"][:, :1]  # (E, N, d): every token at position 0
    a1 = emb_qk * p["E"] + pos_qk * p["P"][:, 1:2]  # at position 1
    form = wq @ wk.mT  # (E, H, d, d): W_Q W_Kᵀ where the model uses W_Qᵀ W_K
    cross = torch.einsum("eya,ehab,exb->ehxy", a1, form, a0)  # [x1, x2]
    self_ = torch.einsum("eya,ehab,eyb->ehy", a1, form, a1)
    return torch.sigmoid((cross - self_[:, :, None, :]) * d**-0.5)


def new_computation_basis(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """c = W_U (W_UᵀW_U)⁻¹ v for each row of v: u (..., N, d), v (..., M, d) -> (..., M, N).
    The minimum-norm token coefficients with W_Uᵀc = v (u of full column rank)."""
    return torch.linalg.solve(u.mT @ u, v.mT).mT @ u.mT


def component_outputs(arch: Arch, trace: dict[str, torch.Tensor]) -> torch.Tensor:
    """What each part of a one-layer transformer writes to the last position's residual stream,
    (E, B, C, d): the H heads, then the residual stream that skips the attention (E[x2], or 0
    when the residual is skipped), then the MLP where there is one. They sum to the final
    residual vector, so their unembeddings sum to the logits."""
    if arch.layers != 1:
        raise ValueError("head contributions are defined here for one-layer models")
    heads = trace["heads_layer0"]
    after_attn, after_mlp = trace["res_after_attn_layer0"], trace["res_after_mlp_layer0"]
    parts = [heads, (after_attn - heads.sum(2))[:, :, None]]
    if arch.has_mlp:
        parts.append((after_mlp - after_attn)[:, :, None])
    return torch.cat(parts, 2)


def head_contributions(u: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """For every token, w_U[token]·(output) minus its mean over tokens: u (E, N, d), outputs
    (E, B, C, d) -> (E, B, C, N). Summed over C this is the model's centred logits."""
    logits = torch.einsum("ebcd,end->ebcn", outputs, u)
    return logits - logits.mean(-1, keepdim=True)


def margins(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The right token's score minus the best wrong token's: scores (..., N), target (...)."""
    right = scores.gather(-1, target[..., None])
    wrong = scores.scatter(-1, target[..., None], float("-inf")).amax(-1, keepdim=True)
    return (right - wrong).squeeze(-1)


# ---- rank-d cells ---------------------------------------------------------------------------


def projection(w: torch.Tensor) -> torch.Tensor:
    """Orthogonal projection W(WᵀW)⁻¹Wᵀ onto the column span of w (..., N, k), full rank."""
    q, _ = torch.linalg.qr(w)
    return q @ q.mT


def projection_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Frobenius distance between the projections onto the column spans of a and b."""
    return torch.linalg.matrix_norm(projection(a) - projection(b))


def top_subspace(w: torch.Tensor, rank: int) -> torch.Tensor:
    """A basis (..., N, rank) of the column span of w's best rank-`rank` approximation (its
    leading left singular vectors; unique only where singular value `rank` is strictly larger
    than the next)."""
    return torch.linalg.svd(w, full_matrices=False)[0][..., :rank]


def centred_log_probs(pi2: torch.Tensor) -> torch.Tensor:
    """L = log pi2 − its mean over tokens (pi2 > 0 everywhere)."""
    log_p = pi2.log()
    return log_p - log_p.mean(-1, keepdim=True)


def seed_kl(logits: torch.Tensor, pi2: torch.Tensor) -> torch.Tensor:
    """The seed's divergence, mean over contexts of log Σ_x p(x)·exp(Z(x)) with
    Z = f − L − E_p[f − L] (f logits (C, N), p = pi2 rows (C, N), L = `centred_log_probs`).

    It is KL(p ‖ softmax f) exactly: log p = L + m with m the mean log-probability, so
    p·exp(f − L) = exp(m + f) and log Σ p·exp(f − L) = m + logsumexp f; subtracting
    E_p[f − L] leaves E_p[L + m] − E_p[f − logsumexp f] = E_p[log p − log q]. The plain mean
    over contexts is the KL under a uniform prior over (x1, x2)."""
    lp = centred_log_probs(pi2)
    z = logits - lp - (pi2 * (logits - lp)).sum(-1, keepdim=True)
    return torch.logsumexp(z + pi2.log(), -1).mean()


def second_order_embeddings(u: torch.Tensor, pi2: torch.Tensor) -> torch.Tensor:
    """The seed's "theory" embeddings (C, d) for a fixed unembedding u (N, d): per context,
    w = Cov_p(u)⁻¹ Cov_p(u, L) with p = pi2[context], the minimiser of Var_p(u·w − L), which is
    twice the second-order expansion of KL(p ‖ softmax(u·w)) (the seed's VAR/COV einsums)."""
    lp = centred_log_probs(pi2)
    mean_u = pi2 @ u  # (C, d)
    var = torch.einsum("cn,nd,nD->cdD", pi2, u, u) - mean_u[:, :, None] * mean_u[:, None, :]
    cov = (pi2 * lp) @ u - (pi2 * lp).sum(-1, keepdim=True) * mean_u  # (C, d)
    return torch.linalg.solve(var, cov)


def truncated_log_probs(pi2: torch.Tensor, rank: int) -> torch.Tensor:
    """The least-squares rank-`rank` approximation (truncated SVD) of the centred log-probs."""
    u, s, vh = torch.linalg.svd(centred_log_probs(pi2), full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vh[:rank]
