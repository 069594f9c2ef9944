"""The reproduction scorecard: every claim's reproduced value against its expected value.

`build` (the `scorecard` verb) reads the claims files and the files they name under `results/`,
and writes `scorecard.csv` (columns `study, claim, kind, source, expected, tolerance, reproduced,
status, note`) and `scorecard.md`. A claim is `reproduced` when its value lies within its
tolerance of the expected value (exact match for strings and booleans), else `differs`; a claim
that differs is never dropped: its note gives the claim's stated deviation, or "unknown". A value
that cannot be read (a missing key, no matching row) is a claim that differs, with the reason in
the note. Reads are strict: a file that is empty, cut off mid-row, not valid JSON or a symlink out
of `results/`, and a value that is NaN or ±inf (also one row among those an `agg` combines), make
the claim differ with the file named, never pass for a number.
Counts (`counts_line`) are of reproductions; consistency checks (`kind: consistency`: true by
construction or the project's own measured number) are counted apart.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import atomic_path, write_csv
from ..strict import json_text
from .claims import Claim, claim_files, load_claims

COLUMNS = ["study", "claim", "kind", "source", "expected", "tolerance", "reproduced", "status",
           "note"]  # fmt: skip
LEVELS = ("quick", "default", "full")


class NoValue(LookupError):
    """The file holds no value for the claim (the reason is the message)."""


@functools.lru_cache(maxsize=64)
def _json(path: str, name: str, mtime: float) -> Any:
    try:
        return json_text(Path(path).read_text(), name, allow_nan=True)
    except (OSError, ValueError) as err:  # DuplicateKeyError, UnicodeDecodeError: ValueErrors
        raise NoValue(f"{name} cannot be read: {err}") from None


@functools.lru_cache(maxsize=64)
def _csv(path: str, name: str, mtime: float) -> pd.DataFrame:
    """The table, once its text is whole: not empty, ending in a newline, every row as wide as
    the header (pandas would pad a row cut short with NaN)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise NoValue(f"{name} cannot be read: {err}") from None
    if not text.strip():
        raise NoValue(f"{name} is empty")
    if not text.endswith("\n"):
        raise NoValue(f"{name} is cut off (its last line does not end)")
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise NoValue(
                f"{name} is damaged: line {i} has {len(row)} fields, the header {len(rows[0])}"
            )
    return pd.read_csv(io.StringIO(text))


def _inside(results: str | os.PathLike, file: str) -> Path:
    """results/<file>, which must exist and, symlinks resolved, lie inside results/."""
    path = Path(results) / file
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    real = path.resolve()
    if not real.is_relative_to(Path(results).resolve()):
        raise NoValue(f"{file} resolves to {real}, outside {results}/ (a symlink)")
    return path


def _finite(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise NoValue(f"{where} is {value}")
    return value


def _matches(column: pd.Series, wanted: Any) -> pd.Series:
    """Rows whose value equals `wanted`: numbers to 1e-9 relative (CSV text round trips), booleans
    and strings as text (a CSV's True/False)."""
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        numeric = pd.to_numeric(column, errors="coerce")
        return pd.Series(np.isclose(numeric, wanted, rtol=1e-9, atol=0.0), index=column.index)
    if isinstance(wanted, bool):
        return column.astype(str).str.lower() == str(wanted).lower()
    return column.astype(str) == str(wanted)


def read_value(claim: Claim, results: str | os.PathLike) -> Any:
    """The reproduced value of `claim` from its file under `results`; NoValue says why none."""
    try:
        path = _inside(results, claim.value.file)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{claim.path}: claim {claim.id!r}: {err}") from None
    v = claim.value
    if v.key is not None:
        node = _json(str(path), v.file, path.stat().st_mtime)
        walked = []
        for part in v.key.split("."):
            walked.append(part)
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif (
                isinstance(node, list)
                and part.lstrip("-").isdigit()
                and -len(node) <= int(part) < len(node)
            ):
                node = node[int(part)]
            else:
                raise NoValue(f"no key {'.'.join(walked)!r} in {v.file}")
        if isinstance(node, (dict, list)) or node is None:
            raise NoValue(f"{v.key!r} in {v.file} is {type(node).__name__}, not a value")
        return _finite(node, f"{v.key!r} in {v.file}")
    table = _csv(str(path), v.file, path.stat().st_mtime)
    for name in [v.column, *(k for k, _ in v.where)]:
        if name not in table.columns:
            raise NoValue(f"no column {name!r} in {v.file}")
    rows = np.ones(len(table), dtype=bool)
    for name, wanted in v.where:
        rows &= _matches(table[name], wanted).to_numpy()
    picked = table.loc[rows, v.column]
    if v.agg == "count":
        return len(picked)
    if len(picked) == 0:
        raise NoValue(f"no row of {v.file} matches {dict(v.where)}")
    if pd.api.types.is_numeric_dtype(picked) and not pd.api.types.is_bool_dtype(picked):
        bad = int((~np.isfinite(picked.to_numpy(float))).sum())
        if bad:  # pandas' min/mean/... would skip a NaN and grade the other rows
            raise NoValue(f"{bad} of {len(picked)} rows of {v.file} hold NaN or inf in {v.column}")
    if v.agg is None:
        if len(picked) != 1:
            raise NoValue(f"{len(picked)} rows of {v.file} match {dict(v.where)}; give an agg")
        value = picked.iloc[0]
    else:
        values = picked.astype(float) if picked.dtype == bool else picked
        value = getattr(values, v.agg)()
    return value.item() if isinstance(value, np.generic) else value


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.7g}"
    return str(value)


def level_note(level: str) -> str:
    """What the note says when the values were not built at the default level."""
    if level == "default":
        return ""
    return (
        f"values built at level {level} (config/{level}.yaml); expected values are for the"
        " default level"
    )


def evaluate(claim: Claim, results: str | os.PathLike, level: str = "default") -> dict[str, str]:
    """One scorecard row: the reproduced value, its status and, unless reproduced, why not."""
    reason = None
    try:
        reproduced = read_value(claim, results)
        ok = claim.tolerance.allows(claim.expected, reproduced)
    except NoValue as exc:
        reproduced, ok, reason = None, False, f"no value: {exc}"
    notes = []
    if not ok:
        if reason:
            notes.append(reason)
        notes.append(f"deviation: {claim.deviation}" if claim.deviation else "unknown")
    if level_note(level):
        notes.append(level_note(level))
    return {
        "study": claim.study,
        "claim": claim.id,
        "kind": claim.kind,
        "source": claim.source,
        "expected": _fmt(claim.expected),
        "tolerance": str(claim.tolerance),
        "reproduced": _fmt(reproduced),
        "status": "reproduced" if ok else "differs",
        "note": "; ".join(notes),
    }


def scorecard(claims: list[Claim], results: str | os.PathLike, level: str) -> pd.DataFrame:
    if level not in LEVELS:
        raise ValueError(f"level {level!r}; choose from {LEVELS}")
    rows = [evaluate(c, results, level) for c in claims]
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown(table: pd.DataFrame, claims: list[Claim], level: str) -> str:
    """The scorecard as a Markdown page: counts, then one table row per claim."""
    by_id = {(c.study, c.id): c for c in claims}
    lines = [
        "# Reproduction scorecard",
        "",
        f"Level: **{level}**. {counts(table)}. Expected values are for the default config;"
        " claims come from `config/claims/*.yaml`.",
        "",
        "| study | claim | kind | what | source | expected | tolerance | reproduced | status"
        " | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    for row in table.itertuples(index=False):
        c = by_id[(row.study, row.claim)]
        status = "**differs**" if row.status == "differs" else row.status
        cells = [row.study, f"`{row.claim}`", row.kind, c.claim, row.source, row.expected,
                 row.tolerance, row.reproduced, status, row.note]  # fmt: skip
        lines.append("| " + " | ".join(cell(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"


def build(
    claims: list[str],
    results: str,
    level: str,
    csv: str,
    md: str,
    studies: list[str] | None = None,
) -> None:
    """The `scorecard` verb: claims files (or a directory of them) -> scorecard.csv and .md."""
    paths = [q for p in claims for q in (claim_files(p) if Path(p).is_dir() else [p])]
    loaded = load_claims(paths, studies)
    table = scorecard(loaded, results, level)
    write_csv(csv, table)
    with atomic_path(md) as tmp:
        tmp.write_text(markdown(table, loaded, level))
    print(counts_line(table, md))


def counts(table: pd.DataFrame) -> str:
    """The headline: reproductions reproduced and differing; consistency checks apart."""
    ok = table.status == "reproduced"
    rep = table.kind == "reproduction"
    n, n_ok = int(rep.sum()), int((ok & rep).sum())
    m, m_ok = int((~rep).sum()), int((ok & ~rep).sum())
    return (
        f"{n_ok} reproduced, {n - n_ok} differ (of {n} reproductions);"
        f" consistency checks: {m_ok} hold, {m - m_ok} fail (of {m})"
    )


def counts_line(table: pd.DataFrame, where: str) -> str:
    return f"{counts(table)}; the table is {where}"


def summary(scorecard: str = "results/reproduction/scorecard.csv") -> None:
    """The `summary` verb (`make paper` ends with it): counts, level and where the table is."""
    table = pd.read_csv(scorecard, dtype=str, keep_default_na=False)
    md = Path(scorecard).with_suffix(".md")
    found = re.search(r"^Level: \*\*(\w+)\*\*", md.read_text(), re.M) if md.exists() else None
    level = found.group(1) if found else "unknown"
    print(f"Reproduction scorecard (level {level}): {counts_line(table, str(md))}")
    for row in table[table.status == "differs"].itertuples(index=False):
        what = "differs" if row.kind == "reproduction" else "fails (consistency)"
        print(f"  {what}: {row.study}/{row.claim}: {row.note}")
