"""One source of defaults: config/config.yaml. A study's config dataclasses (the `*Config` classes
of its runs.py or model.py) keep fields, never a second copy of the values: no field has a
default, and every run config the workflow builds from config.yaml (`runs.run_config` for each of
`runs.RUNS`) has exactly the fields of one of them, so a key added to one and not the other
fails here. Tests and benchmarks build their configs from config.yaml too
(`conftest.default_run`, `learning_dynamics.config.load`).
"""

from __future__ import annotations

import dataclasses
import importlib

import pytest
from conftest import load_config

from learning_dynamics import studies


def config_classes(study: str) -> list[type]:
    """The study's config dataclasses: `*Config` classes defined in its runs.py or model.py."""
    out = []
    for name in ("runs", "model"):
        module = importlib.import_module(f"learning_dynamics.{study}.{name}")
        out += [
            obj
            for key, obj in vars(module).items()
            if key.endswith("Config")
            and dataclasses.is_dataclass(obj)
            and obj.__module__ == module.__name__
        ]
    return out


@pytest.mark.parametrize("study", studies())
def test_config_dataclasses_keep_fields_not_values(study):
    for cls in config_classes(study):
        fields = dataclasses.fields(cls)
        valued = [
            f.name for f in fields if dataclasses.MISSING not in (f.default, f.default_factory)
        ]
        assert not valued, (
            f"{cls.__name__} has defaults (config.yaml is their one source): {valued}"
        )


@pytest.mark.parametrize("study", studies())
def test_every_run_config_has_exactly_the_dataclass_fields(study):
    classes = config_classes(study)
    if not classes:  # memorization: a job's members, each an `Arch` (test_memorization)
        pytest.skip(f"{study} has no *Config dataclass")
    runs = importlib.import_module(f"learning_dynamics.{study}.runs")
    block = load_config(quick=False)[study]
    fields = {cls: {f.name for f in dataclasses.fields(cls)} for cls in classes}
    for run in runs.RUNS:
        built = runs.run_config(block, run)
        matching = [cls for cls, names in fields.items() if names == set(built)]
        assert matching, (run, sorted(built), {c.__name__: sorted(f) for c, f in fields.items()})
        matching[0](**built)  # and it builds
