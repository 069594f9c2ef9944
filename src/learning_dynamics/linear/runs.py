"""Linear study: the runs a config defines (kept free of heavy imports for the workflow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..grids import job_slice

RUNS = ("main",)
DATA_KEYS = ("seed", "dim", "samples", "test_samples", "kappa", "teacher", "init_scale", "hidden")


def data_config(study: dict[str, Any]) -> dict[str, Any]:
    """Everything that changes data.h5 (data and the seed's initial draws share one RNG stream)."""
    return {k: study[k] for k in DATA_KEYS}


def run_config(study: dict[str, Any], run: str = "main") -> dict[str, Any]:
    """The faithful run: the seed's data, init and update, in `study['basis']`."""
    if run != "main":
        raise ValueError(f"unknown linear run {run!r}; choose from {RUNS}")
    train_keys = ("lr", "steps", "snapshot_every", "basis")
    return {**data_config(study), **{k: study[k] for k in train_keys}}


def sweep_grid(sweep: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (s, init scale) grid of the sweep, s varying slowest: arrays of shape (E,)."""
    s = np.geomspace(sweep["s"]["min"], sweep["s"]["max"], sweep["s"]["count"])
    w = np.geomspace(sweep["scale"]["min"], sweep["scale"]["max"], sweep["scale"]["count"])
    ss, ww = np.meshgrid(s, w, indexing="ij")
    return ss.ravel(), ww.ravel()


def sweep_chunks(sweep: dict[str, Any]) -> list[int]:
    return list(range(sweep["chunks"]))


def sweep_chunk_config(sweep: dict[str, Any], chunk: int) -> dict[str, Any]:
    """Grid points of job `chunk` (see `grids.job_slice`);
    every point is one independent mode, all trained together as one batched run."""
    s, w = sweep_grid(sweep)
    part = np.arange(len(s))[job_slice(len(s), sweep["chunks"], chunk)]
    keys = ("lam", "lr", "init_ratio", "steps", "snapshot_every")
    return {
        **{k: sweep[k] for k in keys},
        "s": s[part].tolist(),
        "scale": w[part].tolist(),
        "index": part.tolist(),
    }
