"""Reproducible toy-model studies of learning dynamics.

A study is registered by being here: a subpackage with `VERBS` (the DAG stages) and a
`schema.yaml` (its config block). The workflow includes its `workflow/rules/<study>.smk`, the
config schema requires its block, `config.check_config` runs its `checks.py`, the scorecard reads
its `config/claims/<study>*.yaml`, and the tests and docs list it: all found through `studies()`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

__version__ = "0.1.0"

HERE = Path(__file__).resolve().parent


def packages() -> list[str]:
    """Subpackages with VERBS, i.e. what `python -m learning_dynamics <package> <verb>` runs."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.ispkg]
    return sorted(n for n in names if hasattr(importlib.import_module(f"{__name__}.{n}"), "VERBS"))


def studies() -> list[str]:
    """Study packages: those with VERBS and a config block (`schema.yaml`). `reproduction`, which
    scores the studies, has none and is not one."""
    return [p for p in packages() if (HERE / p / "schema.yaml").is_file()]
