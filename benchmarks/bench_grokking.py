"""Grokking benchmark: the 100-run phase diagram (representation lr × decoder lr, 10000 steps).

Times in one run, on one thread:
  * this machine's matmul throughput (a large square GEMM, torch and NumPy), giving the compute
    floor of the diagram: its decoder matmul FLOPs / the best throughput;
  * the seed-style loop (nn.Module + torch.optim, per-step Python RQI, one run at a time) over
    runs of a few hundred steps, extrapolated to 100 runs × 10000 steps;
  * the project's ensemble trainer on all 100 grid points at once, extrapolated from some steps;
  * what any implementation on this machine needs at least: the diagram's three 200×200 products
    alone at their batched shapes, plus AdamW's memory traffic; hence bounds on both ratios.

Usage: python benchmarks/bench_grokking.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from learning_dynamics.config import load
from learning_dynamics.devices import set_threads
from learning_dynamics.grokking.model import member_data, pairs
from learning_dynamics.grokking.reference import seed_style_run
from learning_dynamics.grokking.runs import RunConfig, grid, run_config
from learning_dynamics.grokking.train import build_trainer

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


GEMM_FLOP = 2 * 1024**3  # one 1024² × 1024² product


def gemm_seconds(repeats: int) -> dict[str, float]:
    """One 1024² GEMM in torch and in NumPy's OpenBLAS (which the trainer also uses)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    an, bn = a.numpy(), b.numpy()
    return {
        "gemm_torch": best_time(lambda: a @ b, repeats),
        "gemm_numpy": best_time(lambda: an @ bn, repeats),
    }


def width_products_seconds(repeats: int) -> float:
    """One step's three WIDTH × WIDTH products of all RUNS members, alone and as the trainer runs
    them (torch for the forward and the input gradient, NumPy for the weight gradient): what the
    batched shapes allow, nothing else around them."""
    h1, w2 = torch.randn(RUNS, N, WIDTH), torch.randn(RUNS, WIDTH, WIDTH)
    b2, h2 = torch.randn(RUNS, 1, WIDTH), torch.empty(RUNS, N, WIDTH)
    g2, g1 = torch.randn(RUNS, TRAIN, WIDTH), torch.empty(RUNS, TRAIN, WIDTH)
    gw, h1t = np.empty((RUNS, WIDTH, WIDTH), np.float32), h1[:, :TRAIN].numpy().transpose(0, 2, 1)

    def products() -> None:
        torch.baddbmm(b2, h1, w2, out=h2)
        torch.bmm(g2, w2.transpose(1, 2), out=g1)
        np.matmul(h1t, g2.numpy(), out=gw)

    return best_time(products, repeats)


ADD_SIZE = 16 << 20  # float32 elements of each `a += b` operand: 64 MB
STREAM_BYTES = 3 * 4 * ADD_SIZE  # two read, one written


def add_seconds(repeats: int) -> float:
    """`a += b` over 2 × 64 MB (more than the last-level cache), for the memory bandwidth: two
    streams read, one written back, like AdamW's (a plain copy would also pay for reading the
    destination before writing it, and understate the bandwidth by a third)."""
    a, b = torch.randn(ADD_SIZE), torch.randn(ADD_SIZE)
    return best_time(lambda: a.add_(b), repeats)


def adamw_bytes_per_step() -> int:
    """AdamW must read parameter, gradient and both moments and write three of them back: seven
    float32 streams over every decoder weight of every run (these do not fit in the cache)."""
    weights = (WIDTH + 1) * (1 + WIDTH + OUT) + OUT  # W1, b1, W2, b2, W3, b3
    return 7 * 4 * weights * RUNS


def ensemble_trainer():
    """The project's trainer on the 100-point diagram (rep lr × decoder lr, 10 × 10)."""
    lrs = grid({"min": 1e-5, "max": 1e-2, "num": 10, "log": True})
    rep, dec = zip(*[(r, d) for r in lrs for d in lrs], strict=True)
    members = dict(seeds=[4] * RUNS, train_nums=[45] * RUNS, rep_lrs=rep, dec_lrs=dec,
                   dec_wds=[0.0] * RUNS)  # fmt: skip
    cfg = RunConfig.from_dict({**run_config(load()["grokking"], "default"), **members})
    one = member_data(10, 45, 4, 10, 10, modulo=False)
    data = {k: np.stack([v] * RUNS) for k, v in one.items()}
    data |= {"pairs": pairs(10), "target": pairs(10).sum(1)}
    trainer = build_trainer(cfg, data)
    for s in range(5):  # warm-up
        trainer.step(s)
    return trainer


def ensemble_seconds_per_step(trainer, chunks: int) -> float:
    """Best of a few chunks of CHUNK steps; each ends with one host sync, as `fit` does once per
    snapshot chunk."""
    times = []
    for _ in range(chunks):
        start = time.perf_counter()
        rows = [trainer.step(s) for s in range(CHUNK)]
        torch.stack([r["loss"] for r in rows]).sum().item()
        times.append((time.perf_counter() - start) / CHUNK)
    return min(times)


def reference_seconds_per_step(steps: int, k: int) -> float:
    """Per-step time of one seed-style run (settings vary with k; the cost does not)."""
    start = time.perf_counter()
    seed_style_run(steps, rep_lr=10 ** (-4 + (k % 6) / 2), dec_lr=1e-3)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args()
    set_threads(1)  # torch and NumPy's OpenBLAS
    rounds, ref_steps, chunks, repeats = (2, 100, 3, 3) if args.quick else (6, 200, 4, 5)

    # Every quantity is measured once per round and the rounds alternate, so that a slow spell
    # of this shared machine spreads over all of them; each keeps its best (least disturbed) time.
    trainer = ensemble_trainer()
    best: dict[str, float] = {}
    for r in range(rounds):
        round_times = {
            **gemm_seconds(repeats),
            "products": width_products_seconds(repeats),
            "add": add_seconds(repeats),
            "reference": reference_seconds_per_step(ref_steps, r),
            "ensemble": ensemble_seconds_per_step(trainer, chunks),
        }
        best = {k: min(v, best.get(k, v)) for k, v in round_times.items()}

    tp = {k: GEMM_FLOP / best[f"gemm_{k}"] / 1e9 for k in ("torch", "numpy")}  # GFLOP/s
    peak = max(tp.values())
    total_flops = flops_per_member_step() * RUNS * STEPS
    floor = total_flops / (peak * 1e9)
    products = best["products"] * STEPS
    bandwidth = STREAM_BYTES / best["add"] / 1e9  # GB/s
    adam_floor = adamw_bytes_per_step() * STEPS / (bandwidth * 1e9)
    ref_step, ens_step = best["reference"], best["ensemble"]
    reference, ensemble = ref_step * RUNS * STEPS, ens_step * STEPS

    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}, best of {rounds} rounds")
    print(f"matmul throughput: GEMM 1024² {tp['torch']:.1f} GFLOP/s (torch), "
          f"{tp['numpy']:.1f} GFLOP/s (NumPy)")  # fmt: skip
    print(f"diagram: {RUNS} runs × {STEPS} steps = {total_flops / 1e12:.2f} TFLOP of decoder "
          f"matmuls -> compute floor {floor:.0f} s at {peak:.1f} GFLOP/s")  # fmt: skip
    print(f"seed-style loop: {ref_step * 1e3:.2f} ms/step/run (runs of {ref_steps} steps) -> "
          f"{RUNS} runs: {reference:.0f} s (extrapolated)")  # fmt: skip
    print(f"ensemble trainer: {ens_step * 1e3:.1f} ms/step for all {RUNS} runs (chunks of "
          f"{CHUNK} steps) -> {ensemble:.0f} s (extrapolated)")  # fmt: skip
    print(f"ratio ensemble / compute floor: {ensemble / floor:.2f} (target <= 2)")
    print(f"speed-up over seed-style runs: {reference / ensemble:.1f}x (target >= 15)")
    print("what the machine allows, measured here:")
    print(f"  the three {WIDTH}×{WIDTH} products alone, at the diagram's batched shapes: "
          f"{products / STEPS * 1e3:.1f} ms/step -> {products:.0f} s, "
          f"{products / floor:.2f}x the compute floor")  # fmt: skip
    print(f"  AdamW's memory traffic: {adamw_bytes_per_step() / 1e6:.0f} MB/step at "
          f"{bandwidth:.0f} GB/s -> {adam_floor:.0f} s")  # fmt: skip
    bound = products + adam_floor
    print(f"  together {bound:.0f} s: ratio to the compute floor >= {bound / floor:.2f}, "
          f"speed-up <= {reference / bound:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
