# Shared helpers for the rules: paths, run configs as rule params, figure registry.

import json
import sys

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
    try:
        caption = workflow.source_path(f"../report/{name}.rst")
    except FileNotFoundError:
        caption = workflow.source_path("../report/figure.rst")
    study = name.split("_")[0]
    paths["png"] = report(
        paths["png"],
        caption=caption,
        category=study,
        labels={"study": study, "figure": name},
    )
    return paths


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


wildcard_constraints:
    run="[a-z]+",
