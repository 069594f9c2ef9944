"""Makemore study: the runs a config defines (kept free of heavy imports for the workflow)."""

from __future__ import annotations

import dataclasses
from typing import Any

# main: the seed's network; deepbn / deepnobn: the lecture's deeper net with and without BatchNorm.
RUNS = ("main", "deepbn", "deepnobn")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run; the defaults are the seed notebook's values."""

    block_size: int = 3  # characters of context
    emb_dim: int = 10
    hidden: int = 200
    depth: int = 1  # hidden Linear -> (BatchNorm) -> tanh blocks
    batchnorm: bool = True
    momentum: float = 0.1  # BatchNorm running-statistics momentum
    eps: float = 1e-5
    gain: float = 1.0  # hidden weights ~ gain·N(0, 1/fan_in); the seed has no gain
    out_scale: float = 0.1  # output weights scaled at init ("less confident" first predictions)
    seed: int = 42  # torch seed: initialisation, then minibatch indices
    batch_size: int = 32
    steps: int = 200000
    lr: float = 0.1
    lr_low: float = 0.01
    lr_drop: int = 150000  # first step at lr_low
    sampler: str = "randperm"  # "randperm": the seed's exact stream; "randint": fast, i.i.d.
    history_every: int = 1000  # cadence of parameter snapshots and statistics
    bins: int = 60  # histogram bins


def run_config(study: dict[str, Any], run: str) -> dict[str, Any]:
    """The config of run `main` (the seed's net), `deepbn` or `deepnobn` (the deeper variant)."""
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    base = {k: v for k, v in study.items() if k in fields}
    if run == "main":
        return base
    if run in ("deepbn", "deepnobn"):
        return {**base, **study["deep"], "batchnorm": run == "deepbn"}
    raise ValueError(f"unknown makemore run {run!r}; choose from {RUNS}")


def train_threads(config: dict[str, Any]) -> int:
    """Cores of the training job of run `config`: the seed's randperm stream is drawn by a helper
    process beside the training (the training itself runs on one thread)."""
    return 2 if config["sampler"] == "randperm" else 1
