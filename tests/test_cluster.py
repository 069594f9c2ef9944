"""Cluster execution: device choice, one GPU per concurrent job, the SLURM profile's requests,
the HTML report. (The real-SLURM run is tests/test_slurm.py.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from conftest import ROOT, snakemake

from learning_dynamics import devices

QUICK = str(ROOT / "config" / "quick.yaml")

# A process that claims a GPU slot as a training verb does, then records what it got and when.
CLAIM = """
import os, sys, time
from learning_dynamics.devices import training_device
device = training_device()
start = time.time()
time.sleep(float(sys.argv[2]))
with open(sys.argv[1], "w") as f:
    f.write(f"{os.environ.get('CUDA_VISIBLE_DEVICES')} {start} {time.time()} {device}")
"""


@pytest.fixture
def gpu_env(tmp_path, monkeypatch):
    """Two fake GPUs, private lock folder, nothing pre-assigned."""
    env = {"LD_GPUS": "2", "LD_GPU_LOCK_DIR": str(tmp_path / "locks"), "LD_DEVICE": "auto"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(devices, "_held", [])
    return env


def test_device_choice(monkeypatch):
    monkeypatch.setenv("LD_DEVICE", "cpu")
    assert devices.training_device() == torch.device("cpu")
    monkeypatch.setenv("LD_DEVICE", "tpu")
    with pytest.raises(ValueError, match="LD_DEVICE"):
        devices.training_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("LD_DEVICE", "auto")
        monkeypatch.setenv("LD_GPUS", "0")
        assert devices.training_device() == torch.device("cpu")
        monkeypatch.setenv("LD_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="no CUDA"):
            devices.training_device()


THREADS_PROBE = """
import ctypes, numpy
from learning_dynamics.devices import set_threads
maps = open("/proc/self/maps").read().splitlines()
lib = ctypes.CDLL(next(line.split()[-1] for line in maps if "openblas" in line.lower()))
get = lib.scipy_openblas_get_num_threads64_
before = get()
set_threads(1)
print(before, get())
"""


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or not sys.platform.startswith("linux"), reason="needs 2 cores"
)
def test_set_threads_bounds_numpys_openblas_too():
    """A 1-thread job must not multiply on every core through NumPy (a fresh interpreter:
    OpenBLAS starts with one thread per core)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", THREADS_PROBE], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    before, after = map(int, out.stdout.split())
    assert before > 1 and after == 1


def test_gpu_slot_is_freed_when_its_holder_dies(tmp_path, gpu_env):
    script = tmp_path / "claim.py"
    script.write_text(CLAIM)
    holder = subprocess.Popen([sys.executable, str(script), str(tmp_path / "a"), "60"])
    deadline = time.monotonic() + 30
    while not (tmp_path / "locks" / "gpu0.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    try:
        assert devices.claim_gpu() == "1"  # slot 0 is taken by the holder
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a crash: no cleanup code runs
        holder.wait()
    devices._held.pop().close()
    del os.environ["CUDA_VISIBLE_DEVICES"]
    assert devices.claim_gpu() == "0"  # the kernel dropped the dead holder's lock


def test_preset_cuda_visible_devices_is_respected(gpu_env, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # e.g. set by SLURM for a --gpus job
    assert devices.claim_gpu() == "3"
    assert not devices._held


@pytest.mark.slow
def test_concurrent_snakemake_jobs_get_distinct_gpus(tmp_path, gpu_env):
    """`snakemake --cores 2 --resources gpu=2`: jobs that overlap in time see different GPUs."""
    (tmp_path / "claim.py").write_text(CLAIM)
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            f"""
            rule all:
                input: expand("out/{{i}}.txt", i=range(4))

            rule job:
                output: "out/{{i}}.txt"
                resources: gpu=1
                shell: "{sys.executable} claim.py {{output}} 2"
            """
        )
    )
    exe = os.path.join(os.path.dirname(sys.executable), "snakemake")
    subprocess.run(
        [exe, "--cores", "2", "--resources", "gpu=2", "-d", str(tmp_path)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    jobs = []
    for i in range(4):
        gpu, start, stop, device = (tmp_path / "out" / f"{i}.txt").read_text().split()
        jobs.append((gpu, float(start), float(stop)))
        assert device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {gpu for gpu, _, _ in jobs} == {"0", "1"}
    overlapping = [
        (a, b) for i, a in enumerate(jobs) for b in jobs[i + 1 :] if a[1] < b[2] and b[1] < a[2]
    ]
    assert overlapping, "no two jobs ran at once: the test proves nothing"
    for a, b in overlapping:
        assert a[0] != b[0], (a, b)


def rule_resources(dry_run: str) -> dict[str, list[str]]:
    """Rule name -> the `resources:` line of each of its jobs in `snakemake -n` output."""
    found: dict[str, list[str]] = {}
    for name, resources in re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$",
                                      dry_run, re.M):  # fmt: skip
        found.setdefault(name, []).append(resources)
    return found


def test_paper_dry_run_with_slurm_profile_asks_gpus_only_for_training(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    run = snakemake(tmp_path, "-n", "--profile", str(ROOT / "profiles" / "slurm"))
    jobs = rule_resources(run.stdout + run.stderr)
    training = {name for name in jobs if name.endswith("_train")}
    assert {"superposition_train", "linear_train", "linear_sweep_train"} <= training
    assert len(jobs) > len(training) + 5  # data, analysis and figure rules were listed too
    for name, lines in jobs.items():
        for line in lines:
            wants_gpu = re.search(r"\bgpu=1\b", line) is not None
            assert wants_gpu == (name in training), (name, line)
            if name in training:
                assert "cpus_per_gpu=1" in line and "mem_mb=4000" in line and "runtime=60" in line


def test_report_has_every_figure_with_its_caption_and_config(tmp_path):
    """`snakemake --report`: every figure target, its caption, the config values that made it.

    The figures here are stand-in PNGs (building them all is the job of the workflow tests);
    what is tested is that every figure is registered for the report with its own caption."""
    import matplotlib.pyplot as plt

    plan = snakemake(tmp_path, "-n", "--configfile", QUICK).stdout  # every target of `all`
    images = set(re.findall(r"results/figures/(\w+)\.png", plan))
    pages = set(re.findall(r"results/figures/(\w+)\.html", plan))  # the explorer pages
    figures = sorted(images | pages)
    assert {"superposition_loss", "makemore_loss", "grokking_phases"} <= images
    assert {"superposition_explorer", "memorization_explorer"} <= pages
    assert figures == sorted(p.stem for p in (ROOT / "workflow" / "report").glob("*_*.rst"))
    (tmp_path / "results" / "figures").mkdir(parents=True)
    for name in images:
        plt.imsave(tmp_path / "results" / "figures" / f"{name}.png", [[0.0, 1.0]])
    for name in pages:
        (tmp_path / "results" / "figures" / f"{name}.html").write_text("<p>page</p>")
    report = tmp_path / "report.html"
    built = snakemake(tmp_path, "--report", str(report), "--configfile", QUICK)
    assert "ERROR/" not in built.stdout + built.stderr  # every caption is valid reStructuredText
    html = report.read_text()
    captions = re.findall(r'"caption": "(.*?)(?<!\\)"', html)
    for name in figures:
        assert f"{name}.{'html' if name in pages else 'png'}" in html, name
        (caption,) = [c for c in captions if f'literal\\">{name}</tt>' in c]
        own = (ROOT / "workflow" / "report" / f"{name}.rst").read_text().split()[:2]
        assert " ".join(own) in caption, (name, caption[:300])
    # The config that produced them: quick.yaml's budgets, not the paper's.
    epochs = r"literal\\\">epochs</tt>: <tt class=\\\"docutils literal\\\">4000</tt>"
    assert re.search(epochs, html)
