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
    """Output paths of figure `name` (PDF and PNG, plus e.g. 'gif'), registered for `rule all`."""
    paths = {ext: f"{FIGDIR}/{name}.{ext}" for ext in ("pdf", "png", *extensions)}
    FIGURES.extend(paths.values())
    return paths


def as_json(value):
    """A config value as one JSON string: rule params, so a changed value reruns the rule."""
    return json.dumps(value, sort_keys=True)


wildcard_constraints:
    run="[a-z]+",
