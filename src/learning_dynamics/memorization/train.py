"""Memorization study: training. An `Ensemble` is the members of one shape (`model.Arch`) with
their law, batch sampler and Adam; a `JobTrainer` steps every ensemble of a job together for
`training.fit`. The DAG verbs `make_data` (every member's law, drawn into data.h5) and `train`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from ..io import to_json
from .laws import BatchSampler, Law, PoolSampler, entropy, make_law
from .model import (
    STUDY,
    Arch,
    all_pairs,
    batch_losses,
    component,
    exact_metrics,
    init_params,
    loss_targets,
    model_logits,
    skip_coefficients,
)

# ---- an ensemble of one shape, and the trainer of a job ---------------------------------------


def batch_seed(seed: int) -> int:
    """Seed of a member's batch stream: derived from its init seed, but a different stream."""
    return int(np.random.SeedSequence([int(seed), 1]).generate_state(1)[0])


class Ensemble:
    """E members of one Arch: parameters, law, batch sampler and Adam."""

    def __init__(
        self,
        arch: Arch,
        members: list[dict[str, Any]],
        law: Law,
        lr: float,
        device: torch.device,
    ) -> None:
        self.arch, self.device = arch, device
        self.law = Law(*(p.to(device) for p in law))
        self.entropy = entropy(self.law)
        seeds = [m["seed"] for m in members]
        self.params = {k: v.to(device) for k, v in init_params(arch, seeds).items()}
        for name, value in self.params.items():
            value.requires_grad_(component(name) not in arch.freeze)
        self.trainable = [v for v in self.params.values() if v.requires_grad]
        self.keep = skip_coefficients([m.get("skips", {}) for m in members], device)
        flags = [m["loss"] == "next_token" for m in members]
        # one Python bool when all members agree; a mask made once (no per-step host copy)
        same = len(set(flags)) == 1
        self.next_token = flags[0] if same else torch.tensor(flags, device=device)
        pools = [m.get("pool") for m in members]
        if any(pools):  # the authors' recipe: one pool drawn once, reshuffled every epoch
            if not all(pools) or len({p["size"] for p in pools}) != 1:
                raise ValueError("members of one shape must all draw from pools of one size")
            self.sampler = PoolSampler(
                law,
                [p["seed"] for p in pools],
                [batch_seed(s) for s in seeds],
                int(pools[0]["size"]),
                device,
            )
        else:
            self.sampler = BatchSampler(law, [batch_seed(s) for s in seeds], device)
        fused = device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(self.trainable, lr=lr, fused=fused)

    def logits(self, x: torch.Tensor, trace: bool = False) -> tuple[torch.Tensor, dict]:
        return model_logits(self.arch, self.params, self.keep, x, trace)

    def step(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One Adam step on a fresh batch; the batch's loss and accuracy before the update."""
        seq, pi2_rows = self.sampler.sample(batch, rows=self.next_token is not True)
        x3 = seq[..., 2]
        logits, _ = self.logits(seq[..., :2])
        target = loss_targets(x3, pi2_rows, self.next_token, self.arch.N)
        loss, accuracy = batch_losses(logits, x3, target, self.entropy)
        if self.trainable:
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.optimizer.step()
        return loss.detach(), accuracy

    @torch.no_grad()
    def exact(self, max_elements: int = 1 << 24) -> dict[str, torch.Tensor]:
        """Exact divergence and expected accuracy over all N² contexts (chunked over members)."""
        e, n = self.law.pi0.shape
        per_member = n * n * n * 4
        chunk = max(1, max_elements // per_member)
        rows = []
        for lo in range(0, e, chunk):
            part = slice(lo, lo + chunk)
            params = {k: v[part] for k, v in self.params.items()}
            keep = [None if k is None else k[part] for k in self.keep]
            pairs = all_pairs(n, len(range(e)[part]), self.device)
            logits, _ = model_logits(self.arch, params, keep, pairs)
            rows.append(exact_metrics(logits, Law(*(p[part] for p in self.law))))
        return {k: torch.cat([r[k] for r in rows]) for k in rows[0]}

    def state_dict(self) -> dict[str, Any]:
        return {
            "params": {k: v.detach().clone() for k, v in self.params.items()},
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for k, v in self.params.items():
                v.copy_(state["params"][k])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])


def linear_lr(lr: float, step: int, schedule: dict[str, Any] | None) -> float:
    """The learning rate of update `step`. Without a schedule, `lr`; with one, torch's LinearLR
    stepped once every `every` updates (the authors step it once per epoch):
    lr·(start + (end − start)·min(k, total)/total) at scheduler step k = step // every."""
    if not schedule:
        return lr
    k = min(step // int(schedule["every"]), int(schedule["total"]))
    start, end = schedule.get("start_factor", 1.0), schedule["end_factor"]
    return lr * (start + (end - start) * k / int(schedule["total"]))


def groups(members: list[dict[str, Any]]) -> list[tuple[Arch, list[int]]]:
    """Members grouped by shape (Arch), in order of first appearance: [(arch, member indices)]."""
    out: dict[Arch, list[int]] = {}
    for i, m in enumerate(members):
        out.setdefault(Arch.of(m), []).append(i)
    return list(out.items())


class JobTrainer:
    """All members of one rule job: one Ensemble per shape, stepped together (a `fit` Trainer).

    Metrics and exact metrics have one column per member in job order; parameters are stored per
    ensemble as series `params_g<k>`."""

    def __init__(self, config: dict[str, Any], laws: list[Law], device: torch.device) -> None:
        self.batch = int(config["batch"])
        self.lr, self.schedule = config["lr"], config.get("schedule")
        members = config["members"]
        self.ensembles, order = [], []
        for arch, idx in groups(members):
            law = Law(*(torch.stack([laws[i][j] for i in idx]) for j in range(3)))
            self.ensembles.append(
                Ensemble(arch, [members[i] for i in idx], law, config["lr"], device)
            )
            order.extend(idx)
        # columns come out grouped by ensemble; `inverse` puts them back in member order
        self.inverse = torch.tensor(np.argsort(order), device=device)

    def _members(self, columns: list[torch.Tensor]) -> torch.Tensor:
        if len(columns) == 1:  # one ensemble: already in member order
            return columns[0]
        return torch.cat(columns, -1)[..., self.inverse]

    def step(self, step: int) -> dict[str, torch.Tensor]:
        if self.schedule and step % int(self.schedule["every"]) == 0:
            lr = linear_lr(self.lr, step, self.schedule)
            for ens in self.ensembles:
                for group in ens.optimizer.param_groups:
                    group["lr"] = lr
        out = [ens.step(self.batch) for ens in self.ensembles]
        return {
            "loss": self._members([o[0] for o in out]),
            "accuracy": self._members([o[1] for o in out]),
        }

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        exact = [ens.exact() for ens in self.ensembles]
        snap = {"exact": {k: self._members([x[k] for x in exact]) for k in exact[0]}}
        for g, ens in enumerate(self.ensembles):
            snap[f"params_g{g}"] = {k: v.detach().clone() for k, v in ens.params.items()}
        return snap

    def state_dict(self) -> dict[str, Any]:
        return {"ensembles": [ens.state_dict() for ens in self.ensembles]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for ens, s in zip(self.ensembles, state["ensembles"], strict=True):
            ens.load_state_dict(s)


# ---- DAG verbs: generate data, train ------------------------------------------------------------


def make_data(config: dict[str, Any], out: str) -> None:
    """Draw every member's law (laws shared by several members are stored once)."""
    from ..io import write_arrays

    keys = [to_json(spec) for spec in config["laws"]]
    unique = list(dict.fromkeys(keys))
    arrays: dict[str, Any] = {"member_law": np.array([unique.index(k) for k in keys])}
    for j, key in enumerate(unique):
        spec = json.loads(key)
        law, w = make_law(spec["law"], spec["N"], spec["law_seed"])
        arrays.update({f"law{j}/pi{i}": p.numpy() for i, p in enumerate(law)})
        if w is not None:
            arrays[f"law{j}/W"] = w.numpy()
    write_arrays(out, arrays, {"study": STUDY, "config": to_json(config)})


def read_laws(path: str) -> tuple[list[Law], list[np.ndarray | None]]:
    """Every member's law (and d-law W, else None), from a make_data file."""
    from ..io import read_arrays

    arrays = read_arrays(path)
    laws, ws = [], []
    for j in arrays["member_law"]:
        laws.append(Law(*(torch.from_numpy(arrays[f"law{j}/pi{i}"]) for i in range(3))))
        ws.append(arrays.get(f"law{j}/W"))
    return laws, ws


def train(config: dict[str, Any], data: str, out: str) -> None:
    from ..devices import training_device
    from ..history import run_attrs
    from ..training import fit

    laws, _ = read_laws(data)
    device = training_device()
    trainer = JobTrainer(config, laws, device)
    attrs = run_attrs(STUDY, config, [m["seed"] for m in config["members"]])
    fit(
        trainer,
        steps=config["steps"],
        snapshot_every=config["snapshot_every"],
        out=out,
        attrs=attrs,
    )
