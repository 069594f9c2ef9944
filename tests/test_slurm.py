"""The workflow on a real single-node SLURM (slurmctld + slurmd + munged on localhost).

Everything the test starts is private to a temporary folder: its own munge key and socket, its
own slurm.conf (found through SLURM_CONF), free ports, and stand-in files for two GPUs, so it
touches no system configuration and tears everything down. The Debian packages `slurm-wlm` and
`munge` must be installed (`.ci/run` does it); the test is skipped only where they are not.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import ROOT, snakemake

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
missing = [d for d in DAEMONS if shutil.which(d, path=f"{os.environ['PATH']}:/usr/sbin") is None]
plugin_missing = False
try:
    import snakemake_executor_plugin_slurm  # noqa: F401
except ImportError:
    plugin_missing = True

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing),
        reason=f"SLURM not installed ({', '.join(missing)} missing): "
        "`apt-get install slurm-wlm munge` as root (.ci/run does it)",
    ),
    pytest.mark.skipif(
        plugin_missing, reason="snakemake-executor-plugin-slurm not installed (pip install -e .)"
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="slurmd must run as root to start jobs"),
]

# Two training jobs (superposition main, linear main): both figures need every kind of rule.
TARGETS = ("superposition_loss", "linear_loss")
# Small requests so the jobs fit any test machine; they reach sbatch (checked below).
TEST_RESOURCES = {"resources": {"train": dict(gpu=1, cpus_per_gpu=1, mem_mb=500, runtime=9)}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sbin(name: str) -> str:
    return shutil.which(name, path=f"{os.environ['PATH']}:/usr/sbin")  # type: ignore[return-value]


class Cluster:
    """munged + slurmctld + slurmd for this host, configured under `root`."""

    def __init__(self, root: Path) -> None:
        self.root, self.procs = root, []
        self.host = socket.gethostname().split(".")[0]
        # Inside a job, the jobstep plugin drops SLURM_* (SLURM_CONF too) before its `srun`; on a
        # real cluster srun then finds /etc/slurm/slurm.conf. Rather than write there, jobs get an
        # `srun` first on PATH that points the real one at this cluster's config.
        bin_dir = root / "bin"
        bin_dir.mkdir()
        srun = bin_dir / "srun"
        real = shutil.which("srun")
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={root}/slurm.conf exec {real} "$@"\n')
        srun.chmod(0o755)
        self.env = {
            **os.environ,
            "SLURM_CONF": str(root / "slurm.conf"),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }

    def write_config(self) -> None:
        r = self.root
        for d in ("state", "spool", "log"):
            (r / d).mkdir()
        for i in range(2):
            (r / f"gpu{i}").touch()  # stand-in device files: SLURM only counts them
        (r / "munge.key").write_bytes(os.urandom(1024))
        (r / "munge.key").chmod(0o400)
        cpus = os.cpu_count() or 1
        memory = int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
        (r / "slurm.conf").write_text(
            f"""ClusterName=ldtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={r}/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SchedulerType=sched/backfill
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
MailProg=/bin/true
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        )
        (r / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File={r}/gpu[0-1]\n")

    def _start(self, *argv: str) -> None:
        log = open(self.root / "log" / f"{Path(argv[0]).name}.out", "w")  # noqa: SIM115
        self.procs.append(subprocess.Popen(argv, env=self.env, stdout=log, stderr=log))

    def start(self) -> None:
        self.write_config()
        r = self.root
        self._start(
            _sbin("munged"), "-F", "--force", f"--socket={r}/munge.socket",
            f"--key-file={r}/munge.key", f"--pid-file={r}/munged.pid",
            f"--log-file={r}/log/munged.log", f"--seed-file={r}/munged.seed",
        )  # fmt: skip
        self._wait(lambda: (r / "munge.socket").exists(), "munged")
        self._start(_sbin("slurmctld"), "-D", "-i", "-f", str(r / "slurm.conf"))
        self._wait(lambda: self.run("sinfo", check=False).returncode == 0, "slurmctld")
        self._start(_sbin("slurmd"), "-D", "-f", str(r / "slurm.conf"), "-N", self.host)
        self._wait(lambda: "idle" in self.run("sinfo", "-h", "-o", "%t").stdout, "slurmd")

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, check=check)

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f"== {f.name}\n{f.read_text()[-2000:]}" for f in (self.root / "log").iterdir()
                )
                raise RuntimeError(f"{what} did not come up (exited: {dead})\n{logs}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.run("scancel", "--user", "root", check=False)
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _arrays(path: Path) -> dict[str, np.ndarray]:
    out = {}

    def add(name, item):
        if isinstance(item, h5py.Dataset):
            out[name] = item[()]

    with h5py.File(path, "r") as f:
        f.visititems(add)
    return out


def test_quick_targets_through_slurm_match_a_local_run(cluster, tmp_path):
    config = tmp_path / "resources.yaml"
    config.write_text(yaml.safe_dump(TEST_RESOURCES))
    configs = ("--configfile", str(ROOT / "config" / "quick.yaml"), str(config))
    remote, local = tmp_path / "slurm", tmp_path / "local"
    started = time.monotonic()
    run = snakemake(
        remote, *TARGETS, "--profile", str(ROOT / "profiles" / "slurm"), *configs,
        "--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs",
        "--cores", "1",
        check=False, env={k: cluster.env[k] for k in ("SLURM_CONF", "PATH")},
    )  # fmt: skip
    took = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-5000:]
    snakemake(local, *TARGETS, "--cores", "1", *configs)

    # Only the two training jobs went through sbatch, each with its own SLURM job id, asking
    # for the configured GPU, memory and time.
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", run.stderr)
    assert len(submitted) == 2, run.stderr[-3000:]
    queue = cluster.run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split()
    assert set(submitted) <= set(queue), (submitted, queue)
    for job_id in submitted:
        job = cluster.run("scontrol", "-o", "show", "job", job_id).stdout
        for wanted in ("JobState=COMPLETED", "gpu:1", "MinMemoryNode=500M", "TimeLimit=00:09:00"):
            assert wanted in job, (wanted, job)
    slurm_logs = sorted((remote / "results" / "logs" / "slurm").rglob("*.log"))
    assert {p.parent.parent.name for p in slurm_logs} == {
        "rule_superposition_train",
        "rule_linear_train",
    }
    assert {p.stem for p in slurm_logs} == set(submitted)
    for log in slurm_logs:  # each job ran its rule inside SLURM, through the jobstep executor
        text = log.read_text()
        assert "--executor slurm-jobstep" in text and "Finished jobid: 0 (Rule: " in text, text

    # Same results: histories array for array, figures byte for byte.
    for history in ("superposition/main/history.h5", "linear/main/history.h5"):
        a, b = (_arrays(d / "results" / history) for d in (remote, local))
        assert a.keys() == b.keys() and a
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{history}:{key}")
    for name in TARGETS:
        png = f"results/figures/{name}.png"
        assert (remote / png).read_bytes() == (local / png).read_bytes(), png
    print(f"snakemake --profile profiles/slurm took {took:.0f} s", file=sys.stderr)
