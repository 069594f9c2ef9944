"""Makemore study: the runs a config defines (kept free of heavy imports for the workflow)."""

from __future__ import annotations

import dataclasses
from typing import Any

# main: the seed's network; deepbn / deepnobn: the lecture's deeper net with and without BatchNorm.
RUNS = ("main", "deepbn", "deepnobn")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run: fields only; the values come from config/config.yaml (`run_config`)."""

    block_size: int  # characters of context
    emb_dim: int
    hidden: int
    depth: int  # hidden Linear -> (BatchNorm) -> tanh blocks
    batchnorm: bool
    momentum: float  # BatchNorm running-statistics momentum
    eps: float
    gain: float  # hidden weights ~ gain·N(0, 1/fan_in); the seed has no gain
    out_scale: float  # output weights scaled at init ("less confident" first predictions)
    seed: int  # torch seed: initialisation, then minibatch indices
    batch_size: int
    steps: int
    lr: float
    lr_low: float
    lr_drop: int  # first step at lr_low
    sampler: str  # "randperm": the seed's exact stream; "randint": fast, i.i.d.
    history_every: int  # cadence of parameter snapshots and statistics
    bins: int  # histogram bins


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
