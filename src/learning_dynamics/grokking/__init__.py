"""Grokking study (seed 004, Liu et al. 2022): representation quality, grokking times and the
learning-rate phase diagrams of addition learned through a trainable 1-D representation.

Modules: `runs` (run and sweep-job configs), `model` (the task's data, RQI, the seed's modules,
batched parameters), `train` (batched trainers and optimisers; data and train verbs),
`analysis` (extract and analyse verbs), `theory` (the closed-form constraint count), `figures`
(one plot verb per figure), `reference` (the seed-style single run, for tests and the
benchmark), `llc` (the local learning coefficient and essential dynamics of the single runs).
"""

from .runs import RunConfig, run_config

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "train:make_data",
    "train": "train:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "fraction_summary": "analysis:fraction_summary",
    "cells": "analysis:cells",
    "theory": "theory:theory",
    "plot_curves": "figures:plot_curves",
    "plot_representation": "figures:plot_representation",
    "plot_phases": "figures:plot_phases",
    "plot_fraction": "figures:plot_fraction",
    "explore": "explore:page",
    "llc": "llc:estimate",
    "plot_llc": "llc:plot",
}

__all__ = ["VERBS", "RunConfig", "run_config"]
