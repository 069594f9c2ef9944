"""Linear study: the local learning coefficient, checked against the closed form of reduced-rank
regression (Aoyagi & Watanabe 2005, `learning_dynamics.aoyagi`), then applied to the seed's run.

Validation (`validate`): for each case (M, N, H, r) a two-layer linear network y = B·A·x at a
true point w* = (A*, B*) whose r used hidden units have orthonormal in- and out-weights and whose
H − r other units are zero (the most singular point of the true set, where the local and the
global learning coefficient agree); the loss is the population loss of x ~ N(0, I) with unit
Gaussian noise, L(w) = ½‖B·A − B*·A*‖²_F (its minimum 0), so λ̂ is compared with λ exactly.
H = 0 is one linear layer y = W·x, the regular model (λ = d/2). Every case also runs the
sweep over nβ and γ, as more members of the same batch.

The seed's run (`estimate`): the network in its own weights, W1 (hidden × d) = R·diag(a)·Vh and
W2 (d × hidden) = U·diag(b)·Rᵀ at every stored snapshot (both nn.Linear layers, every weight:
200 numbers), with the seed's 50 noiseless samples, L(w) = (1/2n)·Σ‖y − W2·W1·x‖².
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import aoyagi
from .. import llc as L
from ..essential_dynamics import draw as draw_ed
from ..essential_dynamics import essential_dynamics
from ..history import History
from ..io import read_arrays, write_arrays, write_csv, write_json
from ..plotting import COLUMN, save_figure
from .model import STUDY, mode_basis

DTYPE = torch.float64


def true_point(M: int, N: int, H: int, r: int, seed: int) -> dict[str, torch.Tensor]:
    """w* of a case: orthonormal factors for the r used units, zeros elsewhere (H = 0: W*)."""
    g = torch.Generator().manual_seed(seed)
    if H == 0:
        return {"W": torch.randn(1, N, M, generator=g, dtype=DTYPE)}
    a, b = torch.zeros(1, H, M, dtype=DTYPE), torch.zeros(1, N, H, dtype=DTYPE)
    if r:
        a[0, :r] = torch.linalg.qr(torch.randn(M, r, generator=g, dtype=DTYPE))[0].T
        b[0, :, :r] = torch.linalg.qr(torch.randn(N, r, generator=g, dtype=DTYPE))[0]
    return {"A": a, "B": b}


def rrr_loss(center: dict[str, torch.Tensor]):
    """The population loss ½‖map − map*‖² of a case, batched over members."""
    if "W" in center:
        target = center["W"][0]
        return lambda p: 0.5 * (p["W"] - target).square().sum((1, 2))
    target = center["B"][0] @ center["A"][0]
    return lambda p: 0.5 * (p["B"] @ p["A"] - target).square().sum((1, 2))


def validate(config: dict[str, Any], table: str, arrays: str) -> None:
    """λ̂ against Aoyagi's λ for every case of `config['cases']` ([M, N, H, r]; H = 0: regular),
    with the sweep over nβ and γ; `config` is the `llc.validation` block."""
    cfg = L.SGLDConfig.of(config)
    rows, out = [], {}
    for k, (M, N, H, r) in enumerate(config["cases"]):
        exact, mult = aoyagi.learning_coefficient(M, N, H, r)
        center = true_point(M, N, H, r, cfg.seed + k)
        nb = [cfg.nbeta, *config["sweep"]["nbeta"], *[cfg.nbeta] * len(config["sweep"]["gamma"])]
        gm = [cfg.gamma, *[cfg.gamma] * len(config["sweep"]["nbeta"]), *config["sweep"]["gamma"]]
        centers = {n: v.expand(len(nb), *v.shape[1:]) for n, v in center.items()}
        est = L.llc(rrr_loss(center), centers, cfg, nbeta=nb, gamma=gm, desc=f"case {k}")
        m = 1 + len(config["sweep"]["nbeta"])
        out |= {
            f"case{k}/nbeta_llc": est.llc[1:m] / exact,
            f"case{k}/gamma_llc": est.llc[m:] / exact,
            f"case{k}/trace": est.trace[:, 0],
        }
        rows.append(
            {
                "case": aoyagi.case(M, N, H, r),
                "M": M,
                "N": N,
                "H": H,
                "r": r,
                "d": sum(v[0].numel() for v in center.values()),
                "exact": exact,
                "multiplicity": mult,
                "estimate": est.llc[0],
                "std": est.llc_std[0],
                "stderr": est.llc_std[0] / np.sqrt(cfg.chains),
                "rel_err": est.llc[0] / exact - 1,
                "chains_not_settled": int((est.status[0] == L.UNSETTLED).sum()),
                "chains_run_away": int((est.status[0] == L.RUNAWAY).sum()),
            }
        )
    out |= {"nbeta": np.asarray(config["sweep"]["nbeta"], float)}
    out |= {"gamma": np.asarray(config["sweep"]["gamma"], float)}
    write_csv(table, pd.DataFrame(rows))
    write_arrays(arrays, out, {"study": STUDY, "nbeta": cfg.nbeta, "gamma": cfg.gamma})


def plot_validation(table: str, arrays: str, pdf: str, png: str) -> None:
    """LLC estimate against Aoyagi's exact value per case, and λ̂/λ against nβ and against γ."""
    df, x = pd.read_csv(table), read_arrays(arrays)
    fig, axes = plt.subplots(1, 3, figsize=(3 * COLUMN, 0.9 * COLUMN), layout="constrained")
    ax = axes[0]
    top = 1.15 * max(df.exact.max(), df.estimate.max())
    ax.fill_between([0, top], [0, 0.9 * top], [0, 1.1 * top], color="0.9", label="±10 %")
    ax.plot([0, top], [0, top], "k", lw=1, label="estimate = exact")
    for row in df.itertuples():
        ax.errorbar(
            row.exact,
            row.estimate,
            yerr=row.std,
            fmt="o",
            ms=4,
            label=(f"{row.case}: M={row.M} N={row.N} H={row.H} r={row.r}"),
        )
    ax.set_xlabel("exact λ (Aoyagi & Watanabe 2005; regular: d/2)")
    ax.set_ylabel("LLC estimate $\\hat\\lambda$ (± sd over chains)")
    ax.legend(fontsize=6)
    for ax, key, label in ((axes[1], "nbeta", "nβ"), (axes[2], "gamma", "γ")):
        for k, row in enumerate(df.itertuples()):
            ax.plot(x[key], x[f"case{k}/{key}_llc"], "o-", ms=3, label=row.case)
        ax.axhline(1, color="k", lw=1)
        ax.axhspan(0.9, 1.1, color="0.9")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("$\\hat\\lambda$ / λ")
        ax.set_title(f"against {label} (the other fixed)", fontsize=9)
    axes[1].legend(fontsize=6)
    save_figure(fig, pdf, png)


# ---- the seed's run ---------------------------------------------------------------------------


def seed_weights(history: str, data: str, every: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(steps, {W1 (S, hidden, d), W2 (S, d, hidden)}) at every `every`-th stored snapshot (the
    last always kept), in the seed network's own weights."""
    d = read_arrays(data)
    modes = mode_basis(d["X"], d["Y"])
    with History(history) as h:
        steps = h.steps("params")
        keep = np.unique(np.append(np.arange(0, len(steps), every), len(steps) - 1))
        if "W1" in h.names("params"):  # the weight basis stores them as they are
            return steps[keep], {k: h.read("params", k)[keep] for k in ("W1", "W2")}
        a, b = h.read("params", "a")[keep, 0], h.read("params", "b")[keep, 0]  # (S, m)
    m = a.shape[1]
    r = d["init/R"][:, :m]
    w1 = (r * a[:, None, :]) @ modes.Vh[:m]  # R·diag(a)·Vh
    w2 = (modes.U[:, :m] * b[:, None, :]) @ r.T  # U·diag(b)·Rᵀ
    return steps[keep], {"W1": w1, "W2": w2}


def seed_loss(x: np.ndarray, y: np.ndarray):
    """(1/2n)·Σ‖y − W2·W1·x‖² batched over members, from the second moments of the data."""
    n = len(x)
    xx = torch.as_tensor(x.T @ x / n, dtype=DTYPE)
    yx = torch.as_tensor(y.T @ x / n, dtype=DTYPE)
    yy = float(np.square(y).sum() / n)

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        w = p["W2"] @ p["W1"]
        return 0.5 * (yy - 2 * (w * yx).sum((1, 2)) + ((w @ xx) * w).sum((1, 2)))

    return loss


def estimate(
    config: dict[str, Any], history: str, data: str, extract: str, out: str, summary: str
) -> None:
    """LLC at every `config['every']`-th snapshot of the seed's run, the sweep over nβ and γ at
    the final point, and the essential dynamics of the outputs on the training inputs;
    `config` is the study's `llc` block."""
    cfg = L.SGLDConfig.of(config)
    steps, weights = seed_weights(history, data, config["every"])
    d = read_arrays(data)
    loss = seed_loss(d["X"], d["Y"])
    centers = {k: torch.as_tensor(v, dtype=DTYPE) for k, v in weights.items()}
    est = L.llc(loss, centers, cfg)
    final = {k: v[-1:] for k, v in centers.items()}
    sweep = L.sweep(loss, final, cfg, config["sweep"]["nbeta"], config["sweep"]["gamma"])
    x = read_arrays(extract)
    idx = np.unique(np.geomspace(1, len(x["step"]), config["essential"]["points"]).astype(int) - 1)
    outputs = d["X"] @ np.swapaxes(x["map"][idx], 1, 2)  # (S, n, d_out) on the training inputs
    ed = essential_dynamics(outputs, x["step"][idx], config["essential"])
    hidden, dim = weights["W1"].shape[1], weights["W1"].shape[2]
    exact, _ = aoyagi.learning_coefficient(dim, len(d["beta"]), hidden, len(d["beta"]))
    arrays = {"step": steps, **est.arrays(), **sweep, "ed/step": x["step"][idx]}
    arrays |= {"nbeta": np.float64(cfg.nbeta), "gamma": np.float64(cfg.gamma)}
    arrays |= {"aoyagi": np.float64(exact), "samples": np.int64(len(d["X"]))}
    arrays |= {f"ed/{k}": v for k, v in ed.items()}
    write_arrays(out, arrays, {"study": STUDY, "nbeta": cfg.nbeta, "gamma": cfg.gamma})
    write_json(
        summary,
        {
            **L.summary(est, steps),
            "aoyagi_final": exact,
            "final_rel_err": float(est.llc[-1] / exact - 1),
            "transitions": ed["transitions"].tolist(),
        },
    )


def plot(llc: str, extract: str, pdf: str, png: str) -> None:
    """LLC over training with the loss on the same axis, the sweep at the final point, and the
    essential dynamics of the seed's run."""
    x, e = read_arrays(llc), read_arrays(extract)
    fig, axes = plt.subplots(1, 3, figsize=(3 * COLUMN, 0.9 * COLUMN), layout="constrained")
    idx = np.unique(np.geomspace(1, len(e["step"]), 600).astype(int) - 1)
    exact = float(x["aoyagi"])
    loss = e["loss"][idx] / (2 * int(x["samples"]))  # the sampled loss: ½·SSE / n
    L.draw_over_training(
        axes[0],
        x["step"],
        x["llc"],
        x["llc_std"],
        x["status"],
        e["step"][idx],
        loss,
        x["ed/transitions"],
        x["ed/plateaus"],
        "LLC (seed network)",
    )
    axes[0].axhline(exact, color="k", lw=0.8, ls=":", label=f"Aoyagi λ = {exact:g}")
    axes[0].set_title("LLC and loss ½·MSE over training", fontsize=9)
    L.draw_sweep(axes[1], x, float(x["nbeta"]), float(x["gamma"]), exact)
    axes[1].set_title("final point: λ̂ against nβ and γ", fontsize=9)
    draw_ed(axes[2], x["ed/step"], x["ed/pcs"], x["ed/explained"], x["ed/transitions"])
    axes[2].set_title("essential dynamics (outputs on the 50 inputs)", fontsize=9)
    save_figure(fig, pdf, png)
