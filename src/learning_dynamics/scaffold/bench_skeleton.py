"""Skeleton study: a plain autograd training loop against the project's, timed in one
run.

    python benchmarks/bench_skeleton.py [--quick]

Reference: nn.Linear layers, autograd and torch.optim.SGD on the full batch, a `.item()` per
step. Project: `training.fit` with the hand-written trainer, writing the HDF5 history. Both train
the run config.yaml defines (quick.yaml's steps with --quick); the best of three each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from learning_dynamics import config, devices, training
from learning_dynamics.skeleton.model import LinearTrainer, teacher_map
from learning_dynamics.skeleton.runs import RunConfig, run_config


def reference(cfg: RunConfig, x: torch.Tensor, y: torch.Tensor) -> float:
    net = nn.Sequential(nn.Linear(cfg.inputs, cfg.hidden, bias=False),
                        nn.Linear(cfg.hidden, len(cfg.teacher), bias=False))  # fmt: skip
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr)
    start, losses = time.perf_counter(), []
    for _ in range(cfg.steps):
        loss = 0.5 * ((net(x) - y) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - start


def project(cfg: RunConfig, x: torch.Tensor, y: torch.Tensor, out: Path) -> float:
    start = time.perf_counter()
    training.fit(LinearTrainer(cfg, x, y), steps=cfg.steps, snapshot_every=cfg.snapshot_every,
                 out=out, attrs={"study": "skeleton"}, progress=False)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick.yaml's budget")
    args = parser.parse_args()
    devices.set_threads(1)
    block = config.load("quick" if args.quick else "default")["skeleton"]
    cfg = RunConfig(**run_config(block, "main"))
    x = torch.randn(cfg.samples, cfg.inputs, generator=torch.Generator().manual_seed(cfg.seed))
    y = x @ torch.as_tensor(teacher_map(cfg.teacher, cfg.inputs), dtype=torch.float32).T
    with tempfile.TemporaryDirectory() as tmp:
        ref = min(reference(cfg, x, y) for _ in range(3))
        ours = min(project(cfg, x, y, Path(tmp) / f"h{k}.h5") for k in range(3))
    print(f"{cfg.steps} steps: plain autograd loop {ref:.3f} s, project {ours:.3f} s "
          f"(with its history), ratio {ref / ours:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
