"""Strict readers of YAML and JSON: a duplicate key is an error naming the key and its line.

PyYAML and `json` keep the last of two equal keys silently (`linear:` twice in a config, or
`expected:` twice in a claim, and the first block is lost). Config files, claims files and run
configs are read here instead. JSON is also refused where it holds NaN or ±Infinity (Python's
`json` accepts both; no run config or result we read may hold them unnoticed).
Light imports only: the Snakefile uses this at parse time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml


class DuplicateKeyError(ValueError):
    """A mapping repeats a key (the message names the file, the key and both lines)."""


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader refusing a repeated key in any mapping."""

    name = "<yaml>"


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` (keys merged in, not typed)
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
            seen[key] = line
        except TypeError:  # an unhashable key: SafeLoader's own error follows
            continue
        if first is not None:
            raise DuplicateKeyError(
                f"{loader.name}: line {line}: duplicate key {key!r} (first at line {first});"
                " YAML would keep only the last one: remove or merge one of them"
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: str | os.PathLike) -> Any:
    """The YAML file `path`, as yaml.safe_load reads it, but a repeated key raises
    DuplicateKeyError naming the file, the key and its line."""
    return yaml_text(Path(path).read_text(), str(path))


def yaml_text(text: str, name: str = "<yaml>") -> Any:
    """YAML text (from file `name`) read strictly, as `load_yaml`."""
    loader = _Loader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e400: JSON's grammar, but not a float
        raise ValueError(f"{text} overflows a float (inf)")
    return value


def json_text(text: str, name: str = "<json>", allow_nan: bool = False) -> Any:
    """JSON text (from file `name`): a repeated key raises DuplicateKeyError, NaN and ±Infinity
    raise ValueError (unless `allow_nan`), each naming `name`; so does malformed JSON."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise DuplicateKeyError(f"{name}: duplicate key {key!r}")
            out[key] = value
        return out

    try:
        if allow_nan:
            return json.loads(text, object_pairs_hook=pairs)
        return json.loads(
            text, object_pairs_hook=pairs, parse_constant=_no_constant, parse_float=_finite_float
        )
    except DuplicateKeyError:
        raise
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{name}: not valid JSON ({err})") from None


def load_json(path: str | os.PathLike) -> Any:
    """The JSON file `path`, read as `json_text` (every error names the file)."""
    return json_text(Path(path).read_text(), str(path))
