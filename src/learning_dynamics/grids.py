"""Splitting a sweep's grid points into rule jobs (light: imported by the workflow)."""

from __future__ import annotations


def job_slice(n: int, jobs: int, job: int) -> slice:
    """Points of job `job` when `n` grid points are split into `jobs` contiguous chunks whose
    sizes differ by at most one (none is empty while jobs <= n)."""
    if not 0 <= job < jobs:
        raise ValueError(f"job {job} of {jobs}")
    return slice(job * n // jobs, (job + 1) * n // jobs)
