"""Grokking study: the interactive page. The learned representation of the p numbers over
training (the paper's parallelogram picture), with train/test accuracy and RQI at the step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from ..explorer import Page, frame_indices
from ..history import History
from ..io import read_arrays


def page(history: str, data: str, out: str) -> None:
    """A slider over the stored steps of one run (its first member): the representation E_i of
    each number i (a straight line of evenly spaced points is what addition needs); the
    parallelogram picture, E_i + E_j against i + j for every pair (training pairs and test
    pairs apart; a parallelogram i + j = m + n holds where the pairs of one sum meet, and RQI
    counts those); train and test accuracy and RQI, and the loss, with markers at the step."""
    with History(history) as h:
        steps, rep = h.steps("params"), h.read("params", "rep")[:, 0]  # (S, p)
        metric_steps = h.steps("metrics")
        metrics = {k: h.read("metrics", k)[:, 0] for k in ("loss", "train_acc", "test_acc", "rqi")}
        config = h.config
    d = read_arrays(data)
    pairs, train = d["pairs"], d["mask"][0]
    idx = frame_indices(len(steps))
    e = rep[idx]  # (F, p)
    scaled = e / e.std(axis=1, ddof=1, keepdims=True)  # as RQI measures it (torch.std)
    sums = scaled[:, pairs[:, 0]] + scaled[:, pairs[:, 1]]  # (F, pairs)
    p_num = rep.shape[1]

    fig = make_subplots(
        rows=2,
        cols=2,
        horizontal_spacing=0.1,
        vertical_spacing=0.16,
        subplot_titles=(
            "representation E_i of each number i",
            "parallelograms: (E_i + E_j)/std(E) against i + j",
            "accuracy and representation quality (RQI)",
            "training loss",
        ),
    )
    title = (
        f"Grokking: addition of 0..{p_num - 1} through a learned 1-D representation "
        f"(seed {config['seeds'][0]}, {config['train_nums'][0]} training pairs)"
    )
    p = Page(fig, steps[idx], title)
    colours = sample_colorscale("Viridis", list(np.linspace(0, 1, p_num)))
    numbers = np.arange(p_num)
    t_rep = p.add(
        go.Scatter(
            y=numbers,
            mode="markers+text",
            text=[str(i) for i in numbers],
            textposition="middle right",
            name="E_i",
            marker={"size": 12, "color": colours},
        ),
        1,
        1,
    )
    p.bind(t_rep, "x", e)
    limit = 1.1 * float(np.abs(rep).max())
    fig.update_xaxes(range=[-limit, limit], title_text="E_i", row=1, col=1)
    fig.update_yaxes(title_text="number i", row=1, col=1)
    for mask, name, colour in (
        (train, "training pairs", "#636efa"),
        (~train, "test pairs", "#ef553b"),
    ):
        labels = [f"({i}, {j})" for i, j in pairs[mask]]
        t = p.add(
            go.Scatter(
                x=pairs[mask].sum(axis=1),
                mode="markers",
                name=name,
                text=labels,
                marker={"size": 9, "color": colour, "opacity": 0.7},
            ),
            1,
            2,
        )
        p.bind(t, "y", sums[:, mask])
    fig.update_xaxes(title_text="i + j", dtick=1, row=1, col=2)
    fig.update_yaxes(title_text="(E_i + E_j)/std(E)", row=1, col=2)
    for key, name in (
        ("train_acc", "train accuracy"),
        ("test_acc", "test accuracy"),
        ("rqi", "RQI"),
    ):
        p.curve(metric_steps, metrics[key], 2, 1, name=name)
    p.curve(metric_steps, metrics["loss"], 2, 2, name="loss")
    fig.update_xaxes(title_text="step", row=2)
    fig.update_yaxes(range=[-0.05, 1.05], row=2, col=1)
    fig.update_yaxes(type="log", title_text="MSE loss", row=2, col=2)
    p.write(out)
