"""Makemore study (seed 002): a character-level MLP with BatchNorm on names, and the health of its
activations, gradients and updates over training (Karpathy's makemore, part 3).

Modules: `runs` (run configs), `model` (dataset, sampler, MLP with hand-written backward, trainer;
data and train verbs), `analysis` (extract and analyse verbs), `figures` (one plot verb per figure).
"""

from .runs import RUNS, RunConfig, run_config

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "plot_loss": "figures:plot_loss",
    "plot_activations": "figures:plot_activations",
    "plot_activation_grads": "figures:plot_activation_grads",
    "plot_weight_grads": "figures:plot_weight_grads",
    "plot_update_ratio": "figures:plot_update_ratio",
    "plot_samples": "figures:plot_samples",
    "explore": "explore:page",
}

__all__ = ["RUNS", "VERBS", "RunConfig", "run_config"]
