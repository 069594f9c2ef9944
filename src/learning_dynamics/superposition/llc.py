"""Superposition study: the local learning coefficient over training (Chen et al., "Dynamical
versus Bayesian phase transitions in a toy model of superposition", track it across the plateaus
and drops of this model) and the essential dynamics of the outputs.

Read from the stored histories, never retrained: the seed-42 run (`main`) and the ensemble seeds
whose loss sits on the pentagon plateau and then drops (`members.csv`), at every `every`-th
snapshot; all of them, every chain, one batched SGLD run. The sampled loss is the training loss,
MSE(ReLU(W_U·W_E), I) over the f one-hot inputs (the full batch).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import llc as L
from ..essential_dynamics import draw as draw_ed
from ..essential_dynamics import essential_dynamics
from ..history import History
from ..io import read_arrays, write_arrays, write_json
from ..plotting import COLUMN, save_figure
from .model import STUDY


def toy_loss(features: int):
    """MSE(ReLU(W_U·W_E), I) of every member (the outputs of the one-hot batch are W_U·W_E)."""
    eye = torch.eye(features)

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return (torch.relu(p["W_U"] @ p["W_E"]) - eye).square().mean((1, 2))

    return loss


def _read(path: str, members: list[int] | None, every: int):
    """(steps, seeds, W_E (R, S, n, f), W_U (R, S, f, n), loss (T, R), loss steps) of the chosen
    ensemble members (None: all) at every `every`-th snapshot (the last kept)."""
    with History(path) as h:
        steps, seeds = h.steps("params"), np.atleast_1d(h.seed)
        keep = np.unique(np.append(np.arange(0, len(steps), every), len(steps) - 1))
        cols = np.arange(len(seeds)) if members is None else np.searchsorted(seeds, members)
        w_e = h.read("params", "W_E")[keep][:, cols].swapaxes(0, 1)
        w_u = h.read("params", "W_U")[keep][:, cols].swapaxes(0, 1)
        loss = h.read("metrics", "loss")[:, cols]
        loss_steps = h.steps("metrics")
    return steps[keep], seeds[cols], w_e, w_u, loss, loss_steps


def estimate(
    config: dict[str, Any], main: str, ensemble: str, members: str, out: str, summary: str
) -> None:
    """LLC over training of run `main` and of the ensemble seeds with a pentagon plateau then a
    drop (`members`: the ensemble's members.csv), the sweep over nβ and γ at seed 42's final
    point, and the essential dynamics of each run; `config` is the study's `llc` block."""
    cfg = L.SGLDConfig.of(config)
    table = pd.read_csv(members)
    plateau = table.loc[table.pentagon_plateau_then_drop.astype(bool), "seed"].tolist()
    steps, seeds, w_e, w_u, loss, loss_steps = _read(main, None, config["every"])
    if plateau:
        ens = _read(ensemble, plateau, config["every"])
        if not np.array_equal(ens[0], steps):
            raise ValueError(f"{ensemble}: snapshots differ from {main}'s")
        seeds = np.concatenate([seeds, ens[1]])
        w_e, w_u = np.concatenate([w_e, ens[2]]), np.concatenate([w_u, ens[3]])
        loss = np.concatenate([loss, ens[4]], axis=1)
    runs, snaps = w_e.shape[:2]
    flat = {
        "W_E": torch.from_numpy(w_e.reshape(runs * snaps, *w_e.shape[2:])),
        "W_U": torch.from_numpy(w_u.reshape(runs * snaps, *w_u.shape[2:])),
    }
    objective = toy_loss(w_e.shape[-1])
    est = L.llc(objective, flat, cfg)
    final = {k: v[snaps - 1 : snaps] for k, v in flat.items()}
    sweep = L.sweep(objective, final, cfg, config["sweep"]["nbeta"], config["sweep"]["gamma"])
    shape = (runs, snaps)
    arrays: dict[str, Any] = {
        "step": steps,
        "seed": seeds,
        "llc": est.llc.reshape(shape),
        "llc_std": est.llc_std.reshape(shape),
        "status": est.status.reshape(*shape, -1),
        "loss_center": est.loss_center.reshape(shape),
        "trace": est.trace.reshape(len(est.trace), *shape, -1)[:, 0],  # seed 42's chains
        "loss/step": loss_steps,
        "loss/value": loss,
        "nbeta": np.float64(cfg.nbeta),
        "gamma": np.float64(cfg.gamma),
        **sweep,
    }
    transitions = {}
    for r in range(runs):
        outputs = np.maximum(w_u[r] @ w_e[r], 0)  # (S, f, f): the outputs on the one-hot batch
        ed = essential_dynamics(outputs, steps, config["essential"])
        arrays |= {f"ed{r}/{k}": v for k, v in ed.items()}
        transitions[int(seeds[r])] = ed["transitions"].tolist()
    write_arrays(out, arrays, {"study": STUDY})
    flags = est.status.reshape(*shape, -1)
    write_json(
        summary,
        {
            "seeds": seeds.tolist(),
            "steps": steps.tolist(),
            "llc": {int(s): arrays["llc"][r].tolist() for r, s in enumerate(seeds)},
            "final_llc": {int(s): float(arrays["llc"][r, -1]) for r, s in enumerate(seeds)},
            "chains_not_settled": int((flags == L.UNSETTLED).sum()),
            "chains_run_away": int((flags == L.RUNAWAY).sum()),
            "transitions": transitions,
        },
    )


def plot(llc: str, plateaus: str, pdf: str, png: str) -> None:
    """Seed 42: LLC and loss over training (its plateaus shaded); the plateauing ensemble seeds'
    LLC; the sweep at seed 42's final point; seed 42's essential dynamics."""
    x = read_arrays(llc)
    fig, axes = plt.subplots(1, 4, figsize=(4 * COLUMN, 0.9 * COLUMN), layout="constrained")
    steps, seeds = x["step"], x["seed"]
    table = pd.read_csv(plateaus)
    spans = [(p.start, p.end) for p in table.itertuples() if not p.final]
    L.draw_over_training(
        axes[0],
        steps,
        x["llc"][0],
        x["llc_std"][0],
        x["status"][0],
        x["loss/step"],
        x["loss/value"][:, 0],
        x["ed0/transitions"],
        spans,
        f"LLC, seed {seeds[0]}",
    )
    axes[0].set_title(f"seed {seeds[0]}: LLC and loss (plateaus shaded)", fontsize=9)
    ax = axes[1]
    for r in range(1, len(seeds)):
        ax.plot(steps + 1, x["llc"][r], lw=0.8, label=f"seed {seeds[r]}")
    ax.plot(steps + 1, x["llc"][0], "k", lw=1.5, label=f"seed {seeds[0]}")
    ax.set_xscale("log")
    ax.set_xlabel("step + 1")
    ax.set_ylabel("LLC estimate $\\hat\\lambda$")
    ax.set_title("seeds with a pentagon plateau, then a drop", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    L.draw_sweep(axes[2], x, float(x["nbeta"]), float(x["gamma"]))
    axes[2].set_title(f"seed {seeds[0]}, final point: λ̂ against nβ and γ", fontsize=9)
    draw_ed(axes[3], steps, x["ed0/pcs"], x["ed0/explained"], x["ed0/transitions"])
    axes[3].set_title(f"essential dynamics, seed {seeds[0]} (outputs on the 50 inputs)", fontsize=9)
    save_figure(fig, pdf, png)
