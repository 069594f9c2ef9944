"""Semantic checks of a whole config: cross-field sizes, ranges and lengths that JSON Schema cannot
express, run by `config.check_config` after the schema has passed (so every key exists and has
its type). One function per study; each returns problems as "dotted.key: message", and all of
them are reported together, before any job runs.

Each check guards a value that is valid alone but crashes a job, or silently computes something
else, in combination with another one. Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Config = dict[str, Any]


def llc_sampler(key: str, block: Config) -> list[str]:
    """An LLC sampler block (learning_dynamics.llc.SGLDConfig): the estimate needs kept draws,
    at least two, to compare their halves."""
    if block["burn_in"] > block["steps"] - 2:
        return [
            f"{key}.burn_in: {block['burn_in']} leaves fewer than 2 of {key}.steps = "
            f"{block['steps']} SGLD draws for the estimate; at most {block['steps'] - 2}"
        ]
    return []


def superposition(c: Config) -> list[str]:
    out = []
    late = [e for e in c["figure_epochs"] if e > c["epochs"]]
    if late:
        out.append(
            f"superposition.figure_epochs: {late} lie beyond the last epoch "
            f"(superposition.epochs = {c['epochs']}); the figure would show epoch {c['epochs']}"
        )
    return out


def linear(c: Config) -> list[str]:
    out = []
    if len(c["teacher"]) > c["dim"]:
        out.append(
            f"linear.teacher: {len(c['teacher'])} values, but the teacher is the diagonal of a "
            f"(len(teacher) x dim) matrix and linear.dim = {c['dim']}: give at most {c['dim']}"
        )
    # linear.sweep.jobs may exceed the grid: grids.job_count caps it at one job per point
    out += llc_sampler("linear.llc", c["llc"])
    out += llc_sampler("linear.llc.validation", c["llc"]["validation"])
    for k, (m, n, h, r) in enumerate(c["llc"]["validation"]["cases"]):
        if h and r > min(m, n, h):
            out.append(
                f"linear.llc.validation.cases[{k}]: true rank r = {r} exceeds min(M, N, H) = "
                f"{min(m, n, h)}; Aoyagi's formula has no case for it"
            )
    return out


def makemore(c: Config) -> list[str]:
    # batch_size has no upper limit: the randperm sampler draws any batch size (see sampler.py)
    return []


def grokking(c: Config) -> list[str]:
    out = []
    n = c["p"] * (c["p"] + 1) // 2  # the pairs (i, j), i <= j, with or without modulo
    why = f"p = {c['p']} gives {n} pairs (i <= j) and at least one must stay a test pair"
    if c["train_num"] > n - 1:
        out.append(f"grokking.train_num: {c['train_num']} is too large: {why}; at most {n - 1}")
    big = [t for t in c["fraction"]["train_nums"] if t > n - 1]
    if big:
        out.append(f"grokking.fraction.train_nums: {big} too large: {why}; at most {n - 1}")
    return out


def memorization(c: Config) -> list[str]:
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


STUDIES: dict[str, Callable[[Config], list[str]]] = {
    "superposition": superposition,
    "linear": linear,
    "makemore": makemore,
    "grokking": grokking,
    "memorization": memorization,
}


def check(config: Config) -> list[str]:
    """Every semantic problem of a schema-valid config, as "dotted.key: message"."""
    return [line for study, fn in STUDIES.items() if study in config for line in fn(config[study])]
