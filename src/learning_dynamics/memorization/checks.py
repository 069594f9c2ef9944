"""Semantic checks of the `memorization` config block beyond its schema.yaml: non-empty capacity
sweeps and averaging windows, distinct init seeds, non-empty rank ranges, a contributions example
inside the law's support.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

import math
from typing import Any


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `memorization` block `c` that no single key shows."""
    out = []
    cap = c["capacity"]
    for axis in ("heads", "head_dim", "embed_dim"):
        lo, hi = cap[axis]["min"], cap[axis]["max"]
        if lo > hi:
            out.append(
                f"memorization.capacity.{axis}: min = {lo} > max = {hi} (an empty sweep); swap them"
            )
    steps = cap["pool_batches"] * cap["epochs"]  # the authors' recipe: epochs over one pool
    if cap["last"] > steps:
        out.append(
            f"memorization.capacity.last: {cap['last']} batch accuracies are averaged, but "
            f"capacity trains pool_batches x epochs = {steps} steps: at most {steps}"
        )
    for cell in ("dynamics", "freezing"):  # extra init seeds beside the notebook's own
        extra = c[cell].get("extra_seeds", [])
        if c[cell]["seed"] in extra or len(set(extra)) < len(extra):
            out.append(
                f"memorization.{cell}.extra_seeds: {extra} repeats a seed (the notebook's is "
                f"memorization.{cell}.seed = {c[cell]['seed']}); every init seed must differ"
            )
    rank = c["rank_distance"]
    if rank["d"] > rank["N"]:
        out.append(
            f"memorization.rank_distance.d: {rank['d']} > N = {rank['N']}: the cell compares "
            "ranks d..N (an empty range)"
        )
    block = c["contributions"]
    law = block["law"]
    if law["kind"] == "power_uniform":  # support: exactly nb_tokens[l] tokens at each level
        count = math.prod(min(t, block["N"]) for t in law["nb_tokens"])
        if block["example"] >= count:
            out.append(
                f"memorization.contributions.example: {block['example']} indexes the law's "
                f"{count} sequences (prod of law.nb_tokens, each at most N = {block['N']}): "
                f"give 0..{count - 1}"
            )
    return out
