# Shared helpers for the rules: paths, run configs as files, wildcard constraints, figures.

import json
import re
import sys
from base64 import urlsafe_b64encode
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError

from learning_dynamics import runconfig

RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
FIGDIR = f"{RESULTS}/figures"
# Every rule calls the package through this entry point; nothing else runs in a rule. The
# interpreter is the one running Snakemake, so `.venv/bin/snakemake` works without activation.
LD = f"{sys.executable} -m learning_dynamics"

# Every figure target adds its outputs here; `rule all` builds them all.
FIGURES = []


def figure(name, *extensions):
    """Output paths of figure `name` (PDF and PNG, plus e.g. 'gif'), registered for `rule all`.

    The PNG goes into `snakemake --report` with the caption workflow/report/<name>.rst (or the
    generic workflow/report/figure.rst): what the figure shows and the config that made it."""
    paths = {ext: f"{FIGDIR}/{name}.{ext}" for ext in ("pdf", "png", *extensions)}
    FIGURES.extend(paths.values())
    paths["png"] = _in_report(paths["png"], name)
    return paths


def page(name):
    """Output path of interactive page `name` (results/figures/<name>.html: a self-contained
    plotly page, see learning_dynamics.explorer), registered for `rule all` and for the report
    beside the figures, with its caption workflow/report/<name>.rst."""
    path = f"{FIGDIR}/{name}.html"
    FIGURES.append(path)
    return {"html": _in_report(path, name)}


def _in_report(path, name):
    """`path` as a report item under its study, captioned by workflow/report/<name>.rst."""
    try:
        caption = workflow.source_path(f"../report/{name}.rst")
    except FileNotFoundError:
        caption = workflow.source_path("../report/figure.rst")
    study = name.split("_")[0]
    return report(path, caption=caption, category=study, labels={"study": study, "figure": name})


# What every training job asks a scheduler for (config `resources.train`): each training rule
# says `resources: **TRAIN_RESOURCES`. Training rules are named `<study>_train` or
# `<study>_<what>_train`; they alone go to a cluster, every other rule is a `localrule` (Snakefile).
_TR = config["resources"]["train"]
TRAIN_RESOURCES = {
    "gpu": _TR["gpu"],
    "mem_mb": _TR["mem_mb"],
    "runtime": _TR["runtime"],
    # without GPUs (gpu: 0) the same number of cores, asked per task
    ("cpus_per_gpu" if _TR["gpu"] else "cpus_per_task"): _TR["cpus_per_gpu"],
}


def as_json(value):
    """A config value as one JSON string: rule params, so a changed value reruns the rule."""
    return json.dumps(value, sort_keys=True)


def one_of(names):
    """Wildcard constraint matching exactly `names` (e.g. a study's RUNS), never typed by hand."""
    return "|".join(re.escape(str(n)) for n in names)


# Run configs as files: a job reads its config from a small JSON file (`--config <file>`), so
# every printed command is short and can be rerun by hand. In a rule's input,
#     config=config_file(f"{X_DIR}/{{run}}/config.json", lambda w: x_run_config(X, w.run)),
# registers the file pattern (under results/, a name ending in `config.json`) with its value (or a
# function of the wildcards giving it) and returns the pattern; rule `write_config` writes each
# file. The value is that rule's param, so a changed value reruns it (Snakemake's params trigger)
# and the rewritten file reruns exactly the jobs that read it (mtime); an unchanged value leaves
# the file, and every job reading it, alone. Registration happens when the rules are parsed, so
# every Snakemake process (cluster jobs included) knows every config file. A wildcard matches any
# text, as in Snakemake; a path without wildcards wins, otherwise exactly one pattern must match.
# Each file carries the SHA-256 of its content (learning_dynamics/runconfig.py): a job refuses a
# file changed since, and so does `check_run_configs` for every file on disk when the Snakefile
# is parsed (and for a stale one Snakemake has no record of), before any job.
CONFIG_FILES = {}  # regex of the path under results/ -> (pattern, value or function of wildcards)


def config_file(pattern, value):
    """`pattern`, registered for rule `write_config` with `value` (JSON-able, or a function of
    the wildcards of `pattern` returning it)."""
    key = pattern.removeprefix(f"{RESULTS}/")
    if key == pattern or not key.endswith("config.json"):
        raise WorkflowError(f"config file {pattern}: expected {RESULTS}/...config.json")
    parts = re.split(r"\{(\w+)\}", key)  # literal, wildcard, literal, ...
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+)" for i, p in enumerate(parts))
    known = CONFIG_FILES.setdefault(regex, (pattern, value))
    other = known[1]
    if other is not value and (
        callable(value) or callable(other) or as_json(other) != as_json(value)
    ):
        raise WorkflowError(f"config file {pattern} is registered twice with different values")
    return pattern


def registered_config(wildcards):
    """Rule `write_config`'s param: the JSON value of config file results/<path>."""
    path = wildcards.path
    if (exact := CONFIG_FILES.get(re.escape(path))) is not None:  # a pattern without wildcards
        return as_json(exact[1])
    found = [(m, v) for r, (_, v) in CONFIG_FILES.items() if (m := re.fullmatch(r, path))]
    if len(found) != 1:
        raise WorkflowError(f"{RESULTS}/{path}: {len(found)} registered config files match")
    match, value = found[0]
    return as_json(value(SimpleNamespace(**match.groupdict())) if callable(value) else value)


def write_config_file(value, path, log):
    """Rule `write_config`: the JSON `value` into `path`, indented, with its digest (runconfig)."""
    Path(path).write_text(runconfig.text(json.loads(value)))
    Path(log).write_text(f"wrote {path}\n")


def has_snakemake_record(path):
    """Whether Snakemake keeps a record (params, code) of output `path`: its file in
    .snakemake/metadata/ (the default file backend names it by the path in urlsafe base64). A
    name too long for one file, or another backend: assumed recorded."""
    name = urlsafe_b64encode(str(path).encode()).decode()
    return len(name) >= 255 or Path(".snakemake", "metadata", name).exists()


def check_run_configs():
    """Refuse, before any job, a run config file on disk that a job would read although it is not
    what rule write_config wrote (changed by hand), or that another config wrote while Snakemake
    has no record to see that by (no .snakemake/metadata: results copied without it), naming each
    file and the way back. Files of runs the config no longer has are read by no job: left alone."""
    problems = []
    for file in sorted(Path(RESULTS).glob("**/*config.json")):
        try:  # what the config gives for this file (a run it no longer has: none)
            expected = registered_config(SimpleNamespace(path=str(file.relative_to(RESULTS))))
        except Exception:
            continue
        why = runconfig.edited(file)
        blind = not has_snakemake_record(file)
        if why is None and blind and (why := runconfig.stale(file, json.loads(expected))):
            why += (
                "; Snakemake has no record of the config that wrote it (results/ copied without "
                ".snakemake/?), "
                f"so it would not rewrite it: {runconfig.way_back(file)}"
            )
        if why is not None:
            problems.append(why)
    if problems:
        raise WorkflowError(
            "run config files are not what the config says, nothing was run:\n"
            + "\n".join(f"  {p}" for p in problems)
        )


wildcard_constraints:
    run="[a-z]+",
