"""Makemore study: the six figures. Each reads files only (extracts, tables, samples).

Figures 2-5 take one extract per run (`main`, `deepbn`, `deepnobn`) and draw one row per run, so
the saturation and gradient-flow story of BatchNorm on and off sits side by side.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..io import read_arrays
from ..plotting import COLUMN, save_figure


def _title(x: dict) -> str:
    bn = "BatchNorm" if bool(x["batchnorm"]) else "no BatchNorm"
    return f"{int(x['depth'])} hidden layer{'s' if int(x['depth']) > 1 else ''}, {bn}"


def _steps_axis(ax: plt.Axes) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
    ax.set_xlabel("step")


def _density(counts: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and density of a histogram of `counts` over [lo, hi] (as torch.histogram)."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    width = max(hi - lo, 1e-30) / len(counts)
    return (edges[:-1] + edges[1:]) / 2, counts / max(counts.sum(), 1) / width


def plot_loss(extract: str, losses: str, pdf: str, png: str) -> None:
    """log10 training loss in 1000-step means, the lr drop marked; final losses beside the
    lecture's values."""
    x = read_arrays(extract)
    table = pd.read_csv(losses)
    fig, (ax, tab) = plt.subplots(
        1, 2, figsize=(2.6 * COLUMN, 0.8 * COLUMN), gridspec_kw={"width_ratios": [2.2, 1]}
    )
    ax.plot(x["loss/block_start"], x["loss/block_log10_mean"], lw=1.2, label="1000-step mean")
    drop = int(x["lr_drop"])
    if drop < int(x["steps"]):
        ax.axvline(drop, color="tab:red", ls="--", lw=1, label=f"lr 0.1 → 0.01 at step {drop}")
    _steps_axis(ax)
    ax.set_ylabel("log10 training loss (minibatch)")
    ax.set_title(f"Training loss, {_title(x)}")
    ax.legend()
    tab.axis("off")
    cells = [
        [s, f"{v:.4f}", "" if np.isnan(r) else f"{r:.4f}"]
        for s, v, r in zip(table.split, table.loss, table.lecture, strict=True)
    ]
    t = tab.table(cellText=cells, colLabels=["split", "this run", "lecture"], loc="center")
    t.scale(1, 1.6)
    tab.set_title("final loss (eval mode)")
    save_figure(fig, pdf, png)


def _grid(
    extracts: list[str], draw, title: str, pdf: str, png: str, xlabel: str, ylabel: str
) -> None:
    """Rows: runs; columns: first and last snapshot. `draw(ax, x, row)` fills one panel."""
    fig, axes = plt.subplots(
        len(extracts), 2, figsize=(2.6 * COLUMN, 0.85 * COLUMN * len(extracts)), squeeze=False
    )
    for r, path in enumerate(extracts):
        x = read_arrays(path)
        for c, row in enumerate((0, len(x["step"]) - 1)):
            ax = axes[r, c]
            draw(ax, x, row)
            ax.set_title(f"{_title(x)}: step {int(x['step'][row])}", fontsize=9)
            ax.legend(fontsize=6, loc="upper right")
            ax.set_ylabel(ylabel)
        axes[r, 1].set_ylabel("")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, pdf, png)


def plot_activations(extract: list[str], pdf: str, png: str) -> None:
    """Histograms of every tanh layer's output at init and at the end (mean, std, % saturated)."""

    def draw(ax, x, row):
        for layer, counts in enumerate(x["activations/hist"][row]):
            centres, density = _density(counts, -1.0, 1.0)
            label = (
                f"layer {layer + 1}: mean {x['activations/mean'][row, layer]:+.2f}, "
                f"std {x['activations/std'][row, layer]:.2f}, "
                f"sat {100 * x['activations/saturated'][row, layer]:.1f}%"
            )
            ax.plot(centres, density, lw=1, label=label)

    _grid(
        extract,
        draw,
        "tanh activations (|t| > 0.97 counts as saturated)",
        pdf,
        png,
        "tanh output",
        "density",
    )


def plot_activation_grads(extract: list[str], pdf: str, png: str) -> None:
    """Histograms of the loss gradient w.r.t. every tanh layer's output."""

    def draw(ax, x, row):
        g = "activation_grads"
        for layer, counts in enumerate(x[f"{g}/hist"][row]):
            centres, density = _density(counts, x[f"{g}/lo"][row, layer], x[f"{g}/hi"][row, layer])
            label = (
                f"layer {layer + 1}: mean {x[f'{g}/mean'][row, layer]:+.1e}, "
                f"std {x[f'{g}/std'][row, layer]:.1e}"
            )
            ax.plot(centres, density, lw=1, label=label)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))

    _grid(
        extract,
        draw,
        "Gradients at the tanh outputs",
        pdf,
        png,
        "dL/d(tanh output)",
        "density",
    )


def plot_weight_grads(extract: list[str], pdf: str, png: str) -> None:
    """Histograms of the 2-D weights' gradients, with each one's grad:data ratio."""

    def draw(ax, x, row):
        names = [n.decode() for n in x["param_names"]]
        for k, name in enumerate(n.decode() for n in x["weight_names"]):
            lo, hi = x["weight_grads/w_lo"][row, k], x["weight_grads/w_hi"][row, k]
            centres, density = _density(x["weight_grads/w_hist"][row, k], lo, hi)
            ratio = x["grad_data"][row, names.index(name)]
            label = f"{name}: std {x['weight_grads/w_std'][row, k]:.1e}, grad:data {ratio:.1e}"
            ax.plot(centres, density, lw=1, label=label)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.set_yscale("log")  # W_out's gradients are ~30x wider than the others' at init

    _grid(extract, draw, "Weight gradients", pdf, png, "dL/dW", "density")


def plot_update_ratio(extract: list[str], pdf: str, png: str) -> None:
    """log10 update:data ratio (lr·std(grad)/std(param)) of every parameter against step."""
    fig, axes = plt.subplots(
        1, len(extract), figsize=(1.3 * COLUMN * len(extract), 0.9 * COLUMN), squeeze=False
    )
    for ax, path in zip(axes[0], extract, strict=True):
        x = read_arrays(path)
        others = True
        for k, name in enumerate(n.decode() for n in x["param_names"]):
            if name == "C" or name.startswith("W"):
                ax.plot(x["step"], x["update_data_log10"][:, k], lw=1.2, label=name)
            else:  # gains and biases: grey, one legend entry
                label = "gains, biases" if others else None
                ax.plot(x["step"], x["update_data_log10"][:, k], lw=0.6, color="0.7", label=label)
                others = False
        ax.axhline(-3, color="k", lw=1, label="guide: 1e-3")
        ax.set_title(_title(x), fontsize=9)
        _steps_axis(ax)
        ax.legend(fontsize=6, ncol=2)
    axes[0, 0].set_ylabel("log10 update:data")
    fig.suptitle("Update size relative to parameter size, lr·std(grad)/std(param)")
    fig.tight_layout()
    save_figure(fig, pdf, png)


def plot_samples(samples: str, seed: int, pdf: str, png: str) -> None:
    """The names sampled from the trained model in eval mode."""
    names = pd.read_csv(samples, keep_default_na=False)["name"].tolist()
    fig, ax = plt.subplots(figsize=(1.2 * COLUMN, 0.22 * len(names) + 0.6))
    ax.axis("off")
    for i, name in enumerate(names):
        ax.text(0.05, 1 - (i + 0.5) / len(names), name, family="monospace", fontsize=10)
    ax.set_title(f"{len(names)} names, eval mode, generator seed {seed}", fontsize=10)
    save_figure(fig, pdf, png)
