"""Reproduction scorecard (shared machinery, not a study): each study's claims against its outputs.

Modules: `claims` (the reader of `config/claims/*.yaml`), `scorecard` (evaluation, the CSV and
Markdown tables, the summary `make paper` prints), `publish` (the default build's scorecard into
the docs: docs/scorecard.csv and the generated tables of README.md and docs/reproduction.md),
`figures` (the report's figure), `compare` (two result trees number by number: the GPU check).
"""

# DAG verb -> "module:function", imported only when the verb runs (keeps the workflow fast).
VERBS = {
    "scorecard": "scorecard:build",
    "plot_scorecard": "figures:plot_scorecard",
    "summary": "scorecard:summary",
    "publish": "publish:publish",
    "compare": "compare:main",
}

__all__ = ["VERBS"]
