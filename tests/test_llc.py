"""The LLC estimator (learning_dynamics.llc), Aoyagi's closed form, essential dynamics, and the
LLC rules' place in the DAG (they read stored histories: no training job)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from learning_dynamics import aoyagi, essential_dynamics, llc

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((1, 1, 1, 0), (0.5, 2)),  # y = b·a·x at a = b = 0: λ = 1/2, m = 2
        ((1, 1, 1, 1), (0.5, 1)),  # a·b = c ≠ 0: a smooth curve, codimension 1
        ((3, 3, 2, 0), (2.5, 1)),  # case 1, even
        ((3, 3, 2, 1), (3.5, 2)),  # case 1, odd
        ((2, 6, 2, 1), (4.0, 1)),  # case 2: (HM − Hr + Nr)/2
        ((6, 2, 2, 1), (4.0, 1)),  # case 3: (HN − Hr + Mr)/2
        ((2, 2, 4, 1), (2.0, 1)),  # case 4: MN/2
        ((2, 2, 50, 2), (2.0, 1)),  # the linear seed's shapes
        ((3, 2, 0, 0), (3.0, 1)),  # regular: d/2
    ],
)
def test_aoyagi_values(shape, expected):
    assert aoyagi.learning_coefficient(*shape) == expected


def test_aoyagi_full_rank_is_regular_in_function_space():
    """r = H = min(M, N): the map is a generic full-rank one, λ = (M + N − H)·H / 2 (the
    dimension of the rank-H matrices over 2), symmetric in M and N; a rank above min fails."""
    for m, n in ((2, 3), (4, 2), (3, 3)):
        h = min(m, n)
        assert aoyagi.learning_coefficient(m, n, h, h)[0] == (m + n - h) * h / 2
        assert aoyagi.learning_coefficient(m, n, h, h) == aoyagi.learning_coefficient(n, m, h, h)
    with pytest.raises(ValueError, match="true rank"):
        aoyagi.learning_coefficient(2, 2, 1, 2)


def _quadratic(curvature: torch.Tensor):
    return lambda p: 0.5 * (curvature * p["w"].square()).sum(-1)


def test_gaussian_posterior_closed_form():
    """L = ½ Σ h_i w_i² at w* = 0: λ̂ = Σ_i ½·nβh_i/(nβh_i + γ) exactly (a Gaussian posterior),
    for every nβ and γ of one batch (per-member hyperparameters)."""
    h = torch.tensor([1.0, 0.5, 2.0, 1.0], dtype=torch.float64)
    cfg = llc.SGLDConfig(
        nbeta=100.0, gamma=1.0, lr=0.02, chains=16, steps=3000, burn_in=500, seed=0
    )
    nbeta, gamma = [100.0, 1000.0, 100.0], [1.0, 1.0, 100.0]
    centers = {"w": torch.zeros(3, 4, dtype=torch.float64)}
    est = llc.llc(_quadratic(h), centers, cfg, nbeta=nbeta, gamma=gamma)
    exact = [float((0.5 * nb * h / (nb * h + g)).sum()) for nb, g in zip(nbeta, gamma, strict=True)]
    np.testing.assert_allclose(est.llc, exact, rtol=0.05)
    assert (est.status == llc.OK).all()
    assert est.trace.shape == (3000, 3, 16)
    np.testing.assert_array_equal(est.loss_center, 0.0)


def test_same_seed_same_numbers_and_chunks_do_not_mix_members():
    """Same config, same traces; a centre's estimate does not depend on its batch neighbours'
    hyperparameters (members never share a number)."""
    h = torch.ones(3, dtype=torch.float64)
    cfg = llc.SGLDConfig(nbeta=50.0, gamma=1.0, lr=0.05, chains=2, steps=50, burn_in=10, seed=3)
    centers = {"w": torch.zeros(2, 3, dtype=torch.float64)}
    a = llc.llc(_quadratic(h), centers, cfg)
    b = llc.llc(_quadratic(h), centers, cfg)
    np.testing.assert_array_equal(a.trace, b.trace)
    c = llc.llc(_quadratic(h), centers, cfg, nbeta=[50.0, 5000.0])
    np.testing.assert_array_equal(a.trace[:, 0], c.trace[:, 0])


def test_diagnose_flags_runaway_and_unsettled_chains():
    rng = np.random.default_rng(0)
    trace = 1.0 + 0.01 * rng.standard_normal((400, 1, 3))
    trace[0] = 1.0
    trace[:, 0, 1] += np.linspace(0, 0.5, 400)  # drifts: its halves disagree
    trace[300:, 0, 2] = np.nan  # blew up
    status = llc.diagnose(trace, 100.0, burn_in=100, dim=100, tol=0.25, floor=0.5)
    assert status[0].tolist() == [llc.OK, llc.UNSETTLED, llc.RUNAWAY]
    # an estimate above d (no LLC exceeds d/2) is a run-away chain too
    high = np.ones((10, 1, 1))
    high[1:] = 2.0
    assert llc.diagnose(high, 100.0, 2, dim=10, tol=0.25, floor=0.5)[0, 0] == llc.RUNAWAY


def test_sgld_divergence_is_flagged_not_raised():
    """A step far too large for the curvature makes the chain run away; the estimate says so."""
    h = torch.tensor([1000.0], dtype=torch.float64)
    cfg = llc.SGLDConfig(nbeta=10.0, gamma=1.0, lr=1.0, chains=2, steps=200, burn_in=50, seed=0)
    with np.errstate(all="ignore"):
        est = llc.llc(_quadratic(h), {"w": torch.zeros(1, 1, dtype=torch.float64)}, cfg)
    assert (est.status == llc.RUNAWAY).all()


def test_essential_dynamics_finds_plateaus_and_the_jump():
    """A trajectory that rests, jumps once and rests again: two plateaus, one transition at the
    jump; PCA of outputs that move along one direction puts all variance in PC1."""
    steps = np.arange(60) * 10
    position = np.where(steps < 300, 0.0, 1.0) + 1e-4 * np.arange(60)
    outputs = position[:, None, None] * np.ones((1, 5, 2))
    out = essential_dynamics.essential_dynamics(
        outputs, steps, {"components": 2, "slow": 0.05, "fast": 3.0, "min_length": 5}
    )
    assert out["explained"][0] > 0.999
    np.testing.assert_allclose(out["transitions"], [295.0])
    assert out["plateaus"].tolist() == [[0.0, 290.0], [300.0, 590.0]]


def test_reduced_rank_validation_case():
    """One validation case end to end (small budget): the rank-1 case-4 network at its true
    point gives Aoyagi's λ = 2 within 10 %."""
    from learning_dynamics.linear.llc import rrr_loss, true_point

    center = true_point(2, 2, 4, 1, seed=0)
    cfg = llc.SGLDConfig(
        nbeta=1000.0, gamma=2.0, lr=0.07, chains=4, steps=3000, burn_in=750, seed=0
    )
    est = llc.llc(rrr_loss(center), center, cfg)
    assert abs(est.llc[0] / 2.0 - 1) < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("study", ["linear", "superposition", "memorization", "grokking"])
def test_llc_targets_plan_no_training_with_complete_histories(tmp_path, study):
    """With every training output in place (made by `--touch`, in DAG order), `snakemake
    <study>_llc -n` plans the LLC jobs and no training job: the LLC reads stored histories."""

    def snakemake(*args: str) -> str:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(ROOT / "workflow/Snakefile"),
                *args,
                "--configfile",
                str(ROOT / "config/quick.yaml"),
                "--directory",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout + run.stderr

    def planned() -> set[str]:  # the rules of the dry run's job table ("rule  count")
        out = snakemake(f"{study}_llc", "-n", "--quiet", "rules")
        return {m[1] for m in re.finditer(r"^(\w+)\s+\d+$", out, re.MULTILINE)} - {"total"}

    assert [r for r in planned() if r.endswith("_train")]  # from scratch: trained first
    # a complete build's histories: everything upstream of training is made for real (run
    # config files, data; cheap), then every history the plan trains appears (empty, newer)
    trainers = sorted(r for r in planned() if r.endswith("_train"))
    snakemake(f"{study}_llc", "--omit-from", *trainers, "--cores", "1")
    rule = None
    for line in snakemake(f"{study}_llc", "-n").splitlines():
        words = line.split()
        if words[:1] in (["rule"], ["localrule"]):
            rule = words[1].rstrip(":")
        elif words[:1] == ["output:"] and rule in trainers:
            for path in (w.rstrip(",") for w in words[1:]):
                (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / path).touch()
    assert list(tmp_path.glob("results/**/history.h5")), "no history in the plan"
    plan = planned()
    assert f"{study}_llc_estimate" in plan, plan
    assert not [r for r in plan if r.endswith("_train")], plan


def test_grokking_llc_reads_the_single_runs_decoder_at_quick_level(tmp_path):
    """Single runs snapshot the decoder, sweeps do not; at quick level the estimator reads both
    single runs' histories, and its batched loss at a snapshot is the training loss the trainer
    recorded there (the MSE on the run's training pairs)."""
    from learning_dynamics import config
    from learning_dynamics.grokking import llc as gk
    from learning_dynamics.grokking.runs import run_config
    from learning_dynamics.grokking.train import make_data, train
    from learning_dynamics.history import History
    from learning_dynamics.io import read_arrays

    torch.set_num_threads(1)  # the trainer's tiny bmm's crawl when threads fight for cores
    study = config.load("quick")["grokking"]
    assert not run_config(study, "lr")["snapshot_decoder"]
    paths = {}
    for run in gk.RUNS:
        cfg = run_config(study, run) | {"steps": 400, "snapshot_every": 100}
        data, history = tmp_path / f"{run}_data.h5", tmp_path / f"{run}_history.h5"
        make_data(cfg, str(data))
        train(cfg, str(data), str(history))
        paths[run] = (str(history), str(data))
    with History(paths["default"][0]) as h:
        assert set(h.names("params")) == set(gk.NAMES)
        recorded = h.read("metrics", "loss")[[0, 100], 0]  # metrics before the step's update
    steps, params, _ = gk.snapshots(paths["default"][0])
    loss, _ = gk.training_loss(read_arrays(paths["default"][1]))
    at = {k: torch.from_numpy(v[:2]) for k, v in params.items()}
    assert list(steps[:2]) == [0, 100]
    assert np.allclose(loss(at).numpy(), recorded, rtol=1e-5)
    out, summary = tmp_path / "llc.h5", tmp_path / "summary.json"
    histories, data = zip(*paths.values(), strict=True)
    gk.estimate(study["llc"], list(histories), list(data), str(out), str(summary))
    x = read_arrays(out)
    for run in gk.RUNS:
        assert list(x[f"{run}/step"]) == [0, 400]
        assert x[f"{run}/trace"].shape == (study["llc"]["steps"], 2, study["llc"]["chains"])
        assert np.isfinite(x[f"{run}/llc"]).all()
        assert x[f"{run}/ed/pcs"].shape[0] == 5  # every stored snapshot


def test_config_refuses_an_unstable_localization_step_and_a_missing_draw():
    from learning_dynamics import config

    cfg = config.load("default")
    cfg["superposition"]["llc"]["sweep"]["gamma"] = [1000.0]
    cfg["linear"]["llc"]["burn_in"] = cfg["linear"]["llc"]["steps"]
    with pytest.raises(config.ConfigError) as err:
        config.check_config(cfg)
    assert "superposition.llc: lr·γ/nβ = 200.0·1000.0/30000.0" in str(err.value)
    assert "linear.llc.burn_in" in str(err.value)
