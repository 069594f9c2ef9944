"""Skeleton study: extract (history -> the end-to-end map over training) and analyse
(-> the numbers the claims read). Both read stored files; neither retrains."""

from __future__ import annotations

import numpy as np

from ..history import History
from ..io import read_arrays, write_arrays, write_json


def extract(history: str, data: str, out: str) -> None:
    """Per snapshot the end-to-end map W2·W1 and the teacher; per step the loss."""
    with History(history) as h:
        arrays = {
            "step": h.steps("params"),
            "map": h.read("params", "W2") @ h.read("params", "W1"),  # (S, outputs, inputs)
            "loss/step": h.steps("metrics"),
            "loss/value": h.read("metrics", "loss"),
        }
    write_arrays(out, {**arrays, "teacher": read_arrays(data)["teacher"]})


def half_steps(steps: np.ndarray, strength: np.ndarray) -> list[int | None]:
    """Per mode (column of `strength`, in units of its target), the first snapshot step at which
    it reaches one half; None if it never does."""
    reached = strength >= 0.5
    return [int(steps[r.argmax()]) if r.any() else None for r in reached.T]


def analyse(extract: str, summary: str) -> None:
    """summary.json: the final loss, the largest error of the learned map against the teacher,
    and the step at which each teacher mode is half learned (strongest first)."""
    x = read_arrays(extract)
    modes = np.diagonal(x["teacher"])
    strength = np.diagonal(x["map"], axis1=1, axis2=2) / modes  # (S, outputs)
    write_json(
        summary,
        {
            "final_loss": float(x["loss/value"][-1]),
            "map_error": float(np.abs(x["map"][-1] - x["teacher"]).max()),
            "half_steps": half_steps(x["step"], strength),
        },
    )
