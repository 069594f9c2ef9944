"""Skeleton study: a two-layer linear network x ↦ W2·W1·x learning a linear teacher.

Data: `samples` Gaussian inputs, targets y = T·x with T = diag(teacher) (outputs × inputs), one
full batch. Model: W1 (hidden × inputs), W2 (outputs × hidden), small Gaussian initialisation,
plain gradient descent on L = ½·mean‖W2·W1·x − y‖². With small weights the network learns the
teacher's modes one after another, strongest first (Saxe, McClelland, Ganguli 2014), and ends
at the least-squares map, which is T itself (noise-free targets, inputs spanning every
direction). Gradients are written out by hand (two matmuls per layer; the test checks them
against autograd).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..devices import training_device
from ..history import run_attrs
from ..io import read_arrays, write_arrays
from ..training import fit
from .runs import RunConfig

STUDY = "skeleton"


def teacher_map(teacher: list[float], inputs: int) -> np.ndarray:
    """T = diag(teacher), padded with zero columns to (outputs × inputs)."""
    return np.eye(len(teacher), inputs) * np.asarray(teacher)[:, None]


class LinearTrainer:
    """Full-batch gradient descent on a two-layer linear network (see the module docstring)."""

    def __init__(self, cfg: RunConfig, x: torch.Tensor, y: torch.Tensor) -> None:
        g = torch.Generator().manual_seed(cfg.seed)
        shapes = {"W1": (cfg.hidden, cfg.inputs), "W2": (len(cfg.teacher), cfg.hidden)}
        self.p = {k: cfg.init_scale * torch.randn(s, generator=g) for k, s in shapes.items()}
        self.p = {k: v.to(x.device) for k, v in self.p.items()}
        self.lr = cfg.lr
        self.x, self.y = x, y

    def gradients(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss and its gradients: with the errors E = X·(W2·W1)ᵀ − Y and R = EᵀX / n
        (= ∂L/∂(W2·W1)), ∂L/∂W2 = R·W1ᵀ and ∂L/∂W1 = W2ᵀ·R."""
        w1, w2 = self.p["W1"], self.p["W2"]
        err = self.x @ (w2 @ w1).T - self.y  # (samples, outputs)
        r = err.T @ self.x / len(self.x)
        return 0.5 * (err * err).sum(1).mean(), {"W1": w2.T @ r, "W2": r @ w1.T}

    def step(self, step: int) -> dict[str, torch.Tensor]:
        loss, grads = self.gradients()
        for name, grad in grads.items():
            self.p[name] -= self.lr * grad
        return {"loss": loss}

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"params": {k: v.clone() for k, v in self.p.items()}}

    def state_dict(self) -> dict[str, Any]:
        return {k: v.clone() for k, v in self.p.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = {k: v.clone() for k, v in state.items()}


# ---- DAG verbs: generate data, train ------------------------------------------------------


def make_data(config: dict[str, Any], out: str) -> None:
    """The full batch: `samples` standard-normal inputs and the teacher's noise-free targets."""
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal((config["samples"], config["inputs"])).astype(np.float32)
    t = teacher_map(config["teacher"], config["inputs"]).astype(np.float32)
    write_arrays(out, {"x": x, "y": x @ t.T, "teacher": t}, {"study": STUDY})


def train(config: dict[str, Any], data: str, out: str) -> None:
    """Train run `config` (a `run_config`) on the batch in `data`; the history goes to `out`."""
    cfg = RunConfig(**config)
    arrays = read_arrays(data)
    device = training_device()
    x, y = (torch.as_tensor(arrays[k], device=device) for k in ("x", "y"))
    trainer = LinearTrainer(cfg, x, y)
    attrs = run_attrs(STUDY, config, cfg.seed)
    fit(trainer, steps=cfg.steps, snapshot_every=cfg.snapshot_every, out=out, attrs=attrs)
