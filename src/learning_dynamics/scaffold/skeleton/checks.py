"""Semantic checks of the `skeleton` config block beyond its schema.yaml: the teacher
fits the input dimension, and the samples determine the map.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `skeleton` block `c` that no single key shows."""
    out = []
    if len(c["teacher"]) > c["inputs"]:
        out.append(
            f"skeleton.teacher: {len(c['teacher'])} values, but the teacher is "
            f"diagonal and skeleton.inputs = {c['inputs']}: give at most {c['inputs']}"
        )
    if c["samples"] < c["inputs"]:
        out.append(
            f"skeleton.samples: {c['samples']} < skeleton.inputs = "
            f"{c['inputs']}: the inputs span too few directions for the teacher to be "
            "the only exact fit"
        )
    return out
