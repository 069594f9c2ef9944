"""Linear study: the runs a config defines (kept free of heavy imports for the workflow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..grids import job_count, job_items

# main: the faithful run (in the configured `basis`); weight: the same network trained in ordinary
# weight space (all 50 hidden units), whose modes stay decoupled only if the theory holds.
RUNS = ("main", "weight")
DATA_KEYS = ("seed", "dim", "samples", "test_samples", "kappa", "teacher", "init_scale", "hidden")


def data_config(study: dict[str, Any]) -> dict[str, Any]:
    """Everything that changes data.h5 (data and the seed's initial draws share one RNG stream)."""
    return {k: study[k] for k in DATA_KEYS}


def run_config(study: dict[str, Any], run: str = "main") -> dict[str, Any]:
    """The seed's data, init and update: in `study['basis']` (run main) or in weight space."""
    if run not in RUNS:
        raise ValueError(f"unknown linear run {run!r}; choose from {RUNS}")
    train_keys = ("lr", "steps", "snapshot_every", "basis")
    out = {**data_config(study), **{k: study[k] for k in train_keys}}
    return out | {"basis": "weight"} if run == "weight" else out


def sweep_grid(sweep: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (s, init scale) grid of the sweep, s varying slowest: arrays of shape (E,)."""
    s = np.geomspace(sweep["s"]["min"], sweep["s"]["max"], sweep["s"]["count"])
    w = np.geomspace(sweep["scale"]["min"], sweep["scale"]["max"], sweep["scale"]["count"])
    ss, ww = np.meshgrid(s, w, indexing="ij")
    return ss.ravel(), ww.ravel()


def sweep_jobs(sweep: dict[str, Any]) -> list[int]:
    """The sweep's rule jobs 0..n-1 (`sweep.jobs`, see `grids`)."""
    return list(range(job_count(len(sweep_grid(sweep)[0]), sweep["jobs"])))


def sweep_job_config(sweep: dict[str, Any], job: int) -> dict[str, Any]:
    """Grid points of sweep job `job` (see `grids.job_items`);
    every point is one independent mode, all trained together as one batched run."""
    s, w = sweep_grid(sweep)
    part = np.asarray(job_items(np.arange(len(s)), sweep["jobs"], job))
    keys = ("lam", "lr", "init_ratio", "steps", "snapshot_every")
    return {
        **{k: sweep[k] for k in keys},
        "s": s[part].tolist(),
        "scale": w[part].tolist(),
        "index": part.tolist(),
    }
