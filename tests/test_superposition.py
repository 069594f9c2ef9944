"""Superposition study: the trainer against autograd, ensembles, the tied closed form, plateaus."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from learning_dynamics.superposition.analysis import (
    counted_directions,
    direction_count,
    direction_geometry,
    find_plateaus,
)
from learning_dynamics.superposition.model import (
    FOUR_FEATURES_LOSS,
    ToyModelTrainer,
    init_weights,
    tied_optimum_loss,
)

F_, N_ = 50, 2


def train_steps(trainer: ToyModelTrainer, steps: int) -> np.ndarray:
    return torch.stack([trainer.step(s)["loss"] for s in range(steps)]).numpy()


class SeedNet(nn.Module):
    """The seed's Net: two bias-free nn.Linear layers, ReLU on the output, optional tying."""

    def __init__(self, tied: bool) -> None:
        super().__init__()
        self.embedding = nn.Linear(F_, N_, bias=False)
        self.unembedding = nn.Linear(N_, F_, bias=False)
        if tied:  # as the seed does it: a new Parameter sharing W_Eᵀ's storage
            self.unembedding.weight = nn.Parameter(self.embedding.weight.transpose(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.unembedding(self.embedding(x)))


def reference_run(seed: int, tied: bool, epochs: int, lr: float = 5.0):
    torch.manual_seed(seed)
    net = SeedNet(tied)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    batch = torch.eye(F_)[torch.randperm(F_)]  # the seed's DataLoader shuffles the full batch
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = F.mse_loss(net(batch), batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return net.embedding.weight.detach(), net.unembedding.weight.detach(), np.array(losses)


def test_init_matches_nn_linear_under_manual_seed():
    for seed in (0, 3, 42):
        torch.manual_seed(seed)
        net = SeedNet(tied=False)
        w_e, w_u = init_weights([seed], F_, N_)
        assert torch.equal(w_e[0], net.embedding.weight.detach())
        assert torch.equal(w_u[0], net.unembedding.weight.detach())


@pytest.mark.parametrize("numpy_matmul", [True, False])  # False: the GPU's path, torch.matmul
@pytest.mark.parametrize("tied", [False, True])
def test_trainer_matches_autograd_sgd_loop(tied, numpy_matmul, monkeypatch):
    monkeypatch.setattr(ToyModelTrainer, "numpy_matmul", numpy_matmul)
    epochs = 400
    w_e_ref, w_u_ref, loss_ref = reference_run(42, tied, epochs)
    w_e, w_u = init_weights([42], F_, N_)
    trainer = ToyModelTrainer(w_e, w_u, lr=5.0, tied=tied)
    losses = train_steps(trainer, epochs)[:, 0]
    np.testing.assert_allclose(losses, loss_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(trainer.w_e[0], w_e_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(trainer.w_u[0], w_u_ref, rtol=0, atol=1e-6)
    assert losses[-1] < losses[0]  # it actually learned something


def test_ensemble_member_equals_single_run():
    seeds = [0, 3, 7, 42]
    ensemble = ToyModelTrainer(*init_weights(seeds, F_, N_), lr=5.0, tied=False)
    ens_loss = train_steps(ensemble, 1500)
    for k, seed in enumerate(seeds):
        single = ToyModelTrainer(*init_weights([seed], F_, N_), lr=5.0, tied=False)
        single_loss = train_steps(single, 1500)[:, 0]
        np.testing.assert_allclose(ens_loss[:, k], single_loss, rtol=0, atol=1e-7)
        torch.testing.assert_close(ensemble.w_e[k], single.w_e[0], rtol=0, atol=1e-6)


def test_tied_closed_form_value():
    # (45 + 10c²/(1 + 2c²)) / 2500 with c = cos 72°
    assert tied_optimum_loss(50) == pytest.approx(0.0183207149, abs=1e-10)
    assert tied_optimum_loss(50) < FOUR_FEATURES_LOSS
    # A regular pentagon at the optimal squared norm, evaluated by the trainer's own loss.
    c2 = math.cos(math.radians(72)) ** 2
    radius = (1 / (1 + 2 * c2)) ** 0.5
    angles = 2 * np.pi * np.arange(5) / 5
    w_e = torch.zeros(1, N_, F_)
    w_e[0, 0, :5] = torch.tensor(radius * np.cos(angles), dtype=torch.float32)
    w_e[0, 1, :5] = torch.tensor(radius * np.sin(angles), dtype=torch.float32)
    loss = ToyModelTrainer(w_e, w_e.transpose(1, 2), lr=0.0, tied=True).step(0)["loss"]
    assert float(loss) == pytest.approx(tied_optimum_loss(50), abs=1e-8)
    # ...and it is a minimum of the loss along the radius.
    for scale in (0.98, 1.02):
        off = ToyModelTrainer(w_e * scale, None, lr=0.0, tied=True).step(0)["loss"]
        assert float(off) > float(loss)


def test_tied_training_reaches_the_pentagon():
    w_e, w_u = init_weights([42], F_, N_)
    trainer = ToyModelTrainer(w_e, w_u, lr=5.0, tied=True)
    losses = train_steps(trainer, 6000)[:, 0]
    assert abs(losses[-1] - tied_optimum_loss(50)) < 5e-6
    # Five directions 72° apart, each with total squared norm 1/(1 + 2c²) (features may share one).
    w_e = trainer.w_e[0].numpy()  # (2, f)
    found = counted_directions(w_e)
    assert len(found) == 5 and direction_count(w_e) == 5
    gaps = np.diff(np.concatenate([found[:, 0], found[:1, 0] + 360]))
    np.testing.assert_allclose(gaps, 72.0, atol=0.2)
    c2 = math.cos(math.radians(72)) ** 2
    np.testing.assert_allclose(found[:, 1], 1 / (1 + 2 * c2), rtol=2e-3)
    geometry = direction_geometry(w_e)
    assert geometry["direction_gap_min"] == pytest.approx(72.0, abs=0.2)
    assert geometry["direction_sq_norm_mean"] == pytest.approx(1 / (1 + 2 * c2), rel=2e-3)


def polar(angles_deg, norms) -> np.ndarray:
    a = np.radians(np.asarray(angles_deg, dtype=float))
    return np.asarray(norms, dtype=float) * np.stack([np.cos(a), np.sin(a)])  # (2, f)


def test_direction_count_on_known_arrangements():
    """Directions: groups of W_E columns within 10° of a neighbour (around the circle) holding at
    least 5 % of the squared norm; columns under 5 % of the longest have none."""
    rng = np.random.default_rng(0)
    # A pentagon whose directions are shared by several features (jittered by < 1°), rotated so
    # that one direction straddles ±180°, plus short stragglers anywhere (no direction).
    angles = np.repeat(180 + 72 * np.arange(5), 6) + rng.uniform(-1, 1, 30)
    pentagon = polar(np.concatenate([angles, rng.uniform(0, 360, 20)]),
                     np.concatenate([np.full(30, 0.37), np.full(20, 0.01)]))  # fmt: skip
    assert direction_count(pentagon) == 5
    geometry = direction_geometry(pentagon)
    assert geometry["direction_gap_min"] == pytest.approx(72.0, abs=1.0)
    assert geometry["direction_sq_norm_mean"] == pytest.approx(6 * 0.37**2, rel=1e-9)
    # Two strong directions and one weak one (3 % of the squared norm): two count.
    two = polar([10, 11, 53, 54, 200], [1.0, 1.0, 1.0, 1.0, 0.35])
    assert direction_count(two) == 2
    # A batch (..., 2, f) keeps its leading axes; a square counts 4, a chain of features 8° apart
    # is one direction however long it is.
    square = polar([0, 90, 180, 270, 45], [1, 1, 1, 1, 0.01])
    chain = polar([0, 8, 16, 24, 32], [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(direction_count(np.stack([square, chain])), [4, 1])


def test_find_plateaus_on_a_synthetic_curve():
    t = np.arange(10000)
    curve = 0.02 - 0.001 * (1 - np.exp(-t / 300))  # fall to 0.019 ...
    curve[4000:] -= 0.0005 * (1 - np.exp(-(t[4000:] - 4000) / 200))  # ... wait, then fall again
    found = find_plateaus(curve, window=200, rel_tol=5e-4, min_length=800, min_drop=0.005)
    transient = [p for p in found if not p["final"]]
    assert len(transient) == 1
    assert 800 < transient[0]["start"] < 2500 and 3900 <= transient[0]["end"] <= 4300
    assert transient[0]["level"] == pytest.approx(0.019, rel=1e-3)
    assert found[-1]["final"] and found[-1]["level"] == pytest.approx(0.0185, rel=1e-3)


def test_seed_3_plateaus_at_the_pentagon_then_drops_and_seed_42_does_not():
    trainer = ToyModelTrainer(*init_weights([3, 42], F_, N_), lr=5.0, tied=False)
    losses = train_steps(trainer, 16000)
    pentagon = tied_optimum_loss(50)
    for k, expect in ((0, True), (1, False)):
        found = find_plateaus(
            losses[:, k], window=500, rel_tol=5e-4, min_length=2000, min_drop=0.005
        )
        at_pentagon = [
            p for p in found if not p["final"] and abs(p["level"] / pentagon - 1) < 0.002
        ]
        assert bool(at_pentagon) is expect, found
    assert (losses[-1] < 0.995 * pentagon).all()  # both end below the tied optimum
