"""The Snakemake workflow: config refusal, an end-to-end quick build, one-figure regeneration."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys

import h5py
import pytest
from conftest import ROOT, snakemake

from learning_dynamics import studies
from learning_dynamics.__main__ import resolve, verb_parser, verbs

QUICK = str(ROOT / "config" / "quick.yaml")
SUPERPOSITION_FIGURES = [
    "superposition_loss",
    "superposition_geometry",
    "superposition_products",
    "superposition_tied",
    "superposition_ensemble",
]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("superposition:\n  lr: -1.0\n", "superposition.lr"),  # bad value
        ("superposition:\n  epochs: 10.5\n", "superposition.epochs"),  # wrong type
        ("superposition:\n  lr: fast\n", "superposition.lr"),  # wrong type
        ("superposition:\n  lrr: 1.0\n", "'lrr' was unexpected"),  # unknown key
        ("superpositon:\n  lr: 1.0\n", "'superpositon' was unexpected"),  # unknown study
        ("superposition:\n  ensemble: {first_seed: 0, count: 0}\n", "superposition.ensemble.count"),
    ],
)
def test_bad_config_is_refused_before_any_job(tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    result = snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "invalid config, nothing was run" in output
    assert key in output
    assert not (tmp_path / "results").exists()


def jobs_planned(dry_run_output: str) -> dict[str, int]:
    """The job table of `snakemake -n`: rule name -> count."""
    table = re.search(r"job\s+count\n[- ]+\n(.*?)\ntotal", dry_run_output, re.S)
    if table is None:
        return {}
    return {name: int(n) for name, n in (line.split() for line in table.group(1).splitlines())}


@pytest.mark.slow
def test_quick_workflow_builds_every_superposition_figure(tmp_path):
    # Targets go before --configfile, which takes several values.
    snakemake(tmp_path, *SUPERPOSITION_FIGURES, "--cores", "2", "--configfile", QUICK)
    figures = tmp_path / "results" / "figures"
    for name in SUPERPOSITION_FIGURES:
        for ext in ("pdf", "png"):
            assert (figures / f"{name}.{ext}").stat().st_size > 10_000, name
    assert (figures / "superposition_geometry.gif").read_bytes()[:6] == b"GIF89a"
    assert (figures / "superposition_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    results = tmp_path / "results" / "superposition"
    summary = json.loads((results / "ensemble" / "summary.json").read_text())
    assert summary["members"] == 8  # quick.yaml: ensemble count
    assert 0.0175 < summary["final_loss"]["median"] < 0.0190
    with h5py.File(results / "ensemble" / "history.h5", "r") as f:
        assert f.attrs["complete"] and f["params/W_E"].shape == (41, 8, 2, 50)
    for rule in ("train_main", "extract_main", "analyse_main"):
        assert (tmp_path / "results" / "logs" / "superposition" / f"{rule}.log").exists()
    assert (tmp_path / "results" / "benchmarks" / "superposition" / "train_main.tsv").exists()

    # Up to date: nothing to do. One figure removed: only its own rule runs again.
    plan = snakemake(tmp_path, *SUPERPOSITION_FIGURES, "-n", "--configfile", QUICK).stdout
    assert "Nothing to be done" in plan
    (figures / "superposition_loss.png").unlink()
    plan = snakemake(tmp_path, "superposition_loss", "-n", "--configfile", QUICK).stdout
    assert jobs_planned(plan) == {"superposition_loss": 1}
    # A changed training value rewrites the run's config file (rule write_config: its param
    # changed), which reruns training and what depends on it, and nothing else.
    override = tmp_path / "lr.yaml"
    override.write_text("superposition:\n  lr: 4.0\n")
    plan = snakemake(tmp_path, "superposition_loss", "-n", "--configfile", QUICK, str(override))
    assert jobs_planned(plan.stdout) == {
        "write_config": 1,
        "superposition_train": 1,
        "superposition_extract": 1,
        "superposition_analyse": 1,
        "superposition_loss": 1,
    }


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    import tomllib

    import yaml

    def name(spec: str) -> str:
        return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {name(d) for d in project["dependencies"] + project["optional-dependencies"]["dev"]}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    listed = {name(d) for d in conda if isinstance(d, str)} - {"python", "pip"}
    listed |= {name(d) for d in next(d["pip"] for d in conda if isinstance(d, dict))} - {"-e"}
    assert listed == wanted


@pytest.fixture(scope="module")
def planned_commands(tmp_path_factory) -> dict[str, str]:
    """Rule -> a shell command it prints, from `snakemake -n -p` of every quick-config target."""
    workdir = tmp_path_factory.mktemp("plan")
    plan = snakemake(workdir, "-n", "-p", "--configfile", QUICK).stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?Shell command: (.*)$", plan, re.M)
    return dict(jobs)


def test_every_figure_names_the_function_that_draws_it(planned_commands):
    """Figure (or page) rule -> `python -m learning_dynamics <study> <verb>` -> VERBS ->
    module:function, importable, and named in the figure's caption."""
    figures = {r: c for r, c in planned_commands.items() if " results/figures/" in c}
    assert {f"{s}_explorer" for s in ("superposition", "linear", "grokking")} <= figures.keys()
    captions = {p.stem for p in (ROOT / "workflow" / "report").glob("*_*.rst")}
    assert sorted(figures) == sorted(captions)
    for rule, command in figures.items():
        study, verb = re.search(r"-m learning_dynamics (\w+) (\w+) ", command).groups()
        function = resolve(study, verb)
        module, name = verbs(study)[verb].split(":")
        assert function.__name__ == name and function.__module__.endswith(f"{study}.{module}")
        cell = re.search(r" --cell (\w+) ", command)
        if cell:  # one verb for many figures (memorization `plot --cell`): the cell's function
            function = sys.modules[function.__module__].drawing(cell.group(1))
        caption = (ROOT / "workflow" / "report" / f"{rule}.rst").read_text()
        drawn = f"{function.__module__}.{function.__name__}"
        assert f"Drawn by ``{drawn}`` in rule ``{rule}``" in caption, rule


def test_every_planned_command_parses_against_its_verbs_signature(planned_commands, monkeypatch):
    """Every rule's command line (all studies) gives its verb only options of the declared types."""
    import learning_dynamics.__main__ as cli

    def config_path(value: str) -> str:  # the file does not exist in a dry run
        assert value.endswith("config.json") or value.startswith("{"), value
        return value

    monkeypatch.setattr(cli, "json_file", config_path)
    for rule, command in planned_commands.items():
        argv = shlex.split(command.split(" > ")[0])
        if "learning_dynamics" not in argv:
            continue  # write_config runs in Snakemake itself
        study, verb, *options = argv[argv.index("learning_dynamics") + 1 :]
        args = vars(verb_parser(study, verb, resolve(study, verb)).parse_args(options))
        assert args, rule


@pytest.mark.parametrize("study", studies())
def test_printed_commands_are_short_and_read_their_config_from_a_file(planned_commands, study):
    """Run configs travel as files (results/.../config.json), never as JSON in a shell line."""
    commands = {r: c for r, c in planned_commands.items() if r.startswith(f"{study}_")}
    assert any(f"{study}_train" == r for r in commands)
    for rule, command in commands.items():
        assert len(command) < 1000 and "{" not in command, (rule, command)  # paths only
        if "--config " in command:
            assert re.search(r"--config results/\S+config\.json ", command), command


def test_a_changed_value_rewrites_exactly_its_config_file(tmp_path):
    """Run configs are files rule write_config writes from the config; a changed value rewrites
    the files holding it and no other (their readers then rerun by mtime: the slow test above)."""
    files = [
        "results/superposition/main/config.json",
        "results/superposition/ensemble/config.json",
        "results/superposition/analysis.config.json",
        "results/linear/sweep/config.json",
    ]
    snakemake(tmp_path, *files, "--cores", "1", "--configfile", QUICK)
    ensemble = json.loads((tmp_path / files[1]).read_text())
    assert ensemble["seeds"] == list(range(8)) and ensemble["epochs"] == 4000  # quick.yaml
    assert json.loads((tmp_path / files[3]).read_text())["jobs"] == 2
    override = tmp_path / "count.yaml"
    override.write_text("superposition:\n  ensemble: {first_seed: 0, count: 3}\n")
    plan = snakemake(tmp_path, *files, "-n", "--configfile", QUICK, str(override)).stdout
    assert jobs_planned(plan) == {"write_config": 1}
    assert (
        "Params have changed" in plan
        and "output: results/superposition/ensemble/config.json" in plan
    )
    plan = snakemake(tmp_path, *files, "-n", "--configfile", QUICK).stdout
    assert "Nothing to be done" in plan


def test_the_workflow_refuses_another_checkouts_package(tmp_path):
    """A learning_dynamics imported from elsewhere (another checkout's editable install, a
    PYTHONPATH) would silently lack this checkout's studies and rules: refused, naming both."""
    other = tmp_path / "other" / "src"
    shutil.copytree(ROOT / "src" / "learning_dynamics", other / "learning_dynamics")
    result = snakemake(tmp_path, "-n", check=False, env={"PYTHONPATH": str(other)})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"imports learning_dynamics from {other / 'learning_dynamics'}" in output, output[-2000:]
    assert f"needs its own {ROOT / 'src' / 'learning_dynamics'}" in output
    assert not (tmp_path / "results").exists()


LOCAL_RULES = """
import sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ResourceSettings
with SnakemakeApi() as api:
    snakefile, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    workflow = api.workflow(ResourceSettings(), snakefile=snakefile, workdir=workdir)._workflow
    for rule in workflow.rules:
        print(rule.name, rule.name in workflow._localrules)
"""


def test_every_rule_but_training_is_local(tmp_path):
    """The local-rules loop runs after every rule (write_config and all included): only training
    rules may become cluster jobs (a rule defined after the loop would silently be one)."""
    snakefile = ROOT / "workflow" / "Snakefile"
    run = subprocess.run([sys.executable, "-c", LOCAL_RULES, str(snakefile), str(tmp_path)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    local = dict(line.split() for line in run.stdout.splitlines() if line.count(" ") == 1)
    assert {"all", "write_config", "reproduction"} <= local.keys()
    assert {f"{s}_train" for s in studies()} <= local.keys()
    for name, is_local in local.items():
        assert is_local == str(not name.endswith("_train")), name
