"""Memorization study (seed 001; Dana, Pydi, Chevaleyre 2025): attention-only transformers that
memorize factual associations, their learning dynamics, and their capacity.

Modules: `runs` (the training jobs a config defines), `laws` (data laws, sampling, entropy),
`model` (transformer and low-rank ensembles, losses, exact metrics, trainer; data and train
verbs), `interp` (the math of the interpretability cells: attention maps, head contributions,
projections), `results` (the extract verb and the types every cell shares), `cells` (one module
per notebook cell with its analysis and figure, and the registry the analyse verb looks cells up
in), `panels` (figure panels several cells draw), `llc` (the local learning coefficient and
essential dynamics of cell 1's run), `reference` (the seed-style single
run, for tests and the benchmark).
"""

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "extract": "results:extract",
    "analyse": "cells:analyse",
    "plot_dynamics": "cells.dynamics:plot",
    "plot_freezing": "cells.freezing:plot",
    "plot_scaling": "cells.scaling:plot",
    "plot_architecture": "cells.architecture:plot",
    "plot_attention": "cells.attention:plot",
    "plot_contributions": "cells.contributions:plot",
    "plot_superposition": "cells.superposition:plot",
    "plot_rank_distance": "cells.rank_distance:plot",
    "plot_almost_rank": "cells.almost_rank:plot",
    "explore": "explore:page",
    "plot_capacity_heads": "cells.capacity:plot",
    "plot_capacity_head_dim": "cells.capacity:plot",
    "plot_capacity_embed_dim": "cells.capacity:plot",
    "llc": "llc:estimate",
    "plot_llc": "llc:plot",
}
