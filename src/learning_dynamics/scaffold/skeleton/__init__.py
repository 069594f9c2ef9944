"""Skeleton study: a two-layer linear network learning a linear teacher, mode by mode.

Written by `python -m learning_dynamics new-study skeleton`: replace the model with
yours and keep the shape. Modules: `runs` (run configs, light imports), `model` (data, model,
trainer; the data and train verbs), `analysis` (extract and analyse verbs), `figures` (one plot
verb per figure), `checks` (cross-key config checks); `schema.yaml` is the JSON schema of the
config block.
"""

from .runs import RUNS, RunConfig, data_config, run_config

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "plot_loss": "figures:plot_loss",
}

__all__ = ["RUNS", "VERBS", "RunConfig", "data_config", "run_config"]
