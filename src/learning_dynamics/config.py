"""Config validation: refuse a bad config before any job starts, naming every bad key."""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config does not match workflow/schemas/config.schema.yaml."""


def check_config(config: dict[str, Any], schema_path: str | os.PathLike) -> None:
    """Raise ConfigError listing every violation as `dotted.key: problem`."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [
            f"  {'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors
        ]
        raise ConfigError("invalid config, nothing was run:\n" + "\n".join(lines))
