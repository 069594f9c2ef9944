"""The seed-style memorization transformer and training loop: plain nn.Modules as the seed's
`models`/`train` modules work (the authors' repository, commit 09bf52f: E, P, U are
nn.Linear(d, rows) weights), for tests (the batched model must compute the same function and
start E, P the same way) and for the benchmark (the loop the project is timed against).

The model runs `para` nn.MultiheadAttention modules over the whole 3-token sequence under a
causal mask and reads the logits at position 1 (the prediction of x3); the loop trains on batches
sampled up front (the seed pre-samples all 5000 × 1024 sequences) through a DataLoader, with a
per-step `.item()` for the loss and accuracy.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .laws import Law, entropy
from .model import SKIPS, Arch, layer_norm


class SeedStyleTransformer(nn.Module):
    def __init__(self, arch: Arch, skips: dict[str, bool] | None = None) -> None:
        super().__init__()
        if arch.head_dim * arch.heads != arch.d:
            raise ValueError("nn.MultiheadAttention needs d_head = d / heads")
        self.arch = arch
        self.keep = {k: 0.0 if (skips or {}).get(k, False) else 1.0 for k in SKIPS}
        d = arch.d
        # the authors' tables: nn.Linear(d, rows) weights (uniform in ±1/√d), read by row
        self.word_emb = nn.Linear(d, arch.N, bias=False)
        self.pos_emb = nn.Linear(d, arch.context, bias=False)
        self.attn = nn.ModuleList(
            nn.ModuleList(
                nn.MultiheadAttention(d, arch.heads, bias=False, batch_first=True)
                for _ in range(arch.para)
            )
            for _ in range(arch.layers)
        )
        self.mlp = nn.ModuleList()
        if arch.has_mlp:
            for _ in range(arch.layers):
                layers: list[nn.Module] = [nn.Linear(d, arch.mlp_width), nn.GELU()]
                for _ in range(arch.mlp_depth - 1):
                    layers += [nn.Linear(arch.mlp_width, arch.mlp_width), nn.GELU()]
                self.mlp.append(nn.Sequential(*layers, nn.Linear(arch.mlp_width, d, bias=False)))
        self.unemb = nn.Linear(d, arch.N, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Centred logits (B, N) predicting x3 from a batch of sequences (B, 3)."""
        t = x.shape[1]
        k = self.keep
        res = self.word_emb.weight[x]
        pos = self.pos_emb.weight[:t]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # True: may not attend
        for layer, modules in enumerate(self.attn):
            n = layer_norm(res)
            qk = n * k["emb_qk"] + pos * k["pos_qk"]
            ov = n * k["emb_ov"] + pos * k["pos_ov"]
            heads = sum(a(qk, qk, ov, attn_mask=mask, need_weights=False)[0] for a in modules)
            res = heads + res * k["residual"]
            if self.mlp:
                res = res + self.mlp[layer](layer_norm(res))
        logits = self.unemb(res[:, 1])
        return logits - logits.mean(-1, keepdim=True)


def load_batched(model: SeedStyleTransformer, params: dict[str, torch.Tensor], k: int = 0) -> None:
    """Copy member k of the batched parameters into the nn.Modules (same function)."""
    arch = model.arch
    per = arch.heads * arch.head_dim  # rows of one module's W_Q (and W_K, W_V)
    with torch.no_grad():
        model.word_emb.weight.copy_(params["E"][k])
        model.pos_emb.weight.copy_(params["P"][k])
        model.unemb.weight.copy_(params["U"][k])
        for layer, modules in enumerate(model.attn):
            for m, mha in enumerate(modules):
                rows = slice(m * per, (m + 1) * per)
                mha.in_proj_weight.copy_(params["QKV"][k, layer, :, rows].reshape(3 * per, -1))
                mha.out_proj.weight.copy_(params["O"][k, layer][:, rows])
        for layer, mlp in enumerate(model.mlp):
            linears = [m for m in mlp if isinstance(m, nn.Linear)]
            for i, lin in enumerate(linears[:-1]):
                lin.weight.copy_(params[f"MLP{layer}.w{i}"][k])
                lin.bias.copy_(params[f"MLP{layer}.b{i}"][k])
            linears[-1].weight.copy_(params[f"MLP{layer}.out"][k])


def presample(law: Law, batch: int, steps: int, seed: int) -> torch.Tensor:
    """All training sequences up front, as the seed does: (steps·batch, 3), with torch's
    multinomial (law tensors without a member axis)."""
    g = torch.Generator().manual_seed(seed)
    n = batch * steps
    x1 = torch.multinomial(law.pi0, n, replacement=True, generator=g)
    x2 = torch.multinomial(law.pi1[x1], 1, generator=g)[:, 0]
    x3 = torch.multinomial(law.pi2[x1, x2], 1, generator=g)[:, 0]
    return torch.stack([x1, x2, x3], 1)


def seed_style_train(
    model: SeedStyleTransformer, law: Law, data: torch.Tensor, batch: int, lr: float
) -> dict[str, Any]:
    """The seed's loop: DataLoader over pre-sampled sequences, Adam, full-divergence loss, a
    `.item()` per step. Returns the loss/accuracy lists and the seconds spent."""
    loader = torch.utils.data.DataLoader(data, batch_size=batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    ent = entropy(law)
    losses, accs = [], []
    start = time.perf_counter()
    for x in loader:
        logits = model(x)
        logq = F.log_softmax(logits, -1)
        loss = -ent - (law.pi2[x[:, 0], x[:, 1]] * logq).sum(-1).mean()
        acc = (logits.argmax(-1) == x[:, 2]).float().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accs.append(acc.item())
    return {"loss": losses, "accuracy": accs, "seconds": time.perf_counter() - start}
