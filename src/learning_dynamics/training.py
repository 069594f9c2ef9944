"""The one training loop: snapshots into an HDF5 history, checkpoints, resume, divergence checks.

A study supplies a `Trainer` (its model, data and optimiser); `fit` drives it. Steps run in
chunks between snapshots; metrics stay on the device for a whole chunk, so there is one host sync
per chunk rather than one per step.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm import tqdm

from .history import HistoryWriter
from .io import atomic_path, to_json

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


def snapshot_steps(steps: int, every: int) -> list[int]:
    """0, every, 2·every, ... and always the final step."""
    points = list(range(0, steps, every))
    return points + [steps]


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
    snapshot_every: int,
    out: str | os.PathLike,
    attrs: Mapping[str, Any],
    checkpoint_seconds: float | None = None,
    progress: bool = True,
    desc: str = "train",
) -> Path:
    """Train for `steps` updates, writing the history to `out`; resume from a checkpoint if one
    with the same attributes (config, seed, versions) is found beside it.

    While running, rows go to segment files in `<out>.parts/` and the training state to
    `<out>.ckpt`, both written atomically every `checkpoint_seconds` (default
    $LD_CHECKPOINT_SECONDS or 60). `out` itself appears only when the run has finished.
    """
    out = Path(out)
    ckpt = out.with_name(out.name + ".ckpt")
    if checkpoint_seconds is None:
        checkpoint_seconds = float(os.environ.get("LD_CHECKPOINT_SECONDS", 60))
    fingerprint = _fingerprint(attrs)
    out.unlink(missing_ok=True)

    start, writer = 0, None
    if ckpt.exists():
        try:
            # map to CPU: the trainer moves its state to its own device (a GPU checkpoint loads
            # on a machine without one)
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
            if state["fingerprint"] == fingerprint:
                writer = HistoryWriter(out, attrs, resume_segments=state["segments"])
                trainer.load_state_dict(state["trainer"])
                torch.set_rng_state(state["torch_rng"])
                start = int(state["step"])
                log.info("resuming %s from step %d", out, start)
            else:
                log.info("checkpoint of %s is for another config; restarting", out)
        except Exception as err:  # a checkpoint cut short by a kill: start over
            log.warning("cannot resume %s (%s); restarting", out, err)
            writer, start = None, 0
    if writer is None:
        ckpt.unlink(missing_ok=True)
        writer = HistoryWriter(out, attrs)
        for series, values in trainer.snapshot().items():
            writer.append(series, torch.tensor([0]), {k: v[None] for k, v in values.items()})

    def save_checkpoint(step: int) -> None:
        state = {
            "fingerprint": fingerprint,
            "step": step,
            "segments": writer.flush(),
            "trainer": trainer.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        with atomic_path(ckpt) as tmp:
            torch.save(state, tmp)

    points = [p for p in snapshot_steps(steps, snapshot_every) if p > start]
    inference = torch.inference_mode(getattr(trainer, "inference_only", False))
    last_checkpoint = time.monotonic()
    bar = tqdm(
        total=steps,
        initial=start,
        desc=desc,
        disable=not progress,
        mininterval=0.5 if sys.stderr.isatty() else 10.0,
        unit="step",
    )
    try:
        step = start
        for stop in points:
            with inference:
                metrics = run_steps(trainer, step, stop)
            _check_finite(step, metrics, attrs)
            if metrics:
                writer.append("metrics", torch.arange(step, stop), metrics)
            snap = trainer.snapshot()
            _check_finite(
                stop, {f"{s}/{k}": v[None] for s, d in snap.items() for k, v in d.items()}, attrs
            )
            for series, values in snap.items():
                writer.append(series, torch.tensor([stop]), {k: v[None] for k, v in values.items()})
            bar.update(stop - step)
            step = stop
            if stop < steps and time.monotonic() - last_checkpoint >= checkpoint_seconds:
                save_checkpoint(stop)
                last_checkpoint = time.monotonic()
    except DivergenceError:
        writer.abort()
        ckpt.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    writer.finish()
    ckpt.unlink(missing_ok=True)
    return out
