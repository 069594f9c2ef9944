"""Semantic checks of the `linear` config block beyond its schema.yaml: the teacher fits the
input dimension; the LLC sampler keeps draws; every validation case has a true rank the
closed form covers.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any

from ..config import llc_sampler_problems
from ..limits import Grid, snapshots


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `linear` block `c` that no single key shows."""
    out = []
    if len(c["teacher"]) > c["dim"]:
        out.append(
            f"linear.teacher: {len(c['teacher'])} values, but the teacher is the diagonal of a "
            f"(len(teacher) x dim) matrix and linear.dim = {c['dim']}: give at most {c['dim']}"
        )
    # linear.sweep.jobs may exceed the grid: grids.job_count caps it at one job per point
    out += llc_sampler_problems("linear.llc", c["llc"])
    out += llc_sampler_problems("linear.llc.validation", c["llc"]["validation"])
    for k, (m, n, h, r) in enumerate(c["llc"]["validation"]["cases"]):
        if h and r > min(m, n, h):
            out.append(
                f"linear.llc.validation.cases[{k}]: true rank r = {r} exceeds min(M, N, H) = "
                f"{min(m, n, h)}; Aoyagi's formula has no case for it"
            )
    return out


def grids(c: dict[str, Any]) -> list[Grid]:
    """The sweep, for `limits.problems`: one mode (a, b in float64) per (s, scale) point,
    recorded every snapshot."""
    sweep = c["sweep"]
    axes = {"s.count": sweep["s"]["count"], "scale.count": sweep["scale"]["count"]}
    recorded = 2 * snapshots(sweep["steps"], sweep["snapshot_every"])
    return [Grid("linear.sweep", axes, sweep["jobs"], state=6, recorded=recorded, float_bytes=8)]
