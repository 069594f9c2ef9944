"""Skeleton study: the runs a config defines (kept free of heavy imports for the
workflow)."""

from __future__ import annotations

import dataclasses
from typing import Any

RUNS = ("main",)
DATA_KEYS = ("seed", "inputs", "samples", "teacher")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run: fields only; the values come from config/config.yaml (`run_config`)."""

    seed: int  # NumPy seed of the data, torch seed of the initialisation
    inputs: int  # input dimension
    samples: int  # training inputs, one full batch
    teacher: list[float]  # singular values of the teacher map (one output each)
    hidden: int  # width of the hidden layer
    init_scale: float  # standard deviation of the initial weights
    lr: float  # gradient-descent step size
    steps: int
    snapshot_every: int


def data_config(study: dict[str, Any]) -> dict[str, Any]:
    """Everything that changes data.h5."""
    return {k: study[k] for k in DATA_KEYS}


def run_config(study: dict[str, Any], run: str) -> dict[str, Any]:
    """The config of run `main`: the whole block but the analysis settings."""
    if run not in RUNS:
        raise ValueError(f"unknown skeleton run {run!r}; choose from {RUNS}")
    fields = [f.name for f in dataclasses.fields(RunConfig)]
    return {k: study[k] for k in fields}
