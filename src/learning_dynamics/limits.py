"""Sizes of grids and ensembles against the config's stated limits, before anything is built.

Each study's checks describe its sweeps and ensembles as `Grid`s: the config key, the number of
values along each axis (never the values: a 1e5 x 1e5 grid costs nothing here), the rule jobs
it is split into and what one member records. `problems` compares them with two limits:

- `limits.members` (config): members of one grid, the product of its axes (every grid point x
  seed). It keeps a typo (`num: 100000`) from making the workflow build a billion-member plan;
- `resources.train.mem_mb` (config): the memory one training job asks for, against the history
  one job writes (members per job x snapshots x recorded numbers; rows are held in memory until
  written), estimated from the config alone.

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
    jobs: int = 1  # rule jobs it is split into (the block's `jobs`)
    floats: int = 0  # numbers one member records per snapshot (0: not estimated)
    snapshots: int = 1  # snapshots per member, the initial one included
    float_bytes: int = 4  # 4 (float32) or 8 (float64)

    @property
    def members(self) -> int:
        return math.prod(self.axes.values())

    def job_bytes(self) -> int:
        """Estimated history of the largest of its rule jobs, in bytes."""
        per_job = -(-self.members // job_count(self.members, self.jobs))
        return per_job * self.floats * self.snapshots * self.float_bytes


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
            out.append(
                f"{g.key}: {product} = {g.members:,} members, above limits.members = {limit:,}; "
                "for a cluster or GPU that can train them, raise `limits.members` in your config "
                "file (and split the grid with its `jobs`)"
            )
        elif g.job_bytes() > mem_mb * 1e6:
            per_job = -(-g.members // job_count(g.members, g.jobs))
            out.append(
                f"{g.key}: a job of {per_job:,} members writes about {g.job_bytes() / 1e6:,.0f} "
                f"MB of history ({g.snapshots:,} snapshots x {g.floats:,} numbers x "
                f"{g.float_bytes} bytes each), above resources.train.mem_mb = {mem_mb:,}; raise "
                "its `jobs` to split it, or, where jobs get more memory (a cluster), "
                "`resources.train.mem_mb` in your config file"
            )
    return out


def snapshots(steps: int, every: int) -> int:
    """Snapshots of a run of `steps` updates taken every `every` (training.snapshot_steps)."""
    return -(-steps // every) + 1
