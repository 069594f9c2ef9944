"""Config validation: refuse a bad config before any job starts, naming every bad key.

Two passes: the JSON schema (`schema()`: keys, types, ranges), then each study's semantic checks
(`<study>/checks.py`: what depends on several keys). Stricter than plain JSON Schema in one way:
an integer key refuses a float even when it is integer-valued (`steps: 3000.0`), since the code
would get a float where it counts.

The schema is assembled, never typed in one piece: the shared part (`schema.yaml` beside this
file: `level`, `resources`, `limits` and common `$defs`) plus, for every study in `studies()`,
its package's `schema.yaml` as the property of that name, required. Defaults live in one place,
`config/config.yaml` of the checkout (`load` reads it, merged with a level's overrides).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from typing import Any

import jsonschema
import yaml

from . import HERE, limits, studies
from .strict import DuplicateKeyError, load_yaml

CONFIG_DIR = HERE.parents[1] / "config"  # the checkout's config/ (src/learning_dynamics/../../)
LEVELS = {"quick": "quick.yaml", "default": None, "full": "full.yaml"}


class ConfigError(ValueError):
    """The config does not match the schema or fails a semantic check."""


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# Draft 2020-12 with "integer" meaning a Python int (JSON Schema also accepts 3000.0)
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

# What PyYAML (YAML 1.1) reads as a string although it looks like a number: 1e-3, 5E4, -2e+5
_YAML11_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts merged key by key, as Snakemake merges a --configfile into the config."""
    out = dict(base)
    for key, value in update.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both_dicts else value
    return out


def load(level: str = "default") -> dict[str, Any]:
    """The checkout's config at `level`: config/config.yaml (the one source of defaults), merged
    with quick.yaml or full.yaml as `snakemake --configfile config/<level>.yaml` merges it."""
    config = load_yaml(CONFIG_DIR / "config.yaml")
    if LEVELS[level] is not None:
        config = merge(config, load_yaml(CONFIG_DIR / LEVELS[level]))
    return config


def schema() -> dict[str, Any]:
    """The config's JSON schema: the shared schema.yaml, with each study's schema.yaml as the
    (required) property of its name and its `$defs` joined to the shared ones."""
    root = yaml.safe_load((HERE / "schema.yaml").read_text())
    for study in studies():
        block = yaml.safe_load((HERE / study / "schema.yaml").read_text())
        for name, definition in block.pop("$defs", {}).items():
            if name in root["$defs"]:
                raise ValueError(f"{study}/schema.yaml: $defs.{name} is defined twice")
            root["$defs"][name] = definition
        root["properties"][study] = block
        root["required"].append(study)
    return root


def semantic_problems(config: dict[str, Any]) -> list[str]:
    """Every study's semantic checks (`<study>/checks.py`, `check(block)`) on a schema-valid
    config, as "dotted.key: message"; a study without checks.py has none. Then the sizes of its
    grids and ensembles (`grids(block)`, if defined) against the config's limits (`limits`)."""
    out, grids = [], []
    for study in studies():
        module = f"{__package__}.{study}.checks"
        if study in config and importlib.util.find_spec(module) is not None:
            checks = importlib.import_module(module)
            out += checks.check(config[study])
            grids += checks.grids(config[study]) if hasattr(checks, "grids") else []
    return out + limits.problems(grids, config)


def _message(error: jsonschema.ValidationError) -> str:
    value, expected = error.instance, error.validator_value
    if error.validator in ("type", "oneOf", "anyOf") and isinstance(value, str):
        if _YAML11_NUMBER.match(value):  # where a string was wanted, it would have passed
            mantissa, exponent = re.split("[eE]", value)
            fixed = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
            return (
                f"{value!r} was read as a string, not a number: YAML 1.1 (PyYAML, which Snakemake "
                f"uses) needs a dot in an exponent number; write {fixed}"
            )
    if error.validator == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        if isinstance(value, float) and "integer" in wanted and "number" not in wanted:
            hint = f"; write {int(value)}" if value.is_integer() else ""
            return f"{value!r} is not an integer (a count or size){hint}"
    if error.validator == "uniqueItems":  # a set: a repeat would be trained and counted twice
        seen: list[Any] = []
        repeated = [v for v in value if v in seen or seen.append(v)]  # type: ignore[func-returns-value]
        return f"{value!r} repeats {repeated[0]!r}: each value may appear once; remove the repeat"
    return error.message


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError listing every violation as `dotted.key: problem`: the schema's first,
    then (for a config the schema accepts) every study's semantic checks."""
    validator = Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    lines = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {_message(e)}" for e in errors
    ]
    if not lines:
        lines = semantic_problems(config)
    if lines:
        raise ConfigError(
            "invalid config, nothing was run:\n" + "\n".join(f"  {line}" for line in lines)
        )


def llc_sampler_problems(key: str, block: dict[str, Any]) -> list[str]:
    """Checks of an LLC sampler block (`learning_dynamics.llc.SGLDConfig`, a study's `llc`):
    the estimate needs at least two kept draws, to compare their halves; the localization's own
    step, ε·γ = lr·γ/nβ, must stay below 1 for every (nβ, γ) the block samples at (the sweep's
    too), else the chains oscillate and blow up whatever the loss."""
    out = []
    if block["burn_in"] > block["steps"] - 2:
        out.append(
            f"{key}.burn_in: {block['burn_in']} leaves fewer than 2 of {key}.steps = "
            f"{block['steps']} SGLD draws for the estimate; at most {block['steps'] - 2}"
        )
    sweep = block.get("sweep", {"nbeta": [], "gamma": []})
    pairs = [(block["nbeta"], block["gamma"])]
    pairs += [(nb, block["gamma"]) for nb in sweep["nbeta"]]
    pairs += [(block["nbeta"], g) for g in sweep["gamma"]]
    for nb, g in pairs:
        if block["lr"] * g / nb >= 1:
            out.append(
                f"{key}: lr·γ/nβ = {block['lr']}·{g}/{nb} = {block['lr'] * g / nb:.3g} >= 1: the "
                f"localization step alone is unstable; lower lr or γ, or raise nβ"
            )
    return out


def check_config_files(paths: list[str | os.PathLike]) -> None:
    """Raise ConfigError naming each key a config file repeats (Snakemake's YAML reader keeps the
    last of two equal keys, silently dropping the first block)."""
    problems = []
    for path in paths:
        try:
            load_yaml(path)
        except DuplicateKeyError as err:
            problems.append(str(err))
    if problems:
        raise ConfigError(
            "invalid config, nothing was run:\n" + "\n".join(f"  {p}" for p in problems)
        )
