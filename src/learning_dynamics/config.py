"""Config validation: refuse a bad config before any job starts, naming every bad key.

Two passes: the JSON schema (workflow/schemas/config.schema.yaml: keys, types, ranges), then the
semantic checks of `checks.py` (cross-field sizes and lengths). Stricter than plain JSON Schema
in one way: an integer key refuses a float even when it is integer-valued (`steps: 3000.0`), since
the code would get a float where it counts.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jsonschema
import yaml

from . import checks
from .strict import DuplicateKeyError, load_yaml


class ConfigError(ValueError):
    """The config does not match workflow/schemas/config.schema.yaml or fails a semantic check."""


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# Draft 2020-12 with "integer" meaning a Python int (JSON Schema also accepts 3000.0)
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

# What PyYAML (YAML 1.1) reads as a string although it looks like a number: 1e-3, 5E4, -2e+5
_YAML11_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


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
    return error.message


def check_config(config: dict[str, Any], schema_path: str | os.PathLike) -> None:
    """Raise ConfigError listing every violation as `dotted.key: problem`: the schema's first,
    then (for a config the schema accepts) the semantic checks of `checks.py`."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    lines = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {_message(e)}" for e in errors
    ]
    if not lines:
        lines = checks.check(config)
    if lines:
        raise ConfigError(
            "invalid config, nothing was run:\n" + "\n".join(f"  {line}" for line in lines)
        )


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
