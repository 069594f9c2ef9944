"""The local learning coefficient (LLC) of stored snapshots, estimated by localized SGLD.

Lau et al. ("The local learning coefficient: a singularity-aware complexity measure") estimate
the LLC of a point w* as

    λ̂(w*) = nβ · (E_w[L(w)] − L(w*)),

the expectation over the tempered posterior localized at w*,
p(w) ∝ exp(−nβ·L(w) − γ/2·‖w − w*‖²), drawn by stochastic-gradient Langevin dynamics:

    w ← w − ε/2 · (nβ·∇L(w) + γ·(w − w*)) + N(0, ε).

Here L is the *full-batch* loss (these toy data are small: a minibatch estimate of E[L] was too
noisy to resolve the small λ's of the toy models), and the step is set as `lr = ε·nβ`, the step
on the loss's gradient, so that a sweep over nβ keeps the drift equally stable.

Every snapshot and every chain is one member of a batched ensemble: `sample` expands S centres
into S·C members, evaluates a study's *functional* loss `loss(params) -> (B,)` on all of them at
once (each parameter a tensor with a leading member axis) and gets every member's gradient from
one backward pass of the summed losses (members never share a number). Per-member nβ, γ and lr
make a hyperparameter sweep one more batch. The per-chain loss traces stay on the device until
the end (no per-step host sync).

`diagnose` flags a chain that has not settled (its estimate from the first half of the kept draws
and from the second half differ by more than `settle_tol` and by more than their sampling
noise) or has run away (a non-finite loss, or
an estimate above d, twice the regular model's d/2, which no LLC exceeds).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

LossFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]

OK, UNSETTLED, RUNAWAY = 0, 1, 2
STATUS = {OK: "ok", UNSETTLED: "not settled", RUNAWAY: "run away"}


@dataclasses.dataclass(frozen=True)
class SGLDConfig:
    """The sampler's hyperparameters (a study's `llc` block; see config/config.yaml for reasons)."""

    nbeta: float  # inverse temperature nβ
    gamma: float  # localization strength γ
    lr: float  # ε·nβ: the step on the loss gradient (noise variance ε = lr / nβ)
    chains: int
    steps: int  # SGLD steps per chain, burn-in included
    burn_in: int  # first steps left out of the estimate
    seed: int
    settle_tol: float = 0.25  # chain not settled: halves' estimates differ by more (relative)
    settle_floor: float = 0.5  # ... relative to max(|λ̂|, this)
    chunk: int = 4096  # members evaluated at once (memory bound; the results do not depend on it)

    @classmethod
    def of(cls, block: Mapping[str, Any]) -> SGLDConfig:
        keys = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in block.items() if k in keys})


@dataclasses.dataclass
class Estimate:
    """LLC estimates of S points (C chains each)."""

    llc: np.ndarray  # (S,) mean over chains
    llc_std: np.ndarray  # (S,) standard deviation over chains
    llc_chain: np.ndarray  # (S, C)
    status: np.ndarray  # (S, C) OK, UNSETTLED or RUNAWAY
    loss_center: np.ndarray  # (S,) L(w*)
    trace: np.ndarray  # (T, S, C) the loss along every chain

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}{k}": v for k, v in dataclasses.asdict(self).items()}


def sample(
    loss: LossFn,
    centers: Mapping[str, torch.Tensor],
    *,
    nbeta: Any,
    gamma: Any,
    lr: Any,
    chains: int,
    steps: int,
    seed: int,
    chunk: int = 4096,
    desc: str = "SGLD",
) -> np.ndarray:
    """Loss traces (steps, S, chains) of SGLD chains started and localized at each of the S
    centres (`centers`: name -> (S, ...)); nβ, γ, lr are numbers or one per centre. Row 0 is
    L(w*) of every chain (before its first step)."""
    first = next(iter(centers.values()))
    s_count, dtype, device = first.shape[0], first.dtype, first.device
    g = torch.Generator(device=device).manual_seed(int(seed))
    per_chunk = max(1, chunk // chains)
    per_centre = [
        np.broadcast_to(np.asarray(h, np.float64), (s_count,)) for h in (nbeta, gamma, lr)
    ]
    out = np.empty((steps, s_count, chains))
    bar = tqdm(total=steps * s_count, desc=desc, unit="snap·step", mininterval=5)
    for start in range(0, s_count, per_chunk):
        rows = slice(start, min(s_count, start + per_chunk))
        part = {k: v[rows] for k, v in centers.items()}
        hyper = [torch.tensor(h[rows], dtype=dtype, device=device) for h in per_centre]
        n = rows.stop - rows.start
        traces = _chains(loss, part, *hyper, chains, steps, g, lambda n=n: bar.update(n))
        out[:, rows] = traces.reshape(steps, n, chains).cpu().numpy()
    bar.close()
    return out


def _chains(loss, centers, nbeta, gamma, lr, chains, steps, g, tick) -> torch.Tensor:
    """SGLD for all members of one chunk: (steps, members·chains) loss traces."""
    c = {k: v.detach().repeat_interleave(chains, 0) for k, v in centers.items()}
    b = next(iter(c.values())).shape[0]
    nb, gm = nbeta.repeat_interleave(chains), gamma.repeat_interleave(chains)
    eps = lr.repeat_interleave(chains) / nb
    w = {k: v.clone().requires_grad_(True) for k, v in c.items()}
    trace = torch.empty(steps, b, dtype=nb.dtype, device=nb.device)
    shape = lambda t, p: t.reshape(-1, *[1] * (p.dim() - 1))  # noqa: E731
    for t in range(steps):
        value = loss(w)
        grads = torch.autograd.grad(value.sum(), list(w.values()))
        trace[t] = value.detach()
        with torch.no_grad():
            for (k, p), grad in zip(w.items(), grads, strict=True):
                drift = shape(nb, p) * grad + shape(gm, p) * (p - c[k])
                noise = torch.randn(p.shape, generator=g, dtype=p.dtype, device=p.device)
                p.sub_(shape(eps / 2, p) * drift).add_(shape(eps.sqrt(), p) * noise)
        tick()
    return trace


def estimate(trace: np.ndarray, nbeta: Any, burn_in: int) -> np.ndarray:
    """λ̂ per chain (S, C) from traces (T, S, C): nβ·(mean of kept draws − L(w*))."""
    nb = np.broadcast_to(np.asarray(nbeta, dtype=np.float64).reshape(-1, 1), trace.shape[1:])
    return nb * (trace[burn_in:].mean(axis=0) - trace[0])


def diagnose(
    trace: np.ndarray, nbeta: Any, burn_in: int, dim: int, tol: float, floor: float
) -> np.ndarray:
    """Status (S, C) of every chain: RUNAWAY (a non-finite loss, or λ̂ > d), UNSETTLED (the
    estimates of the first and the second half of the kept draws differ by more than `tol`
    relative to max(|λ̂|, floor) *and* by more than 3 standard errors of that difference, from
    the spread of 20 batch means of the chain, so that sampling noise alone is not a flag),
    else OK."""
    kept = trace[burn_in:]
    half = len(kept) // 2
    nb = np.broadcast_to(np.asarray(nbeta, dtype=np.float64).reshape(-1, 1), trace.shape[1:])
    with np.errstate(invalid="ignore", over="ignore"):
        full = nb * (kept.mean(axis=0) - trace[0])
        a = nb * (kept[:half].mean(axis=0) - trace[0])
        b = nb * (kept[half:].mean(axis=0) - trace[0])
        blocks = min(20, len(kept))
        size = len(kept) // blocks
        means = nb * kept[: blocks * size].reshape(blocks, size, *kept.shape[1:]).mean(axis=1)
        noise = 3 * np.sqrt(2) * means.std(axis=0, ddof=1) / np.sqrt(blocks / 2)
        bound = np.maximum(tol * np.maximum(np.abs(full), floor), noise)
        status = np.where(np.abs(a - b) > bound, UNSETTLED, OK)
        runaway = ~np.isfinite(trace).all(axis=0) | ~(full <= dim)
    return np.where(runaway, RUNAWAY, status)


def llc(
    loss: LossFn,
    centers: Mapping[str, torch.Tensor],
    cfg: SGLDConfig,
    *,
    nbeta: Any = None,
    gamma: Any = None,
    lr: Any = None,
    desc: str = "LLC",
) -> Estimate:
    """LLC estimates at every centre, with `cfg`'s hyperparameters (or per-centre overrides)."""
    nbeta = cfg.nbeta if nbeta is None else nbeta
    gamma = cfg.gamma if gamma is None else gamma
    lr = cfg.lr if lr is None else lr
    trace = sample(
        loss,
        centers,
        nbeta=nbeta,
        gamma=gamma,
        lr=lr,
        chains=cfg.chains,
        steps=cfg.steps,
        seed=cfg.seed,
        chunk=cfg.chunk,
        desc=desc,
    )
    dim = sum(math.prod(v.shape[1:]) for v in centers.values())
    per_chain = estimate(trace, nbeta, cfg.burn_in)
    status = diagnose(trace, nbeta, cfg.burn_in, dim, cfg.settle_tol, cfg.settle_floor)
    return Estimate(
        llc=per_chain.mean(axis=1),
        llc_std=per_chain.std(axis=1, ddof=1) if cfg.chains > 1 else np.zeros(len(per_chain)),
        llc_chain=per_chain,
        status=status,
        loss_center=trace[0, :, 0].copy(),
        trace=trace,
    )


def sweep(
    loss: LossFn,
    center: Mapping[str, torch.Tensor],
    cfg: SGLDConfig,
    nbetas: list[float],
    gammas: list[float],
) -> dict[str, np.ndarray]:
    """λ̂ at one centre against nβ (at cfg.gamma) and against γ (at cfg.nbeta): one batch of
    len(nbetas) + len(gammas) centres. Returns arrays sweep/nbeta, sweep/gamma and their λ̂."""
    nb = [*nbetas, *[cfg.nbeta] * len(gammas)]
    gm = [*[cfg.gamma] * len(nbetas), *gammas]
    k = len(nb)
    centers = {name: v[:1].expand(k, *v.shape[1:]) for name, v in center.items()}
    est = llc(loss, centers, cfg, nbeta=nb, gamma=gm, desc="LLC sweep")
    m = len(nbetas)
    return {
        "sweep/nbeta": np.asarray(nbetas, dtype=np.float64),
        "sweep/nbeta_llc": est.llc[:m],
        "sweep/nbeta_std": est.llc_std[:m],
        "sweep/gamma": np.asarray(gammas, dtype=np.float64),
        "sweep/gamma_llc": est.llc[m:],
        "sweep/gamma_std": est.llc_std[m:],
    }


def summary(est: Estimate, steps: np.ndarray) -> dict[str, Any]:
    """The estimate's headline numbers (for summary.json)."""
    flags = est.status
    return {
        "steps": [int(s) for s in steps],
        "llc": est.llc.tolist(),
        "llc_std": est.llc_std.tolist(),
        "final_llc": float(est.llc[-1]),
        "final_llc_std": float(est.llc_std[-1]),
        "chains": int(flags.shape[1]),
        "chains_not_settled": int((flags == UNSETTLED).sum()),
        "chains_run_away": int((flags == RUNAWAY).sum()),
    }


# ---- figure panels every study's LLC figure shares --------------------------------------------


def draw_over_training(
    ax, steps, llc_mean, llc_std, status, loss_steps, loss, transitions, plateaus, label
):
    """LLC (mean ± sd over chains; open markers where a chain did not settle or ran away) and the
    training loss on a twin axis, both against step + 1 on a log axis; the essential dynamics'
    transitions dashed and plateaus shaded."""
    x = np.asarray(steps, dtype=np.float64) + 1
    ax.errorbar(x, llc_mean, yerr=llc_std, fmt="o-", ms=3, lw=1, color="tab:blue", label=label)
    bad = (np.asarray(status) != OK).any(axis=1)
    if bad.any():
        ax.plot(
            x[bad],
            np.asarray(llc_mean)[bad],
            "o",
            mfc="none",
            mec="tab:red",
            ms=8,
            label="a chain not settled / run away",
        )
    ax.set_xscale("log")
    ax.set_xlabel("step + 1")
    ax.set_ylabel("LLC estimate $\\hat\\lambda$", color="tab:blue")
    twin = ax.twinx()
    twin.plot(np.asarray(loss_steps) + 1, loss, color="0.4", lw=1, label="training loss")
    twin.set_yscale("log")
    twin.set_ylabel("training loss", color="0.4")
    twin.grid(False)
    for t in transitions:
        ax.axvline(t + 1, color="tab:red", ls="--", lw=0.8)
    for a, b in plateaus:
        ax.axvspan(a + 1, b + 1, color="tab:green", alpha=0.1, lw=0)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="best")


def draw_sweep(ax, arrays: Mapping[str, np.ndarray], nbeta: float, gamma: float, exact=None):
    """λ̂ against nβ (bottom axis) and against γ (top axis) at one point: the chosen values
    marked, and the exact value where one is known."""
    top = ax.twiny()
    for axis, key, name, fixed, chosen, fmt, colour in (
        (ax, "nbeta", "nβ", "γ", nbeta, "o-", "tab:blue"),
        (top, "gamma", "γ", "nβ", gamma, "s--", "tab:orange"),
    ):
        axis.errorbar(
            arrays[f"sweep/{key}"],
            arrays[f"sweep/{key}_llc"],
            yerr=arrays[f"sweep/{key}_std"],
            fmt=fmt,
            color=colour,
            ms=3,
            label=f"vs {name} ({fixed} fixed)",
        )
        axis.axvline(chosen, color=colour, ls=":", lw=1)
        axis.set_xscale("log")
        axis.set_xlabel(name, color=colour)
    ax.set_ylabel("$\\hat\\lambda$")
    top.grid(False)
    if exact is not None:
        ax.axhline(exact, color="k", lw=1, label=f"exact {exact:g}")
    lines, more = ax.get_legend_handles_labels(), top.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7)
