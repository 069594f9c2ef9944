"""Grokking study (seed 004, Liu et al. 2022): addition learned through a 1-D representation.

Task: the p(p+1)/2 pairs (i, j), i <= j, with target i + j. Each symbol has a Gaussian input
template; each sum a Gaussian output template. The representation E (p × 1) is initialised as
the seed does, by a random tanh MLP applied to the input templates, and then trained directly
(the seed's "natural gradient" switch) with Adam; the decoder, a tanh MLP of width 200 on
E_i + E_j, trains with AdamW. Loss: MSE to the output template, full batch over the training
pairs. Accuracy: nearest output template. RQI: see `rqi`.

An ensemble of E members (own seed, training set, learning rates and weight decay) trains as one
batched model: weights (E, in, out), forward and backward written out by hand (three bmm's each
way), and Adam/AdamW with per-member lr and weight decay (`BatchedAdam`). Every member sees all
pairs; a per-member mask picks its training pairs, so training sets of any size share shapes.
`tests/test_grokking.py` checks a member against the seed-style nn.Module + torch.optim run.

Training runs on `training_device()`: initial values are drawn on the CPU as the seed draws them
and then moved, and data, optimiser state and metric buffers live where the parameters are.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn

from ..devices import training_device
from ..history import read_arrays, run_attrs, write_arrays
from ..training import fit
from .runs import RunConfig, data_config

STUDY = "grokking"


# ---- data ----------------------------------------------------------------------------------


def pairs(p: int) -> np.ndarray:
    """The dataset's pairs (i, j), i <= j, in the seed's order: (0,0), (0,1), ..., (p-1,p-1)."""
    return np.array([(i, j) for i in range(p) for j in range(i, p)], dtype=np.int64)


def parallelograms(p: int) -> np.ndarray:
    """Index pairs (a, b), a < b, of dataset pairs with equal sums i + j (the seed's P0)."""
    s = pairs(p).sum(axis=1)
    return np.array(
        [(a, b) for a, b in itertools.combinations(range(len(s)), 2) if s[a] == s[b]],
        dtype=np.int64,
    ).reshape(-1, 2)


def member_data(
    p: int, train_num: int, seed: int, input_dim: int, output_dim: int, modulo: bool
) -> dict[str, np.ndarray]:
    """One member's templates and training mask, drawn as the seed draws them from
    np.random.seed(seed): first the training pairs (choice without replacement), then the input
    templates (p × input_dim), then the output templates ((2p - 1) or p × output_dim)."""
    rng = np.random.RandomState(seed)  # the legacy global stream the seed uses
    n = p * (p + 1) // 2
    train_id = rng.choice(n, train_num, replace=False)
    x = rng.normal(0, 1, size=(p, input_dim))
    y = rng.normal(0, 1, size=(p if modulo else 2 * p - 1, output_dim))
    mask = np.zeros(n, dtype=bool)
    mask[train_id] = True
    return {"x_templates": x.astype(np.float32), "y_templates": y.astype(np.float32), "mask": mask}


def make_data(config: dict[str, Any], out: str) -> None:
    """Templates and training masks of every member of a job (DAG verb)."""
    c = config
    per = [
        member_data(c["p"], n, s, c["input_dim"], c["output_dim"], c["modulo"])
        for s, n in zip(c["seeds"], c["train_nums"], strict=True)
    ]
    ij = pairs(c["p"])
    target = ij.sum(axis=1) % c["p"] if c["modulo"] else ij.sum(axis=1)
    arrays = {k: np.stack([m[k] for m in per]) for k in per[0]}
    arrays |= {"pairs": ij, "target": target, "seeds": np.asarray(c["seeds"])}
    write_arrays(out, arrays, {"study": STUDY, "config": str(c)})


# ---- representation quality ----------------------------------------------------------------


def parallelogram_matrix(p: int) -> torch.Tensor:
    """C (P, p): row q is onehot(i)+onehot(j)-onehot(m)-onehot(n) of parallelogram q, so
    C @ E gives E_i + E_j - E_m - E_n for all parallelograms at once."""
    ij, par = pairs(p), parallelograms(p)
    a = np.zeros((len(ij), p), dtype=np.float32)
    np.add.at(a, (np.arange(len(ij)), ij[:, 0]), 1)
    np.add.at(a, (np.arange(len(ij)), ij[:, 1]), 1)
    return torch.from_numpy(a[par[:, 0]] - a[par[:, 1]])


def rqi(rep: torch.Tensor, c: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """Representation quality index of representations `rep` (..., p, d): the fraction of
    parallelograms with mean_d((E_i + E_j - E_m - E_n)²) < eps after dividing E by its std over
    symbols (per dimension, unbiased as torch.std). `c` is `parallelogram_matrix(p)`."""
    scaled = rep / rep.std(dim=-2, keepdim=True)
    dist = torch.matmul(c, scaled).square().mean(dim=-1)  # (..., P)
    return (dist < eps).float().mean(dim=-1)


# ---- model -----------------------------------------------------------------------------------


class MLP(nn.Module):
    """The seed's NET: Linear-tanh-Linear-tanh-Linear."""

    def __init__(self, input_dim: int, output_dim: int, width: int) -> None:
        super().__init__()
        self.l1 = nn.Linear(input_dim, width)
        self.l2 = nn.Linear(width, width)
        self.l3 = nn.Linear(width, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l3(torch.tanh(self.l2(torch.tanh(self.l1(x)))))


def seed_modules(seed: int, x_templates: np.ndarray, output_dim: int, width: int):
    """The seed's initialisation under torch.manual_seed(seed): the encoder MLP (input -> 1)
    and then the decoder MLP (1 -> output) are built in that order; the representation is the
    encoder applied to the input templates. Returns (representation (p, 1), decoder MLP)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        encoder = MLP(x_templates.shape[1], 1, width)
        decoder = MLP(1, output_dim, width)
    with torch.no_grad():
        rep = encoder(torch.from_numpy(x_templates)).clone()
    return rep, decoder


def init_params(
    seeds: list[int] | tuple[int, ...], x_templates: np.ndarray, output_dim: int, width: int
) -> dict[str, torch.Tensor]:
    """Batched parameters of all members: rep (E, p, 1) and the decoder's W1, b1, W2, b2, W3, b3
    with W stored as (E, in, out) (nn.Linear's weight transposed) so a layer is h @ W + b."""
    per = [seed_modules(s, x, output_dim, width) for s, x in zip(seeds, x_templates, strict=True)]
    params = {"rep": torch.stack([r for r, _ in per])}
    for k in (1, 2, 3):
        layer = [getattr(d, f"l{k}") for _, d in per]
        params[f"W{k}"] = torch.stack([m.weight.detach().T.contiguous() for m in layer])
        params[f"b{k}"] = torch.stack([m.bias.detach() for m in layer])
    return params


def tanh_backward(grad: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """dL/dz from dL/dh for h = tanh(z): grad·(1 - h²), in place on `grad`, two passes."""
    return grad.addcmul_(grad * h, h, value=-1)


class BatchedAdam:
    """Adam / AdamW for batched parameters (E, ...), each member with its own lr and weight
    decay (weight decay 0 is plain Adam). One call per distinct (lr, weight decay) of the kernel
    behind torch.optim.AdamW(fused=True) on those members' slices: one pass over p, g, m, v,
    where the same update written with broadcast tensor ops takes ~10 passes (7x slower)."""

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: torch.Tensor,
        weight_decay: torch.Tensor | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.betas, self.eps = params, betas, eps
        self.lr = [float(x) for x in lr]
        wd = torch.zeros(len(self.lr)) if weight_decay is None else weight_decay
        self.wd = [float(x) for x in wd]
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0
        # The kernel reads the step count from a tensor on the parameters' device; it is set in
        # place each step (no host-to-device copy, so no sync) and shared by all tensors.
        self._step = torch.zeros((), device=params[0].device)
        self._views()

    def _views(self) -> None:
        """Per-member views (member e: its slice of every tensor), made once and grouped by
        (lr, weight decay): one kernel call per group, as the kernel takes one lr per call. The
        kernel updates the views in place, so they stay valid as long as the batched tensors do."""
        split = [torch.unbind(x) for x in (self.params, self.m, self.v) for x in x]
        n = len(self.params)
        members: dict[tuple[float, float], list[int]] = {}
        for e, key in enumerate(zip(self.lr, self.wd, strict=True)):
            members.setdefault(key, []).append(e)
        self.groups = [
            (
                lr,
                wd,
                group,
                tuple([t[e] for e in group for t in split[k * n : (k + 1) * n]] for k in range(3)),
            )
            for (lr, wd), group in members.items()
        ]

    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        self._step.fill_(self.t)
        member_grads = list(zip(*[torch.unbind(g) for g in grads], strict=True))
        for lr, wd, group, (params, m, v) in self.groups:
            torch._fused_adamw_(
                params,
                [g for e in group for g in member_grads[e]],
                m,
                v,
                [],
                [self._step] * len(params),
                lr=lr,
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=wd,
                eps=self.eps,
                amsgrad=False,
                maximize=False,
            )

    def state_dict(self) -> dict[str, Any]:
        return {"m": [m.clone() for m in self.m], "v": [v.clone() for v in self.v], "t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for mine, saved in zip(self.m + self.v, state["m"] + state["v"], strict=True):
            mine.copy_(saved)  # onto the parameters' device, wherever the checkpoint was
        self.t = int(state["t"])


class GrokkingTrainer:
    """Full-batch training of an ensemble: MSE on each member's training pairs; per-step
    metrics (before the update): train loss, train/test accuracy, RQI."""

    DECODER = ("W1", "b1", "W2", "b2", "W3", "b3")

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        data: dict[str, np.ndarray],
        rep_lr: torch.Tensor,
        dec_lr: torch.Tensor,
        dec_wd: torch.Tensor,
        rqi_eps: float = 0.01,
    ) -> None:
        self.p = {k: v.clone() for k, v in params.items()}
        self.device = dev = self.p["rep"].device  # data and state live where the parameters are
        ij = torch.from_numpy(data["pairs"]).to(dev)
        p = self.p["rep"].shape[1]
        rows, ones = torch.arange(len(ij), device=dev), torch.ones(len(ij), device=dev)
        self.add = torch.zeros(len(ij), p, device=dev)  # (N, p): row n sums E_i + E_j
        self.add.index_put_((rows, ij[:, 0]), ones, accumulate=True)
        self.add.index_put_((rows, ij[:, 1]), ones, accumulate=True)
        target = torch.from_numpy(data["target"]).to(dev)
        y = torch.from_numpy(data["y_templates"]).to(dev)  # (E, T, d)
        self.y_templates = y
        self.labels = y[:, target]  # (E, N, d)
        self.target = target
        mask = torch.from_numpy(data["mask"]).to(dev)
        self.train = mask.float()  # (E, N)
        self.test = (~mask).float()
        self.n_train = self.train.sum(1)
        self.n_test = self.test.sum(1).clamp_min(1)
        # d(mean over the member's train pairs and output dims)/d(out) = 2 (out - y) mask / (n d)
        self.grad_scale = (2 * self.train / (self.n_train[:, None] * y.shape[-1]))[..., None]
        self.c = parallelogram_matrix(p).to(dev)
        self.rqi_eps = rqi_eps
        self.rep_opt = BatchedAdam([self.p["rep"]], rep_lr)
        self.dec_opt = BatchedAdam([self.p[k] for k in self.DECODER], dec_lr, dec_wd)

    def forward(self) -> tuple[torch.Tensor, ...]:
        p = self.p
        a = torch.matmul(self.add, p["rep"])  # (E, N, 1)
        h1 = torch.tanh(torch.baddbmm(p["b1"][:, None], a, p["W1"]))
        h2 = torch.tanh(torch.baddbmm(p["b2"][:, None], h1, p["W2"]))
        out = torch.baddbmm(p["b3"][:, None], h2, p["W3"])
        return a, h1, h2, out

    def metrics(self, out: torch.Tensor, err: torch.Tensor) -> dict[str, torch.Tensor]:
        loss = (err.square().mean(-1) * self.train).sum(1) / self.n_train
        dist = torch.cdist(out, self.y_templates)  # (E, N, T): nearest template
        correct = (dist.argmin(-1) == self.target).float()
        return {
            "loss": loss,
            "train_acc": (correct * self.train).sum(1) / self.n_train,
            "test_acc": (correct * self.test).sum(1) / self.n_test,
            "rqi": rqi(self.p["rep"], self.c, self.rqi_eps),
        }

    @torch.inference_mode()
    def step(self, step: int) -> dict[str, torch.Tensor]:
        p = self.p
        a, h1, h2, out = self.forward()
        err = out - self.labels
        metrics = self.metrics(out, err)
        g_out = err * self.grad_scale  # (E, N, d_out)
        g_z2 = tanh_backward(torch.bmm(g_out, p["W3"].transpose(1, 2)), h2)
        g_z1 = tanh_backward(torch.bmm(g_z2, p["W2"].transpose(1, 2)), h1)
        grads = [
            torch.bmm(a.transpose(1, 2), g_z1),  # W1
            g_z1.sum(1),
            torch.bmm(h1.transpose(1, 2), g_z2),  # W2
            g_z2.sum(1),
            # W3: (g_outᵀ h2)ᵀ; with 10 output columns this order is ~5x faster than h2ᵀ g_out
            torch.bmm(g_out.transpose(1, 2), h2).transpose(1, 2).contiguous(),
            g_out.sum(1),
        ]
        g_a = torch.bmm(g_z1, p["W1"].transpose(1, 2))  # (E, N, 1)
        g_rep = torch.matmul(self.add.T, g_a)  # (E, p, 1)
        self.rep_opt.step([g_rep])
        self.dec_opt.step(grads)
        return metrics

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        # The decoder (E × 41k weights) is kept in checkpoints, not snapshotted every 100 steps.
        return {"params": {"rep": self.p["rep"][..., 0].clone()}}

    def state_dict(self) -> dict[str, Any]:
        return {
            "params": {k: v.clone() for k, v in self.p.items()},
            "rep_opt": self.rep_opt.state_dict(),
            "dec_opt": self.dec_opt.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state["params"].items():
            self.p[k].copy_(v)  # in place (the optimisers hold these tensors), onto self.device
        self.rep_opt.load_state_dict(state["rep_opt"])
        self.dec_opt.load_state_dict(state["dec_opt"])


def build_trainer(
    cfg: RunConfig, data: dict[str, np.ndarray], device: torch.device | str | None = None
) -> GrokkingTrainer:
    """The ensemble trainer on `device` (default CPU); parameters drawn on the CPU, then moved.
    Learning rates and weight decays stay on the CPU: `BatchedAdam` reads them as floats."""
    params = init_params(cfg.seeds, data["x_templates"], cfg.output_dim, cfg.width)
    return GrokkingTrainer(
        {k: v.to(device) for k, v in params.items()},
        data,
        torch.tensor(cfg.rep_lrs),
        torch.tensor(cfg.dec_lrs),
        torch.tensor(cfg.dec_wds),
        cfg.rqi_eps,
    )


# ---- DAG verb: train -------------------------------------------------------------------------


def train(config: dict[str, Any], data: str, out: str) -> None:
    cfg = RunConfig.from_dict(config)
    arrays = read_arrays(data)
    expected = data_config(config)
    if list(arrays["seeds"]) != list(expected["seeds"]) or len(arrays["mask"]) != cfg.members:
        raise ValueError(f"{data} does not hold the data of this run's members")
    trainer = build_trainer(cfg, arrays, training_device())
    attrs = run_attrs(STUDY, config, list(cfg.seeds))
    fit(trainer, steps=cfg.steps, snapshot_every=cfg.snapshot_every, out=out, attrs=attrs)
