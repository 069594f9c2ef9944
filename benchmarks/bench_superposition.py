"""Superposition: the seed-style training loop against the project's, timed in one run.

    python benchmarks/bench_superposition.py [--quick] [--threads 1]

Reference: the seed's loop (DataLoader over the 50 one-hot vectors, nn.Module, torch.optim.SGD,
a per-epoch `.item()`, weight copies every 50 epochs), timed over a tenth of the epochs and
extrapolated. Project: `training.fit` with the hand-written batched trainer, writing the full
HDF5 history; each project run executes in a fresh process so its peak RSS is its own. The
seed-style ensemble time is 32 × one seed-style run (the seed trains one model at a time).
Rounds alternate the three measurements; each keeps its best.
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
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from learning_dynamics.devices import set_threads

FEATURES, HIDDEN, LR = 50, 2, 5.0


class OneHot(Dataset):
    def __len__(self) -> int:
        return FEATURES

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.eye(FEATURES)[i]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Linear(FEATURES, HIDDEN, bias=False)
        self.unembedding = nn.Linear(HIDDEN, FEATURES, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.unembedding(self.embedding(x)))


def seed_style(epochs: int, seed: int = 42) -> float:
    torch.manual_seed(seed)
    model = Net()
    loader = DataLoader(OneHot(), batch_size=FEATURES, shuffle=True)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    history = {k: [v.detach().numpy().copy()] for k, v in model.named_parameters()}
    losses = []
    start = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for batch in loader:
            opt.zero_grad()
            loss = nn.MSELoss()(model(batch), batch)
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / len(loader))
        if (epoch + 1) % 50 == 0:
            for k, v in model.named_parameters():
                history[k].append(v.detach().numpy().copy())
    return time.perf_counter() - start


def project(epochs: int, seeds: list[int]) -> dict[str, float]:
    """Train with the project's code in this process; return seconds and peak RSS."""
    from learning_dynamics.history import run_attrs
    from learning_dynamics.superposition.model import ToyModelTrainer, init_weights
    from learning_dynamics.training import fit

    config = {"epochs": epochs, "seeds": seeds}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        trainer = ToyModelTrainer(*init_weights(seeds, FEATURES, HIDDEN), lr=LR, tied=False)
        fit(
            trainer,
            steps=epochs,
            snapshot_every=50,
            out=Path(tmp) / "h.h5",
            attrs=run_attrs("superposition", config, seeds),
            progress=False,
        )
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb}


def in_child(epochs: int, seeds: list[int], threads: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            json.dumps([epochs, seeds]),
            "--threads",
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5000 epochs instead of 50000")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ensemble", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    set_threads(args.threads)  # torch and NumPy's OpenBLAS (the trainer multiplies in NumPy)
    if args.child:
        epochs, seeds = json.loads(args.child)
        print(json.dumps(project(epochs, seeds)))
        return

    epochs = 5000 if args.quick else 50000
    ref_epochs = epochs // 10  # per round; the seed-style loop's cost per epoch is flat
    seeds = list(range(args.ensemble))
    print(f"superposition: {epochs} epochs, {args.threads} thread(s), torch {torch.__version__}")
    # Rounds alternate the three measurements, so that a slow spell of this shared machine (a
    # 1.2 s run varies by up to 50% here) spreads over all of them; each keeps its best time.
    refs, singles, ensembles = [], [], []
    for _ in range(args.rounds):
        refs.append(seed_style(ref_epochs) * epochs / ref_epochs)
        singles.append(in_child(epochs, [42], args.threads))
        ensembles.append(in_child(epochs, seeds, args.threads))
    reference = min(refs)
    single = min(singles, key=lambda r: r["seconds"])
    ensemble = min(ensembles, key=lambda r: r["seconds"])
    rows = [
        (f"seed-style loop, 1 run (from {ref_epochs} epochs)", reference, None),
        ("seed-style, 32 runs (32 x 1 run)", reference * len(seeds), None),
        ("project, 1 run", single["seconds"], single["peak_rss_mb"]),
        (f"project, {len(seeds)}-seed ensemble", ensemble["seconds"], ensemble["peak_rss_mb"]),
    ]
    print(f"best of {args.rounds} rounds:")
    for name, seconds, rss in rows:
        extra = f"   peak RSS {rss:6.0f} MB" if rss else ""
        print(f"  {name:42s} {seconds:8.2f} s   {seconds / epochs * 1e6:8.1f} us/epoch{extra}")
    n = len(seeds)
    per_run = reference / single["seconds"]
    print(f"speed-up per run (seed-style / project):  {per_run:6.1f}x  (target >= 20x)")
    print(f"speed-up, ensemble vs {n} seed-style runs: {reference * n / ensemble['seconds']:6.1f}x")
    print(
        f"ensemble time / one run:                  {ensemble['seconds'] / single['seconds']:6.2f}"
        "   (target <= 3)"
    )


if __name__ == "__main__":
    main()
