"""Semantic checks of the `memorization` config block beyond its schema.yaml: non-empty capacity
sweeps and averaging windows, capacity variants that exist, distinct init seeds, non-empty rank
ranges, a contributions example inside the law's support.

Run by `config.check_config` once the schema has passed (every key exists and has its type); each
problem is one "dotted.key: message", reported with every other study's before any job runs.
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

import math
from typing import Any

from ..config import llc_sampler_problems
from ..limits import Grid, axis_size, snapshots

# the cells that train their notebook's init seed beside `extra_seeds` (the spread over inits)
SEEDED_CELLS = ("dynamics", "freezing", "architecture", "attention", "contributions")


def check(c: dict[str, Any]) -> list[str]:
    """Every problem of the `memorization` block `c` that no single key shows."""
    out = llc_sampler_problems("memorization.llc", c["llc"])
    members = 2 * (1 + len(c["dynamics"].get("extra_seeds", [])))  # both losses per init seed
    if c["llc"]["member"] >= members:
        out.append(
            f"memorization.llc.member: {c['llc']['member']}, but the dynamics job has "
            f"{members} members (0..{members - 1})"
        )
    cap = c["capacity"]
    for axis in ("heads", "head_dim", "embed_dim"):
        lo, hi = cap[axis]["min"], cap[axis]["max"]
        if lo > hi:
            out.append(
                f"memorization.capacity.{axis}: min = {lo} > max = {hi} (an empty sweep); swap them"
            )
    unknown = sorted(set(cap["diag"].get("variants", [])) - set(cap["variants"]))
    if unknown:
        out.append(
            f"memorization.capacity.diag.variants: {unknown} not in memorization.capacity."
            f"variants ({sorted(cap['variants'])})"
        )
    steps = cap["pool_batches"] * cap["epochs"]  # the authors' recipe: epochs over one pool
    if cap["last"] > steps:
        out.append(
            f"memorization.capacity.last: {cap['last']} batch accuracies are averaged, but "
            f"capacity trains pool_batches x epochs = {steps} steps: at most {steps}"
        )
    for cell in SEEDED_CELLS:  # extra init seeds beside the notebook's own
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


def _transformer(n: int, d: int, heads: int, d_head: int, layers: int = 1, mlp: int = 0) -> int:
    """Parameters of one attention-only transformer (embeddings, positions, QKV, O, MLP,
    unembedding), roughly: what a member holds, times 4 with gradients and Adam's moments."""
    return 2 * n * d + 3 * d + layers * (4 * heads * d * d_head + 2 * mlp * d)


def grids(c: dict[str, Any]) -> list[Grid]:
    """The scaling grid and the capacity sweeps, for `limits.problems`: every point x seed (x
    model variant) one member, recording its parameters every snapshot and loss and accuracy
    every step."""
    out = []
    s, g = c["scaling"], c["scaling"]["grid"]
    top = {k: max(v) if k != "alphas" else 0 for k, v in g.items()}
    mlp = top["mlp_width"] * max(1, top["mlp_depth"])
    size = _transformer(top["N"], top["d"], top["heads"], top["d"], top["layers"], mlp)
    every = min(s["steps"], c["snapshot_every"])
    recorded = size * snapshots(s["steps"], every) + 2 * s["steps"]
    axes = {f"grid.{k}": len(v) for k, v in g.items()}
    out.append(Grid("memorization.scaling", axes, s["jobs"], 4 * size, recorded))
    for cell in SEEDED_CELLS:  # the notebook's seed and the extra ones, together
        b = c[cell]
        size = _transformer(b["N"], b["d"], b["para"], b["d"])
        every = min(b["steps"], c["snapshot_every"])
        recorded = size * snapshots(b["steps"], every) + 2 * b["steps"]
        seeds = {"seed and extra_seeds": 1 + len(b["extra_seeds"])}
        out.append(Grid(f"memorization.{cell}", seeds, None, 4 * size, recorded))
    r = c["rank_distance"]  # low-rank models: ranks d..N x aligned or not x repetitions, one job
    size = 2 * r["N"] * r["N"]
    every = min(r["steps"], c["snapshot_every"])
    recorded = size * snapshots(r["steps"], every) + 2 * r["steps"]
    axes = {"ranks d..N": max(0, r["N"] - r["d"] + 1), "aligned or not": 2,
            "repetitions": r["repetitions"]}  # fmt: skip
    out.append(Grid("memorization.rank_distance", axes, None, 4 * size, recorded))
    cap = c["capacity"]
    steps = cap["pool_batches"] * cap["epochs"]
    every = min(steps, cap.get("snapshot_every", c["snapshot_every"]))
    for name in ("heads", "head_dim", "embed_dim"):
        a = cap[name]
        varied = {"heads": "H", "head_dim": "d_head", "embed_dim": "d"}[name]
        top = {k: a["max"] if k == varied else a[k] for k in ("d", "d_head", "H")}
        size = _transformer(cap["N"], top["d"], top["H"], top["d_head"])
        axes = {name: axis_size(a), "seeds": len(cap["seeds"]), "variants": len(cap["variants"])}
        recorded = size * snapshots(steps, every) + 2 * steps
        out.append(Grid(f"memorization.capacity.{name}", axes, cap["jobs"], 4 * size, recorded))
    diag = cap["diag"]  # every H at every d = d_head
    top = max(diag["d"])
    size = _transformer(cap["N"], top, max(diag["H"]), top)
    variants = len(diag.get("variants", cap["variants"]))
    axes = {"diag.d": len(diag["d"]), "diag.H": len(diag["H"]), "seeds": len(cap["seeds"]),
            "variants": variants}  # fmt: skip
    recorded = size * snapshots(steps, every) + 2 * steps
    out.append(Grid("memorization.capacity.diag", axes, cap["jobs"], 4 * size, recorded))
    return out
