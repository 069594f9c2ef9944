"""`python -m learning_dynamics new-study NAME`: the study it writes is lint-clean whatever the
name's length, names that clash or are not identifiers are refused, and (slow) in a copy of the
project the new study builds its figure, is scored, and passes its own test at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from learning_dynamics.newstudy import CONFIGS, FILES, new_study, problems

BIN = Path(sys.executable).parent


def lint(root: Path, paths: list[Path]) -> None:
    """`make lint`'s ruff and snakefmt checks on `paths` (settings: root/pyproject.toml)."""
    code = [str(p) for p in paths if p.suffix == ".py"]
    rules = [str(p) for p in paths if p.suffix == ".smk"]
    for command in (
        [BIN / "ruff", "check", *code],
        [BIN / "ruff", "format", "--check", *code],
        [BIN / "snakefmt", "--check", *rules],
    ):
        run = subprocess.run(command, cwd=root, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def scratch(tmp_path: Path) -> Path:
    """The files new-study reads (the config of each level) and the lint settings."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["ab", "toy", "abcdefghijklmnopqrst"])  # 2 to 20 characters
def test_the_new_study_is_lint_clean_whatever_its_names_length(tmp_path, name):
    root = scratch(tmp_path)
    written = new_study(name, root)
    assert len(written) == len(FILES) + len(CONFIGS)
    lint(root, [p for p in written if p.suffix in (".py", ".smk")])
    for level in CONFIGS.values():  # its block was appended, nothing else changed
        before = (ROOT / level).read_text()
        after = (root / level).read_text()
        assert after.startswith(before) and f"\n{name}:" in after[len(before) :]


@pytest.mark.parametrize(
    "name",
    ["Toy", "my_study", "1toy", "t", "a" * 21, "class", "linear", "config", "figures", "scorecard"],
)
def test_names_that_clash_or_are_not_identifiers_are_refused(tmp_path, name):
    root = scratch(tmp_path)
    assert problems(name, root)
    with pytest.raises(SystemExit, match="nothing written"):
        new_study(name, root)
    assert sorted(p.name for p in root.iterdir()) == ["config", "pyproject.toml"]


@pytest.mark.slow
def test_a_new_study_builds_is_scored_and_passes_its_test_in_a_copy_of_the_project(tmp_path):
    """From a copy of this checkout (what git tracks, and new files not ignored): new-study toy,
    then its figure and its scorecard at quick budgets, then its own test; git sees edits to
    tracked files only in config/*.yaml."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    project = tmp_path / "project"
    for name in files:
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}  # the copy's package, not ours

    def run(*command: str) -> str:
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    run(*git, "init", "-q")
    run(*git, "add", "-A")
    run(*git, "commit", "-qm", "the project")
    run(sys.executable, "-m", "learning_dynamics", "new-study", "toy")
    changed = run("git", "status", "--porcelain", "--untracked-files=no").split("\n")
    assert sorted(line.split()[-1] for line in changed if line) == sorted(CONFIGS.values())
    quick = ["--configfile", "config/quick.yaml", "--cores", "2"]
    run(str(BIN / "snakemake"), "toy_loss", *quick)
    assert (project / "results" / "figures" / "toy_loss.png").stat().st_size > 10_000
    run(str(BIN / "snakemake"), "reproduction_toy", *quick)
    table = pd.read_csv(project / "results" / "reproduction" / "toy" / "scorecard.csv")
    assert list(table.study) == ["toy"] and list(table.status) == ["reproduced"]
    run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_toy.py")
