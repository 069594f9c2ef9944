"""Makemore study: extract (loss curve, statistics, ratios per snapshot) and analyse (final
split losses and names sampled in eval mode)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..history import History
from ..io import read_arrays, write_arrays, write_csv, write_json
from .model import (
    LECTURE_LOSS,
    SPLITS,
    STUDY,
    example_losses,
    init_running,
    load_split,
    param_names,
    sample_names,
    split_loss,
)
from .runs import RunConfig

LOSS_BLOCK = 1000  # steps averaged per point of the loss curve (the seed's view(-1, 1000))
# The lecture's deep net prints its statistics once, after `if i >= 1000: break`: those of update
# 1000 (its forward and backward pass), which is what the snapshot at step 1000 records.
LECTURE_STEP = 1000
SERIES = ("activations", "activation_grads", "weight_grads")


def block_means(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each run of `block` consecutive values and the index where it starts. The last
    block may be shorter: the seed's `view(-1, 1000)` fails unless the length is a multiple of
    1000 (it crashed at 2001 steps); a partial final block is averaged over what it has."""
    starts = np.arange(0, len(values), block)
    return starts, np.add.reduceat(values, starts) / np.diff(np.append(starts, len(values)))


def _names(values: list[str]) -> np.ndarray:
    return np.array(values, dtype="S")


def extract(history: str, out: str) -> None:
    """Loss curve (log10 of the loss in 1000-step means), the per-snapshot statistics and the
    per-parameter ratios grad:data = std(grad)/std(param), update:data = lr·std(grad)/std(param)."""
    with History(history) as h:
        cfg = RunConfig(**h.config)
        loss = h.read("metrics", "loss").astype(np.float64)
        arrays: dict[str, Any] = {"step": h.steps("activations"), "loss/step": h.steps("metrics")}
        for series in SERIES:
            for name in h.names(series):
                arrays[f"{series}/{name}"] = h.read(series, name)
    starts, means = block_means(np.log10(loss), LOSS_BLOCK)
    wg = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("weight_grads/")}
    with np.errstate(divide="ignore", invalid="ignore"):  # std(param) = 0 at init: gains, biases
        grad_data = wg["grad_std"] / wg["param_std"]
        update_data = np.log10(wg["lr"][:, None] * grad_data)
    names = param_names(cfg)
    arrays |= {
        "loss/value": loss,
        "loss/block_start": starts,
        "loss/block_log10_mean": means,
        "grad_data": np.where(np.isfinite(grad_data), grad_data, np.nan),
        "update_data_log10": np.where(np.isfinite(update_data), update_data, np.nan),
        "param_names": _names(names),
        "weight_names": _names([n for n in names if n == "C" or n.startswith("W")]),
        "lr_drop": cfg.lr_drop,
        "steps": cfg.steps,
        "depth": cfg.depth,
        "batchnorm": cfg.batchnorm,
    }
    write_arrays(out, arrays, {"study": STUDY, "source": str(history)})


def name_standard_error(losses: np.ndarray, targets: np.ndarray) -> float:
    """Standard error of a split's mean loss as a sample of names: the examples of one name (a
    run ending at target 0, the '.') are correlated, so they are summed per name first."""
    name = np.concatenate([[0], np.cumsum(targets[:-1] == 0)])
    sums = np.bincount(name, losses)
    sizes = np.bincount(name)
    residual = sums - sizes * losses.mean()
    return float(np.sqrt(np.sum(residual**2)) / len(losses))


def update_data_medians(x: dict[str, np.ndarray]) -> dict[str, float]:
    """Per weight matrix (C, W…, W_out: what the seed and the lecture plot), the median of log10
    update:data over the snapshots at the full learning rate, after the first (the output
    layer's ratio starts high and "stabilizes after a few iterations", as the seed says)."""
    weights = {n.decode() for n in x["weight_names"]}
    names = [n.decode() for n in x["param_names"]]
    rows = (x["step"] > 0) & (x["step"] < x["lr_drop"])
    values = x["update_data_log10"][rows]
    return {
        n: float(np.nanmedian(values[:, i]))
        for i, n in enumerate(names)
        if n in weights and rows.any()
    }


def update_data_median(x: dict[str, np.ndarray]) -> float | None:
    """Median of log10 update:data over the weight matrices and the snapshots of
    `update_data_medians` together; None without a snapshot at the full learning rate."""
    weights = {n.decode() for n in x["weight_names"]}
    columns = [i for i, n in enumerate(x["param_names"]) if n.decode() in weights]
    rows = (x["step"] > 0) & (x["step"] < x["lr_drop"])
    values = x["update_data_log10"][np.ix_(rows, columns)]
    return float(np.nanmedian(values)) if values.size else None


def lecture_step_statistics(x: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """Per-layer tanh saturation (%) and std, and the weights' grad:data, of update LECTURE_STEP
    (what the lecture's deep net prints), with their means over the layers; None if not recorded."""
    at = np.flatnonzero(x["step"] == LECTURE_STEP)
    if not len(at):
        return None
    i = int(at[0])
    saturated = 100 * x["activations/saturated"][i]
    std = x["activations/std"][i]
    weights = {n.decode() for n in x["weight_names"]}
    names = [n.decode() for n in x["param_names"]]
    grad_data = {n: float(v) for n, v in zip(names, x["grad_data"][i], strict=True) if n in weights}
    hidden = [v for n, v in grad_data.items() if n.startswith("W") and n != "W_out"]
    return {
        "step": LECTURE_STEP,
        "saturated_percent": saturated.round(3).tolist(),
        "saturated_percent_mean": float(saturated.mean()),
        "activation_std": std.round(4).tolist(),
        "activation_std_mean": float(std.mean()),
        "grad_data": grad_data,
        "grad_data_hidden_median": float(np.median(hidden)),
    }


def final_model(history: str) -> tuple[RunConfig, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The trained network: config, parameters and BatchNorm running statistics of the last row."""
    with History(history) as h:
        cfg = RunConfig(**h.config)
        p = {k: torch.from_numpy(h.read("params", k, -1)) for k in param_names(cfg)}
        running = {k: torch.from_numpy(h.read("running", k, -1)) for k in init_running(cfg)}
    return cfg, p, running


def analyse(
    history: str,
    data: str,
    extract: str,
    count: int,
    seed: int,
    summary: str,
    losses: str,
    samples: str,
) -> None:
    """Train/val/test loss of the final model in eval mode beside the lecture's values, `count`
    names sampled in eval mode from a generator seeded with `seed`, and a summary of scalars."""
    cfg, p, running = final_model(history)
    splits = {s: load_split(data, s) for s in SPLITS}
    per_example = {s: example_losses(cfg, p, running, *splits[s]).double().numpy() for s in SPLITS}
    table = pd.DataFrame(
        [
            {
                "split": s,
                "examples": len(splits[s][1]),
                "loss": split_loss(cfg, p, running, *splits[s]),
                "loss_se": name_standard_error(per_example[s], splits[s][1].numpy()),
                "lecture": LECTURE_LOSS.get(s, np.nan),
            }
            for s in SPLITS
        ]
    )
    names = sample_names(cfg, p, running, count, seed)
    write_csv(losses, table)
    write_csv(samples, pd.DataFrame({"name": names}))
    x = read_arrays(extract)
    loss, weights = x["loss/value"], [n.decode() for n in x["param_names"]]
    loss_of = dict(zip(table.split, table.loss, strict=True))
    write_json(
        summary,
        {
            "steps": int(cfg.steps),
            "printed_losses": {
                s: round(float(loss[s]), 4) for s in (0, 1000, 2000) if s < len(loss)
            },
            "split_loss": dict(zip(table.split, table.loss, strict=True)),
            "split_examples": dict(zip(table.split, table.examples.tolist(), strict=True)),
            "parameters": sum(int(v.numel()) for v in p.values()),  # the seed prints 12097
            "lecture_loss": LECTURE_LOSS,
            "saturated_percent": {
                "init": (100 * x["activations/saturated"][0]).round(2).tolist(),
                "final": (100 * x["activations/saturated"][-1]).round(2).tolist(),
            },
            "update_data_log10_final": dict(
                zip(weights, np.round(x["update_data_log10"][-1], 3).tolist(), strict=True)
            ),
            "update_data_log10_median": update_data_median(x),
            "update_data_log10_medians": (medians := update_data_medians(x)),
            "update_data_largest": max(medians, key=medians.get) if medians else None,
            "generalisation_gap": loss_of["val"] - loss_of["train"],
            "lecture_step": lecture_step_statistics(x),
            "samples": names,
            "all_samples_end_with_dot": all(n.endswith(".") for n in names),
        },
    )
