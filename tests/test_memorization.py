"""Memorization study: laws, the batched transformer against nn.MultiheadAttention, losses and
exact metrics, freezing, ensembles, resume, and the workflow at quick budgets."""

from __future__ import annotations

import ast
import json
import math

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT, load_config, snakemake

from learning_dynamics.memorization import cells as mem_cells
from learning_dynamics.memorization import figures, runs
from learning_dynamics.memorization.laws import (
    BatchSampler,
    Law,
    entropy,
    enumerate_sequences,
    make_law,
)
from learning_dynamics.memorization.model import (
    Arch,
    all_pairs,
    batch_losses,
    exact_metrics,
    init_params,
    loss_targets,
    param_count,
    skip_coefficients,
    transformer_forward,
)
from learning_dynamics.memorization.reference import SeedStyleTransformer, load_batched
from learning_dynamics.memorization.train import Ensemble, JobTrainer

torch.set_num_threads(1)  # tiny tensors: a second thread only adds synchronisation
CPU = torch.device("cpu")


def one(law: Law) -> Law:
    """A law as a one-member batch."""
    return Law(*(p[None] for p in law))


def association(n: int, seed: int = 0, tokens: tuple[int, int] | None = None) -> Law:
    t = tokens or (n, n)
    return make_law(runs.association([t[0], t[1], 1]), n, seed)[0]


def test_parameter_count_of_the_seed_model():
    assert param_count(Arch(N=100, d=10, layers=1, para=5)) == 4030


@pytest.mark.parametrize("seed", [0, 2222])
def test_tables_start_as_the_authors_nn_linear_weights(seed):
    """The authors' E, P (models.Transformer) and low-rank table W, U (models.Low_rank) are
    nn.Linear(d, rows, bias=False) weights, created first: the same draws, uniform in ±1/√d."""
    arch = Arch(N=30, d=6, para=2)
    ours = init_params(arch, [seed])
    torch.manual_seed(seed)
    e, p = torch.nn.Linear(6, 30, bias=False), torch.nn.Linear(6, arch.context, bias=False)
    torch.testing.assert_close(ours["E"][0], e.weight.detach(), rtol=0, atol=1e-7)
    torch.testing.assert_close(ours["P"][0], p.weight.detach(), rtol=0, atol=1e-7)
    low = init_params(Arch(model="low_rank", N=30, d=6, para=0), [seed])
    torch.manual_seed(seed)
    w, u = torch.nn.Linear(6, 30 * 30, bias=False), torch.nn.Linear(6, 30, bias=False)
    torch.testing.assert_close(low["W"][0], w.weight.detach(), rtol=0, atol=1e-7)
    torch.testing.assert_close(low["U"][0], u.weight.detach(), rtol=0, atol=1e-7)
    # uniform in ±1/√d: bounded, std 1/√(3d) (not nn.Embedding's N(0, 1))
    big = init_params(Arch(model="low_rank", N=100, d=10, para=0), [seed])["W"]
    assert float(big.abs().max()) <= 10**-0.5
    assert float(big.std()) == pytest.approx((3 * 10) ** -0.5, rel=0.02)
    # the reference (seed-style) module starts E, P the same way
    torch.manual_seed(seed)
    ref = SeedStyleTransformer(arch)
    torch.testing.assert_close(ref.word_emb.weight.detach(), ours["E"][0], rtol=0, atol=1e-7)
    torch.testing.assert_close(ref.pos_emb.weight.detach(), ours["P"][0], rtol=0, atol=1e-7)


def test_cell_one_low_rank_baseline_trains_the_notebook_budget_in_its_own_job():
    study = load_config(quick=False)["memorization"]
    cell = runs.job_config(study, "dynamics")
    low = runs.job_config(study, "dynamics_low_rank")
    assert low["steps"] == 4000 and cell["steps"] == 5000  # the notebook's budgets
    assert {m["model"] for m in low["members"]} == {"low_rank"}
    assert {m["model"] for m in cell["members"]} == {"transformer"}
    seeds = [study["dynamics"]["seed"], *study["dynamics"]["extra_seeds"]]
    assert len(seeds) >= 5 and [m["seed"] for m in low["members"]] == seeds
    # both losses per seed, the notebook's pair first (next token: seed + 1), one ensemble
    assert [(m["loss"], m["seed"]) for m in cell["members"][:2]] == [
        ("divergence", seeds[0]),
        ("next_token", seeds[0] + 1),
    ]
    assert len({m["seed"] for m in cell["members"]}) == 2 * len(seeds)
    assert len({Arch.of(m) for m in cell["members"]}) == 1
    assert runs.cell_jobs(study, "dynamics") == ["dynamics", "dynamics_low_rank"]
    assert "dynamics_low_rank" in runs.jobs(study)
    freezing = runs.job_config(study, "freezing")["members"]
    assert len(freezing) == len(study["freezing"]["trains"]) * len(seeds)


def test_laws_are_normalised_and_association_is_deterministic():
    law = association(12, tokens=(5, 7))
    assert torch.allclose(law.pi0.sum(), torch.tensor(1.0))
    assert torch.allclose(law.pi1.sum(-1), torch.ones(12))
    assert ((law.pi2 == 0) | (law.pi2 == 1)).all()
    assert torch.allclose(law.pi2.sum(-1), torch.ones(12, 12))
    assert (law.pi0 > 0).sum() == 5 and ((law.pi1 > 0).sum(-1) == 7).all()
    assert float(entropy(law)) == 0.0
    # power law: every context has the same entropy, that of the normalised alpha^k vector
    spec = {"kind": "power_uniform", "alphas": [1.0, 1.0, 0.6], "nb_tokens": [9, 9, 6]}
    law, _ = make_law(spec, 9, 3)
    w = 0.6 ** np.arange(6)
    w /= w.sum()
    assert float(entropy(law)) == pytest.approx(-(w * np.log(w)).sum(), rel=1e-6)
    # enumerate: association sequences, one per context in the support, first token fastest
    seqs = enumerate_sequences(association(4), eps=0.0)
    assert len(seqs) == 16 and seqs[:4, 0].tolist() == [0, 1, 2, 3]


def _table_law(targets: torch.Tensor) -> Law:
    """Uniform pairs over N tokens with x3 = targets[x1, x2]."""
    n = targets.shape[0]
    pi2 = torch.nn.functional.one_hot(targets, n).float()
    return Law(torch.full((n,), 1 / n), torch.full((n, n), 1 / n), pi2)


def test_architecture_floors_match_closed_forms():
    from learning_dynamics.memorization.cells.architecture import floor_of, floors

    # XOR on two tokens: by symmetry every additive predictor's best is uniform, log 2; and
    # neither x2 alone nor a constant tells the target
    xor = floors(_table_law(torch.tensor([[0, 1], [1, 0]])))
    for name in ("constant", "x2_only", "additive"):
        assert xor[name] == pytest.approx(math.log(2), abs=1e-9), name
    # x3 = x1: additive models store it (floor 0, an infimum approached), x2 and a constant cannot
    copy = floors(_table_law(torch.arange(3)[:, None].expand(3, 3).contiguous()))
    assert copy["additive"] < 1e-6
    assert copy["x2_only"] == pytest.approx(math.log(3)) and copy["constant"] == pytest.approx(
        math.log(3)
    )
    # a law with entropy of its own: each floor is a cross-entropy minus H(x3 | x1, x2)
    law = make_law({"kind": "power_uniform", "alphas": [1.0, 0.8, 0.5], "nb_tokens": [4, 3, 3]},
                   5, 1)[0]  # fmt: skip
    out = floors(law)
    p = (law.pi0[:, None, None] * law.pi1[..., None] * law.pi2).double()
    marginal = p.sum((0, 1))
    h = float(-(torch.special.xlogy(marginal, marginal)).sum()) - float(entropy(law))
    assert out["constant"] == pytest.approx(h, abs=1e-6)
    assert 0 <= out["additive"] <= out["x2_only"] + 1e-9 <= out["constant"] + 2e-9
    assert floor_of("emb_ov+emb_qk+residual") == "constant"
    assert floor_of("emb_ov+emb_qk") == "x2_only"
    assert floor_of("emb_qk+pos_ov+residual") == "additive"
    assert floor_of("emb_ov+residual") is None and floor_of("none") is None


def test_sampler_follows_the_law_and_never_draws_impossible_tokens():
    spec = {"kind": "power_uniform", "alphas": [0.8, 0.9, 0.7], "nb_tokens": [4, 5, 6]}
    law, _ = make_law(spec, 8, 1)
    sampler = BatchSampler(one(law), [5], CPU)
    seq, rows = sampler.sample(200_000)
    x1, x2, x3 = seq[0].unbind(-1)
    assert (law.pi0[x1] > 0).all() and (law.pi1[x1, x2] > 0).all()
    assert (law.pi2[x1, x2, x3] > 0).all()
    assert torch.equal(rows[0], law.pi2[x1, x2])
    freq = torch.bincount(x1, minlength=8) / len(x1)
    assert torch.allclose(freq, law.pi0, atol=4e-3)


@pytest.mark.parametrize("tables", [False, True])
@pytest.mark.parametrize(
    ("arch", "skips"),
    [
        (Arch(N=20, d=8, para=3), {}),
        (Arch(N=20, d=8, para=2, heads=2), {"residual": True}),
        (Arch(N=20, d=8, para=2, mlp_width=6, mlp_depth=1), {"emb_ov": True, "pos_qk": True}),
        (Arch(N=20, d=8, para=2, layers=2, mlp_width=6, mlp_depth=2), {"pos_qk": True}),
        (Arch(N=20, d=8, para=2, layers=3), {"emb_ov": True, "residual": True}),
    ],
)
def test_batched_transformer_equals_multihead_attention_modules(arch, skips, tables):
    """Same weights, same function: the two-key closed form, token tables and batched layout
    compute what `para` nn.MultiheadAttention modules compute on the whole sequence (one-layer
    models with and without the token-table path)."""
    params = init_params(arch, [7, 8])
    x = torch.randint(0, arch.N, (2, 64, 3), generator=torch.Generator().manual_seed(0))
    keep = skip_coefficients([skips, skips], CPU)
    logits, _ = transformer_forward(params, arch, keep, x[..., :2], tables=tables)
    for k in range(2):
        ref = SeedStyleTransformer(arch, skips)
        load_batched(ref, params, k)
        with torch.no_grad():
            expected = ref(x[k])
        got = logits[k] - logits[k].mean(-1, keepdim=True)
        assert torch.allclose(got, expected, atol=2e-5), (got - expected).abs().max()


def test_exact_divergence_is_the_expected_batch_loss():
    """Exact KL over all contexts = E[full-divergence batch loss] = E[next-token loss]."""
    spec = {"kind": "power_uniform", "alphas": [0.9, 0.9, 0.6], "nb_tokens": [15, 15, 15]}
    law = one(make_law(spec, 15, 2)[0])
    ens = Ensemble(Arch(N=15, d=6, para=2), [{"seed": 1, "loss": "divergence"}], law, 1e-3, CPU)
    exact = ens.exact()
    seq, rows = ens.sampler.sample(400_000)
    with torch.no_grad():
        logits, _ = ens.logits(seq[..., :2])
    ent, x3 = entropy(ens.law), seq[..., 2]
    div, _ = batch_losses(logits, x3, loss_targets(x3, rows, False, 15), ent)
    nt, acc = batch_losses(logits, x3, loss_targets(x3, rows, True, 15), ent)
    # per-sequence spread of the next-token loss sets the tolerance (about 4 standard errors)
    assert float(div) == pytest.approx(float(exact["divergence"]), abs=0.01)
    assert float(nt) == pytest.approx(float(exact["divergence"]), abs=0.02)
    assert float(acc) == pytest.approx(float(exact["accuracy"]), abs=0.004)
    # and the exact value is a KL: zero for the law itself, positive otherwise
    n = 15
    perfect = torch.log(ens.law.pi2.reshape(1, n * n, n).clamp_min(1e-30))
    assert float(exact_metrics(perfect, ens.law)["divergence"]) == pytest.approx(0, abs=1e-5)
    assert float(exact["divergence"]) > 0.1


def test_low_rank_model_memorizes_a_deterministic_association():
    law = one(association(10))
    ens = Ensemble(
        Arch(model="low_rank", N=10, d=5, para=0),
        [{"seed": 0, "loss": "divergence"}],
        law,
        1e-2,
        CPU,
    )
    before = ens.exact()
    for _ in range(600):
        ens.step(256)
    after = ens.exact()
    assert float(before["divergence"]) > 1.0
    assert float(after["divergence"]) < 0.02
    assert float(after["accuracy"]) == 1.0


def job(members, steps=40, batch=128, lr=1e-2):
    return {"steps": steps, "batch": batch, "lr": lr, "snapshot_every": 20, "members": members}


def test_freezing_everything_but_o_leaves_the_rest_bit_identical():
    study = load_config()["memorization"]
    cfg = runs.job_config(study, "freezing")
    law = association(10)
    trainer = JobTrainer(job(cfg["members"]), [law] * len(cfg["members"]), CPU)
    only_o, all_but_o = trainer.ensembles  # members: trains [O], then [E, P, QKV, U]
    start = [{k: v.detach().clone() for k, v in e.params.items()} for e in trainer.ensembles]
    for s in range(40):
        trainer.step(s)
    for name, value in only_o.params.items():
        same = torch.equal(value, start[0][name])
        assert same == (name != "O"), name
    for name, value in all_but_o.params.items():
        assert torch.equal(value, start[1][name]) == (name == "O"), name


def test_ensemble_member_equals_its_single_run():
    members = [
        {
            "model": "transformer",
            "N": 12,
            "d": 6,
            "para": 3,
            "seed": s,
            "loss": loss,
            "skips": skips,
            "law_seed": s,
        }
        for s, loss, skips in [
            (1, "divergence", {}),
            (2, "next_token", {"residual": True}),
            (3, "divergence", {"pos_qk": True}),
        ]
    ]
    laws = [association(12, seed=s) for s in (1, 2, 3)]
    together = JobTrainer(job(members), laws, CPU)
    rows = [together.step(s) for s in range(40)]
    for k, m in enumerate(members):
        alone = JobTrainer(job([m]), [laws[k]], CPU)
        single = [alone.step(s) for s in range(40)]
        for metric in ("loss", "accuracy"):
            a = torch.stack([r[metric][k] for r in rows])
            b = torch.stack([r[metric][0] for r in single])
            assert torch.allclose(a, b, atol=1e-5), metric
        for name, value in alone.ensembles[0].params.items():
            assert torch.allclose(together.ensembles[0].params[name][k], value[0], atol=1e-5)


def test_resume_from_state_dict_continues_bit_for_bit():
    m = {"model": "transformer", "N": 10, "d": 4, "para": 2, "seed": 4, "loss": "divergence"}
    law = [association(10)]
    straight = JobTrainer(job([m]), law, CPU)
    for s in range(30):
        straight.step(s)
    first = JobTrainer(job([m]), law, CPU)
    for s in range(15):
        first.step(s)
    state = first.state_dict()
    second = JobTrainer(job([m]), law, CPU)
    second.load_state_dict(state)
    for s in range(15, 30):
        second.step(s)
    for name, value in straight.ensembles[0].params.items():
        assert torch.equal(second.ensembles[0].params[name], value), name


def test_all_pairs_order_matches_the_low_rank_table():
    pairs = all_pairs(5, 1, CPU)[0]
    assert pairs[7].tolist() == [1, 2]  # pair index x1·N + x2
    assert math.prod(pairs.shape) == 50


def test_capacity_job_split():
    study = load_config()["memorization"]
    members = runs.capacity_members(study, "capacity_heads")
    names = [j for j in runs.jobs(study) if j.startswith("capacity_heads/job")]
    split = [m for j in names for m in runs.job_config(study, j)["members"]]
    key = lambda m: (m["para"], m["variant"], m["seed"])  # noqa: E731
    assert sorted(map(key, split)) == sorted(map(key, members))  # each member exactly once
    assert {m["para"] for m in members} == {1, 4, 7}


def test_every_cell_has_one_module_with_its_analysis_and_figure():
    """The registry runs.CELLS names every cell once: its module, block, jobs and figure rule."""
    study = load_config()["memorization"]
    assert set(runs.SWEEPS) < set(runs.CELLS) and "scaling" in runs.SWEEPS
    for cell, entry in runs.CELLS.items():
        module = mem_cells.module(cell)
        assert callable(module.analyse) and callable(module.draw), cell
        assert module.__name__.endswith(f".cells.{entry.module}")
        assert figures.drawing(cell) is module.draw
        assert entry.block in study, cell
        assert all(job in runs.jobs(study) for job in runs.cell_jobs(study, cell)), cell
    with pytest.raises(ValueError, match="no memorization cell"):
        mem_cells.module("nope")
    # every figure rule is written out by name (grep finds it), none generated in a loop, and
    # each draws its cell through the one `plot` verb
    rules = (ROOT / "workflow" / "rules" / "memorization.smk").read_text()
    for cell in runs.CELLS:
        rule = rules.split(f"\nrule memorization_{cell}:\n")[1].split("\nrule ")[0]
        assert f'cell="{cell}"' in rule and "MZ_PLOT" in rule, cell
    assert "memorization plot --cell {params.cell}" in rules
    assert "\nfor " not in rules


def test_no_import_cycle_in_the_package():
    """Every module-level or local `import` inside src/ as a graph: it has no cycle."""
    src = ROOT / "src"
    modules = {}
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if package else parts)
        modules[name] = (path, name if package else name.rpartition(".")[0])
    graph = {}
    for name, (path, package) in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.level and node.module else base
                target = target if node.level else node.module
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    assert (
        "learning_dynamics.memorization.analysis"
        in graph["learning_dynamics.memorization.cells.dynamics"]
    )
    done, path = set(), []

    def visit(name: str) -> None:
        path.append(name)
        for dep in graph[name]:
            assert dep not in path, " -> ".join([*path[path.index(dep) :], dep])
            if dep not in done:
                visit(dep)
        path.pop()
        done.add(name)

    for name in graph:
        if name not in done:
            visit(name)


def test_bad_memorization_config_is_refused_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("memorization:\n  dynamics:\n    steps: -3\n  capacity:\n    seedz: [1]\n")
    out = snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    message = out.stdout + out.stderr
    assert out.returncode != 0
    assert "memorization.dynamics.steps" in message
    assert "memorization.capacity" in message and "seedz" in message


@pytest.mark.slow
def test_quick_workflow_builds_every_memorization_figure(tmp_path):
    targets = [f"memorization_{c}" for c in runs.CELLS]
    snakemake(tmp_path, *targets, "--cores", "2", "--configfile", "config/quick.yaml")
    figures = tmp_path / "results" / "figures"
    for name in targets:
        for ext in ("pdf", "png"):
            assert (figures / f"{name}.{ext}").stat().st_size > 5_000, name
    results = tmp_path / "results" / "memorization"
    dynamics = json.loads((results / "dynamics" / "summary.json").read_text())
    assert dynamics["params"] == 4030
    # association law: zero entropy, so the random baseline is log N exactly
    assert dynamics["random_baseline"] == pytest.approx(math.log(100), abs=1e-6)
    for run in ("full_divergence", "next_token", "low_rank"):
        assert dynamics[run]["divergence"] < dynamics["random_baseline"]
        spread = dynamics["spread"][run]["divergence"]  # quick: the notebook's seed and one more
        assert (
            spread["seeds"] == 2 and spread["min"] <= dynamics[run]["divergence"] <= spread["max"]
        )
    freezing = json.loads((results / "freezing" / "summary.json").read_text())
    assert freezing["spread"]["trains O"]["divergence"]["seeds"] == 2
    for cell in ("attention", "contributions"):
        assert (
            json.loads((results / cell / "summary.json").read_text())["spread"]["loss"]["seeds"]
            == 2
        )
    arch = json.loads((results / "architecture" / "summary.json").read_text())
    assert len(arch["divergence"]) == 8 and arch["spread"]["none"]["divergence"]["seeds"] == 2
    floors = arch["floors"]  # fewer inputs, higher floor; every bounded setting above its own
    assert (
        0 < floors["additive"] <= floors["x2_only"] <= floors["constant"] < arch["random_baseline"]
    )
    assert arch["bounded_settings"] == 4 and arch["above_floors"] is True
    assert arch["constant_over_floor"] >= 1.0
    capacity = pd.read_csv(results / "capacity_heads" / "table.csv")
    assert list(capacity.H) == [1, 4, 7]  # quick: one row per point, over two jobs
    for variant in ("reproduction", "per_head"):  # 2 repeats each, all beat random guessing
        assert (capacity[f"{variant}_repeats"] == 2).all()
        assert (capacity[f"{variant}_min"] > 1 / 12).all()
        assert capacity[f"{variant}_pool_weighted"].between(0, 1).all()
    diag = json.loads((results / "capacity_diag" / "summary.json").read_text())
    law = diag["law"]  # quick: d = d_h = 2, 3, 4 at H = 1, 4; the authors' layout only
    assert law["d"] == [2, 3, 4] and law["H"] == [1, 4]
    assert list(diag["variants"]) == ["reproduction"]
    assert set(law["reproduction"]["slopes"]) == {"2", "3", "4"}
    assert law["reproduction"]["power"] is not None and len(law["reproduction"]["per_repeat"]) == 2
    assert "paper" not in law  # N = 12: the authors stored no such grid
    scaling = pd.read_csv(results / "scaling" / "table.csv")
    assert list(scaling.para) == [1, 4] and scaling.best_loss.notna().all()
    with h5py.File(results / "dynamics" / "history.h5", "r") as f:
        assert f.attrs["complete"] and f["metrics/loss"].shape == (600, 4)
        assert f["exact/divergence"].shape == (25, 4) and f["params_g0/QKV"].shape[1] == 4
    with h5py.File(results / "dynamics_low_rank" / "history.h5", "r") as f:
        assert f["metrics/loss"].shape == (500, 2)  # quick: low_rank_steps 500, two seeds
