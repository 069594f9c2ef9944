"""Cross-check with devinterp (the field's library; `pip install -e ".[devinterp]"`, which
.ci/run installs): on the same model, data, point and hyperparameters, its SGLD estimate of the
LLC and ours agree within their sampling error. Skipped where devinterp is missing, except in CI
(CI=true), where it fails."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from learning_dynamics import llc

if os.environ.get("CI") == "true":
    import devinterp  # noqa: F401  (CI installs the extra: a missing one is a failure)
devinterp = pytest.importorskip("devinterp", reason="the optional extra `.[devinterp]`")

M, N, H, SAMPLES = 3, 3, 2, 64
NBETA, GAMMA, EPS, CHAINS, STEPS = 100.0, 10.0, 1e-4, 8, 600


class TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.A = nn.Linear(M, H, bias=False)
        self.B = nn.Linear(H, N, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.B(self.A(x))


def test_devinterp_and_ours_agree():
    from datasets import Dataset
    from devinterp.slt.llc import compute_llc
    from devinterp.slt.sampling import sample

    g = torch.Generator().manual_seed(0)
    x = torch.randn(SAMPLES, M, generator=g)
    target = torch.randn(N, 1, generator=g) @ torch.randn(1, M, generator=g)
    y = x @ target.T + 0.1 * torch.randn(SAMPLES, N, generator=g)
    # w*: the rank-1 truncation of the least-squares map, balanced over the two layers
    u, s, vt = torch.linalg.svd(torch.linalg.lstsq(x, y).solution.T)
    model = TwoLayer()
    with torch.no_grad():
        model.A.weight.zero_()
        model.B.weight.zero_()
        model.A.weight[0] = vt[0] * s[0].sqrt()
        model.B.weight[:, 0] = u[:, 0] * s[0].sqrt()

    # devinterp: an "input_ids" dataset of sample indices, the per-sample loss ½‖y − f(x)‖²,
    # the whole data set as one batch (so its loss is the full-batch loss, as ours)
    data = Dataset.from_dict({"input_ids": [[i, i] for i in range(SAMPLES)]}).with_format("torch")

    def per_sample(m: nn.Module, ids: torch.Tensor) -> torch.Tensor:
        i = ids[:, 0]
        return 0.5 * (m(x[i]) - y[i]).square().sum(-1, keepdim=True)

    samples = sample(
        model,
        data,
        {},
        lr=EPS,
        n_beta=NBETA,
        num_chains=CHAINS,
        num_draws=STEPS,
        batch_size=SAMPLES,
        num_burnin_steps=0,
        localization=GAMMA,
        loss_fn=per_sample,
        num_init_loss_batches=1,
        device="cpu",
        shuffle=False,
        init_seed=1,
    )
    theirs = compute_llc(samples).llc_per_chain.values.astype(np.float64)

    def batched(p: dict[str, torch.Tensor]) -> torch.Tensor:
        pred = x @ p["A"].transpose(1, 2) @ p["B"].transpose(1, 2)  # (B, n, N)
        return 0.5 * (pred - y).square().sum(-1).mean(-1)

    center = {"A": model.A.weight.detach()[None], "B": model.B.weight.detach()[None]}
    cfg = llc.SGLDConfig(
        nbeta=NBETA, gamma=GAMMA, lr=EPS * NBETA, chains=CHAINS, steps=STEPS, burn_in=0, seed=1
    )
    ours = llc.llc(batched, center, cfg).llc_chain[0]
    # the same point, the same loss at it
    init = float(compute_llc(samples).init_loss)
    assert init == pytest.approx(float(batched(center)[0]), rel=1e-5)
    error = np.sqrt(theirs.var(ddof=1) / CHAINS + ours.var(ddof=1) / CHAINS)
    assert abs(theirs.mean() - ours.mean()) <= 3 * error, (theirs, ours)
    assert 0.5 < ours.mean() < M * H + H * N  # a real estimate, not a degenerate one
