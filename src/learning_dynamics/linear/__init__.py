"""Linear-network study (seed 003): stage-wise learning of singular modes vs the exact solution.

Modules: `runs` (run configs), `theory` (closed-form mode trajectories), `model` (data, the two
trainers; data and train verbs), `analysis` (extract and analyse verbs), `figures` (plot verbs),
`llc` (the local learning coefficient: checked against Aoyagi's closed form, then over the
seed's run).
"""

from .runs import RUNS, run_config, sweep_jobs

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "train_sweep": "model:train_sweep",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "analyse_sweep": "analysis:analyse_sweep",
    "plot_modes": "figures:plot_modes",
    "plot_loss": "figures:plot_loss",
    "plot_weight_error": "figures:plot_weight_error",
    "plot_trajectories": "figures:plot_trajectories",
    "plot_sweep": "figures:plot_sweep",
    "explore": "explore:page",
    "llc_validate": "llc:validate",
    "plot_llc_validation": "llc:plot_validation",
    "llc": "llc:estimate",
    "plot_llc": "llc:plot",
}

__all__ = ["RUNS", "VERBS", "run_config", "sweep_jobs"]
