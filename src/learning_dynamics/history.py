"""HDF5 weight histories: the one file format every training run writes.

Layout (see README, "HDF5 weight history"): one group per *series*, each with its own `step`
vector and one chunked, compressed dataset per quantity of shape (rows, ...):

    /params/step, /params/<name>      parameter snapshots
    /metrics/step, /metrics/<name>    per-step metrics (loss, ...)
    /<series>/...                     study-specific series (activation statistics, ...)

Root attributes: `study`, `config` (JSON), `seed`, `versions` (JSON), `format_version`, and
`complete`. The file appears under its final name only when training has finished (rows are
collected in segment files until then, see `HistoryWriter`), and only after every series' steps
have been checked against the expected sequence; readers also refuse any file whose `complete`
flag is unset.

Every array dataset carries an HDF5 Fletcher-32 checksum, so damaged bytes raise on read, and the
files use the HDF5 1.10 format, whose metadata (object headers, chunk indexes) is checksummed too.
A reader that meets a damaged or truncated file (`History`, `io.read_arrays`) moves it aside to
`<name>.damaged` and raises `io.DamagedFileError` naming it and the command that rebuilds it
(`snakemake ... --forcerun <file>`; the file is missing, so Snakemake also rebuilds it for any
output that needs it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from . import __version__
from .io import (
    LIBVER,
    IncompleteHistoryError,
    as_numpy,
    atomic_path,
    disk_full_named,
    reading,
    to_json,
)

FORMAT_VERSION = 1
Columns = dict[str, dict[str, list[Any]]]  # series -> quantity -> queued row blocks
CHUNK_BYTES = 1 << 18
GZIP_LEVEL = 1


class HistoryIntegrityError(RuntimeError):
    """A history's rows are not the expected ones (missing, duplicated or out-of-order steps)."""


class SegmentMismatchError(RuntimeError):
    """The segments on disk are not the ones a checkpoint recorded (a resume must restart)."""


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


# Every dataset's filters: deflate after byte shuffling, a filter every HDF5 tool reads (h5dump
# cannot read lzf). Level 1 on the 32-seed superposition history (32 MB raw): 0.53 s CPU instead
# of lzf's 0.30 s, hidden by the background thread, and 20.3 MB instead of 22.1 MB. Fletcher-32:
# damaged bytes raise on read instead of passing for numbers.
FILTERS = {
    "compression": "gzip",
    "compression_opts": GZIP_LEVEL,
    "shuffle": True,
    "fletcher32": True,
}


def _create(
    group: h5py.Group, name: str, rows: np.ndarray, filters: dict | None = None
) -> h5py.Dataset:
    """An empty, growable, chunked dataset for rows like `rows` (`filters`: FILTERS by default)."""
    row_shape = rows.shape[1:]
    row_bytes = max(1, rows.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64)))
    chunk_rows = int(max(1, min(4096, CHUNK_BYTES // row_bytes)))
    return group.create_dataset(
        name,
        shape=(0, *row_shape),
        maxshape=(None, *row_shape),
        dtype=rows.dtype,
        chunks=(chunk_rows, *row_shape),
        **(FILTERS if filters is None else filters),
    )


class HistoryWriter:
    """Collects a running history in two forms:

    - segments: at every `flush` (a checkpoint) the rows queued since the last one become a new
      immutable segment file in `<out>.parts/`, written atomically, so a process killed at any
      moment leaves only whole segments behind. `flush` returns every segment's name and SHA-256;
      a resumed run is given that list (from its checkpoint), drops any other file and refuses
      (`SegmentMismatchError`) segments that are missing or whose bytes differ. (Appending to one
      HDF5 file in place is not crash-safe: a kill while a compressed chunk is rewritten can
      corrupt rows written long before.)
    - the final file: a background thread appends every `HANDOVER_BYTES` of rows to
      `<out>.parts/.assembling.h5` (never trusted after a crash: a resumed run rebuilds it from the
      segments), so its compression overlaps training (h5py releases the GIL while it writes; the
      training thread never calls h5py). `finish` appends the rest, checks every series' steps and
      renames it onto `out`.
    """

    HANDOVER_BYTES = 4 << 20

    def __init__(
        self,
        out: str | os.PathLike,
        attrs: Mapping[str, Any],
        resume_segments: list[tuple[str, str]] | None = None,
    ) -> None:
        self.out = Path(out)
        self.attrs = dict(attrs)
        self.parts = self.out.with_name(self.out.name + ".parts")
        self._buffer: Columns = {}  # rows since the last segment
        self._handover: Columns = {}  # rows not yet given to the background thread
        self._handover_bytes = 0
        if resume_segments is None:
            shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True, exist_ok=True)
        self.recorded: list[tuple[str, str]] = self._check_segments(resume_segments or [])
        self._assembling = self.parts / ".assembling.h5"
        with disk_full_named(self._assembling, "the history being assembled"):
            self._file = h5py.File(self._assembling, "w", libver=LIBVER)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        self._jobs: list[Future[None]] = []
        for segment in self.segments():
            self._submit(self._append_segment, segment)

    def _check_segments(self, recorded: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Keep exactly the recorded segments (by name and content); remove every other file."""
        recorded = [(str(name), str(digest)) for name, digest in recorded]
        names = {name for name, _ in recorded}
        for stale in self.parts.iterdir():  # written after the checkpoint, or temporary
            if stale.name not in names:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        for name, digest in recorded:
            path = self.parts / name
            if not path.is_file():
                raise SegmentMismatchError(f"segment {path} recorded by the checkpoint is missing")
            if sha256(path) != digest:
                raise SegmentMismatchError(f"segment {path} differs from the checkpoint's record")
        if [n for n, _ in recorded] != [p.name for p in self.segments()]:
            raise SegmentMismatchError(f"{self.parts}: segments are not the checkpoint's sequence")
        return recorded

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

    def flush(self) -> list[tuple[str, str]]:
        """Write the rows queued since the last flush as the next segment; return every segment
        on disk as (file name, SHA-256), in order: what a checkpoint records."""
        if self._buffer:
            path = self.parts / f"{len(self.recorded):06d}.h5"
            with disk_full_named(path, "the history segment"):
                _write_segment(path, _arrays(self._buffer))
            self.recorded.append((path.name, sha256(path)))
            self._buffer.clear()
        return list(self.recorded)

    def finish(self, expected_steps: Callable[[str], np.ndarray] | None = None) -> Path:
        """Assemble the remaining rows, check that every series holds exactly the rows of
        `expected_steps(series)` (else raise HistoryIntegrityError and write nothing), mark the
        file complete, move it onto `out` and remove the segments."""
        self._hand_over()
        self._wait()
        if expected_steps is not None:
            self._verify(expected_steps)
        with disk_full_named(self._assembling, "the history being assembled"):
            self._file.attrs.update(self.attrs)
            self._file.attrs["complete"] = True
            self._file.close()
        os.replace(self._assembling, self.out)
        shutil.rmtree(self.parts)
        return self.out

    def _verify(self, expected_steps: Callable[[str], np.ndarray]) -> None:
        for series in self._file:
            group = self._file[series]
            steps, want = group["step"][:], np.asarray(expected_steps(series))
            if not np.array_equal(steps, want):
                raise HistoryIntegrityError(
                    f"{self.out}: series '{series}' holds steps {_summary(steps)}, expected "
                    f"{_summary(want)}; the history was not written (rerun to train afresh)"
                )
            for name, ds in group.items():
                if ds.shape[0] != len(want):
                    raise HistoryIntegrityError(
                        f"{self.out}: {series}/{name} has {ds.shape[0]} rows for "
                        f"{len(want)} steps; the history was not written"
                    )

    def abort(self) -> None:
        """Stop the background thread and drop everything written (a failed run)."""
        self.close()
        shutil.rmtree(self.parts, ignore_errors=True)

    def close(self) -> None:
        """Stop the background thread and close the file, keeping the segments (an interrupted
        run resumes from them)."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        with contextlib.suppress(Exception):
            self._file.close()

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
        with reading(segment), h5py.File(segment, "r") as part:
            arrays = {s: {n: ds[()] for n, ds in part[s].items()} for s in part}
        for series, columns in arrays.items():
            self._write(series, columns)

    def _append_rows(self, queue: Columns) -> None:
        for series, arrays in _arrays(queue).items():
            self._write(series, arrays)

    def _write(self, series: str, arrays: Mapping[str, np.ndarray]) -> None:
        with disk_full_named(self._assembling, "the history being assembled"):
            group = self._file.require_group(series)
            for name, rows in arrays.items():
                if name not in group:
                    _create(group, name, rows)
                target = group[name]
                start = target.shape[0]
                target.resize(start + len(rows), axis=0)
                target[start:] = rows


def _write_segment(path: Path, arrays: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", libver=LIBVER) as f:
            for series, columns in arrays.items():
                for name, rows in columns.items():
                    f.create_dataset(f"{series}/{name}", data=rows)


def _summary(steps: np.ndarray) -> str:
    """A short description of a step vector for an error message."""
    steps = np.asarray(steps)
    if len(steps) <= 8:
        return str(steps.tolist())
    head, tail = ", ".join(map(str, steps[:4])), ", ".join(map(str, steps[-3:]))
    return f"[{head}, ..., {tail}] ({len(steps)} rows)"


def _nbytes(value: Any) -> int:
    return int(value.nbytes if hasattr(value, "nbytes") else np.asarray(value).nbytes)


def _arrays(queue: Columns) -> dict[str, dict[str, np.ndarray]]:
    """Queued rows as one array per series and quantity (tensors copied to the host here)."""
    return {
        series: {
            name: np.concatenate([np.atleast_1d(as_numpy(p)) for p in parts])
            for name, parts in columns.items()
        }
        for series, columns in queue.items()
    }


class History:
    """Read-only view of a finished history (or any file written by `write_arrays`).

    A damaged or truncated file raises DamagedFileError naming it (and is moved aside, so that
    the workflow rebuilds it), on opening or on any read."""

    def __init__(self, path: str | os.PathLike, require_complete: bool = True) -> None:
        self.path = Path(path)
        with reading(self.path):
            self.file = h5py.File(self.path, "r")
            complete = bool(self.file.attrs.get("complete", False))
        if require_complete and not complete:
            self.file.close()
            raise IncompleteHistoryError(f"{self.path} is incomplete (its run did not finish)")

    @property
    def attrs(self) -> dict[str, Any]:
        with reading(self.path):
            return dict(self.file.attrs)

    @property
    def config(self) -> dict[str, Any]:
        with reading(self.path):
            return json.loads(self.file.attrs["config"])

    @property
    def seed(self) -> np.ndarray:
        with reading(self.path):
            return np.asarray(self.file.attrs["seed"])

    def series(self) -> list[str]:
        with reading(self.path):
            return [name for name in self.file if isinstance(self.file[name], h5py.Group)]

    def names(self, series: str) -> list[str]:
        with reading(self.path):
            return [name for name in self.file[series] if name != "step"]

    def steps(self, series: str = "params") -> np.ndarray:
        with reading(self.path):
            return self.file[series]["step"][:]

    def read(self, series: str, name: str, rows: Any = slice(None)) -> np.ndarray:
        with reading(self.path):
            return self.file[series][name][rows]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
