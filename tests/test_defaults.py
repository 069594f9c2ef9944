"""One source of defaults: every study's config dataclass defaults equal config/config.yaml.

The dataclasses keep the seed notebooks' values as defaults (tests and benchmarks build runs from
them); config/config.yaml is what the workflow runs. Each study's faithful run, built from
config.yaml by the function the workflow uses, must give exactly the dataclass defaults, so the two
cannot drift. A study with a new config dataclass adds a line to CASES.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest
from conftest import load_config

# study -> (dataclass "module:Class", "module:function" building its faithful run's values from
# the study's config block, the arguments after the block, fields the config does not set)
CASES: dict[str, tuple[str, str, tuple, set[str]]] = {
    "superposition": ("runs:RunConfig", "runs:run_config", ("main",), set()),
    "linear": ("model:LinearConfig", "runs:run_config", ("main",), set()),
    "makemore": ("runs:RunConfig", "runs:run_config", ("main",), set()),
    "grokking": ("runs:RunConfig", "runs:run_config", ("default",), set()),
    # a member of the seed's first cell; the context length is fixed by the task (x1, x2, ->),
    # and the seed cells use the paper's per-head layout with layer norm (only the capacity
    # sweeps' `variants` set `layout` and `norm`)
    "memorization": ("model:Arch", "runs:job_config", ("dynamics",), {"context", "layout", "norm"}),
}


def _load(study: str, target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(f"learning_dynamics.{study}.{module}"), name)


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively (YAML and JSON have only lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("study", sorted(CASES))
def test_dataclass_defaults_are_the_default_config(study):
    cls, build, args, unset = CASES[study]
    dataclass, run = _load(study, cls), _load(study, build)
    built: dict[str, Any] = run(load_config(quick=False)[study], *args)
    if study == "memorization":  # a job config: its members; the first is the seed's model
        built = built["members"][0]
    defaults = _plain(dataclasses.asdict(dataclass()))
    assert set(defaults) - set(built) == unset, "dataclass fields config.yaml does not set"
    drift = {k: (v, built[k]) for k, v in defaults.items() if k in built and _plain(built[k]) != v}
    assert not drift, f"{study}: dataclass default vs config.yaml: {drift}"
