"""Semantic checks of the `grokking` config block beyond its schema.yaml: training pairs leave
at least one test pair; the LLC sampler's step is stable and leaves draws after burn-in.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

from typing import Any

from ..config import llc_sampler_problems
from ..limits import Grid, axis_size, snapshots


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `grokking` block `c` that no single key shows."""
    out = llc_sampler_problems("grokking.llc", c["llc"])
    n = c["p"] * (c["p"] + 1) // 2  # the pairs (i, j), i <= j, with or without modulo
    why = f"p = {c['p']} gives {n} pairs (i <= j) and at least one must stay a test pair"
    if c["train_num"] > n - 1:
        out.append(f"grokking.train_num: {c['train_num']} is too large: {why}; at most {n - 1}")
    big = [t for t in c["fraction"]["train_nums"] if t > n - 1]
    if big:
        out.append(f"grokking.fraction.train_nums: {big} too large: {why}; at most {n - 1}")
    for name, axes in (("lr_grid", ("rep_lr", "dec_lr")), ("wd_grid", ("dec_lr", "dec_wd"))):
        for axis in axes:
            spec = c[name][axis]
            if isinstance(spec, dict) and spec.get("log") and min(spec["min"], spec["max"]) <= 0:
                out.append(
                    f"grokking.{name}.{axis}: min = {spec['min']}, max = {spec['max']} with "
                    "log: true; a log-spaced range needs both above 0 (or set log: false)"
                )
    return out


METRICS = 4  # numbers each member records every step: loss, train and test accuracy, RQI


def grids(c: dict[str, Any]) -> list[Grid]:
    """The phase diagrams and the training-fraction sweeps, for `limits.problems`: every cell x
    seed one member, each holding its decoder (weights, gradients, Adam moments) and activations
    over all pairs, recording its representation every snapshot and its metrics every step."""
    p, w = c["p"], c["width"]
    out_dim = max(c["output_dim"], c["authors_output_dim"])
    pairs = p * (p + 1) // 2
    state = 4 * (w * w + w * (out_dim + 3) + out_dim + p) + 3 * pairs * w

    def recorded(steps: int) -> int:
        return p * snapshots(steps, c["sweep_snapshot_every"]) + METRICS * steps

    out = []
    for name, axes in (("lr_grid", ("rep_lr", "dec_lr")), ("wd_grid", ("dec_lr", "dec_wd"))):
        block = c[name]
        sizes = {f"{a}.num": axis_size(block[a]) for a in axes} | {"count": block["count"]}
        steps = c["sweep_steps"]
        out.append(Grid(f"grokking.{name}", sizes, block["jobs"], state, recorded(steps)))
    fraction = c["fraction"]
    sizes = {"train_nums": len(fraction["train_nums"]), "count": fraction["count"]}
    out.append(
        Grid("grokking.fraction", sizes, fraction["jobs"], state, recorded(fraction["steps"]))
    )  # one such sweep per start (fraction.inits), each its own jobs
    return out
