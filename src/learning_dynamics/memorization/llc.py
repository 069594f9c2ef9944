"""Memorization study: the local learning coefficient and essential dynamics of cell 1's run (the
notebook's model with the full-divergence loss, `dynamics` job, member 0) over training.

Read from the stored history (`params_g<k>`, the member's shape group), never retrained. The
sampled loss is the exact population divergence the cell reports, E_{x1,x2} KL(pi2[x1, x2] ‖ q),
summed over the contexts the law gives weight (a full batch: no sampling noise), so nβ has no
sample size behind it and is chosen where λ̂ has settled.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import llc as L
from ..essential_dynamics import draw as draw_ed
from ..essential_dynamics import essential_dynamics
from ..history import History
from ..io import read_arrays as read_file
from ..io import write_arrays, write_json
from ..plotting import COLUMN, save_figure
from .model import STUDY, all_pairs, model_logits, skip_coefficients
from .train import groups, read_laws


def member_snapshots(history: str, member: int, every: int):
    """(steps, arch, member config, params {name: (S, ...)}, exact divergence (S,)) of one member
    at every `every`-th snapshot (the last kept)."""
    with History(history) as h:
        members = h.config["members"]
        g, arch, idx = next(
            (g, arch, idx) for g, (arch, idx) in enumerate(groups(members)) if member in idx
        )
        series = f"params_g{g}"
        steps = h.steps(series)
        keep = np.unique(np.append(np.arange(0, len(steps), every), len(steps) - 1))
        pos = idx.index(member)
        params = {k: h.read(series, k)[keep][:, pos] for k in h.names(series)}
        divergence = h.read("exact", "divergence")[keep][:, member]
    return steps[keep], arch, members[member], params, divergence


def divergence_loss(arch, member: dict[str, Any], law):
    """The exact divergence of members (B, ...) on the contexts with weight, and the contexts."""
    n = law.pi0.shape[-1]
    weight = (law.pi0[:, None] * law.pi1).reshape(n * n)
    support = torch.nonzero(weight > 0).squeeze(-1)
    pairs = all_pairs(n, 1, torch.device("cpu"))[0, support]  # (P, 2)
    w = weight[support].float()
    pi2 = law.pi2.reshape(n * n, n)[support].float()
    const = torch.special.xlogy(pi2, pi2).sum(-1)
    keep = skip_coefficients([member.get("skips", {})], torch.device("cpu"))

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        b = next(iter(p.values())).shape[0]
        logits, _ = model_logits(arch, p, keep, pairs.expand(b, -1, -1))
        kl = const - (pi2 * logits.log_softmax(-1)).sum(-1)
        return (w * kl).sum(-1)

    return loss, pairs


def estimate(config: dict[str, Any], history: str, data: str, out: str, summary: str) -> None:
    """LLC at every `config['every']`-th snapshot of member `config['member']`, the sweep over nβ
    and γ at its final point, and the essential dynamics of its centred logits on every context
    with weight; `config` is the study's `llc` block."""
    cfg = L.SGLDConfig.of(config)
    member = config["member"]
    steps, arch, spec, params, divergence = member_snapshots(history, member, config["every"])
    law = read_laws(data)[0][member]
    loss, pairs = divergence_loss(arch, spec, law)
    centers = {k: torch.from_numpy(v) for k, v in params.items()}
    est = L.llc(loss, centers, cfg)
    final = {k: v[-1:] for k, v in centers.items()}
    sweep = L.sweep(loss, final, cfg, config["sweep"]["nbeta"], config["sweep"]["gamma"])
    with torch.no_grad():  # the outputs on the probe set: every context with weight
        keep = skip_coefficients([spec.get("skips", {})], torch.device("cpu"))
        logits, _ = model_logits(arch, centers, keep, pairs.expand(len(steps), -1, -1))
        outputs = (logits - logits.mean(-1, keepdim=True)).numpy()
    ed = essential_dynamics(outputs, steps, config["essential"])
    arrays = {"step": steps, "divergence": divergence, **est.arrays(), **sweep}
    arrays |= {"nbeta": np.float64(cfg.nbeta), "gamma": np.float64(cfg.gamma)}
    arrays |= {f"ed/{k}": v for k, v in ed.items()}
    write_arrays(out, arrays, {"study": STUDY, "member": member})
    write_json(
        summary,
        {**L.summary(est, steps), "member": member, "transitions": ed["transitions"].tolist()},
    )


def plot(llc: str, pdf: str, png: str) -> None:
    """Cell 1's run: LLC and exact divergence over training, the sweep at the final point, and
    the essential dynamics of its logits."""
    x = read_file(llc)
    fig, axes = plt.subplots(1, 3, figsize=(3 * COLUMN, 0.9 * COLUMN), layout="constrained")
    L.draw_over_training(
        axes[0],
        x["step"],
        x["llc"],
        x["llc_std"],
        x["status"],
        x["step"],
        x["divergence"],
        x["ed/transitions"],
        x["ed/plateaus"],
        "LLC (cell 1, divergence loss)",
    )
    axes[0].set_title("LLC and exact divergence over training", fontsize=9)
    L.draw_sweep(axes[1], x, float(x["nbeta"]), float(x["gamma"]))
    axes[1].set_title("final point: λ̂ against nβ and γ", fontsize=9)
    draw_ed(axes[2], x["step"], x["ed/pcs"], x["ed/explained"], x["ed/transitions"])
    axes[2].set_title("essential dynamics (centred logits, all contexts)", fontsize=9)
    save_figure(fig, pdf, png)
