"""Semantic checks of the `superposition` config block beyond its schema.yaml: figure epochs
within the training budget.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `superposition` block `c` that no single key shows."""
    out = []
    late = [e for e in c["figure_epochs"] if e > c["epochs"]]
    if late:
        out.append(
            f"superposition.figure_epochs: {late} lie beyond the last epoch "
            f"(superposition.epochs = {c['epochs']}); the figure would show epoch {c['epochs']}"
        )
    return out
