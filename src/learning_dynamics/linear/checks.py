"""Semantic checks of the `linear` config block beyond its schema.yaml: the teacher fits the
input dimension.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any

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
    return out


def grids(c: dict[str, Any]) -> list[Grid]:
    """The sweep, for `limits.problems`: one mode (a, b in float64) per (s, scale) point,
    recorded every snapshot."""
    sweep = c["sweep"]
    axes = {"s.count": sweep["s"]["count"], "scale.count": sweep["scale"]["count"]}
    recorded = 2 * snapshots(sweep["steps"], sweep["snapshot_every"])
    return [Grid("linear.sweep", axes, sweep["jobs"], state=6, recorded=recorded, float_bytes=8)]
