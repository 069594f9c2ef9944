"""The one training loop: snapshots into an HDF5 history, checkpoints, resume, divergence checks.

A study supplies a `Trainer` (its model, data and optimiser); `fit` drives it. Snapshots are
taken at a fixed interval or at given steps (e.g. log-spaced). Steps run in chunks between
snapshots; metrics stay on the device for a whole chunk, so there is one host sync
per chunk rather than one per step.
"""

from __future__ import annotations

import hashlib
import io
import logging
import numbers
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from .history import HistoryWriter, SegmentMismatchError
from .io import DiskFullError, atomic_path, disk_full_named, to_json

log = logging.getLogger(__name__)


class DivergenceError(RuntimeError):
    """Training produced NaN or inf."""


class Trainer(Protocol):
    def step(self, step: int) -> Mapping[str, torch.Tensor]:
        """Do update number `step`; return its metrics (computed before the update)."""

    def snapshot(self) -> Mapping[str, Mapping[str, torch.Tensor]]:
        """Series name -> quantities to record now (copies, not views of live parameters)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-for-bit (parameters, optimiser, RNG)."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    # Optional:
    # - `run(start, stop) -> {metric: tensor of shape (stop - start, ...)}` does updates
    #   start..stop-1 in one call; `fit` uses it instead of `step` when a trainer defines it (for
    #   updates too cheap to afford a Python call and a tensor per step).
    # - `inference_only = True` for a trainer that never needs autograd: its updates then run
    #   under torch.inference_mode (less dispatch overhead per op).


def run_steps(trainer: Trainer, start: int, stop: int) -> dict[str, torch.Tensor]:
    """Updates start..stop-1; each metric stacked to shape (stop - start, ...)."""
    if hasattr(trainer, "run"):
        return dict(trainer.run(start, stop))
    rows = [trainer.step(s) for s in range(start, stop)]
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]} if rows else {}


def snapshot_steps(
    steps: int, every: int | None = None, at: Sequence[int] | None = None
) -> list[int]:
    """Where snapshots are taken: 0 (the initialisation), then every `every` steps (0, every,
    2·every, ...) or at the given steps `at` (strictly increasing, within 0..steps, e.g.
    `log_steps`), and always the final step. Exactly one of `every` and `at`."""
    if (every is None) == (at is None):
        raise ValueError("give the snapshot interval `every` or the snapshot steps `at`, not both")
    if every is not None:
        if int(every) != every or every < 1:
            raise ValueError(f"snapshot interval must be a positive integer, not {every!r}")
        return [*range(0, steps, int(every)), steps]
    points = [int(p) for p in at]
    if any(p != q for p, q in zip(points, at, strict=True)):
        raise ValueError(f"snapshot steps must be integers: {list(at)}")
    if any(b <= a for a, b in zip(points, points[1:], strict=False)):
        raise ValueError(f"snapshot steps must be strictly increasing: {points}")
    if points and (points[0] < 0 or points[-1] > steps):
        raise ValueError(f"snapshot steps must lie within 0..{steps}: {points}")
    return sorted({0, *points, steps})


def log_steps(steps: int, count: int) -> list[int]:
    """About `count` snapshot steps spaced evenly in log(step) from 1 to `steps` (rounded, so
    fewer when early ones coincide): dense where the weights move fastest."""
    return sorted({int(round(s)) for s in np.geomspace(1, steps, count)})


def _fingerprint(attrs: Mapping[str, Any]) -> str:
    return hashlib.sha256(to_json(dict(attrs)).encode()).hexdigest()


def _check_finite(
    step0: int, metrics: Mapping[str, torch.Tensor], attrs: Mapping[str, Any]
) -> None:
    for name, values in metrics.items():
        if bool(torch.isfinite(values).all()):  # one host sync per metric and chunk
            continue
        finite = torch.isfinite(values.reshape(len(values), -1)).all(dim=1)
        bad = step0 + int((~finite).nonzero()[0, 0])
        raise DivergenceError(
            f"training diverged: metric '{name}' is NaN or inf at step {bad}. "
            f"Lower the learning rate (run config: {attrs.get('config')})."
        )


def fit(
    trainer: Trainer,
    *,
    steps: int,
    snapshot_every: int | None = None,
    snapshot_at: Sequence[int] | None = None,
    out: str | os.PathLike,
    attrs: Mapping[str, Any],
    checkpoint_seconds: float | None = None,
    progress: bool = True,
    desc: str = "train",
) -> Path:
    """Train for `steps` updates, writing the history to `out`; resume from a checkpoint if one
    with the same attributes (config, seed, versions) and intact segments is found beside it.

    Snapshots are taken at 0, every `snapshot_every` steps, or at the explicit steps
    `snapshot_at` (e.g. `log_steps(steps, 100)`), and at the final step (`snapshot_steps`). A
    study that uses `snapshot_at` keeps the steps (or what makes them) in its run config, so
    that a checkpoint of other steps is never resumed.

    While running, rows go to segment files in `<out>.parts/` and the training state to
    `<out>.ckpt`, both written atomically every `checkpoint_seconds` (default
    $LD_CHECKPOINT_SECONDS or 60). `out` itself appears only when the run has finished and every
    series holds exactly its expected steps.

    What a failure leaves behind: an interruption (Ctrl-C, SIGTERM, `kill -9`) or a full disk
    keeps the checkpoint and segments, so the rerun resumes; any other error (divergence, a bug,
    a damaged segment) removes them, so the rerun starts afresh and nothing is left over.
    """
    for name, value in (("steps", steps), ("snapshot_every", snapshot_every)):
        if name == "snapshot_every" and value is None and snapshot_at is not None:
            continue
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise TypeError(  # before anything is created or removed
                f"{name} = {value!r} is not a positive integer (run config: {attrs.get('config')})"
            )
    points = snapshot_steps(steps, snapshot_every, snapshot_at)
    out = Path(out)
    ckpt = out.with_name(out.name + ".ckpt")
    if checkpoint_seconds is None:
        checkpoint_seconds = float(os.environ.get("LD_CHECKPOINT_SECONDS", 60))
    fingerprint = _fingerprint(attrs)
    out.unlink(missing_ok=True)

    start, writer = _resume(trainer, out, ckpt, attrs, fingerprint)
    if writer is None:
        start, writer = 0, _start_afresh(trainer, out, ckpt, attrs)
    bar = tqdm(
        total=steps,
        initial=start,
        desc=desc,
        disable=not progress,
        mininterval=0.5 if sys.stderr.isatty() else 10.0,
        unit="step",
    )

    def save_checkpoint(step: int) -> None:
        _save_checkpoint(ckpt, fingerprint, step, writer, trainer)

    try:
        _train(trainer, writer, points, start, attrs, bar, save_checkpoint, checkpoint_seconds)
        writer.finish(expected_steps=lambda s: _expected_steps(s, steps, points))
    except Exception as err:
        if isinstance(err, DiskFullError):  # free space and rerun: it resumes
            writer.close()
        else:
            writer.abort()
            ckpt.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    ckpt.unlink(missing_ok=True)
    return out


def _resume(
    trainer: Trainer, out: Path, ckpt: Path, attrs: Mapping[str, Any], fingerprint: str
) -> tuple[int, HistoryWriter | None]:
    """Load the checkpoint beside `out` into `trainer`: (its step, a writer holding its
    segments), or (0, None) when there is none, it is of another run, or it cannot be trusted."""
    if not ckpt.exists():
        return 0, None
    writer = None
    try:
        # map to CPU: the trainer moves its state to its own device (a GPU checkpoint loads on a
        # machine without one)
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["fingerprint"] != fingerprint:
            log.info("checkpoint of %s is for another config; restarting", out)
            return 0, None
        if not isinstance(state["segments"], list):
            raise SegmentMismatchError("checkpoint of an older version (segments not recorded)")
        writer = HistoryWriter(out, attrs, resume_segments=state["segments"])
        trainer.load_state_dict(state["trainer"])
        torch.set_rng_state(state["torch_rng"])
    except Exception as err:  # damaged or missing segments, a checkpoint cut short: start over
        if writer is not None:
            writer.close()
        why = str(err) if isinstance(err, SegmentMismatchError) else f"{type(err).__name__}: {err}"
        log.warning("cannot resume %s (%s); restarting from step 0", out, why)
        return 0, None
    log.info("resuming %s from step %d", out, int(state["step"]))
    return int(state["step"]), writer


def _start_afresh(
    trainer: Trainer, out: Path, ckpt: Path, attrs: Mapping[str, Any]
) -> HistoryWriter:
    """Drop any checkpoint and segments; a writer holding the initial snapshot (step 0)."""
    ckpt.unlink(missing_ok=True)
    writer = HistoryWriter(out, attrs)
    for series, values in trainer.snapshot().items():
        writer.append(series, torch.tensor([0]), {k: v[None] for k, v in values.items()})
    return writer


def _save_checkpoint(
    ckpt: Path, fingerprint: str, step: int, writer: HistoryWriter, trainer: Trainer
) -> None:
    """Write the rows since the last checkpoint as a segment, then the training state with
    every segment's name and hash (a kill between the two leaves an unrecorded segment, which a
    resume removes)."""
    state = {
        "fingerprint": fingerprint,
        "step": step,
        "segments": [list(s) for s in writer.flush()],
        "trainer": trainer.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    buffer = io.BytesIO()  # serialised first: a full disk then fails in a plain write
    torch.save(state, buffer)
    with disk_full_named(ckpt, "the checkpoint"), atomic_path(ckpt) as tmp:
        _write_bytes(tmp, buffer.getbuffer())


def _write_bytes(path: Path, data: Any) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _train(
    trainer: Trainer,
    writer: HistoryWriter,
    points: list[int],
    start: int,
    attrs: Mapping[str, Any],
    bar: tqdm,
    save_checkpoint: Callable[[int], None],
    checkpoint_seconds: float,
) -> None:
    """Updates from `start` to the last snapshot point, recording metrics and snapshots; a
    checkpoint every `checkpoint_seconds` (never at the last step)."""
    inference = torch.inference_mode(getattr(trainer, "inference_only", False))
    last_checkpoint = time.monotonic()
    step = start
    for stop in [p for p in points if p > start]:
        with inference:
            metrics = run_steps(trainer, step, stop)
        _check_finite(step, metrics, attrs)
        if metrics:
            writer.append("metrics", torch.arange(step, stop), metrics)
        _record_snapshot(trainer, writer, stop, attrs)
        bar.update(stop - step)
        step = stop
        if stop < points[-1] and time.monotonic() - last_checkpoint >= checkpoint_seconds:
            save_checkpoint(stop)
            last_checkpoint = time.monotonic()


def _record_snapshot(
    trainer: Trainer, writer: HistoryWriter, step: int, attrs: Mapping[str, Any]
) -> None:
    snap = trainer.snapshot()
    _check_finite(step, {f"{s}/{k}": v[None] for s, d in snap.items() for k, v in d.items()}, attrs)
    for series, values in snap.items():
        writer.append(series, torch.tensor([step]), {k: v[None] for k, v in values.items()})


def _expected_steps(series: str, steps: int, points: list[int]) -> np.ndarray:
    """The steps a finished history holds: every update's metrics, and snapshots at `points`
    (which start at 0, the initialisation)."""
    return np.arange(steps) if series == "metrics" else np.asarray(points)
