"""Splitting a sweep's grid points into rule jobs (light: imported by the workflow).

The one sweep convention: a sweep block's key `jobs` asks for that many rule jobs (never more than
the sweep has points: `job_count`), job k of run `run` writes `results/<study>/<run>/job<k>/`, and
job k trains the points `job_items(points, jobs, k)`: contiguous, sizes differing by at most one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def job_count(n: int, jobs: int) -> int:
    """Rule jobs for `n` points when the config asks for `jobs`: at most one per point."""
    return max(1, min(int(jobs), n))


def job_items(items: Sequence[T], jobs: int, job: int) -> Sequence[T]:
    """The points of job `job` when `items` are split as the config's `jobs` asks."""
    return items[job_slice(len(items), job_count(len(items), jobs), job)]


def job_slice(n: int, jobs: int, job: int) -> slice:
    """Points of job `job` when `n` grid points are split into `jobs` contiguous chunks whose
    sizes differ by at most one (none is empty while jobs <= n)."""
    if not 0 <= job < jobs:
        raise ValueError(f"job {job} of {jobs}")
    return slice(job * n // jobs, (job + 1) * n // jobs)
