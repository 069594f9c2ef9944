"""Where training runs: `LD_DEVICE=auto|cpu|cuda` (default auto: CUDA when present, else CPU).

Snakemake counts GPUs (`--resources gpu=N`) but does not say which one a job may use, so on a
machine with several GPUs each training process claims one itself before CUDA starts: GPU slot i
is an exclusive `flock` on `<LD_GPU_LOCK_DIR>/gpu<i>.lock`, held for the life of the process (the
kernel drops it when the process ends, crashes included), and the process then sees only that GPU
through `CUDA_VISIBLE_DEVICES`. Where `CUDA_VISIBLE_DEVICES` is already set (SLURM sets it for a
`--gpus` job, or the user did) it is respected as is.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the workflow imports this at parse time
    import torch

log = logging.getLogger(__name__)

CHOICES = ("auto", "cpu", "cuda")
_held: list = []  # open lock files: the claim lasts as long as the process


def gpu_count() -> int:
    """GPUs on this machine, counted without starting CUDA (`LD_GPUS` overrides, e.g. in tests)."""
    if os.environ.get("LD_GPUS"):
        return int(os.environ["LD_GPUS"])
    if shutil.which("nvidia-smi") is None:
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines())


def claim_gpu(poll_s: float = 0.5) -> str | None:
    """Hold a free GPU slot and make it the only visible GPU; its index, or None if not needed."""
    if "CUDA_VISIBLE_DEVICES" in os.environ or _held:
        return os.environ.get("CUDA_VISIBLE_DEVICES")
    n = gpu_count()
    if n == 0:
        return None
    lock_dir = Path(os.environ.get("LD_GPU_LOCK_DIR") or Path(tempfile.gettempdir(), "ld-gpus"))
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        for i in range(n):
            handle = open(lock_dir / f"gpu{i}.lock", "w")  # noqa: SIM115 (held until exit)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held.append(handle)
            os.environ["CUDA_VISIBLE_DEVICES"] = str(i)
            log.info("claimed GPU %d of %d (lock %s)", i, n, handle.name)
            return str(i)
        if not waited:  # more jobs than GPUs: `--resources gpu=N` was larger than N
            log.warning("all %d GPUs busy; waiting for one (use --resources gpu=%d)", n, n)
            waited = True
        time.sleep(poll_s)


def device_choice() -> str:
    """`LD_DEVICE` (default auto), lower-cased; ValueError naming the variable if unknown."""
    choice = os.environ.get("LD_DEVICE", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(
            f"LD_DEVICE={os.environ['LD_DEVICE']!r} is not a device; choose from {CHOICES}"
            " (or unset it: auto)"
        )
    return choice


def device_problem() -> str | None:
    """Why training could not start here under `LD_DEVICE`, or None (no torch import: the
    workflow asks before any job; `LD_DEVICE=cuda` needs a GPU on this machine)."""
    try:
        choice = device_choice()
    except ValueError as err:
        return str(err)
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1")
    if choice == "cuda" and (hidden or gpu_count() == 0):
        return (
            "LD_DEVICE=cuda but this machine has no GPU (nvidia-smi lists none"
            + (", CUDA_VISIBLE_DEVICES hides them" if hidden else "")
            + "); unset LD_DEVICE (auto) or set LD_DEVICE=cpu to train on the CPU"
        )
    return None


def training_device() -> torch.device:
    """The device a training verb puts its tensors on, from `LD_DEVICE` (auto|cpu|cuda)."""
    import torch

    choice = device_choice()
    if choice == "cpu":
        return torch.device("cpu")
    claim_gpu()  # before torch.cuda is asked anything: CUDA reads CUDA_VISIBLE_DEVICES once
    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice == "cuda":
        raise RuntimeError("LD_DEVICE=cuda but torch sees no CUDA device")
    return torch.device("cpu")


def set_threads(threads: int) -> None:
    """Compute threads for torch and for NumPy's OpenBLAS (some trainers multiply in NumPy).

    OpenBLAS otherwise starts one thread per core whatever the job was given, so a 1-thread
    Snakemake job would use them all. Its own setter is called through ctypes on the library
    NumPy loaded (found in /proc/self/maps; NumPy's wheel prefixes the symbol); where none is
    found (another BLAS, not Linux) only torch is set.
    """
    import numpy  # noqa: F401  (loads its BLAS, whose thread count is set below)
    import torch

    torch.set_num_threads(threads)
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()}
    names = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
             "openblas_set_num_threads")  # fmt: skip
    for path in sorted(paths):
        lib = ctypes.CDLL(path)  # already loaded: the same handle
        setter = next((getattr(lib, n) for n in names if hasattr(lib, n)), None)
        if setter is not None:
            setter(int(threads))
