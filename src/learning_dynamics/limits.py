"""Sizes of grids and ensembles against the config's stated limits, before anything is built.

Each study's checks describe its sweeps and ensembles as `Grid`s: the config key, the number of
values along each axis (never the values: a 1e5 x 1e5 grid costs nothing here), the rule jobs
it is split into and what one member records. `problems` compares them with two limits:

- `limits.members` (config): members of one grid, the product of its axes (every grid point x
  seed). It keeps a typo (`num: 100000`) from making the workflow build a billion-member plan;
- `resources.train.mem_mb` (config): the memory one training job asks for, against what one
  job holds, estimated from the config alone: per member, its training state (parameters,
  gradients, optimiser moments, activations) and the history it records (rows are held in
  memory until a checkpoint writes them, and a short run writes them only at its end).

Both say how to raise them: on a cluster or a GPU, a bigger `limits.members`, more `jobs` or a
larger `resources.train.mem_mb` in your config file (see config/full.yaml).
Light imports only: the Snakefile runs this at parse time.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .grids import job_count


@dataclasses.dataclass(frozen=True)
class Grid:
    key: str  # dotted config key of the sweep or ensemble, e.g. "grokking.lr_grid"
    axes: dict[str, int]  # what varies (a sub-key, or "seeds") -> how many values: a product
    jobs: int | None = None  # rule jobs it is split into (the block's `jobs`; None: one, no key)
    state: int = 0  # numbers one member holds while training (parameters, gradients, ...)
    recorded: int = 0  # numbers one member records over the run (snapshots, metrics per step)
    float_bytes: int = 4  # 4 (float32) or 8 (float64)

    @property
    def members(self) -> int:
        return math.prod(self.axes.values())

    @property
    def per_job(self) -> int:
        """Members of the largest of its rule jobs (grids.job_items splits them evenly)."""
        return -(-self.members // job_count(self.members, self.jobs or 1))

    def job_bytes(self) -> int:
        """Estimated memory of the largest of its rule jobs, in bytes."""
        return self.per_job * (self.state + self.recorded) * self.float_bytes


def problems(grids: list[Grid], config: dict[str, Any]) -> list[str]:
    """Each grid beyond `limits.members`, or whose job's history exceeds
    `resources.train.mem_mb`, as "dotted.key: message" (naming the size, the limit and how to
    raise it)."""
    limit = config["limits"]["members"]
    mem_mb = config["resources"]["train"]["mem_mb"]
    out = []
    for g in grids:
        if g.members > limit:
            product = " x ".join(f"{n} ({axis})" for axis, n in g.axes.items())
            split = f" (and split it into more rule jobs with {g.key}.jobs)" if g.jobs else ""
            out.append(
                f"{g.key}: {product} = {g.members:,} members, above limits.members = {limit:,}; "
                f"for a cluster or GPU that can train them, raise `limits.members` in your config "
                f"file{split}"
            )
        elif g.job_bytes() > mem_mb * 1e6:
            out.append(
                f"{g.key}: a job of {g.per_job:,} members needs about "
                f"{g.job_bytes() / 1e6:,.0f} MB (per member {g.state:,} numbers of training "
                f"state and {g.recorded:,} recorded, {g.float_bytes} bytes each), above "
                f"resources.train.mem_mb = {mem_mb:,}; "
                + (f"split it with a larger {g.key}.jobs, or, " if g.jobs else "")
                + "where jobs get more memory (a cluster), raise `resources.train.mem_mb` in your "
                "config file"
            )
    return out


def axis_size(spec: Any) -> int:
    """Values along a config axis: a number (1), a list, {count: n} or {num: n} (a range), or an
    integer range {min, max, every} (memorization's capacity axes)."""
    if isinstance(spec, list):
        return len(spec)
    if not isinstance(spec, dict):
        return 1
    if "count" in spec or "num" in spec:
        return int(spec.get("count", spec.get("num")))
    return max(0, (spec["max"] - spec["min"]) // spec.get("every", 1) + 1)


def snapshots(steps: int, every: int) -> int:
    """Snapshots of a run of `steps` updates taken every `every` (training.snapshot_steps)."""
    return -(-steps // every) + 1
