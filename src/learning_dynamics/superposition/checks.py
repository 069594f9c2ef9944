"""Semantic checks of the `superposition` config block beyond its schema.yaml: figure epochs
within the training budget.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any

from ..config import llc_sampler_problems
from ..limits import Grid, snapshots


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `superposition` block `c` that no single key shows."""
    out = []
    late = [e for e in c["figure_epochs"] if e > c["epochs"]]
    if late:
        out.append(
            f"superposition.figure_epochs: {late} lie beyond the last epoch "
            f"(superposition.epochs = {c['epochs']}); the figure would show epoch {c['epochs']}"
        )
    return out + llc_sampler_problems("superposition.llc", c["llc"])


def grids(c: dict[str, Any]) -> list[Grid]:
    """The ensemble, for `limits.problems`: seeds trained together in one job, each holding W_E,
    W_U and their gradients and recording both every snapshot and its loss every epoch."""
    weights = 2 * c["features"] * c["hidden"]
    recorded = weights * snapshots(c["epochs"], c["snapshot_every"]) + c["epochs"]
    ensemble = {"count": c["ensemble"]["count"]}
    return [Grid("superposition.ensemble", ensemble, state=2 * weights, recorded=recorded)]
