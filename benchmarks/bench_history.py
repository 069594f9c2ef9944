"""History codecs: write time and file size of a paper-scale history with lzf (h5py's own filter,
which the HDF5 command-line tools cannot read) against deflate (gzip), both after byte shuffling
and with Fletcher-32 checksums, and the whole training run with each.

    python benchmarks/bench_history.py [--quick]

The history is the superposition ensemble of the config (paper: 32 seeds x 50000 epochs, 1001
snapshots, 32 MB raw). Each measurement is the best of `ROUNDS`, the codecs interleaved; both
wall-clock and CPU seconds (of the whole process, so the writer thread's compression counts),
since CPU time barely moves on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import h5py
import numpy as np
import yaml

from learning_dynamics import history
from learning_dynamics.devices import set_threads
from learning_dynamics.history import History, _create, run_attrs
from learning_dynamics.io import LIBVER
from learning_dynamics.superposition import run_config
from learning_dynamics.superposition.model import ToyModelTrainer, init_weights
from learning_dynamics.training import fit

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 2
CODECS = {
    "lzf": {"compression": "lzf"},
    "gzip-1": {"compression": "gzip", "compression_opts": 1},
    "gzip-4": {"compression": "gzip", "compression_opts": 4},
}


def create_with(codec: dict, checksum: bool = True):
    """history._create with another filter pipeline (same chunks, shuffle)."""
    filters = {"shuffle": True, "fletcher32": checksum, **codec}
    return lambda group, name, rows: _create(group, name, rows, filters)


def config(quick: bool) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if quick:
        cfg["superposition"].update(
            yaml.safe_load((ROOT / "config/quick.yaml").read_text())["superposition"]
        )
    return run_config(cfg["superposition"], "ensemble")


def clock() -> np.ndarray:
    return np.array([time.perf_counter(), time.process_time()])


def train(cfg: dict, out: Path) -> np.ndarray:
    trainer = ToyModelTrainer(
        *init_weights(cfg["seeds"], cfg["features"], cfg["hidden"]), lr=cfg["lr"], tied=False
    )
    attrs = run_attrs("superposition", cfg, cfg["seeds"])
    start = clock()
    fit(
        trainer,
        steps=cfg["epochs"],
        snapshot_every=cfg["snapshot_every"],
        out=out,
        attrs=attrs,
        progress=False,
    )
    return clock() - start


def write(arrays: dict[str, dict[str, np.ndarray]], out: Path) -> np.ndarray:
    """Append every series in blocks of HANDOVER_BYTES, as the writer's thread does."""
    start = clock()
    with h5py.File(out, "w", libver=LIBVER) as f:
        for series, columns in arrays.items():
            group = f.create_group(series)
            n = len(columns["step"])
            row_bytes = sum(v[0].nbytes for v in columns.values())
            block = max(1, history.HistoryWriter.HANDOVER_BYTES // row_bytes)
            for lo in range(0, n, block):
                for name, rows in columns.items():
                    if name not in group:
                        history._create(group, name, rows)
                    ds = group[name]
                    ds.resize(lo + len(rows[lo : lo + block]), axis=0)
                    ds[lo:] = rows[lo : lo + block]
    return clock() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    set_threads(1)  # as a training job runs
    cfg = config(quick)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train(cfg, tmp / "source.h5")
        with History(tmp / "source.h5") as h:
            arrays = {s: {n: h.read(s, n) for n in [*h.names(s), "step"]} for s in h.series()}
        raw = sum(a.nbytes for c in arrays.values() for a in c.values())
        runs = f"{len(cfg['seeds'])} seeds x {cfg['epochs']} epochs"
        print(f"superposition ensemble: {runs}, {raw / 1e6:.1f} MB raw")
        best_write = {name: np.full(2, np.inf) for name in CODECS}
        best_train = {name: np.full(2, np.inf) for name in CODECS}
        size = {}
        for _ in range(ROUNDS):
            for name, codec in CODECS.items():
                with mock.patch.object(history, "_create", create_with(codec)):
                    w = write(arrays, tmp / f"{name}.h5")
                    best_write[name] = np.minimum(best_write[name], w)
                    t = train(cfg, tmp / f"{name}-train.h5")
                    best_train[name] = np.minimum(best_train[name], t)
                size[name] = (tmp / f"{name}-train.h5").stat().st_size
        for name in CODECS:
            (ww, wc), (tw, tc) = best_write[name], best_train[name]
            print(
                f"{name:7s} write {ww:.2f} s ({wc:.2f} s CPU)  whole training run {tw:.2f} s "
                f"({tc:.2f} s CPU)  history {size[name] / 1e6:.1f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
