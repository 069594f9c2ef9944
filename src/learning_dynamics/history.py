"""HDF5 weight histories: the one file format every training run writes.

Layout (see README, "HDF5 layout"): one group per *series*, each with its own `step` vector and one
chunked, compressed dataset per quantity of shape (rows, ...):

    /params/step, /params/<name>      parameter snapshots
    /metrics/step, /metrics/<name>    per-step metrics (loss, ...)
    /<series>/...                     study-specific series (activation statistics, ...)

Root attributes: `study`, `config` (JSON), `seed`, `versions` (JSON), `format_version`, and
`complete`. The file appears under its final name only when training has finished (rows are
collected in segment files until then, see `HistoryWriter`); readers also refuse any file whose
`complete` flag is unset.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from . import __version__
from .io import atomic_path, to_json

FORMAT_VERSION = 1
Columns = dict[str, dict[str, list[Any]]]  # series -> quantity -> queued row blocks
CHUNK_BYTES = 1 << 18


class IncompleteHistoryError(RuntimeError):
    """Raised when a history file was not finished (a killed or still-running job)."""


def versions() -> dict[str, str]:
    return {
        "learning_dynamics": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


def run_attrs(study: str, config: Mapping[str, Any], seed: int | list[int]) -> dict[str, Any]:
    """The root attributes of a history: everything needed to say where its numbers came from."""
    return {
        "study": study,
        "config": to_json(config),
        "seed": np.asarray(seed, dtype=np.int64),
        "versions": to_json(versions()),
        "format_version": FORMAT_VERSION,
    }


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _create(group: h5py.Group, name: str, rows: np.ndarray) -> h5py.Dataset:
    row_shape = rows.shape[1:]
    row_bytes = max(1, rows.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64)))
    chunk_rows = int(max(1, min(4096, CHUNK_BYTES // row_bytes)))
    return group.create_dataset(
        name,
        shape=(0, *row_shape),
        maxshape=(None, *row_shape),
        dtype=rows.dtype,
        chunks=(chunk_rows, *row_shape),
        # lzf (h5py's built-in filter, so plain h5py reads it) after byte shuffling: float weights
        # compress ~2.5x faster than with gzip -4 into ~10% larger files (the 32-seed
        # superposition history, 32 MB raw: 0.2 s instead of 0.5 s)
        compression="lzf",
        shuffle=True,
    )


class HistoryWriter:
    """Collects a running history in two forms:

    - segments: at every `flush` (a checkpoint) the rows queued since the last one become a new
      immutable segment file in `<out>.parts/`, written atomically, so a process killed at any
      moment leaves only whole segments behind; a resumed run drops the segments written after
      its checkpoint. (Appending to one HDF5 file in place is not crash-safe: a kill while a
      compressed chunk is rewritten can corrupt rows written long before.)
    - the final file: a background thread appends every `HANDOVER_BYTES` of rows to
      `<out>.parts/.assembling.h5` (never trusted after a crash: a resumed run rebuilds it from the
      segments), so its compression overlaps training (h5py releases the GIL while it writes; the
      training thread never calls h5py). `finish` appends the rest and renames it onto `out`.
    """

    HANDOVER_BYTES = 4 << 20

    def __init__(
        self, out: str | os.PathLike, attrs: Mapping[str, Any], resume_segments: int | None = None
    ) -> None:
        self.out = Path(out)
        self.attrs = dict(attrs)
        self.parts = self.out.with_name(self.out.name + ".parts")
        self._buffer: Columns = {}  # rows since the last segment
        self._handover: Columns = {}  # rows not yet given to the background thread
        self._handover_bytes = 0
        if resume_segments is None:
            shutil.rmtree(self.parts, ignore_errors=True)
            resume_segments = 0
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.segments()[resume_segments:]:
            stale.unlink()
        self.n_segments = resume_segments
        if len(self.segments()) != resume_segments:
            raise FileNotFoundError(f"{self.parts}: expected {resume_segments} segments")
        self._assembling = self.parts / ".assembling.h5"
        self._file = h5py.File(self._assembling, "w")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        self._jobs: list[Future[None]] = []
        for segment in self.segments():
            self._submit(self._append_segment, segment)

    def segments(self) -> list[Path]:
        # Only whole segments: temporary files (a kill mid-write, the assembling file) start
        # with '.'.
        return sorted(self.parts.glob("[0-9]*.h5"))

    def append(self, series: str, steps: Any, values: Mapping[str, Any]) -> None:
        """Queue rows: `steps` has shape (k,), every value shape (k, ...). Tensors stay on device
        until the background thread (or `flush`) reads them, so appending never forces a host
        sync on the training thread."""
        for queue in (self._buffer, self._handover):
            rows = queue.setdefault(series, {"step": []})
            rows["step"].append(steps)
            for name, value in values.items():
                rows.setdefault(name, []).append(value)
        self._handover_bytes += sum(_nbytes(v) for v in values.values())
        if self._handover_bytes >= self.HANDOVER_BYTES:
            self._hand_over()

    def flush(self) -> int:
        """Write the rows queued since the last flush as the next segment; return the number of
        segments on disk."""
        if self._buffer:
            arrays = _arrays(self._buffer)
            with atomic_path(self.parts / f"{self.n_segments:06d}.h5") as tmp:
                with h5py.File(tmp, "w") as f:
                    for series, columns in arrays.items():
                        for name, rows in columns.items():
                            f.create_dataset(f"{series}/{name}", data=rows)
            self.n_segments += 1
            self._buffer.clear()
        return self.n_segments

    def finish(self) -> Path:
        """Assemble the remaining rows, mark the file complete, move it onto `out` and remove
        the segments."""
        self._hand_over()
        self._wait()
        self._file.attrs.update(self.attrs)
        self._file.attrs["complete"] = True
        self._file.close()
        os.replace(self._assembling, self.out)
        shutil.rmtree(self.parts)
        return self.out

    def abort(self) -> None:
        """Stop the background thread and drop everything written (a diverged run)."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._file.close()
        shutil.rmtree(self.parts, ignore_errors=True)

    def _hand_over(self) -> None:
        if self._handover:
            self._submit(self._append_rows, self._handover)
            self._handover, self._handover_bytes = {}, 0

    def _submit(self, job: Any, *args: Any) -> None:
        for done in [j for j in self._jobs if j.done()]:
            self._jobs.remove(done)
            done.result()  # re-raise a failure of the background thread here
        self._jobs.append(self._worker.submit(job, *args))

    def _wait(self) -> None:
        self._worker.shutdown(wait=True)
        for job in self._jobs:
            job.result()

    def _append_segment(self, segment: Path) -> None:
        with h5py.File(segment, "r") as part:
            for series in part:
                self._write(series, {name: ds[()] for name, ds in part[series].items()})

    def _append_rows(self, queue: Columns) -> None:
        for series, arrays in _arrays(queue).items():
            self._write(series, arrays)

    def _write(self, series: str, arrays: Mapping[str, np.ndarray]) -> None:
        group = self._file.require_group(series)
        for name, rows in arrays.items():
            if name not in group:
                _create(group, name, rows)
            target = group[name]
            start = target.shape[0]
            target.resize(start + len(rows), axis=0)
            target[start:] = rows


def _nbytes(value: Any) -> int:
    return int(value.nbytes if hasattr(value, "nbytes") else np.asarray(value).nbytes)


def _arrays(queue: Columns) -> dict[str, dict[str, np.ndarray]]:
    """Queued rows as one array per series and quantity (tensors copied to the host here)."""
    return {
        series: {
            name: np.concatenate([np.atleast_1d(_numpy(p)) for p in parts])
            for name, parts in columns.items()
        }
        for series, columns in queue.items()
    }


class History:
    """Read-only view of a finished history (or any file written by `write_arrays`)."""

    def __init__(self, path: str | os.PathLike, require_complete: bool = True) -> None:
        self.path = Path(path)
        self.file = h5py.File(self.path, "r")
        if require_complete and not bool(self.file.attrs.get("complete", False)):
            self.file.close()
            raise IncompleteHistoryError(f"{self.path} is incomplete (its run did not finish)")

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self.file.attrs)

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.file.attrs["config"])

    @property
    def seed(self) -> np.ndarray:
        return np.asarray(self.file.attrs["seed"])

    def series(self) -> list[str]:
        return [name for name in self.file if isinstance(self.file[name], h5py.Group)]

    def names(self, series: str) -> list[str]:
        return [name for name in self.file[series] if name != "step"]

    def steps(self, series: str = "params") -> np.ndarray:
        return self.file[series]["step"][:]

    def read(self, series: str, name: str, rows: Any = slice(None)) -> np.ndarray:
        return self.file[series][name][rows]

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_arrays(
    path: str | os.PathLike, arrays: Mapping[str, Any], attrs: Mapping[str, Any] | None = None
) -> None:
    """Write derived arrays (`name` may contain '/' for groups) to HDF5, atomically."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(attrs or {})
            f.attrs["complete"] = True
            for name, value in arrays.items():
                value = _numpy(value)
                compress = value.size > 1024
                f.create_dataset(
                    name,
                    data=value,
                    compression="gzip" if compress else None,
                    shuffle=compress,
                )


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All datasets of a file written by `write_arrays`, keyed by their full path."""
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        if not bool(f.attrs.get("complete", False)):
            raise IncompleteHistoryError(f"{path} is incomplete")
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out
