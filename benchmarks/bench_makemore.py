"""Makemore: the seed-style training loop against the project's, timed in one run.

    python benchmarks/bench_makemore.py [--quick] [--threads 1]

Reference: the seed's loop (its Embedding/Linear/BatchNorm1d/Tanh classes, autograd, a per-step
`torch.randperm` of the whole training set, a manual SGD update and two `.item()` per step), timed
over a few thousand steps and extrapolated linearly to the 200000 (its cost per step is flat).
Project: `training.fit` with `MakemoreTrainer`, histories on (parameter snapshots and all the
statistics every 1000 steps, written to HDF5), for the whole 200000 steps (`--quick`: 20000,
extrapolated), once with the seed's exact minibatch stream (`randperm`) and once with i.i.d.
indices (`randint`). Prints seconds and ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from learning_dynamics.config import load
from learning_dynamics.devices import set_threads
from learning_dynamics.history import run_attrs
from learning_dynamics.makemore.model import (
    MakemoreTrainer,
    build_dataset,
    read_words,
)
from learning_dynamics.makemore.runs import RunConfig, run_config
from learning_dynamics.makemore.sampler import randperm_block
from learning_dynamics.training import fit

ROOT = Path(__file__).resolve().parents[1]
STEPS = 200000


class Embedding:
    def __init__(self, n: int, dim: int) -> None:
        self.weight = torch.randn(n, dim)

    def __call__(self, x):
        self.out = self.weight[x]
        return self.out

    def parameters(self):
        return [self.weight]


class Linear:
    def __init__(self, fan_in: int, fan_out: int, bias: bool = True) -> None:
        self.weight = torch.randn(fan_in, fan_out) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True)
        else:
            mean, var = self.running_mean, self.running_var
        self.out = self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean
                self.running_var = (1 - m) * self.running_var + m * var
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Flatten:
    def __call__(self, x):
        self.out = x.view(x.shape[0], -1)
        return self.out

    def parameters(self):
        return []


def seed_style(x: torch.Tensor, y: torch.Tensor, steps: int) -> tuple[float, float, list[float]]:
    """The seed's notebook loop; returns wall and CPU seconds and the losses printed every 1000
    steps."""
    torch.manual_seed(42)
    layers = [Embedding(27, 10), Flatten(), Linear(30, 200, bias=False), BatchNorm1d(200)]
    layers += [Tanh(), Linear(200, 27)]
    with torch.no_grad():
        layers[-1].weight *= 0.1
    params = [p for layer in layers for p in layer.parameters()]
    for p in params:
        p.requires_grad = True
    printed, log_losses = [], []
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        idx = torch.randperm(len(y))[:32]
        out = x[idx]
        for layer in layers:
            out = layer(out)
        loss = F.cross_entropy(out, y[idx])
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 150000 else 0.01
        for p in params:
            p.data -= lr * p.grad
        if i % 1000 == 0:
            printed.append(round(loss.item(), 4))
        log_losses.append(loss.log10().item())
    return time.perf_counter() - start, time.process_time() - cpu, printed


def project(x: torch.Tensor, y: torch.Tensor, steps: int, sampler: str) -> tuple[float, float]:
    main = run_config(load()["makemore"], "main")  # config.yaml: the seed's values
    cfg = RunConfig(**{**main, "steps": steps, "sampler": sampler})
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        fit(
            MakemoreTrainer(cfg, x, y),
            steps=steps,
            snapshot_every=cfg.history_every,
            out=Path(tmp) / "history.h5",
            attrs=run_attrs("makemore", dataclasses.asdict(cfg), cfg.seed),
            progress=False,
        )
        return time.perf_counter() - start, time.process_time() - cpu


def sampler_seconds(n: int, steps: int, blocks: int = 5) -> float:
    """Time the faithful sampler's helper needs for `steps` steps, from its best block of 1000
    (the least disturbed): the 182624 Mersenne-Twister words each step must skip to stay on the
    seed's stream. The helper draws its blocks one after another, so they bound the whole run's
    wall time from below."""
    generator = torch.Generator().manual_seed(42)
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        randperm_block(generator, n, 32, 1000)
        times.append(time.perf_counter() - start)
    return min(times) * steps / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="project runs 20000 steps, scaled")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reference-steps", type=int, default=3000)
    args = parser.parse_args()
    set_threads(args.threads)  # torch and NumPy's OpenBLAS
    x, y = build_dataset(read_words(ROOT / "data" / "names.txt"))["train"]

    ref_steps = args.reference_steps
    wall, cpu, printed = seed_style(x, y, ref_steps)
    ref = (wall * STEPS / ref_steps, cpu * STEPS / ref_steps)
    print(f"seed-style loop, {ref_steps} steps, printed losses {printed[:3]}")
    print(f"  {STEPS} steps (extrapolated): {ref[0]:.0f} s wall, {ref[1]:.0f} s CPU")
    floor = sampler_seconds(len(y), STEPS)
    print(
        f"faithful sampler alone (skipping the seed's unused randperm draws): {floor:.0f} s, so "
        f"sampler=randperm can be at most {ref[0] / floor:.1f}x faster than the seed-style loop"
    )
    steps = 20000 if args.quick else STEPS
    for sampler in ("randperm", "randint"):
        wall, cpu = (t * STEPS / steps for t in project(x, y, steps, sampler))
        print(
            f"project, sampler={sampler}, histories every 1000 steps, {STEPS} steps"
            + (" (extrapolated from 20000)" if args.quick else "")
            + f": {wall:.0f} s wall ({ref[0] / wall:.1f}x faster), "
            f"{cpu:.0f} s CPU ({ref[1] / cpu:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
