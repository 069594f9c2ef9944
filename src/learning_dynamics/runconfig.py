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

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .strict import json_text

DIGEST = "_sha256"


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
