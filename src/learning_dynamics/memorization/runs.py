"""Memorization study: the training jobs a config defines (pure Python, for the workflow).

A *member* is one model to train: its shape (model, N, d, layers, MLP, para, heads, d_head,
freeze), its law (kind and parameters, law seed), its init seed, skip switches and loss. A *job*
is what one rule runs: members sharing steps, batch and lr; the trainer batches members of equal
shape into one ensemble. Each seed cell is one job; the sweeps (scaling grid, capacity) are
lists of members split into `jobs` chunks so a cluster can spread them.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from ..grids import job_count, job_items


class Cell(NamedTuple):
    """One analysis and its figure `memorization_<name>` (rule of that name in memorization.smk)."""

    module: str  # cells/<module>.py: its `analyse` and its `draw`
    block: str  # the config block it reads
    sweep: bool  # a grid split into `jobs` training jobs; else one training job of its name


# The registry: every cell and sweep of the study, in notebook order. The workflow, the
# `analyse` and `plot` verbs and the tests read it from here.
CELLS = {
    "dynamics": Cell("dynamics", "dynamics", sweep=False),  # cell 1
    "freezing": Cell("freezing", "freezing", sweep=False),  # cell 2
    "scaling": Cell("scaling", "scaling", sweep=True),  # cell 3
    "architecture": Cell("architecture", "architecture", sweep=False),  # cell 4
    "attention": Cell("attention", "attention", sweep=False),  # cell 5
    "contributions": Cell("contributions", "contributions", sweep=False),  # cell 6
    "superposition": Cell("superposition", "superposition", sweep=False),  # cell 7
    "rank_distance": Cell("rank_distance", "rank_distance", sweep=False),  # cell 8
    "almost_rank": Cell("almost_rank", "almost_rank", sweep=False),  # cell 9
    "capacity_heads": Cell("capacity", "capacity", sweep=True),  # paper Fig. 1a
    "capacity_head_dim": Cell("capacity", "capacity", sweep=True),  # paper Fig. 1b
    "capacity_embed_dim": Cell("capacity", "capacity", sweep=True),  # paper Fig. 2a
    "capacity_diag": Cell("capacity", "capacity", sweep=True),  # paper Fig. 2b: d = d_h and H
}
SWEEPS = tuple(name for name, cell in CELLS.items() if cell.sweep)
# what each capacity sweep varies: H = para (parallel heads), d_head, or d; `diag` varies
# d = d_head and H together (a grid of both lists)
CAPACITY_AXES = {"heads": "para", "head_dim": "d_head", "embed_dim": "d"}
SHAPE_KEYS = ("N", "d", "layers", "mlp_width", "mlp_depth", "para", "heads", "d_head")


def association(nb_tokens: list[int]) -> dict[str, Any]:
    """The power-uniform law with alpha = 1: uniform supports, x3 a function of (x1, x2)."""
    return {"kind": "power_uniform", "alphas": [1.0, 1.0, 1.0], "nb_tokens": list(nb_tokens)}


def member(block: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A member from a cell's config block (shape keys, law, seeds), with overrides."""
    out: dict[str, Any] = {
        "model": "transformer",
        "layers": 1,
        "mlp_width": 0,
        "mlp_depth": 0,
        "heads": 1,
        "d_head": None,
        "freeze": [],
        "skips": {},
        "loss": "divergence",
    }
    out.update({k: block[k] for k in SHAPE_KEYS if k in block})
    for key in ("law", "law_seed", "seed"):
        if key in block:
            out[key] = block[key]
    out.update(overrides)
    if out["model"] == "low_rank":  # only N, d and U/W exist
        out.update(layers=0, para=0, heads=0, d_head=None, mlp_width=0, mlp_depth=0, skips={})
    return out


def skip_combinations(vary: list[str]) -> list[dict[str, bool]]:
    """Every setting of the switches in `vary` (others kept), leaving out those that skip both
    QK inputs or both OV inputs (a head would have nothing to read), as the seed does."""
    out = []
    for values in itertools.product([False, True], repeat=len(vary)):
        skips = dict(zip(vary, values, strict=True))
        if skips.get("pos_qk") and skips.get("emb_qk"):
            continue
        if skips.get("pos_ov") and skips.get("emb_ov"):
            continue
        out.append(skips)
    return out


def init_seeds(block: dict[str, Any]) -> list[int]:
    """The notebook's init seed, then the `extra_seeds` that measure the spread over inits."""
    return [block["seed"], *block.get("extra_seeds", [])]


def _cell_members(study: dict[str, Any], cell: str) -> list[dict[str, Any]]:
    b = study[cell]
    if cell == "dynamics":  # both losses per init seed, the notebook's seed first
        # the seed builds the second model after the first, so its init differs: seed + 1
        seeds = init_seeds(b)
        full = [member(b, loss="divergence", seed=s) for s in seeds]
        nt = [member(b, loss="next_token", seed=s + 1) for s in seeds]
        return [full[0], nt[0], *full[1:], *nt[1:]]
    if cell == "freezing":  # seed bug: its freezer dict has no P key; here P is a component
        every = ["E", "P", "QKV", "O", "U"]
        return [
            member(b, freeze=[c for c in every if c not in t], seed=s)
            for t in b["trains"]
            for s in init_seeds(b)
        ]
    if cell == "architecture":  # seed bug: the skip flags were never passed to the model
        settings = [member(b, skips=s) for s in skip_combinations(b["vary"])]
        full = {k: False for k in b["vary"]}  # the full model again, for its spread over inits
        return settings + [member(b, skips=full, seed=s) for s in b.get("extra_seeds", [])]
    if cell in ("attention", "contributions"):  # the notebook's init seed first
        skips = {k: True for k in b["skip"]}
        return [member(b, skips=skips, seed=s) for s in init_seeds(b)]
    if cell == "superposition":
        return [member(b, model="low_rank"), member(b)]
    if cell == "rank_distance":  # d-law of rank `dim` for dim = d..N, aligned or not, repeated
        out = []
        for dim in range(b["d"], b["N"] + 1):
            for aligned in (True, False):
                for rep in range(b["repetitions"]):
                    law = {"kind": "d_law", "nb_tokens": [b["N"], b["N"]], "dim": dim}
                    out.append(
                        member(
                            b,
                            model="low_rank",
                            law={**law, "axis_aligned": aligned},
                            law_seed=b["law_seed"] + len(out),
                            seed=(rep + 1) * (dim + 1),
                        )
                    )
        return out
    if cell == "almost_rank":
        return [member(b, model="low_rank")]
    raise ValueError(f"unknown memorization cell {cell!r}")


def scaling_members(study: dict[str, Any]) -> list[dict[str, Any]]:
    """The scaling grid: one transformer per grid point, plus one low-rank baseline per distinct
    (N, alphas, d) (seed bug: it called Low_rank with its arguments in the wrong order)."""
    s = study["scaling"]
    g = s["grid"]
    out, baselines = [], {}
    for n, alphas, d in itertools.product(g["N"], g["alphas"], g["d"]):
        law = {"kind": "power_uniform", "alphas": list(alphas), "nb_tokens": [n, n, n]}
        base = member(s, model="low_rank", N=n, d=d, law=law)
        baselines[(n, tuple(alphas), d)] = base
        for width, depth, heads, layers, para in itertools.product(
            g["mlp_width"], g["mlp_depth"], g["heads"], g["layers"], g["para"]
        ):
            out.append(
                member(
                    s,
                    N=n,
                    d=d,
                    law=law,
                    mlp_width=width,
                    mlp_depth=depth,
                    heads=heads,
                    layers=layers,
                    para=para,
                )
            )
    return list(baselines.values()) + out


def capacity_points(study: dict[str, Any], sweep: str) -> list[dict[str, int]]:
    """The shapes of a capacity sweep, one per point: {"d", "para", "d_head"} (`diag`: every H
    at every d = d_head, d-major)."""
    name = sweep.removeprefix("capacity_")
    axis = study["capacity"][name]
    if name == "diag":
        heads = sorted(axis["H"])
        return [{"d": d, "para": h, "d_head": d} for d in sorted(axis["d"]) for h in heads]
    out = []
    for value in range(axis["min"], axis["max"] + 1, axis.get("every", 1)):
        shape = {"d": axis["d"], "para": axis["H"], "d_head": axis["d_head"]}
        shape[CAPACITY_AXES[name]] = value
        out.append(shape)
    return out


def capacity_variants(study: dict[str, Any], sweep: str) -> dict[str, dict[str, Any]]:
    """The model variants a capacity sweep trains: the sweep's `variants` (names of the block's
    `variants`), else all of them."""
    c = study["capacity"]
    names = c[sweep.removeprefix("capacity_")].get("variants", list(c["variants"]))
    return {v: c["variants"][v] for v in names}


def capacity_members(study: dict[str, Any], sweep: str) -> list[dict[str, Any]]:
    """The paper's capacity sweeps with the authors' recipe (their final code): the bigram
    association task (x1, x2 uniform, one random target per pair: N² facts) of ONE law, and ONE
    pool of `pool_batches` × `batch` sequences drawn once from it and reshuffled every epoch;
    for every point and model variant (the authors' shared layout, our per-head layout) one
    member per repeat seed. Repeats share the law and the pool and differ in initialisation
    (and shuffling). Members of one point and variant are adjacent, so they share a job and
    train as one batched ensemble."""
    c = study["capacity"]
    pool = {"seed": c["pool_seed"], "size": c["pool_batches"] * c["batch"]}
    out = []
    for shape in capacity_points(study, sweep):
        for variant, arch in capacity_variants(study, sweep).items():
            for seed in c["seeds"]:
                out.append(
                    member(
                        {"N": c["N"]},
                        **shape,
                        **arch,
                        variant=variant,
                        law=association([c["N"], c["N"], 1]),
                        law_seed=c["law_seed"],
                        seed=seed,
                        pool=pool,
                        loss="next_token",
                    )
                )
    return out


def _sweep_members(study: dict[str, Any], sweep: str) -> list[dict[str, Any]]:
    return scaling_members(study) if sweep == "scaling" else capacity_members(study, sweep)


def _sweep_block(study: dict[str, Any], sweep: str) -> dict[str, Any]:
    return study["scaling"] if sweep == "scaling" else study["capacity"]


# Cell 1's low-rank optimal baseline trains its own budget (`dynamics.low_rank_steps`; the
# notebook: 4000 steps against the transformers' 5000), so it is a job of its own.
BASELINE_JOBS = ("dynamics_low_rank",)


def jobs(study: dict[str, Any]) -> list[str]:
    """Names of every training job: each cell, cell 1's low-rank baseline, and `<sweep>/job<k>`
    for every sweep job (the project's one sweep convention, see `grids`)."""
    out = [c for c in CELLS if c not in SWEEPS] + list(BASELINE_JOBS)
    for sweep in SWEEPS:
        n = sweep_jobs(study, sweep)
        out.extend(f"{sweep}/job{k}" for k in range(n))
    return out


def sweep_jobs(study: dict[str, Any], sweep: str) -> int:
    """Rule jobs of a sweep: the config's `jobs`, at most one per member (scaling) or point
    (capacity: a point's repeats train together)."""
    if sweep == "scaling":
        units = len(scaling_members(study))
    else:
        units = len(capacity_points(study, sweep))
    return job_count(units, _sweep_block(study, sweep)["jobs"])


def job_config(study: dict[str, Any], job: str) -> dict[str, Any]:
    """The config of one training job: its members and their shared steps, batch and lr."""
    if job in CELLS and job not in SWEEPS:
        block, members = study[job], _cell_members(study, job)
    elif job == "dynamics_low_rank":  # one low-rank model per init seed, on the cell's law
        block = {**study["dynamics"], "steps": study["dynamics"]["low_rank_steps"]}
        members = [member(block, model="low_rank", seed=s) for s in init_seeds(block)]
    else:
        sweep, _, k = job.rpartition("/job")
        if sweep not in SWEEPS:
            raise ValueError(f"unknown memorization job {job!r}")
        block, members = _sweep_block(study, sweep), _sweep_members(study, sweep)
        if sweep == "scaling":
            members = list(job_items(members, _sweep_block(study, sweep)["jobs"], int(k)))
        else:  # whole points, dealt round-robin (the sweeps' costs grow along the axis)
            per_point = len(members) // len(capacity_points(study, sweep))
            jobs = sweep_jobs(study, sweep)
            members = [m for i, m in enumerate(members) if (i // per_point) % jobs == int(k)]
    if job.startswith("capacity_"):  # the authors' recipe: epochs over one pool, LinearLR
        every = int(block["pool_batches"])
        steps = every * int(block["epochs"])
        schedule = {"end_factor": block["lr_end_factor"], "every": every, "total": block["epochs"]}
        return {
            "steps": steps,
            "batch": block["batch"],
            "lr": block["lr"],
            "schedule": schedule,
            "snapshot_every": min(steps, block.get("snapshot_every", study["snapshot_every"])),
            "members": members,
        }
    return {
        "steps": block["steps"],
        "batch": block["batch"],
        "lr": block.get("lr", study["lr"]),
        "snapshot_every": min(block["steps"], study["snapshot_every"]),
        "members": members,
    }


def data_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a job config that fixes its data: every member's law."""
    return {"laws": [{k: m[k] for k in ("N", "law", "law_seed")} for m in config["members"]]}


# ---- analyses and figures (the registry `CELLS`): which jobs and config block each reads -------


def cell_jobs(study: dict[str, Any], cell: str) -> list[str]:
    """The training jobs an analysis reads."""
    if cell == "dynamics":
        return ["dynamics", "dynamics_low_rank"]
    if cell not in SWEEPS:
        return [cell]
    return [f"{cell}/job{k}" for k in range(sweep_jobs(study, cell))]


def cell_block(cell: str) -> str:
    """The config block of a cell or sweep."""
    return CELLS[cell].block


def figure_inputs(study: dict[str, Any], cell: str, root: str) -> dict[str, Any]:
    """What a cell's figure reads (paths under `root`, results/memorization): its analysis files
    and its training jobs' extracts."""
    return {
        "summary": f"{root}/{cell}/summary.json",
        "table": f"{root}/{cell}/table.csv",
        "arrays": f"{root}/{cell}/arrays.h5",
        "extracts": [f"{root}/{j}/extract.h5" for j in cell_jobs(study, cell)],
    }
