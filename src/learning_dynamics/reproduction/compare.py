"""Two result trees, number by number: every `summary.json` value and every CSV cell.

The GPU check (`benchmarks/gpu_check.py`) builds the same config on the CPU and on CUDA into two
directories and compares them with this; `python -m learning_dynamics reproduction compare
--reference A --candidate B --rtol 1e-3 --atol 1e-6 --report out.json` does it by hand. Numbers
agree when |b − a| <= atol + rtol·|a| (NaN agrees with NaN); text and booleans must be equal.
Logs, benchmarks and figures are not compared (times and pixels are not results).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

SKIP = ("logs", "benchmarks", "figures")


@dataclasses.dataclass
class Comparison:
    files: int = 0
    numbers: int = 0
    texts: int = 0
    max_rel: float = 0.0  # largest |b − a| / |a| over the numbers compared (a != 0)
    max_rel_at: str = ""
    mismatches: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def result_files(root: str | os.PathLike) -> list[str]:
    """summary.json and CSV files under `root` (relative paths), outside logs/benchmarks/figures."""
    root = Path(root)
    found = [*root.rglob("summary.json"), *root.rglob("*.csv")]
    rel = (p.relative_to(root) for p in found)
    return sorted(str(p) for p in rel if not set(p.parts) & set(SKIP))


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out |= _flatten(v, f"{prefix}{k}.")
        return out
    if isinstance(node, list):
        out = {}
        for i, v in enumerate(node):
            out |= _flatten(v, f"{prefix}{i}.")
        return out
    return {prefix.rstrip("."): node}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _number(c: Comparison, where: str, a: float, b: float, rtol: float, atol: float) -> None:
    c.numbers += 1
    a, b = float(a), float(b)
    if math.isnan(a) and math.isnan(b):
        return
    if a != 0 and math.isfinite(a) and math.isfinite(b):
        rel = abs(b - a) / abs(a)
        if rel > c.max_rel:
            c.max_rel, c.max_rel_at = rel, where
    if not (abs(b - a) <= atol + rtol * abs(a) or a == b):
        c.mismatches.append(f"{where}: {a!r} vs {b!r}")


def _compare_json(c: Comparison, name: str, a: Any, b: Any, rtol: float, atol: float) -> None:
    fa, fb = _flatten(a), _flatten(b)
    for key in sorted(set(fa) | set(fb)):
        where = f"{name}: {key}"
        if key not in fa or key not in fb:
            c.mismatches.append(f"{where}: only in {'candidate' if key in fb else 'reference'}")
        elif _is_number(fa[key]) and _is_number(fb[key]):
            _number(c, where, fa[key], fb[key], rtol, atol)
        else:
            c.texts += 1
            if fa[key] != fb[key]:
                c.mismatches.append(f"{where}: {fa[key]!r} vs {fb[key]!r}")


def _compare_csv(c: Comparison, name: str, a: pd.DataFrame, b: pd.DataFrame, rtol, atol) -> None:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        c.mismatches.append(
            f"{name}: shape {a.shape} {list(a.columns)} vs {b.shape} {list(b.columns)}"
        )
        return
    for col in a.columns:
        x, y = a[col], b[col]
        numeric = pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y)
        if numeric and not pd.api.types.is_bool_dtype(x):
            for i, (u, v) in enumerate(zip(x.to_numpy(float), y.to_numpy(float), strict=True)):
                _number(c, f"{name}: row {i} {col}", u, v, rtol, atol)
        else:
            for i, (u, v) in enumerate(zip(x.astype(str), y.astype(str), strict=True)):
                c.texts += 1
                if u != v:
                    c.mismatches.append(f"{name}: row {i} {col}: {u!r} vs {v!r}")


def compare_trees(
    reference: str | os.PathLike, candidate: str | os.PathLike, rtol: float, atol: float
) -> Comparison:
    """Every result file of `reference` against the same file of `candidate` (and vice versa)."""
    c = Comparison()
    ra, rb = result_files(reference), result_files(candidate)
    for name in sorted(set(ra) ^ set(rb)):
        c.mismatches.append(f"{name}: only in {'candidate' if name in rb else 'reference'}")
    for name in sorted(set(ra) & set(rb)):
        c.files += 1
        pa, pb = Path(reference, name), Path(candidate, name)
        if name.endswith(".json"):
            _compare_json(
                c, name, json.loads(pa.read_text()), json.loads(pb.read_text()), rtol, atol
            )
        else:
            _compare_csv(c, name, pd.read_csv(pa), pd.read_csv(pb), rtol, atol)
    return c


def main(reference: str, candidate: str, rtol: str = "1e-3", atol: str = "1e-6",
         report: str | None = None) -> None:  # fmt: skip
    """The `compare` verb: print the comparison, write it as JSON, exit 1 on any mismatch."""
    c = compare_trees(reference, candidate, float(rtol), float(atol))
    out = {**dataclasses.asdict(c), "rtol": float(rtol), "atol": float(atol), "ok": c.ok}
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(
        f"compared {c.files} files: {c.numbers} numbers (rtol {rtol}, atol {atol}),"
        f" {c.texts} texts;"
        f" largest relative difference {c.max_rel:.3g} ({c.max_rel_at or '-'});"
        f" {len(c.mismatches)} mismatches"
    )
    for line in c.mismatches[:50]:
        print("  " + line)
    if not c.ok:
        raise SystemExit(1)


__all__ = ["Comparison", "compare_trees", "main", "result_files"]
