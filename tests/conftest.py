"""Shared test fixtures: paths, and the quick config the suite runs at."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from learning_dynamics import config

ROOT = Path(__file__).resolve().parents[1]


def load_config(quick: bool = True) -> dict:
    """config.yaml merged with quick.yaml, as `snakemake --configfile config/quick.yaml` does
    (config.yaml alone with quick=False): the one way tests get config values."""
    return config.load("quick" if quick else "default")


def default_run(study: str, run: str, **overrides) -> dict:
    """Run `run` of `study` as the workflow builds it from config/config.yaml (its
    `runs.run_config`), with `overrides`: the one way tests build a run config."""
    runs = importlib.import_module(f"learning_dynamics.{study}.runs")
    return {**runs.run_config(load_config(quick=False)[study], run), **overrides}


@pytest.fixture
def quick_config() -> dict:
    return load_config(quick=True)


def run_cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m learning_dynamics ...` in a subprocess, as a workflow rule runs it."""
    return subprocess.run(
        [sys.executable, "-m", "learning_dynamics", *args],
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
    )


def snakemake(
    workdir: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the workflow in `workdir` (results land there, not in the checkout)."""
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    return subprocess.run(
        [exe, "-s", str(ROOT / "workflow" / "Snakefile"), "-d", str(workdir), *args],
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
    )
