"""Makemore study: the seed's split, minibatch stream and printed losses; gradients against
autograd; eval-mode sampling; resume; the quick workflow's DAG."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, default_run, load_config

from learning_dynamics.history import run_attrs
from learning_dynamics.io import read_arrays
from learning_dynamics.makemore import run_config
from learning_dynamics.makemore.analysis import block_means, extract, final_model
from learning_dynamics.makemore.model import (
    MakemoreTrainer,
    backward,
    build_dataset,
    forward,
    init_params,
    init_running,
    read_words,
    sample_names,
)
from learning_dynamics.makemore.runs import RunConfig
from learning_dynamics.makemore.sampler import BatchSampler
from learning_dynamics.training import fit


@pytest.fixture(scope="module")
def data():
    return build_dataset(read_words(ROOT / "data" / "names.txt"))


def test_split_sizes(data):
    assert {s: len(y) for s, (x, y) in data.items()} == {
        "train": 182625,
        "val": 22655,
        "test": 22866,
    }
    assert data["train"][0].shape == (182625, 3)
    # the seed prints these first examples: "... -> y", "..y -> u", ".yu -> h"
    assert data["train"][0][:3].tolist() == [[0, 0, 0], [0, 0, 25], [0, 25, 21]]
    assert data["train"][1][:3].tolist() == [25, 21, 8]


def test_sampler_is_the_seeds_randperm_stream(data):
    n = len(data["train"][1])
    cfg = RunConfig(**default_run("makemore", "main"))
    g_ref, g = torch.Generator().manual_seed(42), torch.Generator().manual_seed(42)
    init_params(cfg, g_ref), init_params(cfg, g)
    sampler = BatchSampler("randperm", n, 32, g, block=7)  # several block refills
    for step in range(25):
        assert torch.equal(sampler(step), torch.randperm(n, generator=g_ref)[:32]), step
    # a sampler restored from its state goes on with the same stream
    restored = BatchSampler("randperm", n, 32, torch.Generator(), block=7)
    restored.load_state_dict(sampler.state_dict())
    for step in range(25, 40):
        assert torch.equal(restored(step), torch.randperm(n, generator=g_ref)[:32]), step


@pytest.mark.parametrize("n", [1000, 1001])  # n - 1 odd and even; twists straddled often
def test_sampler_randperm_stream_for_small_n(n):
    g_ref, g = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    sampler = BatchSampler("randperm", n, 32, g, block=5)
    for step in range(300):
        assert torch.equal(sampler(step), torch.randperm(n, generator=g_ref)[:32]), step


def test_the_seeds_printed_losses(data):
    trainer = MakemoreTrainer(RunConfig(**default_run("makemore", "main")), *data["train"])
    losses = [trainer.step(s)["loss"] for s in range(2001)]
    printed = [round(float(losses[s]), 4) for s in (0, 1000, 2000)]
    assert printed == [3.3121, 2.6946, 2.4040]


def autograd_reference(cfg, p, x, y):
    """The seed's forward (unbiased batch variance), differentiated by autograd."""
    p = {k: v.clone().requires_grad_() for k, v in p.items()}
    h = p["C"][x].view(len(x), -1)
    acts = []
    for layer in range(1, cfg.depth + 1):
        pre = h @ p[f"W{layer}"]
        if cfg.batchnorm:
            mean, var = pre.mean(0, keepdim=True), pre.var(0, keepdim=True)
            pre = p[f"gain{layer}"] * (pre - mean) / torch.sqrt(var + cfg.eps) + p[f"beta{layer}"]
        else:
            pre = pre + p[f"b{layer}"]
        h = torch.tanh(pre)
        h.retain_grad()
        acts.append(h)
    F.cross_entropy(h @ p["W_out"] + p["b_out"], y).backward()
    return {k: v.grad for k, v in p.items()}, [a.grad for a in acts]


@pytest.mark.parametrize(
    "overrides",
    [{}, {"depth": 3, "hidden": 50, "batchnorm": False}, {"depth": 2, "hidden": 64, "gain": 5 / 3}],
)
def test_backward_matches_autograd(data, overrides):
    cfg = RunConfig(**default_run("makemore", "main", **overrides))
    p = init_params(cfg, torch.Generator().manual_seed(0))
    for v in p.values():  # move gains and biases off their init values
        v.add_(0.1 * torch.randn(v.shape, generator=torch.Generator().manual_seed(v.numel())))
    idx = torch.randint(len(data["train"][1]), (32,), generator=torch.Generator().manual_seed(1))
    x, y = data["train"][0][idx], data["train"][1][idx]
    logits, cache = forward(cfg, p, x)
    grads, act_grads = backward(cfg, p, x, y, logits, cache)
    ref, ref_act = autograd_reference(cfg, p, x, y)
    for name in p:
        torch.testing.assert_close(grads[name], ref[name], rtol=1e-4, atol=1e-7, msg=name)
    for ours, theirs in zip(act_grads, ref_act, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-8)


def test_eval_mode_sampling_gives_whole_names(data):
    cfg = RunConfig(**default_run("makemore", "main", sampler="randint", steps=1500))
    trainer = MakemoreTrainer(cfg, *data["train"])
    for s in range(cfg.steps):
        trainer.step(s)
    # the seed's bug: BatchNorm in training mode on a batch of one has variance 0/0
    one = torch.zeros(1, 3, dtype=torch.int64)
    assert torch.isnan(forward(cfg, trainer.p, one)[0]).all()
    assert torch.isfinite(forward(cfg, trainer.p, one, trainer.running, train=False)[0]).all()
    names = sample_names(cfg, trainer.p, trainer.running, 20, seed=2147483657)
    assert len(names) == 20 and all(n.endswith(".") and "." not in n[:-1] for n in names)
    assert names == sample_names(cfg, trainer.p, trainer.running, 20, seed=2147483657)
    assert len(set(names)) > 10


def test_resume_from_state_dict_is_bit_identical(data):
    cfg = RunConfig(**default_run("makemore", "main", block_size=3))
    straight = MakemoreTrainer(cfg, *data["train"])
    for s in range(700):
        straight.step(s)
    first = MakemoreTrainer(cfg, *data["train"])
    for s in range(350):
        first.step(s)
    second = MakemoreTrainer(cfg, *data["train"])
    second.load_state_dict(first.state_dict())
    for s in range(350, 700):
        second.step(s)
    for name in straight.p:
        assert torch.equal(second.p[name], straight.p[name]), name
    assert torch.equal(second.running["var1"], straight.running["var1"])


def test_statistics_describe_the_coming_update(data):
    cfg = RunConfig(**default_run("makemore", "main", sampler="randint"))
    trainer = MakemoreTrainer(cfg, *data["train"])
    snap = trainer.snapshot()
    assert snap["activations"]["hist"].sum() == 32 * 200
    assert 0 < float(snap["activations"]["saturated"][0]) < 0.2
    before = trainer.flat.clone()
    trainer.step(0)
    update = (before - trainer.flat).norm()
    # step 0's update is lr times the gradient the snapshot reported for it
    grad_std = snap["weight_grads"]["grad_std"]
    assert float(update) > 0 and torch.isfinite(grad_std).all()
    assert torch.allclose(trainer.grad["W_out"].std(), grad_std[-2])


def test_block_means_keep_a_partial_last_block():
    starts, means = block_means(np.arange(2001, dtype=float), 1000)
    assert starts.tolist() == [0, 1000, 2000]
    assert means.tolist() == [499.5, 1499.5, 2000.0]


def test_run_configs():
    study = load_config(quick=False)["makemore"]
    main = run_config(study, "main")
    assert (main["hidden"], main["lr"], main["lr_drop"]) == (200, 0.1, 150000)  # the seed's
    deep = RunConfig(**run_config(study, "deepnobn"))
    assert (deep.depth, deep.hidden, deep.batchnorm) == (5, 100, False)
    assert init_running(deep) == {}


@pytest.mark.parametrize("batchnorm", [True, False])
def test_history_extract_and_final_model(data, tmp_path, batchnorm):
    overrides = dict(depth=2, hidden=20, batchnorm=batchnorm, steps=25, history_every=10)
    cfg = RunConfig(**default_run("makemore", "main", **overrides))
    trainer = MakemoreTrainer(cfg, *data["train"])
    attrs = run_attrs("makemore", dataclasses.asdict(cfg), cfg.seed)
    fit(trainer, steps=25, snapshot_every=10, out=tmp_path / "h.h5", attrs=attrs, progress=False)
    extract(str(tmp_path / "h.h5"), str(tmp_path / "x.h5"))
    x = read_arrays(tmp_path / "x.h5")
    assert x["step"].tolist() == [0, 10, 20, 25]
    assert x["activations/hist"].shape == (4, 2, cfg.bins)
    assert x["update_data_log10"].shape == (4, len(trainer.p))
    assert np.isfinite(x["update_data_log10"][1:]).all()
    assert x["loss/block_log10_mean"].shape == (1,)
    _, p, running = final_model(str(tmp_path / "h.h5"))
    for name in p:
        assert torch.equal(p[name], trainer.p[name]), name
    assert running.keys() == trainer.running.keys()
