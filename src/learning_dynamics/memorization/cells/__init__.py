"""Memorization study: one module per notebook cell, each with its analysis and its figure.

`MODULES` is the registry (cell name -> module of this package); every module defines
`analyse(exs, data, config) -> results.Result`, `draw(summary, table, arrays, extracts, pdf,
png)` (the figure, from loaded objects) and `plot = figure_verb(draw)` (the DAG verb
`plot_<cell>`, from the files). The three capacity sweeps share the module `capacity`. The verb
`analyse` below looks a cell up here; modules are imported only when their cell runs, so the
workflow can read the registry without importing torch.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from types import ModuleType

MODULES = {
    "dynamics": "dynamics",  # cell 1
    "freezing": "freezing",  # cell 2
    "scaling": "scaling",  # cell 3
    "architecture": "architecture",  # cell 4
    "attention": "attention",  # cell 5
    "contributions": "contributions",  # cell 6
    "superposition": "superposition",  # cell 7
    "rank_distance": "rank_distance",  # cell 8
    "almost_rank": "almost_rank",  # cell 9
    "capacity_heads": "capacity",  # paper Fig. 1a
    "capacity_head_dim": "capacity",  # paper Fig. 1b
    "capacity_embed_dim": "capacity",  # paper Fig. 2a
}


def module(cell: str) -> ModuleType:
    """The module holding `cell`'s analysis and figure."""
    if cell not in MODULES:
        raise ValueError(f"no memorization cell {cell!r}; choose from {sorted(MODULES)}")
    return importlib.import_module(f"{__name__}.{MODULES[cell]}")


def analyse(
    cell: str,
    extracts: list[str],
    data: list[str],
    config: dict,
    summary: str,
    table: str,
    arrays: str,
) -> None:
    """Run the analysis of `cell` (a seed cell or sweep) over its jobs' extracts and data files;
    `config` is the study's config block."""
    from ...history import write_arrays
    from ...io import write_csv, write_json
    from ..results import Extract

    analysis = module(cell).analyse
    result = analysis([Extract(p) for p in extracts], data, config)
    write_json(summary, {"cell": cell, **result.summary})
    write_csv(table, result.table)
    write_arrays(arrays, result.arrays, {"cell": cell})


def figure_verb(draw: Callable[..., None]) -> Callable[..., None]:
    """A cell module's plot verb: loads the cell's analysis files and its jobs' extracts, then
    calls `draw(summary, table, arrays, extracts, pdf, png)` (the module's figure function)."""

    def plot(
        summary: str, table: str, arrays: str, extracts: list[str], pdf: str, png: str
    ) -> None:
        import pandas as pd

        from ...history import read_arrays
        from ..results import Extract

        with open(summary) as f:
            values = json.load(f)
        tables = pd.read_csv(table)
        draw(values, tables, read_arrays(arrays), [Extract(p) for p in extracts], pdf, png)

    plot.__module__, plot.__doc__ = draw.__module__, draw.__doc__
    return plot
