"""Shared machinery: HDF5 history layout, resume after a kill, divergence, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch
from conftest import run_cli

from learning_dynamics.history import History, run_attrs
from learning_dynamics.io import IncompleteHistoryError
from learning_dynamics.superposition.model import ToyModelTrainer, init_weights
from learning_dynamics.training import DivergenceError, fit, log_steps, snapshot_steps

CONFIG = {"features": 50, "hidden": 2, "lr": 5.0, "epochs": 3000, "snapshot_every": 100}


def make_trainer(seeds=(42,), lr=5.0, tied=False) -> ToyModelTrainer:
    return ToyModelTrainer(*init_weights(list(seeds), 50, 2), lr=lr, tied=tied)


def run(path, trainer=None, steps=3000, **kwargs):
    trainer = trainer or make_trainer()
    attrs = run_attrs("superposition", {**CONFIG, "epochs": steps}, [42])
    return fit(
        trainer, steps=steps, snapshot_every=100, out=path, attrs=attrs, progress=False, **kwargs
    )


def read_all(path) -> dict[str, np.ndarray]:
    with History(path) as h:
        return {f"{s}/{n}": h.read(s, n) for s in h.series() for n in [*h.names(s), "step"]}


def test_history_layout_opens_with_plain_h5py(tmp_path):
    trainer = make_trainer()
    path = run(tmp_path / "history.h5", trainer=trainer, steps=1050)
    with h5py.File(path, "r") as f:
        assert bool(f.attrs["complete"]) is True
        assert json.loads(f.attrs["config"])["lr"] == 5.0
        assert f.attrs["seed"].tolist() == [42]
        assert json.loads(f.attrs["versions"])["torch"] == torch.__version__
        assert f.attrs["format_version"] == 1
        # snapshots at 0, 100, ..., 1000 and the final step 1050
        assert f["params/step"][:].tolist() == [*range(0, 1001, 100), 1050]
        assert f["params/W_E"].shape == (12, 1, 2, 50)
        assert f["params/W_U"].shape == (12, 1, 50, 2)
        assert f["params/W_E"].compression == "gzip" and f["params/W_E"].chunks is not None
        assert f["metrics/step"][:].tolist() == list(range(1050))
        assert f["metrics/loss"].shape == (1050, 1)
        # the first snapshot is the initialisation, the last the trained weights
        w_e0, w_u0 = init_weights([42], 50, 2)
        np.testing.assert_array_equal(f["params/W_E"][0], w_e0.numpy())
        np.testing.assert_array_equal(f["params/W_U"][0], w_u0.numpy())
        np.testing.assert_array_equal(f["params/W_U"][-1], trainer.w_u.numpy())
        assert not np.array_equal(f["params/W_U"][1], f["params/W_U"][-1])


def test_same_config_and_seed_give_identical_numbers(tmp_path):
    a = read_all(run(tmp_path / "a.h5"))
    b = read_all(run(tmp_path / "b.h5"))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


class Crash(BaseException):
    """Like a kill or Ctrl-C, not an error of the run: the resume state stays (an ordinary
    exception drops it, see test_faults.py)."""


class CrashingTrainer(ToyModelTrainer):
    """Dies at a given step, like a job killed mid-run."""

    crash_at = 1750

    def run(self, start, stop):
        if start <= self.crash_at < stop:
            raise Crash
        return super().run(start, stop)


def test_interrupted_run_resumes_to_identical_numbers(tmp_path):
    reference = read_all(run(tmp_path / "reference.h5"))
    out = tmp_path / "history.h5"
    crashing = CrashingTrainer(*init_weights([42], 50, 2), lr=5.0, tied=False)
    with pytest.raises(Crash):
        run(out, trainer=crashing, checkpoint_seconds=0)
    assert not out.exists()  # never mistaken for a finished file
    assert (tmp_path / "history.h5.ckpt").exists()
    segments = sorted((tmp_path / "history.h5.parts").glob("[0-9]*.h5"))
    assert len(segments) == 17  # one per checkpoint, at 100, ..., 1700
    with pytest.raises(IncompleteHistoryError):
        History(segments[0])
    resumed = read_all(run(out))  # a fresh trainer: state comes from the checkpoint
    for key in reference:
        np.testing.assert_array_equal(resumed[key], reference[key], err_msg=key)
    assert not (tmp_path / "history.h5.ckpt").exists()


def test_snapshots_at_explicit_steps_and_resume_to_identical_numbers(tmp_path):
    """`snapshot_at` (here log-spaced): snapshots exactly at those steps (checked against a run
    snapshotting every step), metrics every step, and a killed run resumes bit-identically."""
    steps, at = 1200, log_steps(1200, 15)
    assert at[:4] == [1, 2, 3, 5] and at[-1] == steps and len(at) == 15
    attrs = run_attrs("superposition", {**CONFIG, "epochs": steps, "snapshot_at": at}, [42])

    def explicit(path, trainer=None, **kwargs):
        trainer = trainer or make_trainer()
        fit(trainer, steps=steps, snapshot_at=at, out=path, attrs=attrs, progress=False, **kwargs)
        return read_all(path)

    every = tmp_path / "every.h5"
    fit(make_trainer(), steps=steps, snapshot_every=1, out=every, attrs=attrs, progress=False)
    dense, reference = read_all(every), explicit(tmp_path / "reference.h5")
    assert reference["params/step"].tolist() == [0, *at]
    for name in ("W_E", "W_U"):
        np.testing.assert_array_equal(
            reference[f"params/{name}"], dense[f"params/{name}"][[0, *at]]
        )
    np.testing.assert_array_equal(reference["metrics/loss"], dense["metrics/loss"])
    assert reference["metrics/step"].tolist() == list(range(steps))

    class Crashing(CrashingTrainer):
        crash_at = 700  # between the snapshots at 436 and 723

    out = tmp_path / "history.h5"
    with pytest.raises(Crash):
        explicit(
            out, Crashing(*init_weights([42], 50, 2), lr=5.0, tied=False), checkpoint_seconds=0
        )
    assert (tmp_path / "history.h5.ckpt").exists() and not out.exists()
    resumed = explicit(out)
    assert resumed.keys() == reference.keys()
    for key in reference:
        np.testing.assert_array_equal(resumed[key], reference[key], err_msg=key)


def test_snapshot_steps_refuse_what_they_cannot_take():
    assert snapshot_steps(250, every=100) == [0, 100, 200, 250]
    assert snapshot_steps(250, at=[0, 10, 250]) == snapshot_steps(250, at=[10]) == [0, 10, 250]
    for bad in ([10, 5], [3, 3], [-1, 4], [5, 251], [2.5]):
        with pytest.raises(ValueError, match="snapshot steps"):
            snapshot_steps(250, at=bad)
    with pytest.raises(ValueError, match="not both"):
        snapshot_steps(250, every=10, at=[5])
    with pytest.raises(ValueError, match="not both"):
        snapshot_steps(250)
    with pytest.raises(ValueError, match="positive integer"):
        snapshot_steps(250, every=0)


def train_cli_args(tmp_path, **overrides) -> list[str]:
    """Arguments of the `superposition train` verb (without --out), its data made first."""
    data = tmp_path / "data.h5"
    run_cli("superposition", "make_data", "--features", "50", "--out", str(data))
    config = {**CONFIG, "tied": False, "seeds": [42], **overrides}
    return ["superposition", "train", "--config", json.dumps(config), "--data", str(data)]


def test_sigkilled_training_process_resumes_to_identical_numbers(tmp_path):
    """A real `kill -9` of the train verb mid-run, then the same command again."""
    args = train_cli_args(tmp_path, epochs=30000, seeds=[3])
    env = {**os.environ, "LD_CHECKPOINT_SECONDS": "0"}
    out = tmp_path / "killed.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "learning_dynamics", *args, "--out", str(out)],
        env=env,
        stderr=subprocess.PIPE,
    )
    ckpt = tmp_path / "killed.h5.ckpt"
    deadline = time.monotonic() + 60
    while not ckpt.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not out.exists(), proc.stderr.read().decode()[-2000:]
    resumed_run = run_cli(*args, "--out", str(out), env={"LD_CHECKPOINT_SECONDS": "0"}, check=False)
    assert resumed_run.returncode == 0, resumed_run.stderr[-3000:]
    run_cli(*args, "--out", str(tmp_path / "straight.h5"))
    resumed, straight = read_all(out), read_all(tmp_path / "straight.h5")
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)


def test_checkpoint_of_another_config_is_not_resumed(tmp_path):
    out = tmp_path / "history.h5"
    crashing = CrashingTrainer(*init_weights([42], 50, 2), lr=5.0, tied=False)
    with pytest.raises(Crash):
        run(out, trainer=crashing, checkpoint_seconds=0)
    other = run_attrs("superposition", {**CONFIG, "lr": 4.0}, [42])
    fit(make_trainer(lr=4.0), steps=3000, snapshot_every=100, out=out, attrs=other, progress=False)
    fresh = tmp_path / "fresh.h5"
    fit(
        make_trainer(lr=4.0), steps=3000, snapshot_every=100, out=fresh, attrs=other, progress=False
    )
    np.testing.assert_array_equal(read_all(out)["params/W_E"], read_all(fresh)["params/W_E"])


def test_divergence_stops_the_run_with_a_clear_error(tmp_path):
    out = tmp_path / "history.h5"
    with pytest.raises(DivergenceError, match=r"diverged: metric 'loss' is NaN or inf at step \d+"):
        run(out, trainer=make_trainer(lr=1e6))
    assert not out.exists() and not (tmp_path / "history.h5.parts").exists()


def test_divergence_through_the_command_line(tmp_path):
    args = train_cli_args(tmp_path, lr=1e6)
    result = run_cli(*args, "--out", str(tmp_path / "h.h5"), check=False)
    assert result.returncode != 0
    assert "DivergenceError: training diverged" in result.stderr
