"""Grokking study: training. An ensemble of E members (own seed, training set, learning rates
and weight decay) trains as one batched model: weights (E, in, out), forward and backward written
out by hand (three bmm's each way), and Adam/AdamW with per-member lr and weight decay
(`BatchedAdam`). Every member sees all pairs; a per-member mask picks its training pairs, so
training sets of any size share shapes. `tests/test_grokking.py` checks a member against the
seed-style nn.Module + torch.optim run. The DAG verbs `make_data` and `train`.

Training runs on `training_device()`: initial values are drawn on the CPU as the seed draws them
and then moved, and data, optimiser state and metric buffers live where the parameters are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..devices import training_device
from ..history import run_attrs
from ..io import read_arrays, write_arrays
from ..training import fit
from .model import STUDY, init_params, member_data, pairs, parallelogram_matrix, rqi
from .runs import RunConfig, data_config

# ---- DAG verb: make_data -----------------------------------------------------------------------


def make_data(config: dict[str, Any], out: str) -> None:
    """Templates and training masks of every member of a job (DAG verb)."""
    c = config
    per = [
        member_data(c["p"], n, s, c["input_dim"], c["output_dim"], c["modulo"], c["init"])
        for s, n in zip(c["seeds"], c["train_nums"], strict=True)
    ]
    ij = pairs(c["p"])
    target = ij.sum(axis=1) % c["p"] if c["modulo"] else ij.sum(axis=1)
    arrays = {k: np.stack([m[k] for m in per]) for k in per[0]}
    arrays |= {"pairs": ij, "target": target, "seeds": np.asarray(c["seeds"])}
    write_arrays(out, arrays, {"study": STUDY, "config": str(c)})


# ---- the batched trainer ---------------------------------------------------------------------


class BatchedAdam:
    """Adam / AdamW for batched parameters (E, ...), each member with its own lr and weight
    decay (weight decay 0 is plain Adam). One call per distinct (lr, weight decay) of the kernel
    behind torch.optim.AdamW(fused=True) on those members' slices: one pass over p, g, m, v,
    where the same update written with broadcast tensor ops takes ~10 passes (7x slower).
    `grads` are fixed buffers the trainer writes the gradients into before each `step`."""

    def __init__(
        self,
        params: list[torch.Tensor],
        grads: list[torch.Tensor],
        lr: torch.Tensor,
        weight_decay: torch.Tensor | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.grads, self.betas, self.eps = params, grads, betas, eps
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
        tensors = (self.params, self.grads, self.m, self.v)
        split = [[torch.unbind(x) for x in group] for group in tensors]
        members: dict[tuple[float, float], list[int]] = {}
        for e, key in enumerate(zip(self.lr, self.wd, strict=True)):
            members.setdefault(key, []).append(e)
        self.groups = [
            (lr, wd, [[t[e] for e in group for t in kind] for kind in split])
            for (lr, wd), group in members.items()
        ]

    def step(self) -> None:
        self.t += 1
        self._step.fill_(self.t)
        for lr, wd, (params, grads, m, v) in self.groups:
            torch._fused_adamw_(
                params,
                grads,
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


def snapshot_params(p: dict[str, torch.Tensor], decoder: bool) -> dict[str, torch.Tensor]:
    """A snapshot's parameters: the representation `rep` (E, p), and with `decoder` the decoder's
    W1, b1, W2, b2, W3, b3 as the trainer holds them ((E, in, out), (E, out)): E × 42k numbers,
    which the sweeps (hundreds of members) leave to their checkpoints."""
    out = {"rep": p["rep"][..., 0].clone()}
    return out | ({k: p[k].clone() for k in GrokkingTrainer.DECODER} if decoder else {})


class GrokkingTrainer:
    """Full-batch training of an ensemble: MSE on each member's training pairs; per-step
    metrics (before the update): train loss, train/test accuracy, RQI.

    Each member's pairs are reordered training pairs first, so the backward pass runs on the
    first `n_back` rows only (the most any member trains on): the test pairs need the forward
    pass (for the test accuracy), not the backward. Activations and gradients live in buffers
    made once (no allocation per step); on the CPU tanh runs in NumPy on the same memory
    (~7x faster than torch.tanh here).
    """

    DECODER = ("W1", "b1", "W2", "b2", "W3", "b3")

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        data: dict[str, np.ndarray],
        rep_lr: torch.Tensor,
        dec_lr: torch.Tensor,
        dec_wd: torch.Tensor,
        rqi_eps: float = 0.01,
        snapshot_decoder: bool = False,
    ) -> None:
        self.p = {k: v.clone() for k, v in params.items()}
        self.snapshot_decoder = snapshot_decoder
        self.device = dev = self.p["rep"].device  # data and state live where the parameters are
        members, p = self.p["rep"].shape[:2]
        mask = data["mask"]  # (E, N): training pairs
        order = np.argsort(~mask, axis=1, kind="stable")  # per member: training pairs first
        order_t = torch.from_numpy(order).to(dev)
        ij = torch.from_numpy(data["pairs"]).to(dev)[order_t]  # (E, N, 2)
        self.add = F.one_hot(ij, p).sum(2).float()  # (E, N, p): row n sums E_i + E_j
        target = torch.from_numpy(data["target"]).to(dev)[order_t]  # (E, N)
        y = torch.from_numpy(data["y_templates"]).to(dev)  # (E, T, d)
        self.y_templates = y
        self.labels = torch.gather(y, 1, target[..., None].expand(-1, -1, y.shape[-1]))
        self.target = target
        train = torch.from_numpy(np.take_along_axis(mask, order, axis=1)).to(dev)
        self.train = train.float()  # (E, N)
        self.test = (~train).float()
        self.n_train = self.train.sum(1)
        self.n_test = self.test.sum(1).clamp_min(1)
        self.n_back = n = int(mask.sum(1).max())
        # d(mean over the member's train pairs and output dims)/d(out) = 2 (out - y) mask / (n d)
        scale = 2 * self.train / (self.n_train[:, None] * y.shape[-1])
        self.grad_scale = scale[:, :n, None].contiguous()
        self.c = parallelogram_matrix(p).to(dev)
        self.rqi_eps = rqi_eps

        width, n_all, d_out = self.p["W2"].shape[1], ij.shape[1], y.shape[-1]
        new = lambda *shape: torch.empty(members, *shape, device=dev)  # noqa: E731
        self.h1, self.h2, self.out = new(n_all, width), new(n_all, width), new(n_all, d_out)
        self.err, self.g_out, self.g_a = new(n_all, d_out), new(n, d_out), new(n, 1)
        self.g_z2, self.g_z1 = new(n, width), new(n, width)
        self.grads = {k: torch.empty_like(v) for k, v in self.p.items()}
        self.rep_opt = BatchedAdam([self.p["rep"]], [self.grads["rep"]], rep_lr)
        self.dec_opt = BatchedAdam(
            [self.p[k] for k in self.DECODER], [self.grads[k] for k in self.DECODER], dec_lr, dec_wd
        )
        if dev.type == "cpu":
            views = {id(t): t.numpy() for t in (self.h1, self.h2)}
            self.tanh_ = lambda t: np.tanh(views[id(t)], out=views[id(t)])
            # OpenBLAS (one thread) is faster than torch's bmm on the weight gradients (W2: 5.6
            # vs 6.3 ms) and on the 10-column products (0.3 vs 2 ms); torch wins elsewhere.
            self.blas_mm = lambda a, b, out: np.matmul(a.numpy(), b.numpy(), out=out.numpy())
        else:
            self.tanh_ = torch.Tensor.tanh_
            self.blas_mm = lambda a, b, out: torch.matmul(a, b, out=out)

    def forward(self) -> torch.Tensor:
        """Fills a (E, N, 1), h1, h2 and out; returns a."""
        p = self.p
        a = torch.bmm(self.add, p["rep"])  # (E, N, 1)
        self.tanh_(torch.addcmul(p["b1"][:, None], a, p["W1"], out=self.h1))  # 1-wide input
        self.tanh_(torch.baddbmm(p["b2"][:, None], self.h1, p["W2"], out=self.h2))
        self.blas_mm(self.h2, p["W3"], self.out)
        self.out.add_(p["b3"][:, None])
        return a

    def metrics(self) -> dict[str, torch.Tensor]:
        loss = (self.err.square().mean(-1) * self.train).sum(1) / self.n_train
        dist = torch.cdist(self.out, self.y_templates)  # (E, N, T): nearest template
        correct = (dist.argmin(-1) == self.target).float()
        return {
            "loss": loss,
            "train_acc": (correct * self.train).sum(1) / self.n_train,
            "test_acc": (correct * self.test).sum(1) / self.n_test,
            "rqi": rqi(self.p["rep"], self.c, self.rqi_eps),
        }

    @staticmethod
    def _tanh_backward(grad: torch.Tensor, h: torch.Tensor) -> None:
        """dL/dz = dL/dh · (1 − h²) for h = tanh(z), in place on `grad` (one fused pass)."""
        torch.ops.aten.tanh_backward.grad_input(grad, h, grad_input=grad)

    @torch.inference_mode()
    def step(self, step: int) -> dict[str, torch.Tensor]:
        p, g, n = self.p, self.grads, self.n_back
        a = self.forward()
        torch.sub(self.out, self.labels, out=self.err)
        metrics = self.metrics()
        # backward on the first n rows (every member's training pairs, and for members with
        # fewer, some test pairs whose gradient scale is 0)
        h1, h2 = self.h1[:, :n], self.h2[:, :n]
        torch.mul(self.err[:, :n], self.grad_scale, out=self.g_out)
        torch.bmm(self.g_out, p["W3"].transpose(1, 2), out=self.g_z2)
        self._tanh_backward(self.g_z2, h2)
        torch.bmm(self.g_z2, p["W2"].transpose(1, 2), out=self.g_z1)
        self._tanh_backward(self.g_z1, h1)
        torch.bmm(a[:, :n].transpose(1, 2), self.g_z1, out=g["W1"])
        torch.sum(self.g_z1, 1, out=g["b1"])
        self.blas_mm(h1.transpose(1, 2), self.g_z2, g["W2"])
        torch.sum(self.g_z2, 1, out=g["b2"])
        self.blas_mm(h2.transpose(1, 2), self.g_out, g["W3"])
        torch.sum(self.g_out, 1, out=g["b3"])
        torch.bmm(self.g_z1, p["W1"].transpose(1, 2), out=self.g_a)  # (E, n, 1)
        torch.bmm(self.add[:, :n].transpose(1, 2), self.g_a, out=g["rep"])  # (E, p, 1)
        self.rep_opt.step()
        self.dec_opt.step()
        return metrics

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"params": snapshot_params(self.p, self.snapshot_decoder)}

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


class SettlingTrainer:
    """An ensemble whose members leave the batch once their phase is settled: at the end of each
    chunk of steps (`fit` calls `run` between snapshots), a member that has reached train
    accuracy >= `acc`, test accuracy >= `acc` and (if `rqi` is given) RQI > `rqi` is frozen: its
    parameters stop changing and its metrics are carried forward as last recorded, and the rest
    train on as a smaller batch (a new `GrokkingTrainer` on the remaining members, with their
    parameters and Adam moments). The first times at which the thresholds are reached, which is
    all the phase diagrams and the fraction sweep read, are those of the member trained to the
    end. Metrics and snapshots keep all members, in their original order.
    """

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        data: dict[str, np.ndarray],
        rep_lr: torch.Tensor,
        dec_lr: torch.Tensor,
        dec_wd: torch.Tensor,
        rqi_eps: float,
        acc: float,
        rqi: float | None,
        snapshot_decoder: bool = False,
    ) -> None:
        self.data, self.rqi_eps, self.acc, self.rqi_threshold = data, rqi_eps, acc, rqi
        self.snapshot_decoder = snapshot_decoder
        self.lrs = (rep_lr, dec_lr, dec_wd)
        self.members = n = len(data["mask"])
        self.full = {k: v.clone() for k, v in params.items()}  # frozen members' values live here
        dev = self.full["rep"].device
        self.active = np.arange(n)
        self.last: dict[str, torch.Tensor] = {}  # last recorded metrics of every member
        self.hit = {k: torch.zeros(n, dtype=torch.bool, device=dev) for k in self._criteria()}
        self.core: GrokkingTrainer | None = self._core(self.active, params)

    def _criteria(self) -> tuple[str, ...]:
        return ("train_acc", "test_acc") + (("rqi",) if self.rqi_threshold is not None else ())

    def _core(self, members: np.ndarray, params: dict[str, torch.Tensor]) -> GrokkingTrainer:
        per_member = ("x_templates", "y_templates", "mask")
        data = {k: (v[members] if k in per_member else v) for k, v in self.data.items()}
        rep_lr, dec_lr, dec_wd = (x[torch.from_numpy(members)] for x in self.lrs)
        return GrokkingTrainer(params, data, rep_lr, dec_lr, dec_wd, self.rqi_eps)

    def _store(self) -> None:
        """Write the active members' parameters into the full tensors."""
        if self.core is not None:
            index = torch.as_tensor(self.active, device=self.full["rep"].device)
            for k, v in self.core.p.items():
                self.full[k][index] = v

    def _compact(self, keep_local: np.ndarray) -> None:
        """Continue with the active members at local positions `keep_local` only."""
        old = self.core
        self._store()
        self.active = self.active[keep_local]
        if len(self.active) == 0:
            self.core = None
            return
        index = torch.as_tensor(keep_local, device=self.full["rep"].device)
        self.core = self._core(self.active, {k: v[index] for k, v in old.p.items()})
        for new_opt, old_opt in (
            (self.core.rep_opt, old.rep_opt),
            (self.core.dec_opt, old.dec_opt),
        ):
            for mine, theirs in zip(new_opt.m + new_opt.v, old_opt.m + old_opt.v, strict=True):
                mine.copy_(theirs[index])
            new_opt.t = old_opt.t

    def run(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        rows = [self.core.step(s) for s in range(start, stop)] if self.core is not None else []
        if not self.last:  # first chunk: every member is active
            self.last = {k: torch.zeros_like(v) for k, v in rows[0].items()}
        out = {k: v.expand(stop - start, -1).clone() for k, v in self.last.items()}
        if rows:
            index = torch.as_tensor(self.active, device=self.full["rep"].device)
            for k in out:
                out[k][:, index] = torch.stack([r[k] for r in rows])
        self.last = {k: v[-1].clone() for k, v in out.items()}
        self.hit["train_acc"] |= (out["train_acc"] >= self.acc).any(0)
        self.hit["test_acc"] |= (out["test_acc"] >= self.acc).any(0)
        if self.rqi_threshold is not None:
            self.hit["rqi"] |= (out["rqi"] > self.rqi_threshold).any(0)
        settled = torch.stack(list(self.hit.values())).all(0).cpu().numpy()
        keep_local = np.flatnonzero(~settled[self.active])
        if self.core is not None and len(keep_local) < len(self.active):
            self._compact(keep_local)
        return out

    def step(self, step: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.run(step, step + 1).items()}

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        self._store()
        return {"params": snapshot_params(self.full, self.snapshot_decoder)}

    def state_dict(self) -> dict[str, Any]:
        self._store()
        return {
            "params": {k: v.clone() for k, v in self.full.items()},
            "active": torch.from_numpy(self.active.copy()),
            "core": None if self.core is None else self.core.state_dict(),
            "last": {k: v.clone() for k, v in self.last.items()},
            "hit": {k: v.clone() for k, v in self.hit.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state["params"].items():
            self.full[k].copy_(v)
        self.active = state["active"].numpy().astype(np.int64)
        dev = self.full["rep"].device
        self.last = {k: v.to(dev) for k, v in state["last"].items()}
        self.hit = {k: v.to(dev) for k, v in state["hit"].items()}
        if state["core"] is None:
            self.core = None
            return
        index = torch.as_tensor(self.active, device=dev)
        self.core = self._core(self.active, {k: v[index] for k, v in self.full.items()})
        self.core.load_state_dict(state["core"])


def build_trainer(
    cfg: RunConfig, data: dict[str, np.ndarray], device: torch.device | str | None = None
) -> GrokkingTrainer | SettlingTrainer:
    """The ensemble trainer on `device` (default CPU); parameters drawn on the CPU, then moved.
    Learning rates and weight decays stay on the CPU: `BatchedAdam` reads them as floats. With
    `cfg.settle`, members leave the batch once settled (`SettlingTrainer`)."""
    params = init_params(cfg.seeds, data["x_templates"], cfg.output_dim, cfg.width, cfg.init)
    params = {k: v.to(device) for k, v in params.items()}
    lrs = (torch.tensor(cfg.rep_lrs), torch.tensor(cfg.dec_lrs), torch.tensor(cfg.dec_wds))
    if cfg.settle:
        return SettlingTrainer(
            params, data, *lrs, cfg.rqi_eps, cfg.settle_acc, cfg.settle_rqi, cfg.snapshot_decoder
        )
    return GrokkingTrainer(params, data, *lrs, cfg.rqi_eps, cfg.snapshot_decoder)


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
