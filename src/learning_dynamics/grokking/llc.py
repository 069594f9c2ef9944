"""Grokking study: the local learning coefficient and essential dynamics over training of the
two single runs, the notebook's `default` run (it memorizes: train accuracy 1, test accuracy
stays low) and the `swapped` run (learning rates swapped: it comprehends, the test accuracy
follows the train accuracy).

Read from the stored histories, never retrained: single runs snapshot the decoder as well as the
representation (`runs.run_config`: `snapshot_decoder`), so every snapshot is the full parameter
set, rep (p) and the decoder's W1, b1, W2, b2, W3, b3 (42 620 numbers at the default). The
sampled loss is the training loss the run minimises, the MSE to the output templates over the
member's training pairs and output dimensions (a full batch, as the trainer), so nβ has no
sample size behind it (n = 45 pairs) and is chosen where λ̂ has settled.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import llc as L
from ..essential_dynamics import draw as draw_ed
from ..essential_dynamics import essential_dynamics
from ..history import History
from ..io import read_arrays, write_arrays, write_json
from ..plotting import COLUMN, save_figure
from .model import STUDY
from .train import GrokkingTrainer

RUNS = {"default": "memorization", "swapped": "comprehension"}
NAMES = ("rep", *GrokkingTrainer.DECODER)


def snapshots(history: str) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(steps (S,), params {name: (S, ...)} of member 0 at every snapshot, per-step metrics
    {loss, train_acc, test_acc, step} of member 0)."""
    with History(history) as h:
        names = h.names("params")
        missing = [k for k in NAMES if k not in names]
        if missing:
            raise ValueError(
                f"{history}: its snapshots hold {names}, not the decoder's {missing}: trained "
                "without snapshot_decoder (only single runs store it)"
            )
        params = {k: h.read("params", k)[:, 0] for k in NAMES}
        metrics = {k: h.read("metrics", k)[:, 0] for k in ("loss", "train_acc", "test_acc")}
        metrics["step"] = h.steps("metrics")
        return h.steps("params"), params, metrics


def forward(p: dict[str, torch.Tensor], ij: torch.Tensor) -> torch.Tensor:
    """Outputs (B, N, d) of members' parameters (B, ...) on pairs `ij` (N, 2): the trainer's
    decoder on E_i + E_j."""
    a = p["rep"][:, ij[:, 0]] + p["rep"][:, ij[:, 1]]  # (B, N)
    h1 = torch.tanh(a[..., None] * p["W1"] + p["b1"][:, None])
    h2 = torch.tanh(torch.baddbmm(p["b2"][:, None], h1, p["W2"]))
    return torch.baddbmm(p["b3"][:, None], h2, p["W3"])


def training_loss(data: dict[str, np.ndarray]):
    """The run's training loss, mean over its training pairs and output dimensions of the squared
    error to the target's output template, batched over members; and the pairs (N, 2)."""
    mask = data["mask"][0]
    ij = torch.from_numpy(data["pairs"])
    train = ij[torch.from_numpy(mask)]
    y = torch.from_numpy(data["y_templates"][0])[torch.from_numpy(data["target"][mask])]

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return (forward(p, train) - y).square().mean((1, 2))

    return loss, ij


def estimate_run(config: dict[str, Any], history: str, data: str) -> tuple[dict, dict]:
    """One run's arrays and summary: LLC at every `every`-th snapshot (the last kept), the sweep
    over nβ and γ at the final point, the essential dynamics of its outputs on every pair."""
    cfg = L.SGLDConfig.of(config)
    steps, params, metrics = snapshots(history)
    keep = np.unique(np.append(np.arange(0, len(steps), config["every"]), len(steps) - 1))
    loss, ij = training_loss(read_arrays(data))
    all_params = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in params.items()}
    centers = {k: v[keep] for k, v in all_params.items()}
    est = L.llc(loss, centers, cfg)
    final = {k: v[-1:] for k, v in centers.items()}
    sweep = L.sweep(loss, final, cfg, config["sweep"]["nbeta"], config["sweep"]["gamma"])
    with torch.no_grad():  # the probe set: all pairs, at every stored snapshot
        outputs = forward(all_params, ij).numpy()
    ed = essential_dynamics(outputs, steps, config["essential"])
    arrays = {"step": steps[keep], **est.arrays(), **sweep, "ed/step": steps}
    arrays |= {f"ed/{k}": v for k, v in ed.items()}
    arrays |= {f"metric/{k}": v for k, v in metrics.items()}
    summary = {**L.summary(est, steps[keep]), "transitions": ed["transitions"].tolist()}
    return arrays, summary


def estimate(
    config: dict[str, Any], histories: list[str], data: list[str], out: str, summary: str
) -> None:
    """Both single runs (`histories`, `data` in the order of `RUNS`: default, swapped);
    `config` is the study's `llc` block."""
    arrays, summaries = {}, {}
    for run, h, d in zip(RUNS, histories, data, strict=True):
        a, s = estimate_run(config, h, d)
        arrays |= {f"{run}/{k}": v for k, v in a.items()}
        summaries[run] = s
    arrays |= {"nbeta": np.float64(config["nbeta"]), "gamma": np.float64(config["gamma"])}
    write_arrays(out, arrays, {"study": STUDY, "runs": list(RUNS)})
    write_json(summary, summaries)


def plot(llc: str, pdf: str, png: str) -> None:
    """One row per run (memorization, comprehension): LLC and training loss over training, train
    and test accuracy on the same step axis, λ̂ against nβ and γ at the final point, and the
    essential dynamics of the outputs on all pairs."""
    x = read_arrays(llc)
    fig, axes = plt.subplots(2, 4, figsize=(4 * COLUMN, 1.8 * COLUMN), layout="constrained")
    for row, (run, kind) in zip(axes, RUNS.items(), strict=True):
        r = {k.removeprefix(f"{run}/"): v for k, v in x.items() if k.startswith(f"{run}/")}
        L.draw_over_training(
            row[0],
            r["step"],
            r["llc"],
            r["llc_std"],
            r["status"],
            r["metric/step"],
            r["metric/loss"],
            r["ed/transitions"],
            r["ed/plateaus"],
            f"LLC ({run} run)",
        )
        row[0].set_title(f"{run} run ({kind}): LLC and training loss", fontsize=9)
        ax = row[1]
        for key, label in (("train_acc", "train accuracy"), ("test_acc", "test accuracy")):
            ax.plot(r["metric/step"] + 1, r[f"metric/{key}"], lw=1, label=label)
        for t in r["ed/transitions"]:
            ax.axvline(t + 1, color="tab:red", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("step + 1")
        ax.set_ylabel("accuracy (nearest output template)")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
        ax.set_title(f"{run} run: accuracies (same steps)", fontsize=9)
        L.draw_sweep(row[2], r, float(x["nbeta"]), float(x["gamma"]))
        row[2].set_title(f"{run} run, final point: λ̂ against nβ and γ", fontsize=9)
        draw_ed(row[3], r["ed/step"], r["ed/pcs"], r["ed/explained"], r["ed/transitions"])
        row[3].set_title(f"{run} run: essential dynamics (outputs, all pairs)", fontsize=9)
    save_figure(fig, pdf, png)
