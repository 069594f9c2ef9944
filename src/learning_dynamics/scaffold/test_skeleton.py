"""Skeleton study: the hand-written gradients against autograd, the trained map against
the closed form (the teacher), modes learned strongest first, and the config check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import default_run, load_config

from learning_dynamics import config, io
from learning_dynamics.skeleton.analysis import half_steps
from learning_dynamics.skeleton.model import LinearTrainer, make_data, teacher_map
from learning_dynamics.skeleton.runs import RunConfig


def batch(cfg: RunConfig, tmp_path) -> tuple[torch.Tensor, torch.Tensor]:
    """The data the workflow's data stage writes for `cfg`."""
    make_data(dataclasses.asdict(cfg), str(tmp_path / "data.h5"))
    arrays = io.read_arrays(tmp_path / "data.h5")
    return torch.as_tensor(arrays["x"]), torch.as_tensor(arrays["y"])


def test_gradients_match_autograd(tmp_path):
    cfg = RunConfig(**default_run("skeleton", "main", init_scale=0.5))
    x, y = batch(cfg, tmp_path)
    trainer = LinearTrainer(cfg, x, y)
    loss, grads = trainer.gradients()
    p = {k: v.clone().requires_grad_() for k, v in trainer.p.items()}
    ref = 0.5 * ((x @ p["W1"].T @ p["W2"].T - y) ** 2).sum(1).mean()
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-5, atol=1e-6)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, p[name].grad, rtol=1e-4, atol=1e-6, msg=name)


def test_training_ends_at_the_teacher_learning_strong_modes_first(tmp_path):
    cfg = RunConfig(**default_run("skeleton", "main"))
    x, y = batch(cfg, tmp_path)
    trainer = LinearTrainer(cfg, x, y)
    steps, strengths = [], []
    for step in range(cfg.steps):
        trainer.step(step)
        product = (trainer.p["W2"] @ trainer.p["W1"]).numpy()
        steps.append(step + 1)
        strengths.append(np.diagonal(product) / np.asarray(cfg.teacher))
    target = teacher_map(cfg.teacher, cfg.inputs)
    np.testing.assert_allclose(product, target, atol=1e-4)
    order = half_steps(np.asarray(steps), np.asarray(strengths))
    assert None not in order and order == sorted(order)  # strongest mode first
    assert len(set(order)) == len(order)  # one after another, not at once


def test_a_teacher_wider_than_the_inputs_is_refused():
    values = load_config()
    block = {**values["skeleton"], "teacher": [1.0] * 9, "inputs": 4}
    values["skeleton"] = block
    with pytest.raises(config.ConfigError, match="skeleton.teacher: 9 values"):
        config.check_config(values)
