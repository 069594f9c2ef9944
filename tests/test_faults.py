"""Faults and bad input (issue 15): every case is refused before any job with the key named; or
detected, named and rebuilt; or restarted and bit-identical to an uninterrupted run."""

from __future__ import annotations

import copy
import errno
import json
import logging
import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, load_config, run_cli, snakemake
from test_history_training import read_all, run

from learning_dynamics import history, runconfig, studies, training
from learning_dynamics.config import LEVELS, ConfigError, check_config, load, semantic_problems
from learning_dynamics.history import History, HistoryIntegrityError, HistoryWriter
from learning_dynamics.io import (
    DamagedFileError,
    DiskFullError,
    is_disk_full,
    read_arrays,
    write_arrays,
)
from learning_dynamics.makemore.sampler import BatchSampler, peek_words, randperm_block
from learning_dynamics.reproduction.claims import ClaimsError, load_claims
from learning_dynamics.reproduction.scorecard import evaluate
from learning_dynamics.superposition.model import ToyModelTrainer, init_weights

STEPS = 1200  # snapshots every 100: 12 segments with checkpoint_seconds=0


class Killed(BaseException):
    """Stands for SIGKILL / Ctrl-C: not an error of the run, so its resume state must stay."""


class KilledAt(ToyModelTrainer):
    """Killed when asked for the updates from `at` on."""

    def __init__(self, at: int) -> None:
        super().__init__(*init_weights([42], 50, 2), lr=5.0, tied=False)
        self.at = at

    def run(self, start, stop):
        if start >= self.at:
            raise Killed
        return super().run(start, stop)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run's history."""
    return read_all(run(tmp_path_factory.mktemp("ref") / "history.h5", steps=STEPS))


def assert_identical(path, reference):
    got = read_all(path)
    assert got.keys() == reference.keys()
    for key in reference:
        np.testing.assert_array_equal(got[key], reference[key], err_msg=key)


def killed_run(out, at=700):
    with pytest.raises(Killed):
        run(out, trainer=KilledAt(at), steps=STEPS, checkpoint_seconds=0)
    assert out.with_name(out.name + ".ckpt").exists() and not out.exists()
    return sorted(out.with_name(out.name + ".parts").glob("[0-9]*.h5"))


# ---- 1, 4: segments checked by content on resume ------------------------------------------------


def kill_after_the_fifth_segment(tmp_path, monkeypatch):
    """Train until the 5th checkpoint write, which is killed after its segment was written but
    before the training state was saved; returns the history's path."""
    out = tmp_path / "history.h5"
    saves = []

    def killed_after_the_segment(path, data):
        saves.append(path)
        if len(saves) == 5:
            raise Killed
        with open(path, "wb") as f:
            f.write(data)

    monkeypatch.setattr(training, "_write_bytes", killed_after_the_segment)
    with pytest.raises(Killed):
        run(out, steps=STEPS, checkpoint_seconds=0)
    monkeypatch.undo()
    return out


def test_kill_between_segment_and_checkpoint_then_deleted_segment_restarts(
    tmp_path, reference, monkeypatch, caplog
):
    out = kill_after_the_fifth_segment(tmp_path, monkeypatch)
    segments = sorted((tmp_path / "history.h5.parts").glob("[0-9]*.h5"))
    assert len(segments) == 5  # the checkpoint records 4 of them
    segments[1].unlink()
    with caplog.at_level(logging.WARNING, logger="learning_dynamics.training"):
        run(out, steps=STEPS)
    assert "restarting from step 0" in caplog.text and "000001.h5" in caplog.text
    assert "is missing" in caplog.text
    assert_identical(out, reference)
    assert not (tmp_path / "history.h5.parts").exists()
    assert not (tmp_path / "history.h5.ckpt").exists()


def test_kill_between_segment_and_checkpoint_resumes_without_the_extra_segment(
    tmp_path, reference, monkeypatch, caplog
):
    out = kill_after_the_fifth_segment(tmp_path, monkeypatch)
    with caplog.at_level(logging.INFO, logger="learning_dynamics.training"):
        run(out, steps=STEPS)
    assert "resuming" in caplog.text and "step 400" in caplog.text
    assert_identical(out, reference)


def test_garbage_segment_after_a_kill_restarts(tmp_path, reference, caplog):
    out = tmp_path / "history.h5"
    segments = killed_run(out)
    segments[3].write_bytes(np.random.default_rng(0).bytes(segments[3].stat().st_size))
    with caplog.at_level(logging.WARNING, logger="learning_dynamics.training"):
        run(out, steps=STEPS)
    assert "000003.h5 differs from the checkpoint's record" in caplog.text
    assert_identical(out, reference)
    assert not (tmp_path / "history.h5.ckpt").exists()


def test_a_kill_keeps_the_resume_state_and_resumes_bit_identically(tmp_path, reference):
    out = tmp_path / "history.h5"
    assert len(killed_run(out)) == 7
    run(out, steps=STEPS)
    assert_identical(out, reference)


# ---- 5 (README): no leftovers after a failed job; a full disk keeps the resume state -----------


class Buggy(ToyModelTrainer):
    def run(self, start, stop):
        if start >= 500:
            raise ValueError("a bug in the trainer")
        return super().run(start, stop)


def test_a_failed_job_leaves_no_parts_and_no_checkpoint(tmp_path):
    out = tmp_path / "history.h5"
    with pytest.raises(ValueError, match="a bug"):
        run(
            out, trainer=Buggy(*init_weights([42], 50, 2), lr=5.0, tied=False), checkpoint_seconds=0
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_full_disk_names_the_segment_and_keeps_the_resume_state(tmp_path, monkeypatch, reference):
    out = tmp_path / "history.h5"
    calls = []
    write_segment = history._write_segment

    def full_after_three(path, arrays):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write_segment(path, arrays)

    monkeypatch.setattr(history, "_write_segment", full_after_three)
    with pytest.raises(DiskFullError, match=r"disk full: cannot write the history segment .*"):
        run(out, steps=STEPS, checkpoint_seconds=0)
    monkeypatch.undo()
    assert (tmp_path / "history.h5.ckpt").exists()  # space freed: the rerun resumes
    run(out, steps=STEPS)
    assert_identical(out, reference)


def test_full_disk_names_the_checkpoint(tmp_path, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(training, "_write_bytes", full)
    with pytest.raises(DiskFullError, match=r"disk full: cannot write the checkpoint .*\.ckpt"):
        run(tmp_path / "history.h5", steps=STEPS, checkpoint_seconds=0)


def test_hdf5s_and_torchs_disk_full_errors_are_recognised():
    assert is_disk_full(OSError("Can't write data (file write failed: errno = 28, ...)"))
    assert is_disk_full(RuntimeError("[enforce fail] No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


# ---- 1: steps verified before a history is marked complete -------------------------------------


def test_a_history_with_wrong_steps_is_never_marked_complete(tmp_path):
    out = tmp_path / "history.h5"
    writer = HistoryWriter(out, {"study": "test"})
    for step in (0, 100, 300, 200):  # out of order
        writer.append("params", torch.tensor([step]), {"w": torch.zeros(1, 3)})
    writer.append("metrics", torch.arange(0, 300), {"loss": torch.zeros(300)})
    expected = {"params": np.array([0, 100, 200, 300]), "metrics": np.arange(300)}
    with pytest.raises(HistoryIntegrityError, match=r"'params' holds steps \[0, 100, 300, 200\]"):
        writer.finish(expected_steps=expected.__getitem__)
    writer.abort()
    assert not out.exists() and not (tmp_path / "history.h5.parts").exists()


def test_history_datasets_are_checksummed_and_deflated(tmp_path):
    path = run(tmp_path / "history.h5", steps=300)
    with h5py.File(path, "r") as f:
        for name in ("params/W_E", "params/step", "metrics/loss"):
            assert f[name].fletcher32 and f[name].compression == "gzip" and f[name].shuffle
    write_arrays(tmp_path / "x.h5", {"a": np.arange(10.0), "b": np.ones((40, 40)), "s": 1.0})
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert f["a"].fletcher32 and f["b"].fletcher32 and f["b"].compression == "gzip"


# ---- 2, 5: damaged files are named, moved aside and rebuilt ------------------------------------


@pytest.mark.parametrize("where", [0.3, 0.5, 0.7, 0.9])
def test_random_bytes_in_a_finished_history_raise_naming_the_file(tmp_path, where):
    path = run(tmp_path / "history.h5", steps=3000)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(int(where * (size - 2048)))
        f.write(np.random.default_rng(1).bytes(2048))
    with pytest.raises(DamagedFileError, match=r"history\.h5 is damaged or truncated") as err:
        read_all(path)
    assert "snakemake" in str(err.value) and str(path) in str(err.value)
    assert not path.exists() and path.with_name("history.h5.damaged").exists()


def test_truncated_files_are_named_and_moved_aside(tmp_path):
    path = run(tmp_path / "history.h5", steps=300)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    with pytest.raises(DamagedFileError, match=str(path)):
        History(path)
    extract = tmp_path / "extract.h5"
    write_arrays(extract, {"a": np.random.default_rng(0).normal(size=(100, 100))})
    with open(extract, "r+b") as f:
        f.truncate(extract.stat().st_size - 5000)
    with pytest.raises(DamagedFileError, match=str(extract)):
        read_arrays(extract)
    assert not extract.exists()


def test_missing_files_and_names_are_not_taken_for_damage(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_arrays(tmp_path / "absent.h5")
    path = run(tmp_path / "history.h5", steps=300)
    with History(path) as h, pytest.raises(KeyError):
        h.read("params", "no_such_parameter")
    assert path.exists()


TINY_SUPERPOSITION = "superposition:\n  epochs: 600\n  figure_epochs: [0, 600]\n"


@pytest.mark.slow
def test_damaged_history_is_named_by_the_failing_job_then_rebuilt(tmp_path):
    """A truncated history.h5 (its reader, the extract job, reruns since the mtime changed): the
    job fails naming it and moves it aside, and the command the message gives rebuilds it (bit
    for bit) and everything made from it. (extract.h5 goes through read_arrays: see above.)"""
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_SUPERPOSITION)
    main = tmp_path / "results" / "superposition" / "main"
    path, extract = main / "history.h5", main / "extract.h5"
    target = str(extract.relative_to(tmp_path))
    args = (target, "--cores", "1", "--configfile", str(ROOT / "config/quick.yaml"), str(config))
    snakemake(tmp_path, *args)
    original = read_all(path)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    failed = snakemake(tmp_path, *args, check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "Error in rule superposition_extract" in output
    relative = path.relative_to(tmp_path)
    assert f"{relative} is damaged or truncated" in output, output[-3000:]
    assert f"rerun your snakemake command with `--forcerun {relative}` added" in output
    assert not path.exists() and path.with_name("history.h5.damaged").exists()
    assert not extract.exists()  # the failed job's output, removed by Snakemake
    snakemake(tmp_path, *args, "--forcerun", str(relative))  # what the message says
    assert_identical(path, original)
    assert extract.stat().st_mtime_ns > path.stat().st_mtime_ns  # and what is made from it


# ---- 3, 6, 7: semantic config checks, before any job -------------------------------------------


def refused(config) -> str:
    with pytest.raises(ConfigError, match="invalid config, nothing was run") as err:
        check_config(config)
    return str(err.value)


@pytest.fixture
def config():
    return copy.deepcopy(load_config(quick=True))


def test_the_shipped_configs_pass_every_check():
    for level in LEVELS:
        check_config(load(level))


@pytest.mark.parametrize("train_num", [55, 56])
def test_grokking_train_num_must_leave_a_test_pair(config, train_num):
    config["grokking"]["train_num"] = train_num
    message = refused(config)
    assert f"grokking.train_num: {train_num} is too large" in message and "at most 54" in message
    config["grokking"]["train_num"] = 54
    config["grokking"]["fraction"]["train_nums"] = [10, 55, 60]
    assert "grokking.fraction.train_nums: [55, 60] too large" in refused(config)


def test_a_refused_grokking_config_runs_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grokking:\n  train_num: 55\n")
    result = snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    assert result.returncode != 0
    assert "grokking.train_num: 55 is too large" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_integer_valued_floats_are_refused_for_integer_keys(config):
    config["makemore"]["steps"] = 3000.0
    config["memorization"]["capacity"]["heads"]["max"] = 7.0
    message = refused(config)
    assert "makemore.steps: 3000.0 is not an integer (a count or size); write 3000" in message
    assert "memorization.capacity.heads.max: 7.0 is not an integer" in message


def test_a_yaml_exponent_without_a_dot_is_explained(config):
    config["grokking"]["rep_lr"] = yaml.safe_load("lr: 1e-3")["lr"]  # PyYAML: the string '1e-3'
    config["grokking"]["lr_grid"]["dec_lr"] = "5e-4"  # a oneOf (number or range)
    message = refused(config)
    assert "grokking.rep_lr: '1e-3' was read as a string, not a number" in message
    assert "YAML 1.1" in message and "write 1.0e-3" in message
    assert "grokking.lr_grid.dec_lr: '5e-4' was read as a string" in message


def test_linear_teacher_longer_than_dim(config):
    config["linear"]["teacher"] = [0.5, 1.0, 2.0]
    assert "linear.teacher: 3 values" in refused(config)


def test_memorization_capacity_range_and_contributions_example(config):
    config["memorization"]["capacity"]["head_dim"].update(min=5, max=2)
    config["memorization"]["contributions"]["example"] = 50  # nb_tokens [10, 5, 1]: 50 sequences
    message = refused(config)
    assert "memorization.capacity.head_dim: min = 5 > max = 2" in message
    assert "memorization.contributions.example: 50 indexes the law's 50 sequences" in message
    config["memorization"]["contributions"]["example"] = 49
    config["memorization"]["capacity"]["head_dim"].update(min=2, max=2)
    check_config(config)


def test_memorization_capacity_diag_variants_and_grid(config):
    diag = config["memorization"]["capacity"]["diag"]
    diag["H"] = [11]  # one head count: no slope in H (the schema)
    assert "memorization.capacity.diag.H: [11] is too short" in refused(config)
    diag.update(H=[1, 11], variants=["reproduction", "per_haed"])  # a variant of no definition
    assert "memorization.capacity.diag.variants: ['per_haed'] not in" in refused(config)
    diag["variants"] = ["per_head"]
    check_config(config)


def test_every_check_names_a_key_of_its_study(config):
    config["grokking"]["train_num"] = 100
    config["linear"]["teacher"] = [1.0] * 5
    config["memorization"]["capacity"]["last"] = 10_000
    config["superposition"]["figure_epochs"] = [0, 10**6]
    config["memorization"]["rank_distance"]["d"] = 99
    lines = semantic_problems(config)
    assert len(lines) == 5
    for line in lines:
        key = line.split(":")[0]
        assert key.split(".")[0] in studies()
        value = config
        for part in key.split("."):
            value = value[part]  # every message names a real key


# ---- 6: makemore batch_size 512, a normal value: the randperm sampler has no limit -------------


@pytest.mark.parametrize("k", [227, 512, 700, 1500])
def test_randperm_sampler_takes_any_batch_size(k):
    g = torch.Generator().manual_seed(42)
    torch.randint(10, (300,), generator=g)  # start mid-twist
    ref = torch.Generator()
    ref.set_state(g.get_state())
    z = peek_words(g, k)
    assert len(z) == k
    block = randperm_block(g, 5000, k, rows=3)
    expected = np.stack([torch.randperm(5000, generator=ref)[:k].numpy() for _ in range(3)])
    np.testing.assert_array_equal(block, expected)
    assert torch.equal(g.get_state(), ref.get_state())


def test_makemore_batch_size_512_through_the_helper_process():
    g = torch.Generator().manual_seed(42)
    ref = torch.Generator().manual_seed(42)
    sampler = BatchSampler("randperm", 182625, 512, g, block=4)
    try:
        for step in range(6):
            expected = torch.randperm(182625, generator=ref)[:512]
            assert torch.equal(sampler(step), expected)
    finally:
        sampler.close()


def test_makemore_batch_size_512_passes_the_checks(config):
    config["makemore"]["batch_size"] = 512
    check_config(config)


# ---- 9: h5dump reads a history ------------------------------------------------------------------


def test_h5dump_prints_a_historys_datasets(tmp_path):
    h5dump = shutil.which("h5dump")
    if h5dump is None:
        if os.environ.get("CI") == "true":
            pytest.fail("h5dump missing in CI: .ci/run installs Debian's hdf5-tools")
        pytest.skip("h5dump (Debian package hdf5-tools) is not installed")
    path = run(tmp_path / "history.h5", steps=300)
    out = subprocess.run(
        [h5dump, "-d", "/params/step", "-d", "/params/W_E", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "unable to print" not in out
    assert "0, 100, 200, 300" in out
    with History(path) as h:
        first = h.read("params", "W_E")[0, 0, 0, 0]
    assert f"{first:.6g}"[:6] in out


# ==== issue 22: run configs, sizes, duplicates, the scorecard's inputs, LD_DEVICE ===============

QUICK = str(ROOT / "config" / "quick.yaml")
LINEAR_CONFIG = "results/linear/main/config.json"


def files_under(path) -> list[str]:
    """Every file under `path` (Snakemake's own .snakemake/ aside): what a refusal left behind."""
    return sorted(
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and ".snakemake" not in p.relative_to(path).parts
    )


def write_run_config(path, **value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(runconfig.text(value))
    return path


@pytest.mark.parametrize(
    "edit",
    [
        ('"steps": 20000', '"steps": 2000'),  # a value changed by hand
        ('"steps": 20000', '"steps": "2000"'),  # and its type
        ('"steps": 20000', '"steps": 20000, "extra": 1'),  # a key added
        ('"steps": 20000', '"steps": 20000, "steps": 2000'),  # a key repeated
        ('"steps": 20000', '"steps": NaN'),
        ("}\n", ""),  # cut off
    ],
)
def test_a_run_config_changed_by_hand_is_refused_before_the_job_creates_anything(tmp_path, edit):
    config = write_run_config(tmp_path / "run" / "config.json", lr=0.001, steps=20000)
    config.write_text(config.read_text().replace(*edit))
    out = tmp_path / "out" / "history.h5"
    result = run_cli(
        "linear", "train", "--config", str(config), "--data", "x.h5", "--out", str(out),
        check=False,
    )  # fmt: skip
    assert result.returncode == 2 and f"argument --config: {config}" in result.stderr
    assert f"rm {config}" in result.stderr or "not valid JSON" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_config_as_written_and_a_hand_written_one_are_read():
    value = {"lr": 0.001, "steps": 20000, "teacher": [0.01, 1.0]}
    text = runconfig.text(value)
    assert json.loads(text)["_sha256"] == runconfig.digest(value)
    assert runconfig.parse(text, "x")[0] == value
    assert runconfig.digest(value) == runconfig.digest(json.loads(json.dumps(value)))


def test_fit_refuses_a_non_integer_step_count_before_creating_anything(tmp_path):
    out = tmp_path / "history.h5"
    trainer = ToyModelTrainer(*init_weights([42], 50, 2), lr=5.0, tied=False)
    for steps, every in (("2000", 100), (2000.0, 100), (2000, 0), (True, 1)):
        with pytest.raises(TypeError, match="is not a positive integer"):
            training.fit(trainer, steps=steps, snapshot_every=every, out=out, attrs={})
    assert list(tmp_path.iterdir()) == []


def write_linear_config(workdir, *configfiles):
    snakemake(workdir, LINEAR_CONFIG, "--cores", "1", "--configfile", QUICK, *configfiles)
    return workdir / LINEAR_CONFIG


def test_a_run_config_changed_by_hand_stops_the_workflow_naming_it(tmp_path):
    path = write_linear_config(tmp_path)
    path.write_text(path.read_text().replace('"steps": 20000', '"steps": 2000'))
    before = files_under(tmp_path)
    plan = snakemake(tmp_path, "results/linear/main/history.h5", "-n", "--configfile", QUICK,
                     check=False)  # fmt: skip
    output = plan.stdout + plan.stderr
    assert plan.returncode != 0 and "nothing was run" in output
    assert f"{LINEAR_CONFIG} was changed after rule write_config wrote it" in output
    assert f"rm {LINEAR_CONFIG}" in output
    assert files_under(tmp_path) == before
    path.unlink()  # the way back the message gives
    built = snakemake(tmp_path, LINEAR_CONFIG, "--cores", "1", "--configfile", QUICK)
    assert built.returncode == 0 and json.loads(path.read_text())["steps"] == 20000


def test_a_stale_run_config_is_rewritten_or_refused_never_used(tmp_path):
    """Another config wrote the file: Snakemake reruns write_config (its params changed); without
    Snakemake's records of it (results/ copied without .snakemake/) it could not, so the workflow
    stops naming the file."""
    write_linear_config(tmp_path)
    plan = snakemake(tmp_path, "results/linear/main/history.h5", "-n").stdout  # the default
    assert "Params have changed" in plan and f"output: {LINEAR_CONFIG}" in plan
    shutil.rmtree(tmp_path / ".snakemake")
    plan = snakemake(tmp_path, "results/linear/main/history.h5", "-n", check=False)
    output = plan.stdout + plan.stderr
    assert plan.returncode != 0
    assert f"{LINEAR_CONFIG} differs from what the config gives (steps: 20000 -> 100000)" in output
    assert "Snakemake has no record" in output and f"rm {LINEAR_CONFIG}" in output
    snakemake(tmp_path, "results/linear/main/history.h5", "-n", "--configfile", QUICK)  # as is


def test_a_key_repeated_in_a_config_file_is_refused_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("linear:\n  steps: 2000\nlevel: quick\nlinear:\n  seed: 3\n")
    result = snakemake(tmp_path, "-n", "--configfile", QUICK, str(bad), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "nothing was run" in output
    assert f"{bad}: line 4: duplicate key 'linear' (first at line 1)" in output
    assert files_under(tmp_path) == ["bad.yaml"]


def test_a_key_repeated_in_a_claim_is_refused_naming_it(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(
        "study: toy\nclaims:\n  - id: a\n    kind: reproduction\n    claim: c\n    source: s\n"
        "    expected: 1.0\n    tolerance: {abs: 0.1}\n    tolerance_reason: r\n"
        "    value: {file: toy/summary.json, key: x}\n    expected: 2.0\n"
    )
    with pytest.raises(ClaimsError, match=r"toy.yaml: line 11: duplicate key 'expected'"):
        load_claims([path])


@pytest.mark.parametrize("value", ["bogus", "gpu"])
def test_an_unknown_ld_device_is_refused_when_the_workflow_is_parsed(tmp_path, value):
    result = snakemake(tmp_path, "-n", "--configfile", QUICK, env={"LD_DEVICE": value},
                       check=False)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0 and f"LD_DEVICE={value!r} is not a device" in output
    assert files_under(tmp_path) == []


def test_ld_device_cuda_without_a_gpu_is_refused_before_any_job(tmp_path):
    env = {"LD_DEVICE": "cuda", "LD_GPUS": "0"}
    result = snakemake(tmp_path, LINEAR_CONFIG, "--cores", "1", "--configfile", QUICK, env=env,
                       check=False)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nothing was run: LD_DEVICE=cuda but this machine has no GPU" in output
    assert files_under(tmp_path) == []
    plan = snakemake(tmp_path, LINEAR_CONFIG, "-n", "--configfile", QUICK, env=env)
    assert plan.returncode == 0  # a dry run, or a cluster's jobs, need no GPU here


# ---- the scorecard's inputs --------------------------------------------------------------------


def score(tmp_path, value, expected=0.5, tolerance=None):
    """The scorecard row of one claim reading `value` under tmp_path/results."""
    raw = {
        "id": "x", "kind": "reproduction", "claim": "c", "source": "s", "expected": expected,
        "tolerance": tolerance or {"abs": 0.01}, "tolerance_reason": "r", "value": value,
    }  # fmt: skip
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump({"study": "toy", "claims": [raw]}))
    (claim,) = load_claims([path])
    return evaluate(claim, tmp_path / "results")


@pytest.fixture
def results(tmp_path):
    (tmp_path / "results" / "toy").mkdir(parents=True)
    return tmp_path / "results" / "toy"


TABLE = "run,loss\na,0.5\nb,0.6\n"
MIN = {"file": "toy/t.csv", "column": "loss", "agg": "min"}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (TABLE, None),
        ("run,loss\na,0.5\nb,nan\n", "1 of 2 rows of toy/t.csv hold NaN or inf in loss"),
        ("run,loss\na,0.5\nb,\n", "1 of 2 rows of toy/t.csv hold NaN or inf in loss"),
        ("run,loss\na,0.5\nb,-inf\n", "1 of 2 rows of toy/t.csv hold NaN or inf in loss"),
        ("run,loss\na,0.5\nb\n", "toy/t.csv is damaged: line 3 has 1 fields, the header 2"),
        ("run,loss\na,0.5\nb,0.", "toy/t.csv is cut off"),
        ("", "toy/t.csv is empty"),
        ("\n", "toy/t.csv is empty"),
    ],
)
def test_a_damaged_table_makes_the_claim_differ_naming_the_file(tmp_path, results, text, why):
    (results / "t.csv").write_text(text)
    row = score(tmp_path, MIN)
    if why is None:
        assert row["status"] == "reproduced" and row["reproduced"] == "0.5"
    else:
        assert row["status"] == "differs" and why in row["note"], row["note"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"loss": -Infinity}', "'loss' in toy/summary.json is -inf"),
        ('{"loss": NaN}', "'loss' in toy/summary.json is nan"),
        ('{"loss": 0.5', "toy/summary.json cannot be read"),
        ("", "toy/summary.json cannot be read"),
        (
            '{"loss": 0.9, "loss": 0.5}',
            "toy/summary.json cannot be read: toy/summary.json: duplicate key 'loss'",
        ),  # fmt: skip
        (b"\xff\xfe", "toy/summary.json cannot be read"),
    ],
)
def test_an_unreadable_json_or_a_non_finite_value_differs_naming_the_file(
    tmp_path, results, text, why
):
    path = results / "summary.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    row = score(tmp_path, {"file": "toy/summary.json", "key": "loss"}, expected=-1e300,
                tolerance={"abs": 1e300})  # fmt: skip
    assert row["status"] == "differs" and why in row["note"], row["note"]


def test_a_symlink_out_of_results_differs_and_one_inside_is_read(tmp_path, results):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(TABLE)
    (results / "t.csv").symlink_to(outside)
    row = score(tmp_path, MIN)
    assert row["status"] == "differs" and "toy/t.csv resolves to" in row["note"]
    assert "outside" in row["note"]
    (results / "t.csv").unlink()
    (results / "real.csv").write_text(TABLE)
    (results / "t.csv").symlink_to(results / "real.csv")
    assert score(tmp_path, MIN)["status"] == "reproduced"


@pytest.mark.parametrize(
    ("tolerance", "why"),
    [
        ({"abs": float("inf")}, "abs must be finite and >= 0"),
        ({"abs": float("nan")}, "abs must be finite and >= 0"),
        ({"abs": -0.1}, "abs must be finite and >= 0"),
        ({"rel": 1.0}, "rel must be below 1"),
        ({"rel": 1e300}, "rel must be below 1"),
    ],
)
def test_a_tolerance_that_admits_everything_is_refused(tmp_path, tolerance, why):
    with pytest.raises(ClaimsError, match=re.escape(why)):
        score(tmp_path, {"file": "toy/summary.json", "key": "loss"}, tolerance=tolerance)
    with pytest.raises(ClaimsError, match="a claim expects a finite number"):
        score(tmp_path, {"file": "toy/summary.json", "key": "loss"}, expected=float("-inf"))


# ---- sizes and sets, checked before anything is built ------------------------------------------


@pytest.mark.parametrize(
    ("block", "update", "key"),
    [
        ("grokking.fraction", {"train_nums": [15, 15, 30]}, "grokking.fraction.train_nums"),
        ("memorization.capacity", {"seeds": [0, 0]}, "memorization.capacity.seeds"),
        ("superposition", {"figure_epochs": [0, 0, 4000]}, "superposition.figure_epochs"),
        ("memorization.scaling.grid", {"para": [5, 5]}, "memorization.scaling.grid.para"),
        ("memorization.freezing", {"trains": [["O"], ["O"]]}, "memorization.freezing.trains"),
        ("makemore", {"compare": ["main", "main"]}, "makemore.compare"),
        ("linear.analysis", {"fractions": [0.5, 0.5]}, "linear.analysis.fractions"),
    ],
)
def test_a_repeat_in_a_set_like_list_is_refused_naming_the_key(config, block, update, key):
    target = config
    for part in block.split("."):
        target = target[part]
    target.update(update)
    message = refused(config)
    assert f"{key}: {next(iter(update.values()))!r} repeats" in message
    assert "each value may appear once" in message


def test_a_log_spaced_range_with_a_bound_at_zero_is_refused_naming_the_key(config):
    config["grokking"]["lr_grid"]["rep_lr"] = {"min": 0.0, "max": 1e-2, "num": 4, "log": True}
    config["grokking"]["wd_grid"]["dec_wd"] = {"min": 0.0, "max": 10.0, "num": 11, "log": True}
    message = refused(config)
    assert "grokking.lr_grid.rep_lr: min = 0.0, max = 0.01 with log: true" in message
    assert "grokking.wd_grid.dec_wd: min = 0.0" in message
    config["grokking"]["wd_grid"]["dec_wd"]["log"] = False  # 0, 1, ..., 10: the shipped one
    config["grokking"]["lr_grid"]["rep_lr"]["min"] = 1e-5
    check_config(config)


@pytest.mark.parametrize(
    ("block", "update", "size"),
    [
        ("grokking.lr_grid", {"rep_lr": {"min": 1e-5, "max": 1e-2, "num": 10**5, "log": True},
                              "dec_lr": {"min": 1e-5, "max": 1e-2, "num": 10**5, "log": True}},
         "100000 (rep_lr.num) x 100000 (dec_lr.num) x 2 (count) = 20,000,000,000 members"),
        ("linear.sweep", {"s": {"min": 0.1, "max": 3.0, "count": 10**4},
                          "scale": {"min": 0.01, "max": 0.3, "count": 10**4}},
         "10000 (s.count) x 10000 (scale.count) = 100,000,000 members"),
        ("superposition.ensemble", {"count": 10**8}, "100000000 (count) = 100,000,000 members"),
        ("memorization.capacity.heads", {"max": 10**7}, "members"),
    ],
)  # fmt: skip
def test_a_grid_beyond_the_stated_limit_is_refused_naming_key_size_limit(config, block, update,
                                                                         size):  # fmt: skip
    target = config
    for part in block.split("."):
        target = target[part]
    target.update(update)
    message = refused(config)
    assert f"{block.removesuffix('.heads')}" in message and size in message
    assert "above limits.members = 100,000" in message and "raise `limits.members`" in message
    config["limits"]["members"] = 10**12  # a cluster's config raises it: then memory speaks
    assert "above resources.train.mem_mb = 4,000" in refused(config)


def test_a_job_beyond_its_memory_is_refused_and_more_jobs_or_memory_let_it_pass(config):
    config["grokking"]["lr_grid"]["rep_lr"] = {"min": 1e-5, "max": 1e-2, "num": 2000, "log": True}
    message = refused(config)  # 2000 x 3 cells x 2 seeds: 12000 members in 2 jobs
    assert "grokking.lr_grid: a job of 6,000 members needs about" in message
    assert "above resources.train.mem_mb = 4,000" in message
    assert "a larger grokking.lr_grid.jobs" in message
    config["grokking"]["lr_grid"]["jobs"] = 10
    check_config(config)
    config["grokking"]["lr_grid"]["jobs"] = 2
    config["resources"]["train"]["mem_mb"] = 64000
    check_config(config)


def test_a_huge_grid_is_refused_when_the_workflow_is_parsed_leaving_nothing(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(
        "grokking:\n  lr_grid:\n"
        "    rep_lr: {min: 1.0e-5, max: 1.0e-2, num: 100000, log: true}\n"
        "    dec_lr: {min: 1.0e-5, max: 1.0e-2, num: 100000, log: true}\n"
    )
    result = snakemake(tmp_path, "-n", "--configfile", QUICK, str(big), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "grokking.lr_grid: 100000 (rep_lr.num)" in output
    assert files_under(tmp_path) == ["big.yaml"]


def test_a_run_config_or_a_scored_file_that_is_a_folder_is_named(tmp_path, results):
    folder = tmp_path / "run" / "config.json"
    folder.mkdir(parents=True)
    assert f"{folder} cannot be read" in runconfig.edited(folder)
    (results / "summary.json").mkdir()
    row = score(tmp_path, {"file": "toy/summary.json", "key": "loss"})
    assert row["status"] == "differs" and "toy/summary.json cannot be read" in row["note"]


def test_memorizations_seed_lists_count_against_the_limit(config):
    config["memorization"]["dynamics"]["extra_seeds"] = list(range(1, 200_001))
    message = refused(config)
    assert "memorization.dynamics: 200001 (seed and extra_seeds) = 200,001 members" in message


@pytest.mark.parametrize(
    ("study", "edit", "why"),
    [
        ("linear", {"steps": "2000"}, "steps: '2000' is not int"),
        ("linear", {"extra": 1}, "unknown key 'extra'"),
        ("superposition", {"seeds": [0, "1"]}, "seeds: [0, '1'] is not tuple[int, ...]"),
        ("makemore", {"batchnorm": "yes"}, "batchnorm: 'yes' is not bool"),
        ("grokking", {"settle_rqi": "0.9"}, "settle_rqi: '0.9' is not float | None"),
    ],
)
def test_a_run_config_written_by_hand_is_typed_before_the_job_creates_anything(
    tmp_path, study, edit, why
):
    """Without a digest (a run outside the workflow) the train verb checks the types itself."""
    from learning_dynamics import config as configs

    runs = __import__(f"learning_dynamics.{study}.runs", fromlist=["run_config"])
    run = "default" if study == "grokking" else "main"
    value = {**runs.run_config(configs.load("quick")[study], run), **edit}
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(value))
    out = tmp_path / "out" / "history.h5"
    result = run_cli(study, "train", "--config", str(path), "--data", "x.h5", "--out", str(out),
                     check=False)  # fmt: skip
    assert result.returncode != 0 and "RunConfigError" in result.stderr
    assert why in result.stderr, result.stderr[-600:]
    assert not (tmp_path / "out").exists()
