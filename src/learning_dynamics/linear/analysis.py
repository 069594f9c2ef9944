"""Linear study: extract (every step's map, loss and test risk in closed form) and analyse (learning
times of each mode, simulated against the exact and balanced solutions; the sweep's table)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..history import History
from ..io import read_arrays, write_arrays, write_csv, write_json
from .model import STUDY, mode_basis
from .theory import balanced_time, crossing_times, exact_time, progress_value


def quadratic_risk(maps: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ_rows ‖y − W x‖² for every map W in `maps` (..., d_out, d) from the second moments only:
    the least-squares residual plus tr(Δ·XᵀX·Δᵀ), Δ = W − T_ls. Exact, and precise near zero."""
    xx = x.T @ x
    t_ls = np.linalg.solve(xx, (y.T @ x).T).T
    floor = float(np.square(y - x @ t_ls.T).sum())
    delta = maps - t_ls
    return floor + ((delta @ xx) * delta).sum(axis=(-1, -2))


def extract(history: str, data: str, out: str) -> None:
    """Per step (0..steps): the end-to-end map W (original basis), the mode strengths u (the
    diagonal of Uᵀ·W·Vhᵀ), and the training loss and test risk (summed squared errors, as the seed
    reports them), all from second moments: no pass over the 5000 test rows."""
    d = read_arrays(data)
    modes = mode_basis(d["X"], d["Y"])
    with History(history) as h:
        config = h.config
        steps = np.append(h.steps("metrics"), h.steps("params")[-1])
        names = h.names("params")
        last = {k: h.read("params", k, -1) for k in names}
        metric = "u" if "u" in h.names("metrics") else "map"
        values = h.read("metrics", metric)
    if metric == "u":  # synaptic basis: u (T, 1, m) -> W = U·diag(u)·Vh
        u = np.concatenate([values[:, 0], (last["a"] * last["b"])[:1]])
        m = u.shape[1]
        maps = (modes.U[:, :m] * u[:, None, :]) @ modes.Vh[:m]
    else:
        maps = np.concatenate([values, (last["W2"] @ last["W1"])[None]])
        m = min(maps.shape[1:])
        u = np.diagonal(modes.U.T @ maps @ modes.Vh.T, axis1=1, axis2=2)[:, :m]
    arrays = {
        "step": steps,
        "map": maps,
        "u": u,
        "loss": quadratic_risk(maps, d["X"], d["Y"]),
        "risk": quadratic_risk(maps, d["X_test"], d["Y_test"]),
        "s": modes.s,
        "lam": modes.lam,
        "a0": d["init/D1"][:m],
        "b0": d["init/D2"][:m],
        "U": modes.U,
        "Vh": modes.Vh,
        "beta": d["beta"],
        "lr": np.float64(config["lr"]),
    }
    write_arrays(out, arrays, {"study": STUDY, "source": str(history), "basis": config["basis"]})


def mode_times(x: dict[str, np.ndarray], fractions: list[float]) -> pd.DataFrame:
    """Per mode and fraction: iterations to cover that fraction of the way from u0 to s, simulated
    (interpolated between steps), exact (unbalanced closed form) and balanced (Saxe)."""
    rows = []
    u0, c = x["a0"] * x["b0"], x["a0"] ** 2 - x["b0"] ** 2
    sim = crossing_times(x["step"], x["u"], x["s"], u0, fractions)
    for i, (s, lam) in enumerate(zip(x["s"], x["lam"], strict=True)):
        common = {"s": s, "lam": lam, "lr": float(x["lr"])}
        for k, f in enumerate(fractions):
            target = progress_value(f, s=s, u0=u0[i])
            exact = exact_time(target, u0=u0[i], c=c[i], **common)
            rows.append(
                {
                    "mode": i,
                    "s": s,
                    "lam": lam,
                    "u0": u0[i],
                    "c": c[i],
                    "fraction": f,
                    "t_sim": sim[k, i],
                    "t_exact": exact,
                    "t_balanced": balanced_time(target, u0=u0[i], **common),
                    "rel_err": sim[k, i] / exact - 1,
                }
            )
    return pd.DataFrame(rows)


def analyse(config: dict[str, Any], extract: str, summary: str, modes: str) -> None:
    """`config` is the study's `analysis` block (the fractions of learning to time)."""
    x = read_arrays(extract)
    table = mode_times(x, list(config["fractions"]))
    write_csv(modes, table)
    half = table[table.fraction == 0.5]
    out = {
        "steps": int(x["step"][-1]),
        "final_loss": float(x["loss"][-1]),
        "final_test_risk": float(x["risk"][-1]),
        "initial_loss": float(x["loss"][0]),
        "final_mode_strength": x["u"][-1].tolist(),
        "target_strength": x["s"].tolist(),
        "lambda": x["lam"].tolist(),
        "final_map": x["map"][-1].tolist(),
        "halfway_time_sim": half.t_sim.tolist(),
        "halfway_time_exact": half.t_exact.tolist(),
        "halfway_time_balanced": half.t_balanced.tolist(),
        "max_abs_rel_err": float(np.nanmax(np.abs(table.rel_err))),
    }
    write_json(summary, out)


def analyse_sweep(config: dict[str, Any], histories: list[str], table: str, summary: str) -> None:
    """Times to learn every sweep point (each an independent mode), simulated from the snapshots
    against the exact closed form; `config` is the study's `analysis` block."""
    fractions = list(config["fractions"])
    frames = []
    for path in np.atleast_1d(histories):
        with History(path) as h:
            part, steps = h.config, h.steps("params")
            u = (h.read("params", "a") * h.read("params", "b"))[:, :, 0]  # (T, E)
        s, w = np.array(part["s"]), np.array(part["scale"])
        a0, b0 = w, part["init_ratio"] * w
        u0, c = a0 * b0, a0**2 - b0**2
        sim = crossing_times(steps, u, s, u0, fractions)
        common = {"s": s, "lam": part["lam"], "lr": part["lr"]}
        for k, f in enumerate(fractions):
            target = progress_value(f, s=s, u0=u0)
            exact = exact_time(target, u0=u0, c=c, **common)
            frames.append(
                pd.DataFrame(
                    {
                        "index": part["index"],
                        "s": s,
                        "scale": w,
                        "u0": u0,
                        "c": c,
                        "fraction": f,
                        "t_sim": sim[k],
                        "t_exact": exact,
                        "t_balanced": balanced_time(target, u0=u0, **common),
                        "rel_err": sim[k] / exact - 1,
                    }
                )
            )
    frame = pd.concat(frames).sort_values(["fraction", "index"])
    write_csv(table, frame)
    reached = frame.t_sim.notna()
    write_json(
        summary,
        {
            "points": int(frame["index"].nunique()),
            "reached": int(reached.sum()),
            "not_reached": int((~reached).sum()),
            "max_abs_rel_err": float(np.abs(frame.rel_err[reached]).max()),
            "median_abs_rel_err": float(np.abs(frame.rel_err[reached]).median()),
        },
    )
