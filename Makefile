# Two commands for a fresh clone:  `make paper` (set up, build every figure) and `make test`.
# Both are idempotent: the environment is (re)built only when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

.PHONY: setup paper quick test test-fast bench report lint clean gpu-check scorecard-docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: this exact version is a local CPU wheel here (no CUDA download)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(STAMP)                      ## create .venv with everything installed

paper: setup                         ## every figure of the default (paper) config, and the scorecard
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/python -m learning_dynamics reproduction summary --scorecard results/reproduction/scorecard.csv

quick: setup                         ## every figure at the small budgets of config/quick.yaml
	$(BIN)/snakemake --cores $(CORES) --configfile config/quick.yaml

test: setup                          ## the test suite (quick budgets, a few minutes)
	$(BIN)/pytest

test-fast: setup                     ## the suite less the tests marked slow (end-to-end builds, SLURM)
	$(BIN)/pytest -m "not slow"

bench: setup                         ## benchmarks: the project against seed-style loops
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

scorecard-docs: setup                ## after a default build: docs/scorecard.csv/.md, README and docs tables
	$(BIN)/python -m learning_dynamics reproduction publish --scorecard results/reproduction/scorecard.csv

report: setup                        ## HTML report of what is built so far (unzip, open report/report.html)
	$(BIN)/snakemake --report results/report.zip

lint: setup                          ## ruff, snakefmt (settings: pyproject.toml) and snakemake --lint
	$(BIN)/ruff check src tests benchmarks workflow
	$(BIN)/ruff format --check src tests benchmarks workflow
	$(BIN)/snakefmt --check workflow
	$(BIN)/python workflow/lint.py

gpu-check: setup                     ## tests on CUDA, CUDA vs CPU quick build, timed full budgets (DEVICE=cpu: dry check)
	$(BIN)/python benchmarks/gpu_check.py --device $(or $(DEVICE),cuda)

clean:                               ## remove outputs (keeps .venv)
	rm -rf results .snakemake
