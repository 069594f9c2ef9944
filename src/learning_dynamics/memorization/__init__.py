"""Memorization study (seed 001; Dana, Pydi, Chevaleyre 2025): attention-only transformers that
memorize factual associations, their learning dynamics, and their capacity.

Modules: `runs` (the training jobs a config defines), `laws` (data laws, sampling, entropy),
`model` (transformer and low-rank ensembles, losses, exact metrics, trainer; data and train
verbs), `interp` (attention maps, head contributions), `analysis` (extract and one analyse verb
per seed cell), `figures` (one plot verb per figure), `reference` (the seed-style single run, for
tests and the benchmark).
"""

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "make_data": "model:make_data",
    "train": "model:train",
    "extract": "analysis:extract",
    "analyse": "analysis:analyse",
    "plot": "figures:plot",
}
