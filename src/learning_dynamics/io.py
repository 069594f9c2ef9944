"""Files: every output appears whole under its final name or not at all (atomic writes); JSON
and CSV; flat HDF5 files of named arrays (`write_arrays`, `read_arrays`: data.h5, extract.h5,
arrays.h5); and the errors that name a damaged file or a full disk, for every reader and writer
(histories included, see `history`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

# The HDF5 1.10 file format: checksummed metadata; read by h5py and by HDF5 >= 1.10 tools (h5dump).
LIBVER = ("v110", "v110")


class IncompleteHistoryError(RuntimeError):
    """Raised when a history file was not finished (a killed or still-running job)."""


class DamagedFileError(RuntimeError):
    """An HDF5 file is damaged or truncated; it has been moved aside so the workflow rebuilds it."""


class DiskFullError(OSError):
    """Writing a file failed because the disk (or quota) is full."""


def is_disk_full(err: BaseException) -> bool:
    """Whether an error (OSError, or HDF5's and torch's wrapped ones) means 'no space left'."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "errno = 28," in text or "Disk quota" in text


@contextlib.contextmanager
def disk_full_named(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Re-raise a 'no space left' failure inside the block as DiskFullError naming `path`."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as err:
        if not is_disk_full(err):
            raise
        raise DiskFullError(
            errno.ENOSPC,
            f"disk full: cannot write {what} {path}. Free some space and rerun the same command: "
            "a training run resumes from its last checkpoint",
        ) from err


def _damaged(err: BaseException) -> bool:
    """Whether an h5py error means damaged or truncated bytes (not a missing file or name)."""
    if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(err, KeyError):  # h5py reports some damaged object headers as KeyError
        return "doesn't exist" not in str(err) and "not found" not in str(err)
    return isinstance(err, (OSError, RuntimeError))


def quarantine(path: str | os.PathLike, err: BaseException) -> DamagedFileError:
    """Move a damaged file aside to `<name>.damaged` and return the error to raise: it names the
    file and the command that rebuilds it."""
    path = Path(path)
    moved = path.with_name(path.name + ".damaged")
    try:
        os.replace(path, moved)
        where = f"it was moved to {moved.name}"
    except OSError:
        where = "it could not be moved aside; delete it"
    return DamagedFileError(
        f"{path} is damaged or truncated ({err}); {where}. To rebuild it and everything made "
        f"from it, rerun your snakemake command with `--forcerun {path}` added (a plain rerun "
        "rebuilds it only once an output that needs it is missing or out of date)."
    )


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn h5py's error for damaged bytes inside the block into DamagedFileError naming `path`
    (and move the file aside)."""
    try:
        yield
    except (OSError, RuntimeError, KeyError) as err:
        if isinstance(err, (DamagedFileError, IncompleteHistoryError)) or not _damaged(err):
            raise
        if not Path(path).exists():
            raise
        raise quarantine(path, err) from err


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix: some writers (Pillow, matplotlib) choose the format from it.
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any, **kwargs: Any) -> str:
    """JSON with numpy scalars/arrays allowed; keys sorted so equal configs give equal text."""
    return json.dumps(value, default=_jsonable, sort_keys=True, **kwargs)


def write_json(path: str | os.PathLike, value: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(to_json(value, indent=2) + "\n")


def write_csv(path: str | os.PathLike, frame: Any) -> None:
    """Write a pandas DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def as_numpy(value: Any) -> np.ndarray:
    """`value` as a numpy array; a torch tensor is detached and copied to the host (duck-typed:
    this module does not import torch)."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def write_arrays(
    path: str | os.PathLike, arrays: Mapping[str, Any], attrs: Mapping[str, Any] | None = None
) -> None:
    """Write derived arrays (`name` may contain '/' for groups) to HDF5, atomically; every
    numeric array carries a Fletcher-32 checksum."""
    with disk_full_named(path, "the file"), atomic_path(path) as tmp:
        with h5py.File(tmp, "w", libver=LIBVER) as f:
            f.attrs.update(attrs or {})
            f.attrs["complete"] = True
            for name, value in arrays.items():
                value = as_numpy(value)
                compress = value.size > 1024
                checksum = value.ndim > 0 and value.size > 0 and value.dtype.kind in "biufc"
                f.create_dataset(
                    name,
                    data=value,
                    compression="gzip" if compress else None,
                    shuffle=compress,
                    fletcher32=checksum,
                )


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All datasets of a file written by `write_arrays`, keyed by their full path. A damaged or
    truncated file raises DamagedFileError naming it (and is moved aside to be rebuilt)."""
    out: dict[str, np.ndarray] = {}
    with reading(path), h5py.File(path, "r") as f:
        if not bool(f.attrs.get("complete", False)):
            raise IncompleteHistoryError(f"{path} is incomplete")
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out
