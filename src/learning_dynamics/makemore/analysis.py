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
    init_running,
    load_split,
    param_names,
    sample_names,
    split_loss,
)
from .runs import RunConfig

LOSS_BLOCK = 1000  # steps averaged per point of the loss curve (the seed's view(-1, 1000))
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
    table = pd.DataFrame(
        [
            {
                "split": s,
                "examples": len(splits[s][1]),
                "loss": split_loss(cfg, p, running, *splits[s]),
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
            "samples": names,
            "all_samples_end_with_dot": all(n.endswith(".") for n in names),
        },
    )
