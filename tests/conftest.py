"""Shared test fixtures: paths, and the quick config the suite runs at."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _merge(base: dict, update: dict) -> dict:
    """Nested dicts merged key by key, as Snakemake merges a --configfile into the config."""
    out = dict(base)
    for key, value in update.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both_dicts else value
    return out


def load_config(quick: bool = True) -> dict:
    """config.yaml merged with quick.yaml, as `snakemake --configfile config/quick.yaml` does."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if quick:
        config = _merge(config, yaml.safe_load((ROOT / "config" / "quick.yaml").read_text()))
    return config


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
