"""Semantic checks of the `grokking` config block beyond its schema.yaml: training pairs leave
at least one test pair.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `grokking` block `c` that no single key shows."""
    out = []
    n = c["p"] * (c["p"] + 1) // 2  # the pairs (i, j), i <= j, with or without modulo
    why = f"p = {c['p']} gives {n} pairs (i <= j) and at least one must stay a test pair"
    if c["train_num"] > n - 1:
        out.append(f"grokking.train_num: {c['train_num']} is too large: {why}; at most {n - 1}")
    big = [t for t in c["fraction"]["train_nums"] if t > n - 1]
    if big:
        out.append(f"grokking.fraction.train_nums: {big} too large: {why}; at most {n - 1}")
    return out
