"""Run configs as files: what rule `write_config` writes and every job reads (`--config FILE`).

A run config file is the JSON object the workflow derives from the config, plus one key,
`_sha256`: the digest of everything else (`digest`). A job reads it with `load`, which refuses,
before the verb creates anything, a file whose content no longer matches its digest (edited by
hand after the workflow wrote it), naming the file and the way back (`way_back`: delete it, and
the workflow writes it anew from the config). When the workflow is parsed, `check_run_configs`
(workflow/rules/common.smk) checks every run config file on disk the same way, and against what
the current config gives where Snakemake has no record to rerun rule write_config by, so such a
file stops the workflow before any job.

A file without `_sha256` (written by hand for a run outside the workflow, or by an older
version) is read as is. Light imports only: the Snakefile uses this at parse time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .strict import json_text

DIGEST = "_sha256"
T = TypeVar("T")


class RunConfigError(ValueError):
    """A run config file is not what the workflow wrote (the message names it and the way back)."""


def digest(value: dict[str, Any]) -> str:
    """SHA-256 of the run config `value` (canonical JSON: sorted keys, no spaces, no NaN)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def text(value: dict[str, Any]) -> str:
    """The file rule `write_config` writes for `value`: indented JSON with its digest."""
    if DIGEST in value:
        raise ValueError(f"a run config may not hold the key {DIGEST!r}")
    return json.dumps({**value, DIGEST: digest(value)}, indent=2, sort_keys=True) + "\n"


def way_back(path: str | os.PathLike) -> str:
    """How to get the run config file `path` back as the config gives it."""
    return (
        f"delete it (`rm {path}`) and rerun your snakemake command: rule write_config writes it "
        "anew from the config and what reads it is rebuilt (change a run in config/*.yaml or "
        "your --configfile, never in a run config file)"
    )


def parse(content: str, name: str) -> tuple[dict[str, Any], str | None]:
    """(the run config, its recorded digest or None) of file text `content` (file `name`)."""
    try:
        value = json_text(content, name)
    except ValueError as err:
        raise RunConfigError(f"{err}; {way_back(name)}") from None
    if not isinstance(value, dict):
        raise RunConfigError(f"{name}: a run config is a JSON object; {way_back(name)}")
    recorded = value.pop(DIGEST, None)
    return value, recorded


def edited(path: str | os.PathLike) -> str | None:
    """Why the run config file `path` is not as rule `write_config` wrote it, or None if it is
    (or carries no digest)."""
    try:
        value, recorded = parse(Path(path).read_text(), str(path))
    except RunConfigError as err:
        return str(err)
    except (OSError, UnicodeDecodeError) as err:  # a folder, no permission, binary bytes
        return f"{path} cannot be read ({err}); {way_back(path)}"
    if recorded is None or recorded == digest(value):
        return None
    return (
        f"{path} was changed after rule write_config wrote it (its content no longer matches its "
        f"{DIGEST}); {way_back(path)}"
    )


def load(path: str | os.PathLike) -> dict[str, Any]:
    """The run config in file `path`, checked against its digest; RunConfigError names the file
    when it is not valid JSON, repeats a key, holds NaN/Infinity or was changed by hand."""
    why = edited(path)
    if why is not None:
        raise RunConfigError(why)
    return parse(Path(path).read_text(), str(path))[0]


def stale(path: str | os.PathLike, expected: dict[str, Any]) -> str | None:
    """Why file `path` does not hold run config `expected` (None if it does): the keys that
    differ, as `key: on disk -> in the config`."""
    value, _ = parse(Path(path).read_text(), str(path))
    if value == expected:
        return None
    keys = sorted(set(value) | set(expected))
    diffs = [
        f"{k}: {json.dumps(value.get(k, '(absent)'))} -> {json.dumps(expected.get(k, '(absent)'))}"
        for k in keys
        if value.get(k, "(absent)") != expected.get(k, "(absent)")
    ]
    shown = "; ".join(diffs[:4]) + ("; ..." if len(diffs) > 4 else "")
    return f"{path} differs from what the config gives ({shown})"


def _fits(value: Any, hint: Any) -> bool:
    """Whether JSON `value` is of type `hint` (int, float, bool, str, tuples, unions, None)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(map(_fits, value, args))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def typed(cls: type[T], value: dict[str, Any]) -> T:
    """Dataclass `cls` from run config `value`, lists as tuples; RunConfigError naming every
    unknown key and every value not of its field's type (`"steps": "2000"`), so a run config
    written by hand is refused before the job creates anything."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    problems = [f"unknown key {k!r}" for k in value if k not in fields]
    problems += [  # the config dataclasses keep no defaults: config.yaml is their one source
        f"missing key {f.name!r}"
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name not in value and dataclasses.MISSING is f.default is f.default_factory
    ]
    problems += [
        f"{k}: {v!r} is not {_name(hints[k])}"
        for k, v in value.items()
        if k in fields and not _fits(v, hints[k])
    ]
    if problems:
        where = f"run config for {cls.__module__}.{cls.__name__}"
        raise RunConfigError(f"{where}: " + "; ".join(problems))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
