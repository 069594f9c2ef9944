"""Grokking study: the runs and sweep jobs a config defines (no heavy imports, for the workflow).

Every run is an ensemble of members trained together; a member is (seed, train_num, rep_lr,
dec_lr, dec_wd). Single runs (`default`, `swapped`) have one member; sweeps are config grids
split into `jobs` chunks, one rule job each: the two phase diagrams (`lr`, `wd`: every cell
trained from several seeds) and the training-fraction sweep, one run per start of the
representation (`fraction_notebook`, `fraction_authors`; the `fraction.inits` list).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..grids import job_count, job_items
from ..runconfig import typed

SINGLE_RUNS = ("default", "swapped")
DIAGRAMS = ("lr", "wd")
INITS = ("notebook", "authors")
FRACTION_RUNS = tuple(f"fraction_{init}" for init in INITS)
SWEEPS = DIAGRAMS + FRACTION_RUNS
RUNS = SINGLE_RUNS + SWEEPS  # every run a config can ask for (`runs`: those it does)
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
    "init",
    "settle",
    "settle_acc",
    "settle_rqi",
)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One batched training job: fields only, the values come from config/config.yaml through
    `run_config`."""

    p: int  # symbols 0..p-1; the dataset is the p(p+1)/2 pairs i <= j
    modulo: bool  # target i + j (seed: modulo = False)
    input_dim: int  # Gaussian input templates
    output_dim: int  # Gaussian output templates (2p - 1 of them)
    width: int  # decoder and init-encoder width
    rqi_eps: float  # a parallelogram holds if mean squared mismatch (std-scaled) < this
    steps: int
    snapshot_every: int
    seeds: tuple[int, ...]  # per member: NumPy data seed and torch init seed
    train_nums: tuple[int, ...]  # per member: training pairs
    rep_lrs: tuple[float, ...]  # per member: Adam lr of the representation
    dec_lrs: tuple[float, ...]  # per member: AdamW lr of the decoder
    dec_wds: tuple[float, ...]  # per member: AdamW weight decay of the decoder
    init: str  # the start: "notebook" (the seed's) or "authors" (train_add's)
    settle: bool  # members leave the batch once settled (train.SettlingTrainer)
    settle_acc: float  # ... i.e. train and test accuracy >= this
    settle_rqi: float | None  # ... and, if set, RQI > this
    snapshot_decoder: bool  # snapshots hold the decoder too (single runs: the LLC reads it)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> RunConfig:
        return typed(cls, config)  # refuses an unknown key or a value of another type

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


def fraction_runs(study: dict[str, Any]) -> list[str]:
    """The training-fraction runs the config asks for, one per start (`fraction.inits`)."""
    return [f"fraction_{init}" for init in study["fraction"]["inits"]]


def runs(study: dict[str, Any]) -> list[str]:
    return [*SINGLE_RUNS, *DIAGRAMS, *fraction_runs(study)]


def seeds(block: dict[str, Any]) -> list[int]:
    """A sweep block's seeds: first_seed, first_seed + 1, ... (`count` of them)."""
    return list(range(block["first_seed"], block["first_seed"] + block["count"]))


def init_of(study: dict[str, Any], run: str) -> str:
    return run.removeprefix("fraction_") if run in FRACTION_RUNS else study["init"]


def _members(study: dict[str, Any], run: str) -> list[tuple[int, int, float, float, float]]:
    s = study
    if run == "default":
        return [(s["seed"], s["train_num"], s["rep_lr"], s["dec_lr"], s["dec_wd"])]
    if run == "swapped":
        w = s["swapped"]
        return [(s["seed"], s["train_num"], w["rep_lr"], w["dec_lr"], s["dec_wd"])]
    if run == "lr":  # rows: representation lr, columns: decoder lr; each cell several seeds
        g = s["lr_grid"]
        return [
            (seed, s["train_num"], r, d, g["dec_wd"])
            for r in grid(g["rep_lr"])
            for d in grid(g["dec_lr"])
            for seed in seeds(g)
        ]
    if run == "wd":  # rows: decoder weight decay, columns: decoder lr; each cell several seeds
        g = s["wd_grid"]
        return [
            (seed, s["train_num"], g["rep_lr"], d, w)
            for w in grid(g["dec_wd"])
            for d in grid(g["dec_lr"])
            for seed in seeds(g)
        ]
    if run in FRACTION_RUNS:  # rows: training-set size, columns: seed
        g = s["fraction"]
        return [
            (seed, n, g["rep_lr"], g["dec_lr"], g["dec_wd"])
            for n in g["train_nums"]
            for seed in seeds(g)
        ]
    raise ValueError(f"unknown grokking run {run!r}; choose from {RUNS}")


def _block(run: str) -> str:
    return {"lr": "lr_grid", "wd": "wd_grid"}.get(run, "fraction")


def jobs(study: dict[str, Any], run: str) -> int:
    """How many rule jobs run `run` is split into."""
    if run in SINGLE_RUNS:
        return 1
    return job_count(len(_members(study, run)), study[_block(run)]["jobs"])


def run_config(study: dict[str, Any], run: str, job: int = 0) -> dict[str, Any]:
    """The config of job `job` of run `run`: shared settings plus its slice of the members.
    The diagrams read the step budget from `sweep_steps`, the fraction runs from
    `fraction.steps` (the paper's Fig. 4b criterion is "within 1e4 steps", its phase diagrams
    use 1e5); with `settle`, sweeps let settled members
    leave the batch (accuracy thresholds from `analysis`, and for the fraction runs the RQI
    threshold too, the strictest the analysis reads). Single runs snapshot the decoder as well
    (~17 MB at the default: what `llc.py` evaluates the loss with); sweeps keep the
    representation only, so that their histories stay small."""
    members = _members(study, run)
    chunk = list(job_items(members, jobs(study, run), job))
    sweep = run in SWEEPS
    init = init_of(study, run)
    a = study["analysis"]
    fixed = ("steps", "snapshot_every", "init", "settle", "settle_acc", "settle_rqi", "output_dim")
    shared = {k: study[k] for k in SHARED_KEYS if k not in fixed}
    columns = [list(c) for c in zip(*chunk, strict=True)]
    return {
        **shared,
        "output_dim": study["authors_output_dim"] if init == "authors" else study["output_dim"],
        "steps": study["fraction"]["steps"]
        if run in FRACTION_RUNS
        else (study["sweep_steps"] if sweep else study["steps"]),
        "snapshot_every": study["sweep_snapshot_every"] if sweep else study["snapshot_every"],
        "init": init,
        "settle": bool(sweep and study["settle"]),
        "settle_acc": a["acc"],
        "settle_rqi": max(a["rqi"], a["rqi_paper"]) if run in FRACTION_RUNS else None,
        "snapshot_decoder": run in SINGLE_RUNS,
        **dict(zip(MEMBER_KEYS, columns, strict=True)),
    }


def data_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a run config that fixes its data (templates and training splits)."""
    keys = ("p", "modulo", "input_dim", "output_dim", "seeds", "train_nums", "init")
    return {k: config[k] for k in keys}
