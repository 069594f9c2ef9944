"""Linear study benchmark: the seed's training loop against the project's run, in one process.

The seed (notebook 003) trains in the synaptic basis with an autograd forward/backward it does not
use, a manual update, and a 5000-row test forward pass plus two host syncs every iteration. The
project runs the decoupled per-mode recursion in chunks through `fit` and gets every step's loss
and test risk in closed form from second moments in `extract`. The reference is timed on a few
thousand iterations and extrapolated to the full run. Also timed: the figure-5 sweep.

    python benchmarks/bench_linear.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from learning_dynamics.io import write_arrays
from learning_dynamics.linear import analysis, model
from learning_dynamics.linear.runs import run_config, sweep_job_config, sweep_jobs

ROOT = Path(__file__).resolve().parents[1]


def seed_loop(data: dict[str, np.ndarray], steps: int, lr: float) -> np.ndarray:
    """The seed's loop (synaptic branch), float32, recording what it records; returns losses."""
    f32 = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    xs, ys, xt, yt = (f32(data[k]) for k in ("X", "Y", "X_test", "Y_test"))
    beta = f32(data["beta"]).T
    xx, yx = xs.T @ xs, ys.T @ xs
    u, s, vh = torch.linalg.svd(yx @ torch.inverse(xx))
    s = torch.diag(s)
    vxxv = vh @ xx @ vh.T
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 50, bias=False), torch.nn.Linear(50, 2, bias=False)
    )
    r = f32(data["init/R"])
    with torch.no_grad():
        net[0].weight.copy_(r[:, :2] * f32(data["init/D1"]))
        net[1].weight.copy_(f32(data["init/D2"])[:, None] * r[:, :2].T)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    losses, risks, weights, mse_weights = [], [], [], []
    for _ in range(steps):
        y_pred = xs @ (u @ (net[1].weight @ net[0].weight) @ vh).T
        loss = loss_fn(y_pred, ys)
        losses.append(loss.item())
        net.zero_grad()
        loss.backward()
        with torch.no_grad():
            for i, param in enumerate(net.parameters()):
                g = (s - net[1].weight @ net[0].weight) @ vxxv
                param += lr * (net[1].weight.T @ g if i == 0 else g @ net[0].weight.T)
            w_tot = (net[1].weight @ net[0].weight).T
            weights.append(w_tot)
            mse_weights.append((w_tot - beta) ** 2)
            yt_pred = xt @ (u @ (net[1].weight @ net[0].weight) @ vh).T
            risks.append(loss_fn(yt_pred, yt).item())
    return np.array(losses)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer reference steps, quick sweep")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["linear"]
    if args.quick:
        quick = yaml.safe_load((ROOT / "config" / "quick.yaml").read_text())["linear"]
        config["sweep"] = quick["sweep"]
    steps, lr = config["steps"], config["lr"]
    ref_steps = 500 if args.quick else 1500
    tmp = Path(tempfile.mkdtemp(prefix="bench_linear_"))
    cfg = model.LinearConfig(
        **{
            **run_config(config),
            "teacher": tuple(config["teacher"]),
            "init_scale": tuple(config["init_scale"]),
        }
    )
    data = model.make_dataset(cfg)
    write_arrays(tmp / "data.h5", data)

    ref_per_step = np.inf  # best of three: the machine is shared, timings are noisy
    for _ in range(3):
        t0 = time.perf_counter()
        ref_losses = seed_loop(data, ref_steps, lr)
        ref_per_step = min(ref_per_step, (time.perf_counter() - t0) / ref_steps)
    ref_total = ref_per_step * steps
    print(
        f"seed-style loop: {ref_per_step * 1e6:.0f} us/iteration over {ref_steps} iterations"
        f" -> {ref_total:.1f} s extrapolated to {steps}"
    )

    for basis in ("synaptic", "weight"):
        run = {**run_config(config), "basis": basis}
        history, extract = str(tmp / f"{basis}.h5"), str(tmp / f"x_{basis}.h5")
        best = (np.inf, np.inf)  # (train, extract) seconds of the fastest of three repeats
        for _ in range(1 if basis == "weight" else 3):
            t0 = time.perf_counter()
            model.train(run, str(tmp / "data.h5"), history)
            t1 = time.perf_counter()
            analysis.extract(history, str(tmp / "data.h5"), extract)
            best = min(best, (t1 - t0, time.perf_counter() - t1), key=sum)
        total = sum(best)
        print(
            f"project, {basis} basis: train {best[0]:.2f} s + extract (loss and test risk of"
            f" all {steps + 1} maps) {best[1]:.2f} s = {total:.2f} s"
            f" -> {ref_total / total:.0f}x faster than the seed-style loop"
        )
    x = analysis.read_arrays(tmp / "x_synaptic.h5")
    rel = np.abs(x["loss"][:ref_steps] / ref_losses - 1).max()
    print(
        f"check: loss of the first {ref_steps} iterations, project (float64) vs seed-style"
        f" loop (float32): max relative difference {rel:.1e}"
    )

    sweep = config["sweep"]
    t0 = time.perf_counter()
    paths = []
    for job in sweep_jobs(sweep):
        paths.append(str(tmp / f"sweep{job}.h5"))
        model.train_sweep(sweep, job, paths[-1])
    t1 = time.perf_counter()
    analysis.analyse_sweep(
        {"fractions": [0.1, 0.5, 0.9, 0.99]}, paths, str(tmp / "t.csv"), str(tmp / "t.json")
    )
    t2 = time.perf_counter()
    points = sum(len(sweep_job_config(sweep, c)["s"]) for c in sweep_jobs(sweep))
    print(
        f"sweep: {points} settings x {sweep['steps']} iterations in one batch: train"
        f" {t1 - t0:.2f} s + analyse {t2 - t1:.2f} s (1 thread)"
    )


if __name__ == "__main__":
    main()
