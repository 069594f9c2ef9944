"""Memorization study, interpretability: the helpers of `memorization.interp` against direct
computations, and every interpretability cell (5-9) end to end at quick budgets."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from conftest import load_config

from learning_dynamics.io import read_arrays
from learning_dynamics.memorization import analysis, figures, interp, model, runs, train
from learning_dynamics.memorization.laws import Law, make_law

torch.set_num_threads(1)
CPU = torch.device("cpu")


def _ensemble(arch: model.Arch, skips: list[dict[str, bool]]):
    """Freshly initialised members (random weights: a stricter test than trained ones)."""
    params = model.init_params(arch, list(range(len(skips))))
    return params, model.skip_coefficients(skips, CPU)


def test_attention_maps_equal_the_forward_on_every_pair():
    arch = model.Arch(N=7, d=6, para=2, heads=2, d_head=4)
    skips = [{}, {"pos_qk": True}, {"emb_qk": True, "residual": True}]
    params, keep = _ensemble(arch, skips)
    maps = interp.attention_maps(params, arch, keep)  # (E, H, N, N), [x1, x2]
    _, trace = model.transformer_forward(params, arch, keep, model.all_pairs(7, 3, CPU), True)
    forward = trace["attention_layer0"].reshape(3, 7, 7, arch.n_heads).permute(0, 3, 1, 2)
    torch.testing.assert_close(maps, forward, atol=1e-6, rtol=0)
    assert maps.std() > 0.05  # not a trivially constant map
    # the skip switches act: without P in QK (member 1) the map ignores P, member 0's does not
    moved = interp.attention_maps({**params, "P": params["P"] + 1.0}, arch, keep)
    assert (moved[0] - maps[0]).abs().max() > 1e-2
    torch.testing.assert_close(moved[1], maps[1])


def test_new_computation_basis_is_the_minimum_norm_solution():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(9, 4, generator=g, dtype=torch.float64)
    v = torch.randn(5, 4, generator=g, dtype=torch.float64)
    c = interp.new_computation_basis(u, v)
    torch.testing.assert_close(c @ u, v)  # W_Uᵀ c = v for every row
    torch.testing.assert_close(c, (torch.linalg.pinv(u.T) @ v.T).T)  # the minimum-norm one


@pytest.mark.parametrize(
    "arch, skips",
    [
        (model.Arch(N=8, d=6, para=3), {"residual": True}),
        (model.Arch(N=8, d=6, para=2, heads=2, mlp_width=5, mlp_depth=2), {}),
    ],
)
def test_contributions_sum_to_the_centred_logits(arch, skips):
    params, keep = _ensemble(arch, [skips])
    x = model.all_pairs(arch.N, 1, CPU)
    logits, trace = model.transformer_forward(params, arch, keep, x, trace=True)
    outputs = interp.component_outputs(arch, trace)
    assert outputs.shape[2] == arch.n_heads + 1 + arch.has_mlp
    contrib = interp.head_contributions(params["U"], outputs)
    torch.testing.assert_close(contrib.sum(2), model.centred(logits), atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(contrib.mean(-1), torch.zeros_like(contrib[..., 0]))
    residual = outputs[0, :, arch.n_heads]
    if skips.get("residual"):
        assert residual.abs().max() < 1e-5  # 0 up to the rounding of Σ heads
    else:  # the residual stream that skips the attention is E[x2]
        torch.testing.assert_close(residual, params["E"][0][x[0, :, 1]])


def test_margins():
    scores = torch.tensor([[1.0, 3.0, 2.0], [5.0, -1.0, 4.5]])
    margins = interp.margins(scores, torch.tensor([1, 2]))
    torch.testing.assert_close(margins, torch.tensor([1.0, -0.5]))


def test_seed_formula_is_the_exact_kl():
    n = 6
    law, _ = make_law({"kind": "almost_rank_d", "nb_tokens": [n, n], "dim": 3,
                       "axis_aligned": False}, n, seed=3)  # fmt: skip
    law = Law(*(p.double() for p in law))
    logits = torch.randn(n * n, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    exact = model.exact_metrics(logits[None], law)["divergence"][0]  # prior: uniform here
    pi2 = law.pi2.reshape(n * n, n)
    torch.testing.assert_close(interp.seed_kl(logits, pi2), exact)
    direct = (pi2 * (pi2.log() - logits.log_softmax(-1))).sum(-1).mean()
    torch.testing.assert_close(exact, direct)
    assert exact > 0.1


def test_second_order_theory_and_least_squares_are_exact_in_the_span():
    """If the log-probabilities are u·a (+ a constant per context), the theory embeddings
    recover a and the rank-d truncated SVD recovers the centred log-probabilities."""
    g = torch.Generator().manual_seed(2)
    n, d = 7, 3
    u = torch.randn(n, d, generator=g, dtype=torch.float64)
    a = torch.randn(20, d, generator=g, dtype=torch.float64)
    pi2 = torch.softmax(a @ u.T, -1)
    torch.testing.assert_close(interp.second_order_embeddings(u, pi2), a)
    lp = interp.centred_log_probs(pi2)
    torch.testing.assert_close(interp.truncated_log_probs(pi2, d), lp)
    assert torch.linalg.matrix_rank(interp.truncated_log_probs(pi2, d - 1)) == d - 1


def test_projection_distance():
    g = torch.Generator().manual_seed(4)
    w = torch.randn(10, 4, generator=g, dtype=torch.float64)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64)  # invertible: same span
    assert interp.projection_distance(w @ a, w) < 1e-10
    other = torch.randn(10, 4, generator=g, dtype=torch.float64)
    assert interp.projection_distance(other, w) > 0.5
    e = torch.eye(10, dtype=torch.float64)
    torch.testing.assert_close(  # orthogonal spans: the largest distance, sqrt(2d)
        interp.projection_distance(e[:, :4], e[:, 4:8]), torch.tensor(math.sqrt(8.0)).double()
    )
    # the span of W's best rank-2 approximation
    s = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64))
    torch.testing.assert_close(
        interp.projection(interp.top_subspace(e[:, :4] @ s, 2)), interp.projection(e[:, :2])
    )


# ---- the five cells end to end at quick budgets -------------------------------------------

INTERP_CELLS = ("attention", "contributions", "superposition", "rank_distance", "almost_rank")


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> dict:
    study = load_config()["memorization"]
    root = tmp_path_factory.mktemp("interp")
    out = {}
    for cell in INTERP_CELLS:
        cfg = runs.job_config(study, cell)
        data, hist, ex = (str(root / f"{cell}_{k}.h5") for k in ("data", "hist", "extract"))
        train.make_data(runs.data_config(cfg), data)
        train.train(cfg, data, hist)
        analysis.extract(hist, ex)
        files = {k: root / f"{cell}.{k}" for k in ("json", "csv", "h5", "pdf", "png")}
        paths = {k: str(files[k]) for k in files}
        analysis.analyse(cell, [ex], [data], study, paths["json"], paths["csv"], paths["h5"])
        figures.plot(
            cell, paths["json"], paths["csv"], paths["h5"], [ex], paths["pdf"], paths["png"]
        )
        summary = json.loads(files["json"].read_text())
        table = pd.read_csv(files["csv"])
        arrays = read_arrays(files["h5"])
        out[cell] = {"summary": summary, "table": table, "arrays": arrays, "files": files}
    return out


@pytest.mark.parametrize("cell", INTERP_CELLS)
def test_cell_writes_its_files(cells, cell):
    for path in cells[cell]["files"].values():
        assert path.stat().st_size > 0
    assert cells[cell]["summary"]["cell"] == cell


def test_attention_cell(cells):
    c = cells["attention"]
    maps, sv = c["arrays"]["maps"], c["arrays"]["singular_values"]
    assert maps.shape == (3, 30, 30) and sv.shape == (3, 30)
    assert ((maps >= 0) & (maps <= 1)).all()
    assert (sv[:, :-1] >= sv[:, 1:] - 1e-9).all()
    low, high = c["summary"]["notebook_map_deviation"]["random_init_max"]
    assert 0.2 < low <= high <= 1  # the notebook's maps are not the model's attention


def test_notebook_attention_map_is_the_transposed_form_on_raw_embeddings():
    """Where W_Q W_Kᵀ = W_Qᵀ W_K (symmetric W_Q = W_K), E's rows are already layer-normed and
    d_head = d, the notebook's map is the model's attention; on random weights it is not."""
    arch = model.Arch(N=12, d=4, para=2)
    p = model.init_params(arch, [3])
    keep = model.skip_coefficients([{}], torch.device("cpu"))
    e = p["E"] - p["E"].mean(-1, keepdim=True)
    p["E"] = e / e.square().mean(-1, keepdim=True).sqrt()  # LN(E) = E (to 1e-10)
    s = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(0))
    sym = (s + s.mT).reshape(8, 4)  # one symmetric 4 × 4 per head
    p["QKV"][0, 0, 0], p["QKV"][0, 0, 1] = sym, sym
    torch.testing.assert_close(
        interp.notebook_attention_maps(p, arch, keep), interp.attention_maps(p, arch, keep)
    )
    p["QKV"][0, 0, 1] = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    gap = interp.notebook_attention_maps(p, arch, keep) - interp.attention_maps(p, arch, keep)
    assert float(gap.abs().max()) > 0.1


def test_contributions_cell(cells):
    table = cells["contributions"]["table"]
    assert len(table) == 10 * 5  # every (x1, x2) of the law once
    # the residual is skipped, so the heads' summed margin is the logit margin
    assert (table.group - table.logit_margin).abs().max() < 1e-4
    arrays, s = cells["contributions"]["arrays"], cells["contributions"]["summary"]
    basis = arrays["example_basis"]
    assert abs(basis[-1]).max() < 1e-4  # the skipped residual contributes nothing
    # W_UᵀW_U·X: its row sums are the heads' logits (X = the heads' new-basis coefficients)
    rows = arrays["gram_times_basis"].sum(1)
    heads = arrays["example_contributions"][:-1].sum(0)  # centred contributions
    assert abs((rows - rows.mean()) - heads).max() < 1e-4
    check = arrays["sign_check"]
    assert check.shape == (len(arrays["sign_check_targets"]), 10) and check.dtype == bool
    assert 0 <= s["sign_check"]["every_head_raises_target"] <= 1


def test_superposition_cell(cells):
    s = cells["superposition"]["summary"]
    for name in ("low_rank", "transformer"):
        assert -1 <= s[name]["cosine_with_target_mean"] <= 1
        assert s[name]["divergence"] < s["random_baseline"]
    assert cells["superposition"]["arrays"]["transformer/word_pos_gram"].shape == (20, 20)


def test_rank_distance_cell(cells):
    s, table = cells["rank_distance"]["summary"], cells["rank_distance"]["table"]
    assert len(table) == 3 * 2 * 2  # dim 5..7, aligned or not, 2 repetitions
    # the random baseline averages near its rms value sqrt(2d(1 - d/N))
    assert abs(table.random.mean() - s["random_rms_theory"]) < 0.15
    assert (table.distance <= math.sqrt(2 * 2) + 1e-9).all()  # at most sqrt(2 min(d, N - d))


def test_almost_rank_cell(cells):
    s = cells["almost_rank"]["summary"]
    assert s["seed_formula_max_gap"] < 1e-8
    assert s["prior_uniform"]
    # the exact divergence recomputed from the final weights is the trainer's own
    assert abs(s["trained"] - s["trained_exact_from_training"]) < 1e-5
    assert s["least_squares"] < s["random_baseline"]
