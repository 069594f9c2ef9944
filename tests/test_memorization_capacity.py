"""Memorization capacity sweeps: the authors' layout against nn.MultiheadAttention and against
the per-head layout, their recipe (one pool reshuffled per epoch, LinearLR per epoch), batched
repeats against single runs, the jobs a sweep makes, and the analysis' numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import load_config

from learning_dynamics.memorization import runs
from learning_dynamics.memorization.cells.capacity import (
    PAPER,
    PAPER_DIAG,
    PAPER_DIAG_H,
    d_law,
    facts,
    facts_per_head,
    lower_bound,
    power_exponent,
    power_law,
    redraw_spread,
    slopes_in_heads,
)
from learning_dynamics.memorization.laws import Law, PoolSampler, make_law
from learning_dynamics.memorization.model import (
    Arch,
    init_params,
    skip_coefficients,
    transformer_forward,
)
from learning_dynamics.memorization.train import JobTrainer, linear_lr

torch.set_num_threads(1)
CPU = torch.device("cpu")


def association(n: int, seed: int = 0) -> Law:
    return make_law(runs.association([n, n, 1]), n, seed)[0]


def logits(arch: Arch, p: dict, x: torch.Tensor, tables: bool) -> torch.Tensor:
    keep = skip_coefficients([{}] * x.shape[0], CPU)
    return transformer_forward(p, arch, keep, x, tables=tables)[0]


def authors_forward(p: dict, k: int, x: torch.Tensor, heads: int) -> torch.Tensor:
    """The authors' final `Transformer.forward` written with nn.MultiheadAttention(d_head, 1)
    modules carrying member k's weights: logits at x2's position for inputs x (B, 2)."""
    hd = p["P"].shape[-1]
    res = p["E"][k][x]  # (B, 2, d): the stream starts as E[x], no layer norm anywhere
    comp = (res @ p["C"][k].T if "C" in p else res) + p["P"][k][:2]
    mask = torch.triu(torch.ones(2, 2, dtype=torch.bool), 1)
    total = 0
    for h in range(heads):
        mha = torch.nn.MultiheadAttention(hd, 1, bias=False, batch_first=True)
        rows = slice(h * hd, (h + 1) * hd)
        with torch.no_grad():
            mha.in_proj_weight.copy_(p["QKV"][k, 0, :, rows].reshape(3 * hd, hd))
            mha.out_proj.weight.copy_(p["O"][k, 0, :, rows])
        total = total + mha(comp, comp, comp, attn_mask=mask, need_weights=False)[0]
    res = (total @ p["D"][k].T if "D" in p else total) + res
    return (res @ p["U"][k].T)[:, 1]


@pytest.mark.parametrize("d, d_head", [(6, 6), (7, 4), (3, 5)])
def test_shared_layout_is_the_authors_model(d, d_head):
    arch = Arch(N=9, d=d, para=3, d_head=d_head, layout="shared", norm=False)
    p = init_params(arch, [3, 4])
    assert ("C" in p) == (d != d_head) and p["P"].shape[-1] == d_head  # P in d_head dims
    x = torch.randint(0, 9, (2, 40, 2), generator=torch.Generator().manual_seed(0))
    for tables in (True, False):
        ours = logits(arch, p, x, tables)
        for k in range(2):
            with torch.no_grad():
                theirs = authors_forward(p, k, x[k], heads=3)
            torch.testing.assert_close(ours[k], theirs, atol=2e-5, rtol=1e-4)


def test_shared_layout_equals_per_head_where_derivable():
    """d = d_head: the shared layout has no C, D and is the per-head layout without layer norm,
    and explicit identity maps C = D = I change nothing. d > d_head: the shared model is the
    per-head model with Q_h, K_h, V_h := Q_h·C (etc.), O_h := D·O_h and P := P·(CCᵀ)⁻¹C
    (C has full row rank, so C maps that P back to the shared P)."""
    x = torch.randint(0, 8, (1, 64, 2), generator=torch.Generator().manual_seed(1))
    shared = Arch(N=8, d=5, para=4, d_head=5, layout="shared", norm=False)
    per_head = Arch(N=8, d=5, para=4, d_head=5, layout="per_head", norm=False)
    p = init_params(shared, [0])
    eye = {"C": torch.eye(5)[None], "D": torch.eye(5)[None]}
    for tables in (True, False):
        ref = logits(shared, p, x, tables)
        assert torch.equal(ref, logits(per_head, p, x, tables))
        torch.testing.assert_close(logits(shared, {**p, **eye}, x, tables), ref)

    shared = Arch(N=8, d=7, para=3, d_head=3, layout="shared", norm=False)
    per_head = Arch(N=8, d=7, para=3, d_head=3, layout="per_head", norm=False)
    p = {k: v.double() for k, v in init_params(shared, [2]).items()}
    c, dd = p.pop("C"), p.pop("D")
    q = dict(p)
    q["QKV"] = p["QKV"] @ c[:, None, None]  # (1, L, 3, H·hd, d)
    q["O"] = dd[:, None] @ p["O"]  # (1, L, d, H·hd)
    q["P"] = p["P"] @ torch.linalg.solve(c @ c.mT, c)
    for tables in (True, False):
        torch.testing.assert_close(
            logits(shared, {**p, "C": c, "D": dd}, x, tables), logits(per_head, q, x, tables)
        )


def test_shared_layout_starts_as_the_authors_modules():
    """nn.Linear weights uniform in ±1/√fan_in (E, U: fan_in d; P: d_head; C: d; D: d_head),
    in-projections xavier-uniform ±√(6/(4·d_head)), out-projections ±1/√d_head."""
    d, hd = 12, 6
    arch = Arch(N=40, d=d, para=30, d_head=hd, layout="shared", norm=False)
    p = init_params(arch, [0, 1])
    bounds = {
        "E": d**-0.5,
        "U": d**-0.5,
        "P": hd**-0.5,
        "C": d**-0.5,
        "D": hd**-0.5,
        "QKV": (6 / (4 * hd)) ** 0.5,
        "O": hd**-0.5,
    }
    assert set(p) == set(bounds)
    for name, bound in bounds.items():
        v = p[name]
        assert v.abs().max() <= bound, name
        if v[0].numel() > 200:  # uniform: std = bound/√3, and the members differ
            assert v.std().item() == pytest.approx(bound / 3**0.5, rel=0.08), name
        assert not torch.equal(v[0], v[1]), name


def test_pool_is_drawn_once_and_every_epoch_is_a_permutation_of_it():
    law = association(6, seed=3)
    two = Law(*(torch.stack([q, q]) for q in law))
    sampler = PoolSampler(two, [9, 9], [1, 2], size=24, device=CPU)
    pool = sampler.pool.clone()
    assert torch.equal(pool[0], pool[1])  # one law, one pool seed: one pool for both repeats
    again = PoolSampler(Law(*(q[None] for q in law)), [9], [5], size=24, device=CPU)
    assert torch.equal(again.pool[0], pool[0])  # the pool depends on law and pool seed only
    key = lambda s: sorted(map(tuple, s.tolist()))  # noqa: E731
    orders = []
    for _ in range(3):  # three epochs of 4 batches of 6
        epoch = torch.cat([sampler.sample(6)[0] for _ in range(4)], dim=1)
        for k in range(2):
            assert key(epoch[k]) == key(pool[k])
        orders.append(epoch)
    assert torch.equal(sampler.pool, pool)  # never redrawn
    assert not torch.equal(orders[0][0], orders[1][0])  # reshuffled every epoch
    assert not torch.equal(orders[0][0], orders[0][1])  # each repeat has its own shuffle
    # x3 is the law's fact for its pair, and the divergence rows are pi2[x1, x2]
    seq, rows = sampler.sample(6)
    facts = law.pi2.argmax(-1)
    assert torch.equal(seq[..., 2], facts[seq[..., 0], seq[..., 1]])
    assert torch.equal(rows, law.pi2[seq[..., 0], seq[..., 1]])


def test_lr_schedule_is_torchs_linear_lr_step_for_step():
    """The authors: Adam(lr=0.1) and LinearLR(start_factor=0.1, end_factor=0.005,
    total_iters=epochs) stepped after every epoch; ours: lr 1e-2 and end factor 0.05."""
    epochs, per_epoch = 64, 64
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.LinearLR(
        opt, start_factor=0.1, end_factor=0.1 * 5e-2, total_iters=epochs
    )
    theirs = []
    for _ in range(epochs):
        theirs += [opt.param_groups[0]["lr"]] * per_epoch
        opt.step()  # no gradients: a no-op that keeps torch's call order
        sched.step()
    schedule = {"end_factor": 0.05, "every": per_epoch, "total": epochs}
    ours = [linear_lr(1e-2, s, schedule) for s in range(epochs * per_epoch)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)
    assert ours[0] == 1e-2 and ours[-1] == pytest.approx(1e-2 * (1 - 0.95 * 63 / 64))

    # the trainer applies it: Adam's lr at every step of a small job
    config = capacity_job(seeds=[0])
    trainer = JobTrainer(config, [association(6)] * 2, CPU)
    seen = []
    for s in range(config["steps"]):
        trainer.step(s)
        seen.append(trainer.ensembles[0].optimizer.param_groups[0]["lr"])
    expected = [linear_lr(config["lr"], s, config["schedule"]) for s in range(config["steps"])]
    assert seen == expected and len(set(seen)) == config["schedule"]["total"]


def capacity_job(seeds: list[int]) -> dict:
    """A small capacity job: two shapes (the shared and per-head layouts), `seeds` repeats."""
    pool = {"seed": 4, "size": 32}
    members = []
    for layout, norm in (("shared", False), ("per_head", True)):
        for s in seeds:
            members.append(
                {
                    "model": "transformer",
                    "N": 6,
                    "d": 5,
                    "para": 3,
                    "d_head": 3,
                    "layout": layout,
                    "norm": norm,
                    "seed": s,
                    "pool": pool,
                    "loss": "next_token",
                }
            )
    schedule = {"end_factor": 0.05, "every": 4, "total": 5}
    return {"steps": 20, "batch": 8, "lr": 1e-2, "schedule": schedule, "members": members}


def test_a_repeat_in_the_batched_job_equals_its_single_run():
    law = association(6, seed=1)
    job = capacity_job(seeds=[0, 1, 2])
    trainer = JobTrainer(job, [law] * 6, CPU)
    for s in range(job["steps"]):
        metrics = trainer.step(s)
    for k, m in enumerate(job["members"]):
        alone = JobTrainer({**job, "members": [m]}, [law], CPU)
        for s in range(job["steps"]):
            single = alone.step(s)
        g = 0 if m["layout"] == "shared" else 1
        j = [0, 1, 2][m["seed"]]
        for name, value in alone.ensembles[0].params.items():
            torch.testing.assert_close(
                trainer.ensembles[g].params[name][j], value[0], atol=1e-5, rtol=1e-5
            )
        assert metrics["accuracy"][k] == single["accuracy"][0]


def test_capacity_jobs_hold_whole_points_and_share_law_and_pool():
    study = load_config(quick=False)["memorization"]
    c = study["capacity"]
    for sweep in ("capacity_heads", "capacity_head_dim", "capacity_embed_dim"):
        members = runs.capacity_members(study, sweep)
        points = runs.capacity_points(study, sweep)
        assert len(members) == len(points) * len(c["variants"]) * len(c["seeds"])
        assert {m["law_seed"] for m in members} == {c["law_seed"]}
        assert {m["pool"]["seed"] for m in members} == {c["pool_seed"]}
        names = [j for j in runs.jobs(study) if j.startswith(sweep + "/job")]
        seen = []
        for name in names:
            job = runs.job_config(study, name)
            assert job["steps"] == c["epochs"] * c["pool_batches"] == 4096
            assert job["schedule"]["every"] == c["pool_batches"]
            shapes = {(m["para"], m["d_head"], m["d"]) for m in job["members"]}
            # whole points: every repeat of every variant of each point is in this job
            assert len(job["members"]) == len(shapes) * len(c["variants"]) * len(c["seeds"])
            seen += job["members"]
        key = lambda m: (m["para"], m["d_head"], m["d"], m["variant"], m["seed"])  # noqa: E731
        assert sorted(map(key, seen)) == sorted(map(key, members))
    # the paper's points are exactly the default sweeps' points
    axis = {"capacity_heads": "para", "capacity_head_dim": "d_head", "capacity_embed_dim": "d"}
    for sweep, values in PAPER.items():
        got = [p[axis[sweep]] for p in runs.capacity_points(study, sweep)]
        assert got == list(values)


def test_facts_per_head_and_bound_on_the_papers_points():
    heads = PAPER["capacity_heads"]
    # the authors' rule on their own Fig. 1a: the docs' "about 87 facts per head"
    assert facts_per_head(list(heads), list(heads.values()), 50) == pytest.approx(87, abs=1.5)
    assert lower_bound(50, 20, 10, 10) == pytest.approx(0.02 + 0.98 * 210 / 2500)
    for sweep, values in PAPER.items():  # every stored value is above its bound
        for x, acc in values.items():
            h, dh, d = {
                "capacity_heads": (x, 10, 10),
                "capacity_head_dim": (20, x, 10),
                "capacity_embed_dim": (20, 10, x),
            }[sweep]
            assert acc > lower_bound(50, h, dh, d)


def test_power_exponent_recovers_a_law_with_an_offset():
    """The exponent the capacity claims read: y = a + b·x^k with any offset and scale gives k
    back (to the grid step), linear and quadratic laws included."""
    x = np.arange(1, 11.0)
    for k, a, b in ((1.0, 5.0, 3.0), (2.0, -40.0, 0.7), (3.0, 100.0, 0.01), (1.37, 0.0, 9.0)):
        assert power_exponent(x, a + b * x**k) == pytest.approx(k, abs=0.005)


def accuracy_of(facts_: np.ndarray, n: int) -> np.ndarray:
    """The accuracy that stores `facts_` facts (Corollary 2's map, the inverse of `facts`)."""
    return 1 / n + (1 - 1 / n) * np.asarray(facts_) / n**2


def test_d_law_recovers_a_known_exponent_from_accuracies_linear_in_heads():
    """Closed form: facts = e(d) + (a + b·d^k)·H at every d = d_h. The authors' rule gives every
    slope a + b·d^k exactly; `d_law` gives k back (to the grid step), and without an offset the
    log-log fit gives it exactly; the offset laws of Fig. 2b fit exactly only their own power."""
    n, d, heads = 50, np.array([4.0, 6, 8, 10]), np.array([1.0, 11, 21])
    for k, a, b in ((2.2, 3.0, 0.5), (3.0, 0.0, 0.08), (1.0, -2.0, 9.0)):
        slope = a + b * d**k
        acc = accuracy_of(5 * d[:, None] + slope[:, None] * heads[None, :], n)
        got = slopes_in_heads(heads, acc, n)
        np.testing.assert_allclose(got, slope, rtol=1e-9)
        law = d_law(d, got)
        assert law["power"] == pytest.approx(k, abs=0.005)
        assert law["power_a"] == pytest.approx(a, abs=0.05 * abs(b) * 10**k + 1e-6)
        if a == 0:
            assert law["log_log"] == pytest.approx(k, abs=1e-9)
            assert law["log_log_c"] == pytest.approx(b, rel=1e-9)
        if k == 3.0:
            assert law["cubic"]["rss"] < 1e-12 < law["quadratic"]["rss"]
    # the vectorised fit is the least-squares line at every k: a, b as np.polyfit gives them
    x, y = np.arange(3, 14.0), np.sqrt(np.arange(3, 14.0)) * 7 + 2
    k, a, b = power_law(x, y)
    b2, a2 = np.polyfit(x**k, y, 1)
    assert (a, b) == pytest.approx((a2, b2), rel=1e-9) and k == pytest.approx(0.5, abs=0.005)


def test_the_slope_rule_stops_at_the_first_saturated_point():
    """EXP_1_and_4.py's rule: points up to and including the first above 0.95."""
    n, heads = 50, np.array([1, 6, 11, 16, 21])
    acc = accuracy_of(np.array([100, 400, 700, 1000, 2400.0]), n)  # 60 facts per head, then flat
    acc[-1] = 0.999
    assert facts_per_head(heads[:4], acc[:4], n) == pytest.approx(60)
    stop = accuracy_of(np.array([100, 400, 700, 2400.0, 2400.0]), n)
    assert stop[3] > 0.95  # stops at H = 16: least squares through H = 1, 6, 11, 16 only
    expect = np.polyfit(heads[:4], facts(stop[:4], n), 1)[0]
    assert facts_per_head(heads, stop, n) == pytest.approx(expect)


def test_redraw_spread_of_a_slope_is_the_least_squares_closed_form():
    """Independent noise of std s on accuracies at H = 1, 11, 21 moves a least-squares slope by
    s/sqrt(sum (H - mean H)^2), times Corollary 2's map N²/(1 - 1/N) in facts; no noise, none."""
    n, d, heads = 50, np.array([4, 6, 8, 10]), np.array([1.0, 11, 21])
    acc = accuracy_of((2 * d[:, None] ** 2.0) * heads[None, :], n)
    none = redraw_spread(d, heads, acc, 0.0, n, draws=5)
    assert max(none["slopes"]) < 1e-9 and none["power"] < 1e-9 and none["log_log"] < 1e-9
    s = 0.004
    want = s / np.sqrt(((heads - heads.mean()) ** 2).sum()) * n**2 / (1 - 1 / n)
    got = redraw_spread(d, heads, acc, s, n, draws=400)["slopes"]
    np.testing.assert_allclose(got, want, rtol=0.12)  # 400 draws: std known to about 4 %


def test_the_authors_stored_d_equals_d_head_grid():
    """The embedded Data_exp_1_<d>.csv: row d = 10 is Fig. 1a's points; on the whole stored grid
    the authors' slopes give the free exponent 1.665 (2.45 on log-log axes), and of Fig. 2b's
    two offset laws the quadratic fits better than the cubic."""
    assert sorted(PAPER_DIAG) == list(range(3, 14)) and PAPER_DIAG_H == tuple(range(1, 32, 5))
    assert PAPER_DIAG[10] == PAPER["capacity_heads"]
    d = np.array(sorted(PAPER_DIAG))
    acc = np.array([[PAPER_DIAG[k][h] for h in PAPER_DIAG_H] for k in d])
    slopes = slopes_in_heads(np.array(PAPER_DIAG_H), acc, 50)
    assert slopes[7] == pytest.approx(facts_per_head(list(PAPER_DIAG_H), acc[7], 50))
    law = d_law(d, slopes)
    assert law["power"] == pytest.approx(1.665, abs=0.003)
    assert law["log_log"] == pytest.approx(2.452, abs=0.003)
    assert law["quadratic"]["rss"] < law["cubic"]["rss"]


def test_the_diag_sweep_trains_every_head_count_at_every_d_equal_d_head():
    study = load_config(quick=False)["memorization"]
    c = study["capacity"]
    points = runs.capacity_points(study, "capacity_diag")
    grid = [(d, h) for d in c["diag"]["d"] for h in c["diag"]["H"]]
    assert [(p["d"], p["para"]) for p in points] == grid
    assert all(p["d_head"] == p["d"] for p in points)
    members = runs.capacity_members(study, "capacity_diag")
    assert {m["variant"] for m in members} == set(c["diag"]["variants"]) == {"reproduction"}
    assert len(members) == len(points) * len(c["seeds"])
    split = [m for j in runs.cell_jobs(study, "capacity_diag") for m in
             runs.job_config(study, j)["members"]]  # fmt: skip
    key = lambda m: (m["d"], m["para"], m["seed"])  # noqa: E731
    assert sorted(map(key, split)) == sorted(map(key, members))
    # every point of the default grid is one the authors stored, before their saturation
    assert all(PAPER_DIAG[d][h] < 0.9 for d, h in grid)
