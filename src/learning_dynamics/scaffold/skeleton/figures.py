"""Skeleton study: one plot verb per figure; each reads files, never retrains."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..io import read_arrays
from ..plotting import COLUMN, save_figure


def plot_loss(extract: str, pdf: str, png: str) -> None:
    """Left: the training loss against the step. Right: each teacher mode's strength (the
    diagonal of W2·W1 over its target) against the step: learned one after another."""
    x = read_arrays(extract)
    modes = np.diagonal(x["teacher"])
    strength = np.diagonal(x["map"], axis1=1, axis2=2) / modes
    size = (COLUMN * 2, COLUMN * 0.8)
    fig, (left, right) = plt.subplots(1, 2, figsize=size, layout="constrained")
    left.plot(x["loss/step"], x["loss/value"])
    left.set(yscale="log", xlabel="step", ylabel="training loss")
    for k, s in enumerate(modes):
        right.plot(x["step"], strength[:, k], label=f"mode {k + 1} (s = {s:g})")
    right.set(xlabel="step", ylabel="learned / target strength")
    right.legend()
    save_figure(fig, pdf, png)
