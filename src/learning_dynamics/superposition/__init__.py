"""Superposition study (seed 000): loss plateaus and feature geometry of an untied toy model.

Modules: `runs` (run configs), `model` (toy model, trainer, closed forms; data and train verbs),
`analysis` (extract and analyse verbs), `figures` (one plot verb per figure), `llc` (the local
learning coefficient and essential dynamics over training).
"""

from .runs import RUNS, RunConfig, run_config

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "plot_loss": "figures:plot_loss",
    "plot_geometry": "figures:plot_geometry",
    "plot_products": "figures:plot_products",
    "plot_tied": "figures:plot_tied",
    "plot_ensemble": "figures:plot_ensemble",
    "explore": "explore:page",
    "llc": "llc:estimate",
    "plot_llc": "llc:plot",
}

__all__ = ["RUNS", "VERBS", "RunConfig", "run_config"]
