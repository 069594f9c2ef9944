"""Grokking study: the runs and sweep jobs a config defines (no heavy imports, for the workflow).

Every run is an ensemble of members trained together; a member is (seed, train_num, rep_lr,
dec_lr, dec_wd). Single runs (`default`, `swapped`) have one member; sweeps (`lr`, `wd`,
`fraction`) are config grids split into `jobs` chunks, one rule job each.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..grids import job_slice

SINGLE_RUNS = ("default", "swapped")
SWEEPS = ("lr", "wd", "fraction")
MEMBER_KEYS = ("seeds", "train_nums", "rep_lrs", "dec_lrs", "dec_wds")
SHARED_KEYS = (
    "p",
    "modulo",
    "input_dim",
    "output_dim",
    "width",
    "rqi_eps",
    "steps",
    "snapshot_every",
)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One batched training job; defaults are the seed notebook's single run."""

    p: int = 10  # symbols 0..p-1; the dataset is the p(p+1)/2 pairs i <= j
    modulo: bool = False  # target i + j (seed: modulo = False)
    input_dim: int = 10  # Gaussian input templates
    output_dim: int = 10  # Gaussian output templates (2p - 1 of them)
    width: int = 200  # decoder and init-encoder width
    rqi_eps: float = 0.01  # a parallelogram holds if mean squared mismatch (std-scaled) < this
    steps: int = 10000
    snapshot_every: int = 100
    seeds: tuple[int, ...] = (4,)  # per member: NumPy data seed and torch init seed
    train_nums: tuple[int, ...] = (45,)  # per member: training pairs
    rep_lrs: tuple[float, ...] = (1e-4,)  # per member: Adam lr of the representation
    dec_lrs: tuple[float, ...] = (1e-3,)  # per member: AdamW lr of the decoder
    dec_wds: tuple[float, ...] = (0.0,)  # per member: AdamW weight decay of the decoder

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> RunConfig:
        return cls(**{k: tuple(v) if k in MEMBER_KEYS else v for k, v in config.items()})

    @property
    def members(self) -> int:
        return len(self.seeds)


def grid(spec: dict[str, Any] | float) -> list[float]:
    """A config axis: a number, or {min, max, num, log} -> num values (log-spaced if log)."""
    if not isinstance(spec, dict):
        return [float(spec)]
    lo, hi, num = float(spec["min"]), float(spec["max"]), int(spec["num"])
    if num == 1:
        return [lo]
    if spec.get("log", False):
        a, b = math.log10(lo), math.log10(hi)
        return [10 ** (a + (b - a) * k / (num - 1)) for k in range(num)]
    return [lo + (hi - lo) * k / (num - 1) for k in range(num)]


def _members(study: dict[str, Any], run: str) -> list[tuple[int, int, float, float, float]]:
    s = study
    if run == "default":
        return [(s["seed"], s["train_num"], s["rep_lr"], s["dec_lr"], s["dec_wd"])]
    if run == "swapped":
        w = s["swapped"]
        return [(s["seed"], s["train_num"], w["rep_lr"], w["dec_lr"], s["dec_wd"])]
    if run == "lr":  # rows: representation lr, columns: decoder lr
        g = s["lr_grid"]
        return [
            (s["seed"], s["train_num"], r, d, g["dec_wd"])
            for r in grid(g["rep_lr"])
            for d in grid(g["dec_lr"])
        ]
    if run == "wd":  # rows: decoder weight decay, columns: decoder lr
        g = s["wd_grid"]
        return [
            (s["seed"], s["train_num"], g["rep_lr"], d, w)
            for w in grid(g["dec_wd"])
            for d in grid(g["dec_lr"])
        ]
    if run == "fraction":  # rows: training-set size, columns: seed
        g = s["fraction"]
        seeds = range(g["first_seed"], g["first_seed"] + g["count"])
        return [
            (seed, n, g["rep_lr"], g["dec_lr"], g["dec_wd"])
            for n in g["train_nums"]
            for seed in seeds
        ]
    raise ValueError(f"unknown grokking run {run!r}; choose from {SINGLE_RUNS + SWEEPS}")


def jobs(study: dict[str, Any], run: str) -> int:
    """How many rule jobs run `run` is split into."""
    if run in SINGLE_RUNS:
        return 1
    key = {"lr": "lr_grid", "wd": "wd_grid", "fraction": "fraction"}[run]
    return min(int(study[key]["jobs"]), len(_members(study, run)))


def run_config(study: dict[str, Any], run: str, job: int = 0) -> dict[str, Any]:
    """The config of job `job` of run `run`: shared settings plus its slice of the members."""
    members = _members(study, run)
    chunk = members[job_slice(len(members), jobs(study, run), job)]
    steps = study["sweep_steps"] if run in SWEEPS else study["steps"]
    every = study["sweep_snapshot_every"] if run in SWEEPS else study["snapshot_every"]
    shared = {k: study[k] for k in SHARED_KEYS if k not in ("steps", "snapshot_every")}
    columns = [list(c) for c in zip(*chunk, strict=True)]
    return {
        **shared,
        "steps": steps,
        "snapshot_every": every,
        **dict(zip(MEMBER_KEYS, columns, strict=True)),
    }


def data_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a run config that fixes its data (templates and training splits)."""
    keys = ("p", "modulo", "input_dim", "output_dim", "seeds", "train_nums")
    return {k: config[k] for k in keys}
