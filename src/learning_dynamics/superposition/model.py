"""Superposition study (seed 000): an untied toy model, 50 features squeezed into 2 dimensions.

Model: x ↦ ReLU(W_U W_E x) with W_E (hidden × features), W_U (features × hidden), no bias,
trained full batch on the one-hot vectors with MSE and plain SGD at lr 5.

The seed builds a StepLR(step_size=500, gamma=3000**-100) but calls `scheduler.step()` once,
after the training loop, so it never fires and lr stays 5 throughout; we keep that (no schedule).
Had it fired, gamma = 3000**-100 underflows to 0.0 and training would freeze after epoch 500.

Gradients are written out by hand for a whole ensemble of seeds at once (batched matmuls, one
Python step per epoch for every seed); `tests/test_superposition.py` checks them against a plain
nn.Linear + torch.optim.SGD loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..devices import training_device
from ..history import run_attrs
from ..io import read_arrays, write_arrays
from ..runconfig import typed
from ..training import fit
from .runs import RunConfig

STUDY = "superposition"

# Reference losses (MSE over features² entries), see `tied_optimum_loss`.
FOUR_FEATURES_LOSS = 46 / 2500  # four antipodal features: no interference, 46 features lost


def tied_optimum_loss(features: int = 50) -> float:
    """Loss of the best tied 2-D solution: a regular pentagon of 5 features, the rest dropped.

    With feature vectors of squared norm x at 72° from their two neighbours, ReLU keeps only the
    10 neighbour overlaps x·cos72° (the 144° ones are negative) and the loss sum is
    (f − 5) + 5(x − 1)² + 10 c² x², c = cos 72° = (√5 − 1)/4. It is minimal at x = 1/(1 + 2c²),
    giving (f − 5) + 10c²/(1 + 2c²); divided by f² = 2500 this is 0.0183207... Four antipodal
    features (no overlap) give 46/2500 = 0.0184 and a hexagon 46/2500 too, so the pentagon wins.
    """
    c2 = ((math.sqrt(5) - 1) / 4) ** 2
    return ((features - 5) + 10 * c2 / (1 + 2 * c2)) / features**2


def directions(vectors: np.ndarray, min_norm: float = 0.05, tol_deg: float = 1.0) -> np.ndarray:
    """Group feature vectors (f, 2) by direction: rows (angle in degrees, Σ squared norm), sorted
    by angle. The tied model's optimum is degenerate: features sharing a direction act as one
    feature whose squared norm is their sum, so it may spread all 50 features over 5 directions."""
    norms = np.linalg.norm(vectors, axis=1)
    keep = norms > min_norm
    angles = np.degrees(np.arctan2(vectors[keep, 1], vectors[keep, 0]))
    order = np.argsort(angles)
    groups: list[list[float]] = []
    for angle, sq in zip(angles[order], norms[keep][order] ** 2, strict=True):
        if groups and angle - groups[-1][0] < tol_deg:
            groups[-1][1] += sq
        else:
            groups.append([float(angle), float(sq)])
    if len(groups) > 1 and groups[0][0] + 360 - groups[-1][0] < tol_deg:  # wrap around ±180°
        groups[0][1] += groups.pop()[1]
    return np.array(groups).reshape(-1, 2)


def init_weights(seeds: Sequence[int], features: int, hidden: int) -> tuple[torch.Tensor, ...]:
    """W_E (E, hidden, features), W_U (E, features, hidden) drawn as nn.Linear does under
    torch.manual_seed(seed): embedding first, then unembedding, U(±1/√fan_in)."""
    w_e, w_u = [], []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        w_e.append(
            torch.empty(hidden, features).uniform_(-(features**-0.5), features**-0.5, generator=g)
        )
        w_u.append(
            torch.empty(features, hidden).uniform_(-(hidden**-0.5), hidden**-0.5, generator=g)
        )
    return torch.stack(w_e), torch.stack(w_u)


class ToyModelTrainer:
    """Full-batch SGD on the f one-hot vectors for E independent seeds at once.

    With the whole batch X = I the model's outputs are the columns of M = W_U W_E, so a step is
    MSE(ReLU(M), I) and its gradient dL/dM = (2/f²)·(ReLU(M) − I)·[M > 0]. That gradient is
    ReLU(M) itself off the diagonal and (d − 1)·[d > 0] = d − sign(d) on it (d = diag ReLU(M) ≥ 0),
    which lets one (E, f, f) buffer serve as output and gradient. The loss needs no further pass
    over it: with dM = ReLU(M) − diag(sign d), Σ dM∘M = ‖ReLU(M)‖² − tr ReLU(M), and Σ dM∘M =
    Σ W_E∘(W_Uᵀ dM) = Σ W_Uᵀ∘(W_E dMᵀ) is a sum over the small parameter gradients.

    The parameters live in one tensor `params` (E, 2·hidden, f) = [W_E; W_Uᵀ] (tied: W_E only), so
    the SGD update is one kernel. On the CPU the three batched matmuls run in NumPy, on views of
    the same memory: its OpenBLAS multiplies these small matrices about twice as fast as torch's
    `bmm`, which costs ~0.5 µs per matrix (MKL on this AMD CPU), the bulk of an ensemble's step.
    """

    inference_only = True  # no autograd: `fit` runs the steps in torch.inference_mode
    numpy_matmul = True  # on the CPU; False: torch.matmul (always, on a GPU)

    def __init__(self, w_e: torch.Tensor, w_u: torch.Tensor | None, lr: float, tied: bool) -> None:
        self.lr, self.tied = lr, tied
        self.features = w_e.shape[-1]
        self.device = w_e.device  # state and buffers live where the initial weights were put
        self.load_state_dict({"W_E": w_e, "W_U": w_u})

    def run(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        """Epochs start..stop-1, losses written into one preallocated buffer."""
        losses = torch.empty(stop - start, self.w_e.shape[0], device=self.device)
        with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN: `fit` reports divergence
            for row in losses:
                self._update(row)
        return {"loss": losses}

    def step(self, step: int) -> dict[str, torch.Tensor]:
        loss = torch.empty(self.w_e.shape[0], device=self.device)
        with np.errstate(over="ignore", invalid="ignore"):
            self._update(loss)
        return {"loss": loss}

    def _update(self, loss: torch.Tensor) -> None:
        """One SGD step; writes each member's loss (before the step) into `loss`."""
        f, blocks = self.features, 1 if self.tied else 2
        matmul, (forward, *backward) = self.matmul, self.products
        matmul(*forward)  # M = W_U·W_E
        self.dm.relu_()  # ReLU(M): the outputs
        trace = self.diag.sum(1)
        self.diag.sub_(self.diag.sign())  # now dm = dL/dM up to the factor 2/f²
        for product in backward:  # W_E·dMᵀ (and W_Uᵀ·dM): the gradients, up to 2/f²
            matmul(*product)
        # f²·loss = ‖ReLU(M) − I‖² = ‖ReLU(M)‖² − 2·tr + f = Σ dM∘M − tr + f
        dot = torch.mul(self.params, self.grad).sum((1, 2))  # blocks·Σ dM∘M
        base = torch.add(self.inv_f, trace, alpha=-1 / f**2)
        torch.add(base, dot, alpha=1 / (blocks * f**2), out=loss)
        # Tied, the seed makes W_U a Parameter sharing W_Eᵀ's storage, so both gradients land on
        # the same numbers: dM is symmetric and W_E moves by twice W_E·dM.
        self.params.add_(self.grad, alpha=-self.lr * 2 / f**2 * (2 / blocks))

    def weights(self) -> dict[str, torch.Tensor]:
        """Copies of W_E and W_U (the live tensors change in place at every step)."""
        w_u = self.w_u.clone(memory_format=torch.contiguous_format)
        return {"W_E": self.w_e.clone(), "W_U": w_u}

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"params": self.weights()}

    def state_dict(self) -> dict[str, Any]:
        return self.weights()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        w_e = state["W_E"].to(self.device)  # (E, hidden, features)
        seeds, hidden, f = w_e.shape
        parts = [w_e] if self.tied else [w_e, state["W_U"].to(self.device).transpose(1, 2)]
        self.params = torch.cat(parts, dim=1)  # a fresh copy, updated in place from now on
        self.grad = torch.empty_like(self.params)
        self.dm = torch.empty(seeds, f, f, device=self.device)
        self.diag = self.dm.diagonal(dim1=1, dim2=2)
        self.inv_f = torch.full((seeds,), 1.0 / f, device=self.device)
        # views, following the in-place updates
        self.w_e, w_u_t = self.params[:, :hidden], self.params[:, -hidden:]
        self.w_u = w_u_t.transpose(1, 2)  # (E, features, hidden)
        # (a, b, out) of out = a·b: M, then ∂/∂W_Uᵀ = W_E·dMᵀ and (untied) ∂/∂W_E = W_Uᵀ·dM
        products = [(self.w_u, self.w_e, self.dm)]
        products.append((self.w_e, self.dm.transpose(1, 2), self.grad[:, -hidden:]))
        if not self.tied:
            products.append((w_u_t, self.dm, self.grad[:, :hidden]))
        if self.numpy_matmul and self.device.type == "cpu":
            self.matmul = lambda a, b, out: np.matmul(a, b, out=out)
            self.products = [tuple(t.numpy() for t in p) for p in products]
        else:
            self.matmul = lambda a, b, out: torch.matmul(a, b, out=out)
            self.products = products


# ---- DAG verbs: generate data, train ------------------------------------------------------


def make_data(features: int, out: str) -> None:
    """The dataset: the f one-hot vectors, used as one full batch."""
    write_arrays(out, {"inputs": np.eye(features, dtype=np.float32)}, {"study": STUDY})


def train(config: dict[str, Any], data: str, out: str) -> None:
    """Train run `config` (a `run_config`: one seed, or an ensemble of seeds trained together)
    on the one-hot batch in `data`; the weight history goes to `out`."""
    cfg = typed(RunConfig, config)  # refuses an unknown key or a value of another type
    inputs = read_arrays(data)["inputs"]
    if not np.array_equal(inputs, np.eye(cfg.features)):
        raise ValueError(f"{data}: expected the {cfg.features} one-hot vectors as the full batch")
    device = training_device()
    w_e, w_u = (w.to(device) for w in init_weights(cfg.seeds, cfg.features, cfg.hidden))
    trainer = ToyModelTrainer(w_e, w_u, cfg.lr, cfg.tied)
    attrs = run_attrs(STUDY, config, list(cfg.seeds))
    fit(trainer, steps=cfg.epochs, snapshot_every=cfg.snapshot_every, out=out, attrs=attrs)
