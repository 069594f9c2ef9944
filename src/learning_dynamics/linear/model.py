"""Linear study (seed 003): data, the network's two parameterisations, and the train verbs.

Network: x ↦ W2 W1 x, W1 (hidden × d), W2 (d_out × hidden), no bias, full-batch gradient descent
on the summed squared error. The seed trains in the "synaptic" basis of the target map
T = YᵀX(XᵀX)⁻¹ = U·diag(s)·Vh: with W1 = R·D1, W2 = D2·Rᵀ (R Haar-orthogonal, D diagonal) the
update keeps that form, R cancels and each mode i is two scalars a_i, b_i (`ModeTrainer`). The
ordinary weight-space network (`WeightTrainer`) is the same run rotated by U and Vh.

Conventions fixed here (the seed mixes them):
- the update is the seed's synaptic one, G = (S − W2W1)·Λ with no factor 2, i.e. gradient descent
  on ½·SSE at lr η; the seed's weight-space branch uses autograd on the plain SSE (twice the step)
  and updates both layers simultaneously. We use one update for both bases (W1 first, then W2
  with the new W1, as the seed's synaptic branch), so the two bases give the same map;
- the reported loss and risk are the seed's: the summed squared error (no ½).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
from scipy.stats import ortho_group

from ..devices import training_device
from ..history import run_attrs
from ..io import read_arrays, write_arrays
from ..runconfig import typed
from ..seeding import seed_everything
from ..training import fit
from .runs import sweep_job_config

STUDY = "linear"
DTYPE = torch.float64  # the seed runs in float32; float64 keeps the closed-form checks tight


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What makes data.h5: the seed's data and initial draws (cli_args of notebook 003). Fields
    only; the values come from config/config.yaml through `runs.data_config`."""

    seed: int
    dim: int  # input dimension d
    samples: int
    test_samples: int  # the seed's `args.samples * 100`
    kappa: float  # ratio of the singular values of X (not of the eigenvalues of XᵀX)
    teacher: tuple[float, ...]  # the overwritten β = diag(teacher)
    init_scale: tuple[float, float]  # std of D1 and D2
    hidden: int


@dataclasses.dataclass(frozen=True)
class LinearConfig(DataConfig):
    """A training run: its data's settings and the update's (`runs.run_config`)."""

    lr: float
    steps: int
    snapshot_every: int
    basis: str  # "synaptic" (the seed's) or "weight"


# ---- data ------------------------------------------------------------------------------------


def make_dataset(cfg: DataConfig) -> dict[str, np.ndarray]:
    """The seed's data and initial draws, in its RNG order (see docs/linear.md).

    NumPy's global RNG (seeded `seed`): X0 (n × d), the train noise, the test X0 (n_test × d),
    the test noise, then R = ortho_group(hidden). The noise draws only advance the RNG: the
    notebook overwrites Y = X·βᵀ without noise. D1, D2 come from a torch Generator seeded `seed`.
    """
    g = seed_everything(cfg.seed)
    d, d_out = cfg.dim, len(cfg.teacher)
    x0 = np.random.standard_normal((cfg.samples, d))  # noqa: NPY002 (the seed's global RNG)
    np.random.standard_normal((cfg.samples, d_out))  # noqa: NPY002 (noise, discarded)
    # X = X0·A with A = V·S⁻¹·F: X = U·F, so XᵀX = F² exactly. F has `p = ceil(d/2)` entries kappa.
    _, sv, vt = np.linalg.svd(x0, full_matrices=False)
    p = math.ceil(d / 2)
    f = np.diag([cfg.kappa] * p + [1.0] * (d - p))
    a = vt.T @ np.diag(1 / sv) @ f
    xt0 = np.random.standard_normal((cfg.test_samples, d))  # noqa: NPY002
    np.random.standard_normal((cfg.test_samples, d_out))  # noqa: NPY002 (noise, discarded)
    beta = np.zeros((d_out, d))
    beta[np.arange(d_out), np.arange(d_out)] = cfg.teacher
    x, xt = x0 @ a, xt0 @ a
    r = ortho_group.rvs(dim=cfg.hidden) if cfg.hidden > 1 else np.ones((1, 1))
    d1 = torch.normal(0.0, cfg.init_scale[0], size=(min(cfg.hidden, d),), generator=g)
    d2 = torch.normal(0.0, cfg.init_scale[1], size=(min(cfg.hidden, d_out),), generator=g)
    return {
        "X": x,
        "Y": x @ beta.T,
        "X_test": xt,
        "Y_test": xt @ beta.T,
        "beta": beta,
        "init/R": r,
        "init/D1": d1.double().numpy(),
        "init/D2": d2.double().numpy(),
    }


@dataclasses.dataclass(frozen=True)
class Modes:
    """SVD of the least-squares map T = U·diag(s)·Vh and each mode's input variance λ."""

    T: np.ndarray
    U: np.ndarray
    s: np.ndarray
    Vh: np.ndarray
    lam: np.ndarray
    coupling: np.ndarray  # Vh·XᵀX·Vhᵀ; diagonal when the modes decouple


def mode_basis(x: np.ndarray, y: np.ndarray) -> Modes:
    xx, yx = x.T @ x, y.T @ x
    t = np.linalg.solve(xx, yx.T).T  # YᵀX(XᵀX)⁻¹
    u, s, vh = np.linalg.svd(t)
    # Seed bug (harmless here): it builds VXXV = Vhᵀ·XᵀX·Vh; the synaptic gradient needs
    # Vh·XᵀX·Vhᵀ. They agree only because Vh is a signed permutation for this data.
    coupling = vh @ xx @ vh.T
    return Modes(t, u, s, vh, np.diagonal(coupling).copy(), coupling)


# ---- trainers --------------------------------------------------------------------------------


class ModeTrainer:
    """Gradient descent in the synaptic basis for E members × m decoupled modes at once.

    Mode i of member e has layer weights a, b (W1 = R·diag(a), W2 = diag(b)·Rᵀ); one seed update
    (W1 first, then W2 with the new W1) is

        a += η·λ·b·(s − a·b);   b += η·λ·a·(s − a·b)   (a already updated)

    The recursion is scalar, so per-step tensor ops (and `fit`'s per-step call) would cost far more
    than the arithmetic: `run` does a whole stretch between snapshots in one call, as a plain float
    loop per mode for small runs and batched tensor ops for sweeps.
    """

    SCALAR_MAX = 8  # up to this many modes in all, a float loop per mode beats tensor ops

    def __init__(self, a, b, s, lam, lr: float, record: bool = True, device=None) -> None:
        as_t = lambda v: torch.as_tensor(v, dtype=DTYPE, device=device)  # noqa: E731
        self.a, self.b = as_t(a).clone(), as_t(b).clone()  # (E, m)
        self.s, self.lam = as_t(s).expand_as(self.a), as_t(lam).expand_as(self.a)
        self.lr, self.record = lr, record

    def run(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        """Updates start..stop-1; metrics: the strengths u = a·b before each, (n, E, m)."""
        n = stop - start
        u = self._run_scalar(n) if self.a.numel() <= self.SCALAR_MAX else self._run_batched(n)
        return {"u": u} if self.record else {}

    def _run_batched(self, n: int) -> torch.Tensor:
        a, b, lr = self.a, self.b, self.lr
        lam_s = self.lam * self.s
        out = torch.empty((n, *a.shape) if self.record else (0,), dtype=DTYPE, device=a.device)
        with torch.inference_mode():
            for i in range(n):
                u = a * b
                if self.record:
                    out[i] = u
                a.addcmul_(b, torch.addcmul(lam_s, self.lam, u, value=-1), value=lr)
                b.addcmul_(a, torch.addcmul(lam_s, self.lam, a * b, value=-1), value=lr)
        return out

    def _run_scalar(self, n: int) -> torch.Tensor:
        lr, shape = self.lr, self.a.shape
        flat = [x.reshape(-1).tolist() for x in (self.a, self.b, self.s, self.lam)]
        columns = []
        for k, (a, b, s, lam) in enumerate(zip(*flat, strict=True)):
            ls, u_k = lam * s, []
            for _ in range(n):
                u = a * b
                u_k.append(u)
                a += lr * b * (ls - lam * u)
                b += lr * a * (ls - lam * a * b)
            flat[0][k], flat[1][k] = a, b
            columns.append(u_k)
        as_t = lambda v: torch.tensor(v, dtype=DTYPE, device=self.a.device)  # noqa: E731
        self.a, self.b = as_t(flat[0]).reshape(shape), as_t(flat[1]).reshape(shape)
        return as_t(columns).T.reshape(n, *shape)

    def step(self, step: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.run(step, step + 1).items()}

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"params": {"a": self.a.clone(), "b": self.b.clone()}}

    def state_dict(self) -> dict[str, Any]:
        return {"a": self.a.clone(), "b": self.b.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.a, self.b = (state[k].to(self.s.device, copy=True) for k in "ab")


class WeightTrainer:
    """The full network, W1 (hidden × d) and W2 (d_out × hidden), in any basis: the gradient of
    ½·SSE is G = M − W2·W1·C with M = YᵀX, C = XᵀX in weight space (M = diag(s)·Λ, C = Λ in the
    synaptic basis). Same update order as `ModeTrainer`."""

    def __init__(self, w1, w2, m, c, lr: float, device=None) -> None:
        as_t = lambda v: torch.as_tensor(v, dtype=DTYPE, device=device).clone()  # noqa: E731
        self.w1, self.w2, self.m, self.c, self.lr = as_t(w1), as_t(w2), as_t(m), as_t(c), lr

    @torch.inference_mode()
    def step(self, step: int) -> dict[str, torch.Tensor]:
        w = self.w2 @ self.w1  # the end-to-end map before the update (a fresh tensor)
        self.w1.addmm_(self.w2.T, torch.addmm(self.m, w, self.c, alpha=-1), alpha=self.lr)
        g = torch.addmm(self.m, self.w2 @ self.w1, self.c, alpha=-1)
        self.w2.addmm_(g, self.w1.T, alpha=self.lr)
        return {"map": w}

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"params": self.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        return {"W1": self.w1.clone(), "W2": self.w2.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w1, self.w2 = (state[k].to(self.m.device, copy=True) for k in ("W1", "W2"))


def make_trainer(data: dict[str, np.ndarray], lr: float, basis: str, device=None):
    """The seed's initial network in `basis`: a ModeTrainer (synaptic) or WeightTrainer (weight)."""
    modes = mode_basis(data["X"], data["Y"])
    off = modes.coupling - np.diag(modes.lam)
    if basis == "synaptic":
        if np.abs(off).max() > 1e-9 * modes.lam.max():
            raise ValueError("modes do not decouple: Vh·XᵀX·Vhᵀ is not diagonal")
        m = len(modes.s)
        a, b = data["init/D1"][:m], data["init/D2"][:m]
        return ModeTrainer(a[None], b[None], modes.s, modes.lam, lr, device=device)
    if basis == "weight":
        r, d1, d2 = data["init/R"], data["init/D1"], data["init/D2"]
        w1 = r[:, : len(d1)] * d1 @ modes.Vh[: len(d1)]  # R·D1·Vh
        w2 = modes.U[:, : len(d2)] @ (d2[:, None] * r[:, : len(d2)].T)  # U·D2·Rᵀ
        x, y = data["X"], data["Y"]
        return WeightTrainer(w1, w2, y.T @ x, x.T @ x, lr, device=device)
    raise ValueError(f"unknown basis {basis!r}; choose synaptic or weight")


# ---- DAG verbs: generate data, train ---------------------------------------------------------


def make_data(config: dict[str, Any], out: str) -> None:
    """The seed's data and initial draws (`config`: the study's data keys, `runs.data_config`)."""
    cfg = typed(DataConfig, config)  # refuses an unknown key or a value of another type
    write_arrays(out, make_dataset(cfg), {"study": STUDY, "seed": cfg.seed})


def train(config: dict[str, Any], data: str, out: str) -> None:
    """Train run `config` (a `run_config`) from the data and initial draws in `data`."""
    cfg = typed(LinearConfig, config)
    arrays = read_arrays(data)
    trainer = make_trainer(arrays, cfg.lr, cfg.basis, training_device())
    attrs = run_attrs(STUDY, config, cfg.seed)
    fit(trainer, steps=cfg.steps, snapshot_every=cfg.snapshot_every, out=out, attrs=attrs)


def sweep_trainer(part: dict[str, Any], device=None) -> ModeTrainer:
    """One mode per grid point (s, scale w): a0 = w, b0 = init_ratio·w, λ = lam; one batch."""
    w = np.asarray(part["scale"], dtype=np.float64)[:, None]
    s = np.asarray(part["s"], dtype=np.float64)[:, None]
    a, b = w, part["init_ratio"] * w
    return ModeTrainer(a, b, s, part["lam"], part["lr"], record=False, device=device)


def train_sweep(config: dict[str, Any], job: int, out: str) -> None:
    """Train sweep job `job`: its grid points (`config` is the study's `sweep` block)."""
    part = sweep_job_config(config, job)
    trainer = sweep_trainer(part, training_device())
    attrs = run_attrs(STUDY, part, 0)
    fit(trainer, steps=part["steps"], snapshot_every=part["snapshot_every"], out=out, attrs=attrs)
