"""Claims as data: the reader of `config/claims/*.yaml`, strict about every key.

A claims file names one study and lists what that study reproduces:

    study: linear
    claims:
      - id: mode1_halfway            # unique within the study: [a-z0-9_]+
        kind: reproduction           # or consistency (see below)
        claim: one line of what is claimed
        source: a notebook cell and its printed value, a paper's figure/table/section, a closed form
        expected: 4310.9             # a number, or a string (or boolean) matched exactly
        tolerance: {rel: 0.01}       # or {abs: ...}; omitted only for exact matches
        tolerance_reason: why this tolerance (what a wrong implementation would give)
        value: {file: linear/main/modes.csv, column: t_sim, where: {mode: 0, fraction: 0.5}}
        deviation: optional, why our value is expected to differ

`value` reads a number from a file the DAG writes (paths relative to `results/`): a dotted `key`
into a JSON file (a list is indexed by an integer part), or a CSV `column` with an optional
`where` (column -> value) and `agg` (mean|median|min|max|count; without `agg` exactly one row must
match). Expected values are for the default config (`config/config.yaml`).

`kind` says what agreement would show. `reproduction`: the expected value comes from outside this
project (a value a seed notebook prints, a paper's figure, table or text, the authors' code or
stored results, a closed form), so agreement reproduces it. `consistency`: the expected value is
true by construction or is this project's own measured number (a regression check); agreement
shows the project is consistent with itself, not that it reproduces anything. Headline counts are
of reproductions; consistency checks are counted apart.

Any unknown key, missing field, wrong type or duplicate id is an error naming the file and the
claim; all of them are reported at once, before any job runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..strict import DuplicateKeyError, load_yaml

ID = re.compile(r"^[a-z0-9_]+$")
STUDY = re.compile(r"^[a-z][a-z0-9_]*$")
AGGREGATES = ("mean", "median", "min", "max", "count")
FILE_KEYS = {"study", "claims"}
CLAIM_REQUIRED = ("id", "kind", "claim", "source", "expected", "value")
KINDS = ("reproduction", "consistency")
CLAIM_KEYS = {*CLAIM_REQUIRED, "tolerance", "tolerance_reason", "deviation"}
VALUE_KEYS = {"file", "key", "column", "where", "agg"}


class ClaimsError(ValueError):
    """A claims file does not follow the format (the message names the file and the claim)."""


@dataclasses.dataclass(frozen=True)
class Tolerance:
    kind: str  # "abs", "rel" or "exact"
    size: float = 0.0

    def allows(self, expected: Any, reproduced: Any) -> bool:
        if self.kind == "exact":
            return _exact(expected) == _exact(reproduced)
        if reproduced is None or isinstance(reproduced, (bool, str)):
            return False
        if not math.isfinite(float(reproduced)):  # inf - inf is NaN, but inf - x is not
            return False
        diff = abs(float(reproduced) - float(expected))
        bound = self.size if self.kind == "abs" else self.size * abs(float(expected))
        return bool(diff <= bound)  # NaN compares False: a NaN never reproduces

    def __str__(self) -> str:
        return "exact" if self.kind == "exact" else f"{self.kind} {self.size:g}"


def _exact(value: Any) -> Any:
    """Exact matches compare text, so that a CSV's `True` matches YAML's true and 3 matches 3.0."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclasses.dataclass(frozen=True)
class Value:
    """Where the reproduced value is read: `file` (under results/) and a JSON key or CSV column."""

    file: str
    key: str | None = None
    column: str | None = None
    where: tuple[tuple[str, Any], ...] = ()
    agg: str | None = None

    def describe(self) -> str:
        if self.key is not None:
            return f"{self.file}: {self.key}"
        where = ", ".join(f"{k}={v}" for k, v in self.where)
        agg = f"{self.agg} of " if self.agg else ""
        return f"{self.file}: {agg}{self.column}" + (f" where {where}" if where else "")


@dataclasses.dataclass(frozen=True)
class Claim:
    study: str
    id: str
    kind: str  # "reproduction" or "consistency" (KINDS)
    claim: str
    source: str
    expected: Any
    tolerance: Tolerance
    tolerance_reason: str
    value: Value
    deviation: str | None
    path: str  # the claims file it came from


def _problems_of_value(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return ["value: must be a mapping with file and key (JSON) or column (CSV)"]
    out = [f"value: unknown key {k!r}" for k in sorted(set(value) - VALUE_KEYS, key=str)]
    file = value.get("file")
    if not isinstance(file, str) or not file:
        out.append("value.file: required, a path relative to results/")
    elif PurePosixPath(file).is_absolute() or ".." in PurePosixPath(file).parts:
        out.append(f"value.file: {file!r} must be relative to results/ and stay inside it")
    has_key, has_column = "key" in value, "column" in value
    if has_key == has_column:
        out.append("value: give exactly one of key (a JSON file) or column (a CSV file)")
    if has_key:
        if not isinstance(value["key"], str) or not value["key"]:
            out.append("value.key: a dotted key, e.g. final_loss.median")
        if isinstance(file, str) and not file.endswith(".json"):
            out.append(f"value.key: reads JSON, but {file!r} is not a .json file")
        for extra in ("where", "agg"):
            if extra in value:
                out.append(f"value.{extra}: only with column (a CSV file)")
    if has_column:
        if not isinstance(value["column"], str) or not value["column"]:
            out.append("value.column: a column name")
        if isinstance(file, str) and not file.endswith(".csv"):
            out.append(f"value.column: reads CSV, but {file!r} is not a .csv file")
        where = value.get("where", {})
        if not isinstance(where, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in where.items()
        ):
            out.append("value.where: a mapping of column -> number, string or boolean")
        if "agg" in value and value["agg"] not in AGGREGATES:
            out.append(f"value.agg: {value['agg']!r}; choose from {list(AGGREGATES)}")
    return out


def _tolerance_problem(tol: Any) -> str | None:
    """Why `tol` is not a tolerance ({abs: x} or {rel: x}, x finite, >= 0; rel below 1), or None."""
    if not (isinstance(tol, dict) and len(tol) == 1 and next(iter(tol)) in ("abs", "rel")):
        return "give one of {abs: x} or {rel: x}"
    kind, size = next(iter(tol.items()))
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return f"{kind} must be a number"
    if not (math.isfinite(size) and size >= 0):
        return f"{kind} must be finite and >= 0 (a tolerance that admits everything tests nothing)"
    if kind == "rel" and size >= 1:
        return "rel must be below 1 (100% admits zero and values of the other sign)"
    return None


def _problems_of_claim(raw: dict[str, Any]) -> list[str]:
    out = [f"unknown key {k!r}" for k in sorted(set(raw) - CLAIM_KEYS, key=str)]
    out += [f"missing required field {k!r}" for k in CLAIM_REQUIRED if k not in raw]
    if "id" in raw and not (isinstance(raw["id"], str) and ID.match(raw["id"])):
        out.append(f"id: {raw['id']!r} must match [a-z0-9_]+")
    if "kind" in raw and raw["kind"] not in KINDS:
        out.append(f"kind: {raw['kind']!r}; choose from {list(KINDS)}")
    for text in ("claim", "source", "tolerance_reason", "deviation"):
        if text in raw and not (isinstance(raw[text], str) and raw[text].strip()):
            out.append(f"{text}: must be a non-empty string")
    expected = raw.get("expected")
    numeric = isinstance(expected, (int, float)) and not isinstance(expected, bool)
    if "expected" in raw and not (numeric or isinstance(expected, (str, bool))):
        out.append("expected: a number, or a string or boolean for an exact match")
    if numeric:
        tol = raw.get("tolerance")
        if tol is None:
            out.append("tolerance: required for a numeric expected value ({abs: x} or {rel: x})")
        elif (why := _tolerance_problem(tol)) is not None:
            out.append(f"tolerance: {tol!r}: {why}")
        if "tolerance_reason" not in raw:
            out.append("missing required field 'tolerance_reason' (why this tolerance)")
        if not math.isfinite(expected):
            out.append(f"expected: {expected!r}; a claim expects a finite number")
    elif "tolerance" in raw:
        out.append("tolerance: only for numbers (a string or boolean matches exactly)")
    if "value" in raw:
        out += _problems_of_value(raw["value"])
    return out


def _claim(study: str, raw: dict[str, Any], path: str) -> Claim:
    tol = raw.get("tolerance")
    tolerance = Tolerance("exact") if tol is None else Tolerance(*next(iter(tol.items())))
    if tolerance.kind != "exact":
        tolerance = Tolerance(tolerance.kind, float(tolerance.size))
    v = raw["value"]
    value = Value(
        file=v["file"],
        key=v.get("key"),
        column=v.get("column"),
        where=tuple(sorted(v.get("where", {}).items())),
        agg=v.get("agg"),
    )
    return Claim(
        study=study,
        id=raw["id"],
        kind=raw["kind"],
        claim=raw["claim"].strip(),
        source=raw["source"].strip(),
        expected=raw["expected"],
        tolerance=tolerance,
        tolerance_reason=raw.get("tolerance_reason", "").strip(),
        value=value,
        deviation=raw["deviation"].strip() if raw.get("deviation") else None,
        path=path,
    )


def load_claims(
    paths: Iterable[str | os.PathLike], studies: Iterable[str] | None = None
) -> list[Claim]:
    """Every claim of every file, in file order; raise ClaimsError listing every problem.

    `studies`, if given, are the study names a file's `study` may take (the config's blocks)."""
    known = None if studies is None else set(studies)
    claims: list[Claim] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(str(p) for p in paths):
        try:
            doc = load_yaml(path)  # a key given twice (`expected:` twice) is an error, named
        except DuplicateKeyError as exc:
            problems.append(str(exc))
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not valid YAML: {exc}")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: must be a mapping with keys study and claims")
            continue
        problems += [f"{path}: unknown key {k!r}" for k in sorted(set(doc) - FILE_KEYS, key=str)]
        study = doc.get("study")
        if not (isinstance(study, str) and STUDY.match(study)):
            problems.append(f"{path}: study: {study!r} must name a study")
        elif known is not None and study not in known:
            problems.append(f"{path}: study: {study!r} is not one of {sorted(known)}")
        raws = doc.get("claims")
        if not isinstance(raws, list) or not raws:
            problems.append(f"{path}: claims: a non-empty list of claims")
            continue
        for i, raw in enumerate(raws):
            if not isinstance(raw, dict):
                problems.append(f"{path}: claim #{i + 1}: must be a mapping")
                continue
            name = raw.get("id") if isinstance(raw.get("id"), str) else f"#{i + 1}"
            found = _problems_of_claim(raw)
            problems += [f"{path}: claim {name!r}: {p}" for p in found]
            if found or not isinstance(study, str):
                continue
            if (study, raw["id"]) in seen:
                problems.append(
                    f"{path}: claim {name!r}: duplicate id in study {study!r}"
                    f" (also in {seen[(study, raw['id'])]})"
                )
                continue
            seen[(study, raw["id"])] = path
            claims.append(_claim(study, raw, path))
    if problems:
        raise ClaimsError(
            "invalid claims, nothing was run:\n" + "\n".join(f"  {p}" for p in problems)
        )
    return claims


def claim_files(directory: str | os.PathLike) -> list[str]:
    """The claims files of a directory (`*.yaml`), sorted."""
    return sorted(str(p) for p in Path(directory).glob("*.yaml"))


def value_files(claims: Iterable[Claim], results: str = "results") -> list[str]:
    """The files the claims read, under `results`: exactly the scorecard's inputs."""
    return sorted({f"{results}/{c.value.file}" for c in claims})
