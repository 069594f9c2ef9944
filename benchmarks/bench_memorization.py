"""Memorization: the seed-style training loop against the project's, timed in one run.

    python benchmarks/bench_memorization.py [--steps 5000] [--threads 1]

Model and data of seed cell 1 (N = 100, d = 10, one layer, 5 parallel heads, association law
with 40 × 40 contexts, seed 2222), batch 1024, Adam lr 1e-3, full-divergence loss.
Reference: the seed's way (`memorization.reference`): all batches sampled up front, a DataLoader
over them, `para` nn.MultiheadAttention modules over the 3-token sequence, a `.item()` per step.
Project: `training.fit` with the batched trainer (batches sampled on the fly, two-key closed-form
attention, table projections), writing the full HDF5 history with exact metrics every 50 steps.
Each side runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CELL = {
    "model": "transformer",
    "N": 100,
    "d": 10,
    "layers": 1,
    "para": 5,
    "law": {"kind": "power_uniform", "alphas": [1.0, 1.0, 1.0], "nb_tokens": [40, 40, 1]},
    "law_seed": 2222,
    "seed": 2222,
    "loss": "divergence",
}
BATCH, LR = 1024, 1e-3


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_style(steps: int) -> dict[str, float]:
    from learning_dynamics.memorization.laws import make_law
    from learning_dynamics.memorization.model import Arch
    from learning_dynamics.memorization.reference import (
        SeedStyleTransformer,
        presample,
        seed_style_train,
    )

    law, _ = make_law(CELL["law"], CELL["N"], CELL["law_seed"])
    start = time.perf_counter()
    data = presample(law, BATCH, steps, CELL["seed"])
    sampling = time.perf_counter() - start
    torch.manual_seed(CELL["seed"])
    model = SeedStyleTransformer(Arch.of(CELL))
    out = seed_style_train(model, law, data, BATCH, LR)
    return {
        "seconds": out["seconds"],
        "sampling_seconds": sampling,
        "final_loss": sum(out["loss"][-100:]) / 100,
        "peak_rss_mb": peak_rss_mb(),
    }


def project(steps: int) -> dict[str, float]:
    from learning_dynamics.history import History, run_attrs
    from learning_dynamics.memorization.laws import make_law
    from learning_dynamics.memorization.train import JobTrainer
    from learning_dynamics.training import fit

    config = {"steps": steps, "batch": BATCH, "lr": LR, "snapshot_every": 50, "members": [CELL]}
    law, _ = make_law(CELL["law"], CELL["N"], CELL["law_seed"])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        trainer = JobTrainer(config, [law], torch.device("cpu"))
        out = Path(tmp) / "history.h5"
        attrs = run_attrs("memorization", config, [CELL["seed"]])
        fit(trainer, steps=steps, snapshot_every=50, out=out, attrs=attrs, progress=False)
        seconds = time.perf_counter() - start
        with History(out) as h:
            final = float(h.read("metrics", "loss")[-100:, 0].mean())
    return {"seconds": seconds, "final_loss": final, "peak_rss_mb": peak_rss_mb()}


def in_child(side: str, steps: int, threads: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", side, "--steps", str(steps)]
    out = subprocess.run(
        [*cmd, "--threads", str(threads)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", choices=["seed", "project"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        run = seed_style if args.child == "seed" else project
        print(json.dumps(run(args.steps)))
        return

    print(f"memorization cell 1: {args.steps} steps of batch {BATCH}, {args.threads} thread(s)")
    reference = in_child("seed", args.steps, args.threads)
    ours = in_child("project", args.steps, args.threads)
    for name, r in (("seed-style loop", reference), ("project", ours)):
        print(
            f"  {name:16s} {r['seconds']:8.2f} s  {r['seconds'] / args.steps * 1e3:6.2f} ms/step"
            f"  final loss {r['final_loss']:.4f}  peak RSS {r['peak_rss_mb']:6.0f} MB"
        )
    print(f"  (the seed-style side also spent {reference['sampling_seconds']:.2f} s pre-sampling)")
    print(
        f"speed-up (seed-style / project): {reference['seconds'] / ours['seconds']:5.1f}x"
        "  (target >= 5x);  project peak RSS < 1 GB: "
        f"{'yes' if ours['peak_rss_mb'] < 1024 else 'NO'}"
    )


if __name__ == "__main__":
    main()
