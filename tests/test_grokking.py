"""Grokking study: RQI, the batched trainer against the seed-style run, the generalising control,
members leaving the batch, the authors' start, the effective theory's count, phase diagrams over
seeds and the fraction sweep's critical fractions."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import default_run

from learning_dynamics.grokking.analysis import (
    PHASES,
    cell_phases,
    critical_fraction,
    fraction_table,
    median_steps,
    member_table,
    phase,
    predicted_accuracy,
    weight_decay_effect,
)
from learning_dynamics.grokking.analysis import (
    cells as cells_verb,
)
from learning_dynamics.grokking.figures import pairs_label, plot_phases
from learning_dynamics.grokking.model import (
    authors_modules,
    init_params,
    member_data,
    pairs,
    parallelogram_matrix,
    parallelograms,
    rqi,
)
from learning_dynamics.grokking.reference import seed_style_run
from learning_dynamics.grokking.runs import RunConfig, jobs, run_config
from learning_dynamics.grokking.theory import (
    constraint_matrix,
    constraint_rank,
    crossing,
    effective_dynamics,
    effective_first_step,
    forced_share,
    forces_line,
    representation_rqi,
)
from learning_dynamics.grokking.train import SettlingTrainer, build_trainer, make_data
from learning_dynamics.io import read_arrays, write_arrays
from learning_dynamics.training import run_steps

torch.set_num_threads(1)  # the machine's cores are shared; one thread is also the fastest here

P = 10
ANALYSIS = {
    "acc": 0.9,
    "rqi": 0.99,
    "rqi_paper": 0.95,
    "comprehension_window": 1000,
    "p": P,
    "rqi_eps": 0.01,
    "steps": 500,
}


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


def default_config(**overrides) -> RunConfig:
    """The seed's single run (config.yaml's `default` run) with `overrides`."""
    return RunConfig.from_dict(default_run("grokking", "default", **overrides))


def job_data(cfg: RunConfig, tmp_path) -> dict:
    path = tmp_path / f"data{len(list(tmp_path.glob('data*.h5')))}.h5"
    make_data(
        {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}, str(path)
    )
    return read_arrays(path)


def run_ensemble(cfg: RunConfig, tmp_path, steps: int):
    trainer = build_trainer(cfg, job_data(cfg, tmp_path))
    parts = [run_steps(trainer, a, min(a + 100, steps)) for a in range(0, steps, 100)]
    metrics = {k: torch.cat([p[k] for p in parts]).numpy() for k in parts[0]}
    return trainer, metrics


def test_ensemble_member_equals_single_seed_style_run(tmp_path):
    """Member 1 of a mixed ensemble (other members differ in seed, size, lr, wd) against the
    seed-style nn.Module + torch.optim.Adam/AdamW run with its settings."""
    cfg = default_config(
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
    cfg = default_config(seeds=(4, 5), train_nums=(45, 45), rep_lrs=(1e-3,) * 2,
                         dec_lrs=(1e-3,) * 2, dec_wds=(0.0, 1.0))  # fmt: skip
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
    cfg = default_config(seeds=(4, 4), train_nums=(45, 45), rep_lrs=(1e-4, 1e-3),
                         dec_lrs=(1e-3, 1e-4), dec_wds=(0.0, 0.0))  # fmt: skip
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
        config = run_config(study, "lr", job) | {"steps": 500}
        cfg = RunConfig.from_dict(config)
        data = job_data(cfg, tmp_path)
        start = build_trainer(cfg, data).snapshot()["params"]["rep"]
        trainer, m = run_ensemble(cfg, tmp_path, config["steps"])
        path = tmp_path / f"extract{job}.h5"
        arrays = {"metric_step": np.arange(config["steps"]), **m}
        end = trainer.snapshot()["params"]["rep"]
        arrays |= {"rep": torch.stack([start, end]).numpy(), "member/mask": data["mask"]}
        arrays |= {f"member/{k}": np.asarray(config[k]) for k in config if k.endswith("s")}
        write_arrays(path, {k: v for k, v in arrays.items() if k != "member/steps"})
        extracts.append(str(path))
    table = member_table(extracts, ANALYSIS)
    side = study["lr_grid"]["rep_lr"]["num"]
    seeds = study["lr_grid"]["count"]
    assert len(table) == side * side * seeds
    cells = cell_phases(table, "rep_lr")
    grid = cells.pivot(index="rep_lr", columns="dec_lr", values="majority")
    assert grid.shape == (side, side) and grid.notna().all().all()
    assert (cells.seeds == seeds).all() and (cells[list(PHASES)].sum(axis=1) == seeds).all()
    assert set(table.phase) <= set(PHASES) and table.phase.nunique() >= 2
    # Delay is defined exactly where both times are.
    assert (table.delay.notna() == (table.t_train.notna() & table.t_test.notna())).all()
    # The figure draws from the cells files alone, as the rules make them: members.csv -> verb
    # `cells` -> cells.csv (this grid relabelled stands in for the wd grid).
    table.to_csv(tmp_path / "lr_members.csv", index=False)
    table.assign(dec_wd=table.rep_lr).to_csv(tmp_path / "wd_members.csv", index=False)
    csv = [str(tmp_path / f"{name}_cells.csv") for name in ("lr", "wd")]
    cells_verb(str(tmp_path / "lr_members.csv"), "rep_lr", csv[0])
    cells_verb(str(tmp_path / "wd_members.csv"), "dec_wd", csv[1])
    pd.testing.assert_frame_equal(pd.read_csv(csv[0]), cells, check_dtype=False)
    plot_phases(*csv, str(tmp_path / "phases.pdf"), str(tmp_path / "phases.png"), 500, 0.0, 1e-3)
    assert (tmp_path / "phases.png").stat().st_size > 10_000


def test_majority_phase_equals_a_loop_over_members():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "rep_lr": np.repeat([1e-4, 1e-3, 1e-2], 20),
            "dec_lr": np.tile(np.repeat([1e-4, 1e-3, 1e-2, 1e-1], 5), 3),
            "phase": rng.choice(PHASES, 60),
            "delay": rng.uniform(0, 2000, 60),
        }
    )
    cells = cell_phases(table, "rep_lr")
    assert len(cells) == 12
    for cell in cells.itertuples():
        members = table[(table.rep_lr == cell.rep_lr) & (table.dec_lr == cell.dec_lr)]
        counts = Counter(members.phase)
        best, top = None, -1
        for ph in PHASES:  # first in PHASES wins a tie
            if counts[ph] > top:
                best, top = ph, counts[ph]
        assert cell.majority == best and cell.agree == top and cell.seeds == 5
        assert [getattr(cell, ph) for ph in PHASES] == [counts[ph] for ph in PHASES]


def test_seed_of_a_multi_seed_cell_equals_its_single_run(tmp_path, quick_config):
    """A member of the diagram's batched job (several seeds per cell, members leaving the
    batch once settled) against the same cell and seed trained alone. (At the grid's largest
    learning rates, 1e-2, the dynamics amplify rounding differences between batched and
    single products within a few hundred steps, so the member is taken from a tamer cell.)"""
    study = quick_config["grokking"]
    config = run_config(study, "lr", 0) | {"steps": 300}
    cfg = RunConfig.from_dict(config)
    assert cfg.settle and len(set(cfg.seeds)) >= 2
    same_cell = [
        e
        for e in range(1, cfg.members)
        if (cfg.rep_lrs[e], cfg.dec_lrs[e]) == (cfg.rep_lrs[e - 1], cfg.dec_lrs[e - 1])
        and max(cfg.rep_lrs[e], cfg.dec_lrs[e]) < 5e-3
    ]
    k = same_cell[-1]  # a seed of a cell whose other seed (k - 1) trains beside it
    assert cfg.seeds[k] != cfg.seeds[k - 1]
    keys = ("seeds", "train_nums", "rep_lrs", "dec_lrs", "dec_wds")
    single = RunConfig.from_dict(config | {key: [getattr(cfg, key)[k]] for key in keys})
    outs = [run_ensemble(c, tmp_path, 300)[1] for c in (cfg, single)]
    for m in outs[0]:
        np.testing.assert_allclose(outs[0][m][:, k], outs[1][m][:, 0], rtol=1e-4, atol=1e-5)


def test_settled_members_leave_the_batch_and_the_rest_train_on_unchanged(tmp_path):
    """Member 0 (decoder lr 1e-3, the authors' start) settles early; member 1 trains on in a
    batch of one, as in the batch that keeps everyone (up to rounding)."""
    base = dict(seeds=(2, 1), train_nums=(45, 45), rep_lrs=(1e-3, 1e-3), dec_lrs=(1e-3, 1e-4),
                dec_wds=(0.0, 0.0), init="authors", output_dim=30, settle_rqi=0.99)  # fmt: skip
    data = job_data(default_config(**base), tmp_path)
    out = {}
    for settle in (False, True):
        trainer = build_trainer(default_config(**base, settle=settle), data)
        parts = [run_steps(trainer, a, a + 100) for a in range(0, 500, 100)]
        out[settle] = {m: torch.cat([p[m] for p in parts]).numpy() for m in parts[0]}
    assert isinstance(trainer, SettlingTrainer) and list(trainer.active) == [1]
    kept, left = out[False], out[True]
    for m in kept:  # a batch of one rounds its products differently from a batch of two
        np.testing.assert_allclose(kept[m][:, 1], left[m][:, 1], rtol=1e-5, atol=1e-6)
    # member 0 reached all three thresholds at the same steps, then froze
    for m, level in (("train_acc", 0.9), ("test_acc", 0.9), ("rqi", 0.99)):
        assert (kept[m][:, 0] >= level).argmax() == (left[m][:, 0] >= level).argmax() > 0
    assert np.all(left["loss"][-100:, 0] == left["loss"][-1, 0])  # frozen: carried forward


def test_authors_start_is_uniform_representation_and_30_output_dims():
    data = member_data(10, 45, 7, 10, 30, modulo=False, init="authors")
    rng = np.random.RandomState(7)  # train_add: output templates first, then the split
    np.testing.assert_array_equal(data["y_templates"], rng.normal(0, 1, (19, 30)).astype("f4"))
    assert sorted(np.flatnonzero(data["mask"])) == sorted(rng.choice(55, 45, replace=False))
    rep, decoder = authors_modules(7, 10, 30, 200)
    assert rep.shape == (10, 1) and rep.min() >= -0.5 and rep.max() < 0.5
    assert decoder.l3.out_features == 30
    params = init_params([7, 8], np.zeros((2, 10, 10), "f4"), 30, 200, init="authors")
    assert params["W3"].shape == (2, 200, 30)
    torch.testing.assert_close(params["rep"][0], rep)
    notebook = init_params([7], member_data(10, 45, 7, 10, 10, False)["x_templates"][None], 10, 200)
    assert notebook["rep"].std() < params["rep"].std()  # the random encoder's output: less spread


def test_fraction_runs_follow_the_inits_and_their_output_dims(quick_config):
    study = quick_config["grokking"]
    for init in study["fraction"]["inits"]:
        config = run_config(study, f"fraction_{init}")
        assert config["init"] == init and config["settle_rqi"] == 0.99
        expected = study["authors_output_dim"] if init == "authors" else study["output_dim"]
        assert config["output_dim"] == expected
    assert run_config(study, "default")["settle"] is False


def test_theory_hand_cases():
    """p = 4: the parallelograms are E0+E2 = 2E1 (sum 2), E0+E3 = E1+E2 (sum 3) and
    E1+E3 = 2E2 (sum 4); the line needs rank p - 2 = 2."""
    index = {tuple(pq): k for k, pq in enumerate(pairs(4))}

    def mask(*chosen):
        m = np.zeros(len(index), dtype=bool)
        m[[index[c] for c in chosen]] = True
        return m

    chain = mask((0, 2), (1, 1), (1, 3), (2, 2))  # 0-1-2 and 1-2-3 chained: every symbol
    free = mask((0, 2), (1, 1), (2, 2), (0, 0), (3, 3))  # symbol 3 in no parallelogram
    cross = mask((0, 2), (1, 1), (0, 3), (1, 2))  # sums 2 and 3
    ranks = constraint_rank(np.stack([chain, free, cross]), 4)
    assert list(ranks) == [2, 1, 2]
    assert list(forces_line(np.stack([chain, free, cross]), 4)) == [True, False, True]
    assert not forces_line(np.zeros(10, bool), 4) and forces_line(np.ones(10, bool), 4)


def test_theory_rank_equals_a_loop_and_p3_share_is_closed_form():
    rng = np.random.default_rng(1)
    masks = rng.random((200, 21)) < rng.uniform(0.2, 0.9, (200, 1))  # p = 6: 21 pairs
    a = constraint_matrix(6)
    par = parallelograms(6)
    assert len(a) == len(par)
    for m, rank in zip(masks, constraint_rank(masks, 6), strict=True):
        rows = [a[q] for q, (x, y) in enumerate(par) if m[x] and m[y]]
        assert rank == (np.linalg.matrix_rank(np.array(rows)) if rows else 0)
    # p = 3: one parallelogram, (0,2)-(1,1); a set of size k forces the line iff it holds both.
    frame = forced_share(3, samples=10, exact_max=100, seed=0)
    assert frame.exact.all()
    expected = [math.comb(4, k - 2) / math.comb(6, k) if k >= 2 else 0.0 for k in range(7)]
    np.testing.assert_allclose(frame.share, expected)
    # Sampled sizes: p = 10 is sampled in the middle and exact at the ends.
    big = forced_share(10, samples=50, exact_max=60, seed=0)
    assert big.exact.tolist()[:2] == [True, True] and not big.exact[27]
    assert big.share.iloc[0] == 0 and big.share.iloc[-1] == 1 and big.sets[27] == 50


def test_crossing_and_critical_fraction_interpolate_the_share():
    assert crossing([0.1, 0.2, 0.3], [0.0, 0.25, 0.75]) == pytest.approx(0.25)
    assert crossing([0.1, 0.2], [0.6, 1.0]) == 0.1 and crossing([0.1, 0.2], [0, 0.4]) is None
    fr = np.array([0.2, 0.4, 0.6, 0.8])
    # share of seeds reaching the criterion: interpolated where it first reaches 1/2
    assert critical_fraction(fr, np.array([0.0, 0.2, 0.8, 1.0])) == pytest.approx(0.5)
    assert critical_fraction(fr, np.array([0.0, 0.5, 0.4, 1.0])) == pytest.approx(0.4)
    assert critical_fraction(fr, np.zeros(4)) is None
    # already at 1/2 at the smallest size: below the grid, not a floor value
    assert critical_fraction(fr, np.array([0.6, 0.8, 1.0, 1.0])) is None
    # median over seeds, never = +inf: finite exactly when more than half the seeds get there
    assert median_steps(pd.Series([100.0, np.nan, 300.0])) == 300.0
    assert median_steps(pd.Series([100.0, np.nan, np.nan, 300.0])) == np.inf
    table = pd.DataFrame(
        {
            "train_num": [20, 20, 20, 40, 40, 40],
            "final_test_acc": [0.1, 0.2, 0.3, 1.0, 0.9, 0.8],
            "t_rqi_paper": [np.nan, np.nan, 500, 300, 400, np.nan],
            "t_rqi": [np.nan, np.nan, np.nan, 350, 450, np.nan],
            "t_test": [np.nan] * 3 + [600, 700, 800],
        }
    )
    frac = fraction_table(table, 10)
    assert frac.rqi_paper_median.tolist() == [np.inf, 400.0]
    assert frac.rqi_reached.tolist() == pytest.approx([0.0, 2 / 3])
    assert frac.fraction.tolist() == pytest.approx([20 / 55, 40 / 55])


def test_predicted_accuracy_against_a_plain_loop_and_the_line():
    """Acc-hat (Fig. 3): a test pair counts when a training pair of the same sum forms a
    parallelogram the representation satisfies. A line satisfies all of them, so a test pair
    is predicted exactly when its sum occurs in the training set; checked against a loop over
    pairs on random representations (where few parallelograms hold)."""
    p, rng = 6, np.random.default_rng(0)
    ij = pairs(p)
    masks = rng.random((40, len(ij))) < 0.5
    reps = rng.normal(size=(40, p))
    reps[:20] = np.arange(p) * rng.uniform(0.5, 2, (20, 1)) + rng.normal(size=(20, 1))
    reps[20:30, 3] = reps[20:30, 1] + reps[20:30, 2] - reps[20:30, 0]  # one parallelogram holds
    got = predicted_accuracy(reps, masks, eps=0.01)
    for e in range(40):
        z = reps[e] / reps[e].std(ddof=1)
        right = masks[e].copy()
        for a in np.flatnonzero(~masks[e]):
            i, j = ij[a]
            right[a] = any(
                masks[e][b] and m + n == i + j and (z[i] + z[j] - z[m] - z[n]) ** 2 < 0.01
                for b, (m, n) in enumerate(ij)
                if b != a
            )
        assert got[e] == pytest.approx(right.mean())
        if e < 20:  # the line: exactly the test pairs whose sum is among the training sums
            sums = set(ij[masks[e]].sum(axis=1))
            assert got[e] == pytest.approx(
                np.mean([m or s in sums for m, s in zip(masks[e], ij.sum(axis=1), strict=True)])
            )


def test_effective_dynamics_in_closed_form():
    """Near the line, gradient descent on l_eff = x^T H x / x^T x (H: the training set's
    parallelograms) shrinks a deviation along an eigenvector v of H (eigenvalue lam) by
    1 - 2 lr lam / |x|^2 per step; a line is a fixed point with RQI 1."""
    p, lr, steps = 10, 1e-3, 400
    mask = np.zeros((1, len(pairs(p))), dtype=bool)
    mask[0, np.random.default_rng(1).permutation(len(mask[0]))[:45]] = True
    assert forces_line(mask, p)[0]
    a, par = constraint_matrix(p), parallelograms(p)
    inside = mask[0, par[:, 0]] & mask[0, par[:, 1]]
    lam, vec = np.linalg.eigh(a[inside].T @ a[inside])
    line = (np.arange(p) - 4.5) / np.arange(p).std(ddof=1)
    k = 2  # the smallest nonzero eigenvalue: eigenvectors 0 and 1 span constants and the line
    assert lam[1] < 1e-9 < lam[2]
    start = line + 1e-3 * vec[:, k]
    traj = effective_dynamics(start[None], mask, np.array([lr]), steps)
    z = (line**2).sum()
    got = traj[-1, 0] @ vec[:, k] / (traj[0, 0] @ vec[:, k])
    assert got == pytest.approx((1 - 2 * lr * lam[k] / z) ** (steps - 1), rel=1e-3)
    fixed = effective_dynamics(line[None], mask, np.array([lr]), 50)
    np.testing.assert_allclose(fixed[-1, 0], line, atol=1e-12)
    assert representation_rqi(fixed[-1])[0] == 1.0
    # from a random start the representation becomes the line: RQI > 0.95 in finite time
    t = effective_first_step(
        np.random.default_rng(2).normal(size=(1, p)), mask, [1e-2], 5000, 0.95, 0.01
    )
    assert np.isfinite(t[0]) and t[0] > 0


def test_weight_decay_effect_reads_memorization_turned_into_comprehension():
    cells = pd.DataFrame(
        {
            "dec_lr": [1e-3] * 3 + [1e-2] * 3,
            "dec_wd": [0.0, 1.0, 2.0] * 2,
            "majority": ["memorization", "comprehension", "confusion"]
            + ["comprehension", "comprehension", "memorization"],
        }
    )
    got = weight_decay_effect(cells)
    assert got == {"memorization_to_comprehension": {"0.001": [1.0]}, "decoder_lrs": 1, "any": True}
    assert not weight_decay_effect(cells[cells.dec_lr == 1e-2])["any"]


def test_pairs_label_follows_the_config():
    assert pairs_label(10, 45) == "p = 10, 45 of 55 pairs"
    assert pairs_label(7, 20) == "p = 7, 20 of 28 pairs"


def test_sweep_jobs_cover_the_grid_once(quick_config):
    study = {**quick_config["grokking"], "fraction": {**quick_config["grokking"]["fraction"]}}
    run = "fraction_notebook"
    for n_jobs in (1, 2, 4):
        study["fraction"]["jobs"] = n_jobs
        parts = [run_config(study, run, k) for k in range(jobs(study, run))]
        members = [m for c in parts for m in zip(c["seeds"], c["train_nums"], strict=True)]
        sizes, seeds = study["fraction"]["train_nums"], study["fraction"]["count"]
        assert len(parts) == n_jobs and all(len(c["seeds"]) > 0 for c in parts)
        assert sorted(members) == sorted((s, n) for n in sizes for s in range(seeds))
