"""Grokking study: RQI, the batched trainer against the seed-style run, the generalising control,
and a small phase diagram."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import ROOT, snakemake

from learning_dynamics.grokking.analysis import PHASES, member_table, phase
from learning_dynamics.grokking.figures import plot_phases
from learning_dynamics.grokking.model import (
    build_trainer,
    make_data,
    pairs,
    parallelogram_matrix,
    parallelograms,
    rqi,
)
from learning_dynamics.grokking.reference import seed_style_run
from learning_dynamics.grokking.runs import RunConfig, jobs, run_config
from learning_dynamics.history import read_arrays, write_arrays

torch.set_num_threads(1)  # the machine's cores are shared; one thread is also the fastest here

P = 10
ANALYSIS = {"acc": 0.9, "rqi": 0.99, "comprehension_window": 1000, "p": P}


def loop_rqi(rep: np.ndarray, eps: float = 0.01) -> float:
    """The seed's RQI: a Python loop over the parallelograms of one representation (p, d)."""
    scaled = rep / rep.std(axis=0, ddof=1)
    ij = pairs(P)
    good = 0
    quads = parallelograms(P)
    for a, b in quads:
        (i, j), (m, n) = ij[a], ij[b]
        good += np.mean((scaled[i] + scaled[j] - scaled[m] - scaled[n]) ** 2) < eps
    return good / len(quads)


def test_parallelograms_are_the_equal_sum_pairs():
    quads = parallelograms(P)
    s = pairs(P).sum(1)
    # sums s = 0..18 have min(s, 18 - s) // 2 + 1 pairs each: sum over C(k, 2) = 70 for p = 10
    counts = np.bincount(s)
    assert len(quads) == sum(k * (k - 1) // 2 for k in counts) == 70
    assert np.all(s[quads[:, 0]] == s[quads[:, 1]]) and np.all(quads[:, 0] < quads[:, 1])


def test_rqi_of_linear_representation_is_one_and_of_random_near_zero():
    c = parallelogram_matrix(P)
    linear = (0.37 * torch.arange(P) - 1.2)[:, None]
    assert rqi(linear, c).item() == 1.0
    assert rqi(-5 * linear + 3, c).item() == 1.0  # invariant to scale and shift
    random = torch.randn(200, P, 1, generator=torch.Generator().manual_seed(0))
    values = rqi(random, c)
    assert values.shape == (200,)
    assert values.mean().item() < 0.1


def test_vectorised_rqi_equals_plain_loop():
    c = parallelogram_matrix(P)
    g = torch.Generator().manual_seed(1)
    # Random, plus nearly linear ones so that both outcomes of the threshold occur.
    reps = [
        *torch.randn(20, P, 1, generator=g),
        *(torch.arange(P).float()[None, :, None] + 0.1 * torch.randn(20, P, 1, generator=g)),
        *torch.randn(5, P, 3, generator=g),  # higher-dimensional representations too
    ]
    expected = [loop_rqi(r.numpy()) for r in reps]
    got = [rqi(r, c).item() for r in reps]
    assert np.allclose(got, expected, atol=1e-7)
    assert 0 < np.mean(got) < 1 and max(got) > 0.5


def job_data(cfg: RunConfig, tmp_path) -> dict:
    path = tmp_path / "data.h5"
    make_data(
        {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}, str(path)
    )
    return read_arrays(path)


def run_ensemble(cfg: RunConfig, tmp_path, steps: int):
    trainer = build_trainer(cfg, job_data(cfg, tmp_path))
    rows = [trainer.step(s) for s in range(steps)]
    metrics = {k: torch.stack([r[k] for r in rows]).numpy() for k in rows[0]}
    return trainer, metrics


def test_ensemble_member_equals_single_seed_style_run(tmp_path):
    """Member 1 of a mixed ensemble (other members differ in seed, size, lr, wd) against the
    seed-style nn.Module + torch.optim.Adam/AdamW run with its settings."""
    cfg = RunConfig(
        seeds=(3, 4, 7),
        train_nums=(30, 40, 45),
        rep_lrs=(1e-3, 3e-4, 1e-4),
        dec_lrs=(1e-4, 2e-3, 1e-3),
        dec_wds=(0.0, 0.5, 3.0),
    )
    steps = 60
    trainer, metrics = run_ensemble(cfg, tmp_path, steps)
    ref = seed_style_run(steps, seed=4, train_num=40, rep_lr=3e-4, dec_lr=2e-3, dec_wd=0.5)
    for name in ("loss", "train_acc", "test_acc", "rqi"):
        np.testing.assert_allclose(metrics[name][:, 1], ref[name], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trainer.p["rep"][1, :, 0].numpy(), ref["rep"], atol=1e-5)
    np.testing.assert_allclose(trainer.p["W2"][1].T.numpy(), ref["W2"], atol=1e-5)
    assert metrics["loss"][-1, 1] < 0.95 * metrics["loss"][0, 1]  # it did train


def test_state_dict_resumes_bit_for_bit(tmp_path):
    cfg = RunConfig(seeds=(4, 5), train_nums=(45, 45), rep_lrs=(1e-3,) * 2, dec_lrs=(1e-3,) * 2,
                    dec_wds=(0.0, 1.0))  # fmt: skip
    data = job_data(cfg, tmp_path)
    a = build_trainer(cfg, data)
    for s in range(5):
        a.step(s)
    state = a.state_dict()
    tail_a = [a.step(s)["loss"] for s in range(5, 10)]
    b = build_trainer(cfg, data)
    b.load_state_dict(state)
    tail_b = [b.step(s)["loss"] for s in range(5, 10)]
    assert torch.equal(torch.stack(tail_a), torch.stack(tail_b))


def test_swapped_learning_rates_generalise_while_the_default_memorises(tmp_path):
    cfg = RunConfig(seeds=(4, 4), train_nums=(45, 45), rep_lrs=(1e-4, 1e-3), dec_lrs=(1e-3, 1e-4),
                    dec_wds=(0.0, 0.0))  # fmt: skip
    _, m = run_ensemble(cfg, tmp_path, 3000)
    default, swapped = 0, 1
    assert m["train_acc"][:, default].max() == 1.0  # it fits the training pairs ...
    assert m["test_acc"][:, default].max() < 0.5  # ... but never generalises
    assert m["rqi"][:, default].max() < 0.5
    assert m["test_acc"][:, swapped].max() >= 0.9
    assert m["rqi"][:, swapped].max() >= 0.99
    assert m["loss"][0, 0] == pytest.approx(0.82493395, abs=1e-6)  # the seed's epoch-0 loss


def test_phase_rules():
    nan = float("nan")
    assert phase(100, 300, 1000) == "comprehension"
    assert phase(100, 5000, 1000) == "grokking"
    assert phase(100, nan, 1000) == "memorization"
    assert phase(nan, nan, 1000) == "confusion"


def test_small_phase_diagram_has_every_cell_filled_and_labelled(tmp_path, quick_config):
    study = quick_config["grokking"]
    n_jobs = jobs(study, "lr")
    assert n_jobs == study["lr_grid"]["jobs"] >= 2
    extracts = []
    for job in range(n_jobs):
        config = run_config(study, "lr", job) | {"steps": 800}
        cfg = RunConfig.from_dict(config)
        trainer, m = run_ensemble(cfg, tmp_path, config["steps"])
        path = tmp_path / f"extract{job}.h5"
        arrays = {"metric_step": np.arange(config["steps"]), **m}
        arrays |= {f"member/{k}": np.asarray(config[k]) for k in config if k.endswith("s")}
        write_arrays(path, {k: v for k, v in arrays.items() if k != "member/steps"})
        extracts.append(str(path))
    table = member_table(extracts, ANALYSIS)
    side = study["lr_grid"]["rep_lr"]["num"]
    grid = table.pivot(index="rep_lr", columns="dec_lr", values="phase")
    assert grid.shape == (side, side) and grid.notna().all().all()
    assert set(table.phase) <= set(PHASES) and table.phase.nunique() >= 2
    # Delay is defined exactly where both times are.
    assert (table.delay.notna() == (table.t_train.notna() & table.t_test.notna())).all()
    # The figure draws from the tables alone (this grid relabelled stands in for the wd grid).
    table.to_csv(tmp_path / "lr.csv", index=False)
    table.assign(dec_wd=table.rep_lr).to_csv(tmp_path / "wd.csv", index=False)
    csv = [str(tmp_path / f"{name}.csv") for name in ("lr", "wd")]
    plot_phases(*csv, str(tmp_path / "phases.pdf"), str(tmp_path / "phases.png"))
    assert (tmp_path / "phases.png").stat().st_size > 10_000


def test_quick_workflow_dry_runs(tmp_path):
    result = snakemake(
        tmp_path,
        "-n",
        "grokking_curves",
        "grokking_representation",
        "grokking_phases",
        "grokking_fraction",
        "--configfile",  # takes several files: targets go before it
        str(ROOT / "config" / "quick.yaml"),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "grokking_train" in result.stdout


def test_sweep_jobs_cover_the_grid_once(quick_config):
    study = {**quick_config["grokking"], "fraction": {**quick_config["grokking"]["fraction"]}}
    for n_jobs in (1, 2, 4):
        study["fraction"]["jobs"] = n_jobs
        parts = [run_config(study, "fraction", k) for k in range(jobs(study, "fraction"))]
        members = [m for c in parts for m in zip(c["seeds"], c["train_nums"], strict=True)]
        sizes, seeds = study["fraction"]["train_nums"], study["fraction"]["count"]
        assert len(parts) == n_jobs and all(len(c["seeds"]) > 0 for c in parts)
        assert sorted(members) == sorted((s, n) for n in sizes for s in range(seeds))
