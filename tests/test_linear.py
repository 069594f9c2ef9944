"""Linear study: the seed's data, the exact mode solution, both bases, closed-form risk, sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import default_run, load_config
from scipy.integrate import solve_ivp

from learning_dynamics.history import History, run_attrs
from learning_dynamics.linear.analysis import quadratic_risk
from learning_dynamics.linear.model import (
    LinearConfig,
    ModeTrainer,
    WeightTrainer,
    make_dataset,
    make_trainer,
    mode_basis,
    sweep_trainer,
)
from learning_dynamics.linear.runs import sweep_job_config
from learning_dynamics.linear.theory import (
    balanced_time,
    balanced_trajectory,
    crossing_times,
    exact_time,
    exact_trajectory,
    progress_value,
)
from learning_dynamics.training import fit

LR = 1e-3


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return make_dataset(LinearConfig(**default_run("linear", "main")))


def trace(trainer, steps: int) -> torch.Tensor:
    """The one metric of `steps` updates: by `run` where the trainer has it, else step by step."""
    if hasattr(trainer, "run"):
        return next(iter(trainer.run(0, steps).values()))
    rows = [trainer.step(t) for t in range(steps)]
    return torch.stack([next(iter(r.values())) for r in rows])


def test_data_is_the_seeds(data):
    x, y = data["X"], data["Y"]
    np.testing.assert_allclose(x.T @ x, np.diag([100.0, 1.0]), atol=1e-5)
    np.testing.assert_allclose(y.T @ x, np.diag([1.001, 1.0]), atol=1e-5)
    modes = mode_basis(x, y)
    np.testing.assert_allclose(modes.s, [1.0, 0.01001], rtol=1e-9)
    np.testing.assert_allclose(modes.lam, [1.0, 100.0], rtol=1e-9)
    np.testing.assert_allclose(modes.T, np.diag([0.01001, 1.0]), atol=1e-12)
    # The RNG stream: X0, train noise, test X0, test noise from NumPy's global RNG seeded 12;
    # X and X_test are the raw draws times one matrix A.
    rng = np.random.RandomState(12)  # noqa: NPY002 (the legacy stream np.random.seed uses)
    x0 = rng.standard_normal((50, 2))
    rng.standard_normal((50, 2))
    xt0 = rng.standard_normal((5000, 2))
    a = np.linalg.solve(x0.T @ x0, x0.T @ x)
    np.testing.assert_allclose(x0 @ a, x, atol=1e-10)
    np.testing.assert_allclose(xt0 @ a, data["X_test"], atol=1e-9)
    r = data["init/R"]
    np.testing.assert_allclose(r.T @ r, np.eye(50), atol=1e-12)
    g = torch.Generator().manual_seed(12)
    d1, d2 = torch.normal(0, 0.1, (2,), generator=g), torch.normal(0, 0.1, (2,), generator=g)
    np.testing.assert_array_equal(data["init/D1"], d1.double().numpy())
    np.testing.assert_array_equal(data["init/D2"], d2.double().numpy())


@pytest.mark.parametrize(
    "s, lam, a0, b0",
    [
        (1.0, 1.0, 0.1, -0.03),
        (0.01001, 100.0, -0.1378, 0.0452),
        (1.0, 1.0, 0.3, 0.2),
        (0.5, 2.0, 1.0, 0.9),
        (2.0, 1.0, 0.05, 0.05),
    ],
)
def test_closed_form_matches_ode(s, lam, a0, b0):
    """u(t) and t(u) against a tight numerical solve of the layer ODEs (not of the u-ODE)."""
    t = np.linspace(0, 20000, 41)
    rhs = lambda _, w: lam * LR * (s - w[0] * w[1]) * np.array([w[1], w[0]])  # noqa: E731
    sol = solve_ivp(rhs, (0, t[-1]), [a0, b0], t_eval=t, rtol=1e-11, atol=1e-14)
    u = sol.y[0] * sol.y[1]
    common = {"s": s, "lam": lam, "lr": LR, "u0": a0 * b0}
    np.testing.assert_allclose(exact_trajectory(t, c=a0**2 - b0**2, **common), u, atol=1e-8)
    mid = u[5]
    assert exact_time(mid, c=a0**2 - b0**2, **common) == pytest.approx(t[5], rel=1e-7)
    if a0 == b0:  # balanced: the Saxe sigmoid is the same curve
        np.testing.assert_allclose(balanced_trajectory(t, **common), u, atol=1e-8)
        assert balanced_time(mid, **common) == pytest.approx(t[5], rel=1e-7)


def test_faithful_modes_match_the_exact_solution(data):
    """Halfway (and 10/90/99 %) times of GD within 1 % of the closed form; the balanced sigmoid
    misses mode 1 by ~5 %, so the test tells the two apart."""
    steps = 12000
    trainer = make_trainer(data, LR, "synaptic")
    u = trace(trainer, steps)[:, 0].numpy()  # (T, 2)
    s, lam = mode_basis(data["X"], data["Y"]).s, np.array([1.0, 100.0])
    a0, b0 = data["init/D1"], data["init/D2"]
    u0, c = a0 * b0, a0**2 - b0**2
    fractions = [0.1, 0.5, 0.9, 0.99]
    sim = crossing_times(np.arange(steps), u, s, u0, fractions)
    target = progress_value(np.array(fractions)[:, None], s=s, u0=u0)
    exact = exact_time(target, s=s, lam=lam, lr=LR, u0=u0, c=c)
    np.testing.assert_allclose(sim, exact, rtol=1e-2)
    assert 4000 < sim[1, 0] < 4600 and 300 < sim[1, 1] < 500  # the two stages, in iterations
    balanced = balanced_time(target[1, 0], s=s[0], lam=1.0, lr=LR, u0=u0[0])
    assert abs(balanced / sim[1, 0] - 1) > 0.03


def test_synaptic_and_weight_space_give_the_same_map(data):
    steps = 8000
    modes = mode_basis(data["X"], data["Y"])
    u = trace(make_trainer(data, LR, "synaptic"), steps)[:, 0].numpy()
    syn_maps = np.einsum("im,tm,mj->tij", modes.U, u, modes.Vh)
    weight_maps = trace(make_trainer(data, LR, "weight"), steps).numpy()
    np.testing.assert_allclose(weight_maps, syn_maps, rtol=0, atol=1e-10)
    assert np.abs(weight_maps[-1] - data["beta"]).max() < 1e-3  # it learned the map


def test_mode_trainer_equals_the_seeds_synaptic_matrices(data):
    """The seed's hidden-50 update in the synaptic basis (W1 = R·D1, W2 = D2·Rᵀ) reduces to the
    per-mode recursion; also the scalar and batched-tensor paths of ModeTrainer agree."""
    modes, r = mode_basis(data["X"], data["Y"]), data["init/R"]
    d1, d2, steps = data["init/D1"], data["init/D2"], 3000
    full = WeightTrainer(
        r[:, :2] * d1,
        d2[:, None] * r[:, :2].T,
        np.diag(modes.s) @ modes.coupling,
        modes.coupling,
        LR,
    )
    maps = trace(full, steps).numpy()
    u = trace(ModeTrainer(d1[None], d2[None], modes.s, modes.lam, LR), steps)
    np.testing.assert_allclose(np.diagonal(maps, axis1=1, axis2=2), u[:, 0], atol=1e-12)
    np.testing.assert_allclose(maps[:, 0, 1], 0, atol=1e-12)
    batched = ModeTrainer(d1[None], d2[None], modes.s, modes.lam, LR)
    batched.SCALAR_MAX = 0
    torch.testing.assert_close(trace(batched, steps), u, rtol=0, atol=1e-14)


def test_mode_trainer_in_fit_resumes_bit_identically_and_matches_step(data, tmp_path):
    whole = make_trainer(data, LR, "synaptic")
    u = whole.run(0, 3000)["u"]
    part = make_trainer(data, LR, "synaptic")
    part.run(0, 2000)
    resumed = make_trainer(data, LR, "synaptic")
    resumed.load_state_dict(part.state_dict())
    assert torch.equal(resumed.run(2000, 3000)["u"], u[2000:])
    assert torch.equal(resumed.a, whole.a) and torch.equal(resumed.b, whole.b)
    stepped = make_trainer(data, LR, "synaptic")
    assert torch.equal(torch.stack([stepped.step(t)["u"] for t in range(300)]), u[:300])
    out = fit(
        make_trainer(data, LR, "synaptic"),
        steps=3000,
        snapshot_every=700,
        out=tmp_path / "h.h5",
        attrs=run_attrs("linear", {}, 12),
        progress=False,
    )
    with History(out) as h:
        np.testing.assert_array_equal(h.steps("metrics"), np.arange(3000))
        np.testing.assert_array_equal(h.read("metrics", "u"), u.numpy())
        np.testing.assert_array_equal(h.steps("params"), [0, 700, 1400, 2100, 2800, 3000])
        np.testing.assert_array_equal(h.read("params", "a", -1), whole.a.numpy())


def test_closed_form_risk_equals_sample_risk(data):
    rng = np.random.default_rng(0)
    maps = data["beta"] + rng.normal(0, 0.3, (5, 2, 2))
    x, y = torch.tensor(data["X_test"]), torch.tensor(data["Y_test"])
    sample = [float(torch.square(y - x @ torch.tensor(w).T).sum()) for w in maps]
    np.testing.assert_allclose(
        quadratic_risk(maps, data["X_test"], data["Y_test"]), sample, rtol=1e-10
    )
    assert quadratic_risk(data["beta"], data["X_test"], data["Y_test"]) < 1e-20


def test_sweep_matches_the_closed_form():
    sweep = load_config(quick=True)["linear"]["sweep"]
    part = sweep_job_config(sweep, 0)
    trainer = sweep_trainer(part)
    steps = np.arange(0, part["steps"] + 1, 10)
    u = [(trainer.a * trainer.b)[:, 0].clone()]
    for t in steps[:-1]:
        trainer.run(t, t + 10)
        u.append((trainer.a * trainer.b)[:, 0].clone())
    u = torch.stack(u).numpy()
    s, w = np.array(part["s"]), np.array(part["scale"])
    a0, b0 = w, part["init_ratio"] * w
    target = progress_value(0.5, s=s, u0=a0 * b0)
    exact = exact_time(target, s=s, lam=part["lam"], lr=part["lr"], u0=a0 * b0, c=a0**2 - b0**2)
    sim = crossing_times(steps, u, s, a0 * b0, [0.5])[0]
    np.testing.assert_allclose(sim, exact, rtol=1e-2)
    assert len(s) > 5 and np.ptp(exact) / exact.min() > 1  # the grid spans a range of times
