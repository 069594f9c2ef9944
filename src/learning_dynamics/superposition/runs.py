"""Superposition study: the runs a config defines (kept free of heavy imports for the workflow)."""

from __future__ import annotations

import dataclasses
from typing import Any

RUNS = ("main", "tied", "ensemble")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run (or one ensemble of seeds trained together): fields only, the values come
    from config/config.yaml through `run_config`."""

    features: int
    hidden: int
    lr: float
    epochs: int
    snapshot_every: int
    tied: bool
    seeds: tuple[int, ...]


def run_config(study: dict[str, Any], run: str) -> dict[str, Any]:
    """The config of run `main` (seed), `tied` (W_U = W_Eᵀ control) or `ensemble` (many seeds)."""
    base = {k: study[k] for k in ("features", "hidden", "lr", "epochs", "snapshot_every")}
    if run == "main":
        return {**base, "tied": False, "seeds": [study["seed"]]}
    if run == "tied":
        return {**base, "tied": True, "seeds": [study["tied_seed"]]}
    if run == "ensemble":
        first, count = study["ensemble"]["first_seed"], study["ensemble"]["count"]
        return {**base, "tied": False, "seeds": list(range(first, first + count))}
    raise ValueError(f"unknown superposition run {run!r}; choose from {RUNS}")
