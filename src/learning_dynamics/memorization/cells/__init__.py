"""Memorization study: one module per notebook cell, each with its analysis and its figure.

Every module defines `analyse(exs, data, config) -> analysis.Result` (run by the verb
`analysis.analyse`) and `draw(summary, table, arrays, extracts, pdf, png)` (the figure, from
loaded objects; run by the verb `figures.plot`). The registry `runs.CELLS` names each cell's
module (the three capacity sweeps share `capacity`); a module is imported only when its cell
runs, so the workflow reads the registry without importing torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..runs import CELLS


def module(cell: str) -> ModuleType:
    """The module holding `cell`'s analysis and figure."""
    if cell not in CELLS:
        raise ValueError(f"no memorization cell {cell!r}; choose from {sorted(CELLS)}")
    return importlib.import_module(f"{__name__}.{CELLS[cell].module}")
