"""Memorization study (seed 001; Dana, Pydi, Chevaleyre 2025): attention-only transformers that
memorize factual associations, their learning dynamics, and their capacity.

Modules: `runs` (the training jobs a config defines, and the registry `CELLS` of every cell and
sweep), `laws` (data laws, sampling, entropy), `model` (transformer and low-rank ensembles'
parameters and forward, losses, exact metrics), `train` (ensembles, the job trainer; data and
train verbs), `analysis` (the extract and analyse verbs, and the types every cell shares),
`interp` (the math of the interpretability cells: attention maps, head contributions,
projections), `cells` (one module per notebook cell with its analysis and its figure),
`figures` (the plot verb and figure panels several cells draw), `llc` (the local learning
coefficient and essential dynamics of cell 1's run), `reference` (the seed-style single run, for
tests and the benchmark).
"""

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
# `analyse --cell <cell>` and `plot --cell <cell>` run that cell's module (registry: runs.CELLS).
VERBS = {
    "make_data": "train:make_data",
    "train": "train:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "plot": "figures:plot",
    "explore": "explore:page",
    "llc": "llc:estimate",
    "plot_llc": "llc:plot",
}
