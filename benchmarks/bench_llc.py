"""LLC benchmark: the batched estimator (all snapshots × chains as one ensemble) against the
plain loop (one chain of one snapshot at a time, an nn.Module and torch's SGLD-style update, the
way a per-checkpoint devinterp call runs), in one process, on the superposition toy model's loss.

    python benchmarks/bench_llc.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch

from learning_dynamics import llc
from learning_dynamics.superposition.llc import toy_loss


def plain_loop(w_e, w_u, nbeta, gamma, eps, steps, chains, seed) -> list[float]:
    """Per snapshot and chain: a model of two nn.Parameters, the full-batch loss, backward, and
    the SGLD update written out; returns each chain's λ̂."""
    g = torch.Generator().manual_seed(seed)
    eye = torch.eye(w_e.shape[-1])
    out = []
    for k in range(len(w_e)):
        for _ in range(chains):
            center = [w_e[k].clone(), w_u[k].clone()]
            params = [torch.nn.Parameter(c.clone()) for c in center]
            losses = []
            for _ in range(steps):
                loss = (torch.relu(params[1] @ params[0]) - eye).square().mean()
                for p in params:
                    p.grad = None
                loss.backward()
                losses.append(loss.item())
                with torch.no_grad():
                    for p, c in zip(params, center, strict=True):
                        drift = nbeta * p.grad + gamma * (p - c)
                        p.add_(-eps / 2 * drift + eps**0.5 * torch.randn(p.shape, generator=g))
            out.append(nbeta * (sum(losses[steps // 4 :]) / (steps - steps // 4) - losses[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    snaps, chains, steps = (4, 2, 100) if args.quick else (20, 4, 300)
    g = torch.Generator().manual_seed(0)
    w_e = 0.3 * torch.randn(snaps, 2, 50, generator=g)
    w_u = 0.3 * torch.randn(snaps, 50, 2, generator=g)
    cfg = llc.SGLDConfig(
        nbeta=3e4, gamma=100.0, lr=200.0, chains=chains, steps=steps, burn_in=steps // 4, seed=0
    )
    t0 = time.process_time()
    plain_loop(w_e, w_u, cfg.nbeta, cfg.gamma, cfg.lr / cfg.nbeta, steps, chains, 0)
    t_plain = time.process_time() - t0
    t0 = time.process_time()
    llc.llc(toy_loss(50), {"W_E": w_e, "W_U": w_u}, cfg)
    t_batched = time.process_time() - t0
    print(f"{snaps} snapshots x {chains} chains x {steps} SGLD steps, superposition loss (CPU s)")
    print(f"  plain loop (one chain at a time): {t_plain:7.2f}")
    print(
        f"  batched ensemble (llc.llc):       {t_batched:7.2f}   ratio {t_plain / t_batched:.1f}x"
    )


if __name__ == "__main__":
    main()
