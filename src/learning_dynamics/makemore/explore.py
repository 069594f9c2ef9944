"""Makemore study: the interactive page. Every layer's activation and gradient histograms as they
evolve (the lecture's plots, over training, not only at the end), with and without BatchNorm."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ..explorer import Page, frame_indices
from ..history import History
from .model import param_names
from .runs import RunConfig

# (series, prefix of its histogram datasets, panel title, x label)
ROWS = (
    ("activations", "", "tanh outputs", "tanh output"),
    ("activation_grads", "", "gradients at the tanh outputs", "dL/d(tanh output)"),
    ("weight_grads", "w_", "weight gradients", "dL/dW"),
)


def _density(counts: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and densities of histograms `counts` (..., bins) over [lo, hi] (...)."""
    bins = counts.shape[-1]
    width = np.maximum(hi - lo, 1e-30)[..., None] / bins
    centres = lo[..., None] + (np.arange(bins) + 0.5) * width
    return centres, counts / np.maximum(counts.sum(-1, keepdims=True), 1) / width


def _run(path: str) -> dict:
    with History(path) as h:
        cfg = RunConfig(**h.config)
        out = {"cfg": cfg, "steps": h.steps("params")}
        out["loss"] = (h.steps("metrics"), h.read("metrics", "loss"))
        for series, prefix, _, _ in ROWS:
            counts = h.read(series, f"{prefix}hist")
            if series == "activations":  # a fixed range: tanh's
                lo, hi = np.full(counts.shape[:2], -1.0), np.full(counts.shape[:2], 1.0)
            else:
                lo, hi = h.read(series, f"{prefix}lo"), h.read(series, f"{prefix}hi")
            out[series] = _density(counts, lo, hi)
    weights = [n for n in param_names(cfg) if n == "C" or n.startswith("W")]
    out["names"] = {
        "activations": [f"layer {k + 1}" for k in range(cfg.depth)],
        "activation_grads": [f"layer {k + 1}" for k in range(cfg.depth)],
        "weight_grads": weights,
    }
    return out


def page(bn: str, nobn: str, out: str) -> None:
    """A slider over the stored steps of the two deep runs side by side, BatchNorm and none:
    per layer, histograms (densities) of the tanh outputs, of the loss gradient at them, and of
    every weight's gradient, each at the slider's step; the minibatch losses (means over blocks
    of steps) with markers."""
    runs = [_run(bn), _run(nobn)]
    steps = runs[0]["steps"]
    if not np.array_equal(steps, runs[1]["steps"]):
        raise ValueError(f"{bn} and {nobn} store different steps")
    idx = frame_indices(len(steps))
    titles = [
        f"{'BatchNorm' if r['cfg'].batchnorm else 'no BatchNorm'}: {row[2]}"
        for row in ROWS
        for r in runs
    ]
    fig = make_subplots(
        rows=3,
        cols=3,
        specs=[[{}, {}, {"rowspan": 3}], [{}, {}, None], [{}, {}, None]],
        column_widths=[0.36, 0.36, 0.28],
        horizontal_spacing=0.07,
        vertical_spacing=0.1,
        subplot_titles=[*titles[:2], "minibatch loss", *titles[2:]],
    )
    cfg = runs[0]["cfg"]
    title = f"Makemore: {cfg.depth} hidden layers of {cfg.hidden}, with and without BatchNorm"
    p = Page(fig, steps[idx], title)
    colours = qualitative.Plotly
    for r, (series, _, _, xlabel) in enumerate(ROWS, start=1):
        for c, run in enumerate(runs, start=1):
            centres, density = run[series]
            for k, name in enumerate(run["names"][series]):
                t = p.add(
                    go.Scatter(
                        mode="lines",
                        name=name,
                        legendgroup=f"{series}{name}",
                        showlegend=c == 1,
                        line={"color": colours[k % 10]},
                        legendgrouptitle={"text": ROWS[r - 1][2]} if k == 0 else None,
                    ),
                    r,
                    c,
                )
                p.bind(t, "x", centres[idx, k])
                p.bind(t, "y", density[idx, k])
            fig.update_xaxes(title_text=xlabel, row=r, col=c)
            fig.update_yaxes(title_text="density", row=r, col=c, type="log" if r == 3 else None)
    for run in runs:  # minibatch losses are noisy: means over blocks of `block` steps
        label = "BatchNorm" if run["cfg"].batchnorm else "no BatchNorm"
        loss_steps, loss = run["loss"]
        block = max(1, len(loss) // 400)
        starts = loss_steps[: len(loss) // block * block : block]
        means = loss[: len(starts) * block].reshape(len(starts), block).mean(1)
        p.curve(starts, means, 1, 3, name=f"{label} (mean of {block} steps)")
    fig.update_xaxes(title_text="step", row=1, col=3)
    fig.update_yaxes(title_text="cross-entropy (minibatch)", type="log", row=1, col=3)
    fig.update_layout(legend={"groupclick": "toggleitem", "font": {"size": 10}})
    p.write(out)
