"""Grokking benchmark: the 100-run phase diagram (representation lr × decoder lr, 10000 steps).

Times in one run, on one thread:
  * this machine's matmul throughput (a large square GEMM, and the model's own batched shapes),
    giving the compute floor of the diagram: its decoder matmul FLOPs / the best throughput;
  * the seed-style loop (nn.Module + torch.optim, per-step Python RQI, one run at a time) over a
    few runs and steps, extrapolated to 100 runs × 10000 steps;
  * the project's ensemble trainer on all 100 grid points at once, extrapolated from some steps.

Usage: python benchmarks/bench_grokking.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from learning_dynamics.devices import set_threads
from learning_dynamics.grokking.model import build_trainer, member_data, pairs
from learning_dynamics.grokking.reference import seed_style_run
from learning_dynamics.grokking.runs import RunConfig, grid

RUNS, STEPS, N, TRAIN, WIDTH, OUT = 100, 10000, 55, 45, 200, 10
CHUNK = 20


def flops_per_member_step() -> int:
    """Decoder matmuls of one step, as the seed needs them: the forward product of the 200×200
    and 200×10 layers on all N pairs (the test pairs too: the seed evaluates them every step)
    and the two backward products on the TRAIN training pairs (the 1-wide first layer and the
    representation's share are negligible)."""
    return 2 * WIDTH * (WIDTH + OUT) * (N + 2 * TRAIN)


def best_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_throughput(repeats: int) -> dict[str, float]:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    h, w = torch.randn(RUNS, N, WIDTH), torch.randn(RUNS, WIDTH, WIDTH)
    out = {"gemm_1024": 2 * 1024**3 / best_time(lambda: a @ b, repeats) / 1e9}
    an, bn = a.numpy(), b.numpy()  # NumPy's OpenBLAS, which the trainer also uses
    out["numpy_gemm_1024"] = 2 * 1024**3 / best_time(lambda: an @ bn, repeats) / 1e9
    out["bmm_model"] = 2 * RUNS * N * WIDTH**2 / best_time(lambda: torch.bmm(h, w), repeats) / 1e9
    return out


def memory_bandwidth(repeats: int) -> float:
    """Memory throughput in GB/s of `a += b` over 2 × 64 MB (more than the last-level cache):
    two streams read, one written back, like AdamW's (a plain copy would also pay for reading
    the destination before writing it, and understate the bandwidth by a third)."""
    a, b = torch.randn(16 << 20), torch.randn(16 << 20)
    return 3 * a.nbytes / best_time(lambda: a.add_(b), repeats) / 1e9


def adamw_bytes_per_step() -> int:
    """AdamW must read parameter, gradient and both moments and write three of them back: seven
    float32 streams over every decoder weight of every run (these do not fit in the cache)."""
    weights = (WIDTH + 1) * (1 + WIDTH + OUT) + OUT  # W1, b1, W2, b2, W3, b3
    return 7 * 4 * weights * RUNS


def ensemble_seconds_per_step(steps: int) -> float:
    lrs = grid({"min": 1e-5, "max": 1e-2, "num": 10, "log": True})
    rep, dec = zip(*[(r, d) for r in lrs for d in lrs], strict=True)
    cfg = RunConfig(seeds=(4,) * RUNS, train_nums=(45,) * RUNS, rep_lrs=rep, dec_lrs=dec,
                    dec_wds=(0.0,) * RUNS)  # fmt: skip
    one = member_data(10, 45, 4, 10, 10, modulo=False)
    data = {k: np.stack([v] * RUNS) for k, v in one.items()}
    data |= {"pairs": pairs(10), "target": pairs(10).sum(1)}
    trainer = build_trainer(cfg, data)
    for s in range(5):  # warm-up
        trainer.step(s)
    # Best of several chunks (the machine is shared: the minimum is the least disturbed); each
    # chunk ends with one host sync, as fit does once per snapshot chunk.
    chunks = []
    for _ in range(max(1, steps // CHUNK)):
        start = time.perf_counter()
        rows = [trainer.step(s) for s in range(CHUNK)]
        torch.stack([r["loss"] for r in rows]).sum().item()
        chunks.append((time.perf_counter() - start) / CHUNK)
    return min(chunks)


def reference_seconds_per_step(runs: int, steps: int) -> float:
    """Best per-step time over a few seed-style runs (different settings, same cost)."""
    times = []
    for k in range(runs):
        start = time.perf_counter()
        seed_style_run(steps, rep_lr=10 ** (-4 + k / 2), dec_lr=1e-3)
        times.append((time.perf_counter() - start) / steps)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (noisier)")
    args = parser.parse_args()
    set_threads(1)  # torch and NumPy's OpenBLAS
    ref_runs, ref_steps, ens_steps, repeats = (2, 100, 60, 5) if args.quick else (3, 300, 200, 15)

    tp = matmul_throughput(repeats)
    peak = max(tp.values())
    total_flops = flops_per_member_step() * RUNS * STEPS
    floor = total_flops / (peak * 1e9)

    bandwidth = memory_bandwidth(repeats)
    adam_floor = adamw_bytes_per_step() * STEPS / (bandwidth * 1e9)

    ref_step = reference_seconds_per_step(ref_runs, ref_steps)
    reference = ref_step * RUNS * STEPS

    ens_step = ensemble_seconds_per_step(ens_steps)
    ensemble = ens_step * STEPS

    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"matmul throughput: GEMM 1024² {tp['gemm_1024']:.1f} GFLOP/s (torch), "
          f"{tp['numpy_gemm_1024']:.1f} GFLOP/s (NumPy), "
          f"model bmm ({RUNS}×{N}×{WIDTH}×{WIDTH}) {tp['bmm_model']:.1f} GFLOP/s")  # fmt: skip
    print(f"diagram: {RUNS} runs × {STEPS} steps = {total_flops / 1e12:.2f} TFLOP of decoder "
          f"matmuls -> compute floor {floor:.0f} s at {peak:.1f} GFLOP/s")  # fmt: skip
    print(f"seed-style loop: {ref_step * 1e3:.2f} ms/step/run ({ref_runs} runs × {ref_steps} "
          f"steps) -> {RUNS} runs: {reference:.0f} s (extrapolated)")  # fmt: skip
    print(f"ensemble trainer: {ens_step * 1e3:.1f} ms/step for all {RUNS} runs ({ens_steps} steps)"
          f" -> {ensemble:.0f} s (extrapolated)")  # fmt: skip
    print(f"ratio ensemble / compute floor: {ensemble / floor:.2f} (target <= 2)")
    bmm_floor = total_flops / (tp["bmm_model"] * 1e9)
    print(f"  (against the model's own bmm shapes, floor {bmm_floor:.0f} s: "
          f"{ensemble / bmm_floor:.2f})")  # fmt: skip
    print(f"speed-up over seed-style runs: {reference / ensemble:.1f}x (target >= 15)")
    print(f"  bound on this machine: the matmul floor plus AdamW's memory traffic "
          f"({adamw_bytes_per_step() / 1e6:.0f} MB/step at {bandwidth:.0f} GB/s: "
          f"{adam_floor:.0f} s) allow at most {reference / (floor + adam_floor):.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
