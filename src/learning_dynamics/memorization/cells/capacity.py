"""Memorization capacity sweeps (paper Figs. 1a, 1b, 2a, 2b; cells `capacity_heads`,
`capacity_head_dim`, `capacity_embed_dim`, `capacity_diag`): analysis and plot.

Each sweep trains, at every point, the authors' final model with their recipe (the
reproduction; `runs.capacity_members`) and our per-head model with the same recipe (the
comparison), several repeats each. The analysis reports per point and variant the authors'
metric (the mean training-batch accuracy of the 100 steps before the last, their
`sum(Acc[-101:-1])/100`, averaged over repeats) beside our exact accuracy over all N² facts at
the last step, the paper's stored value, and the existence bound of Corollary 2 with T0 = N²:
accuracy >= 1/N + (1 - 1/N)(H·d_h + d)/N². The bound's construction takes d_h <= d (the paper's
equation (1) and its footnote 1), so it is reported and drawn only where d_h <= d.

Beside both it records the final model's accuracy with every fact weighted by how often its pair
occurs in the pool (`pool_weighted`): the batches only ever show the pool, so this is what the
authors' metric measures, and it explains the gap between their metric and the exact accuracy.

`capacity_diag` (Fig. 2b, Sec. 4.2's cubic law) trains every H of a list at every d = d_h of
another; its summary's `law` holds, per d, the slope of facts in H (the authors' rule,
`facts_per_head`) and the exponent of those slopes in d, fitted two ways (`d_law`), for the
reproduction, for the authors' stored points on the same grid and for their whole stored grid,
with the spread that the repeats' noise gives each (`redraw_spread`).

Writes one CSV row per point (`table.csv`), the per-repeat values (`arrays.h5`: one
(points, repeats) array per variant and metric) and the numbers in `summary.json`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result
from ..laws import Law, PoolSampler
from ..model import all_pairs
from ..runs import capacity_points, capacity_variants
from ..train import read_laws

# The paper's points: the authors' stored results, `Scaling laws/Data_exp_1_10.csv` (Fig. 1a),
# `Data_exp_2.csv` (Fig. 1b), `Data_exp_3.csv` (Fig. 2a) of leodana2000/Transformer_Attentional_
# Memory: the mean over 5 repeats of the mean batch accuracy of the 100 steps before the last.
PAPER = {
    "capacity_heads": dict(
        zip(range(1, 32, 5), (0.130, 0.324, 0.506, 0.685, 0.861, 0.963, 0.997), strict=True)
    ),
    "capacity_head_dim": dict(
        zip(
            range(1, 11),
            (0.081, 0.110, 0.155, 0.209, 0.288, 0.357, 0.453, 0.546, 0.639, 0.804),
            strict=True,
        )
    ),
    "capacity_embed_dim": dict(
        zip(
            range(5, 16),
            (0.264, 0.362, 0.460, 0.578, 0.697, 0.809, 0.777, 0.789, 0.786, 0.812, 0.814),
            strict=True,
        )
    ),
}
# Fig. 2b's grid: the authors' stored `Scaling laws/Data_exp_1_<d>.csv` of the same repository
# (d = d_h = 3..13, N = 50, H = 1, 6, ..., 31; the same metric, mean of 5 repeats). Row d = 10 is
# Data_exp_1_10.csv, Fig. 1a's points above.
PAPER_DIAG_H = tuple(range(1, 32, 5))
PAPER_DIAG = {
    d: dict(zip(PAPER_DIAG_H, acc, strict=True))
    for d, acc in {
        3: (0.059, 0.065, 0.076, 0.086, 0.088, 0.095, 0.097),
        4: (0.068, 0.090, 0.114, 0.126, 0.146, 0.160, 0.174),
        5: (0.074, 0.119, 0.158, 0.192, 0.225, 0.257, 0.294),
        6: (0.086, 0.154, 0.210, 0.266, 0.314, 0.375, 0.423),
        7: (0.101, 0.189, 0.263, 0.344, 0.431, 0.513, 0.591),
        8: (0.112, 0.231, 0.335, 0.445, 0.560, 0.663, 0.783),
        9: (0.122, 0.276, 0.413, 0.552, 0.696, 0.834, 0.938),
        10: (0.130, 0.324, 0.506, 0.685, 0.861, 0.963, 0.997),
        11: (0.140, 0.371, 0.587, 0.802, 0.962, 0.999, 1.000),
        12: (0.147, 0.436, 0.679, 0.917, 0.997, 1.000, 1.000),
        13: (0.163, 0.482, 0.774, 0.988, 1.000, 1.000, 1.000),
    }.items()
}
PAPER_REPEATS = 5  # the authors' repeats behind every stored point
# the column a sweep varies, its name in the table and its axis label (`capacity_diag` varies H
# at every d = d_h: its table is sorted by d, then H)
AXIS = {
    "capacity_heads": ("para", "H", "heads $H$"),
    "capacity_head_dim": ("d_head", "d_head", "head dimension $d_h$"),
    "capacity_embed_dim": ("d", "d", "embedding dimension $d$"),
    "capacity_diag": ("para", "H", "heads $H$"),
}
PAPER_N = 50
CPU = torch.device("cpu")


def lower_bound(n: int, heads: int, d_head: int, d: int) -> float:
    """Corollary 2 with T0 = N² facts: 1/N + (1 − 1/N)(H·d_h + d)/N² (valid for d_h <= d)."""
    return 1 / n + (1 - 1 / n) * min(heads * d_head + d, n * n) / n**2


def facts(accuracy: np.ndarray, n: int) -> np.ndarray:
    """Facts an accuracy stands for, inverting Corollary 2's map: (acc − 1/N)/(1 − 1/N)·N²."""
    return (np.asarray(accuracy) - 1 / n) / (1 - 1 / n) * n * n


def facts_per_head(heads: np.ndarray, accuracy: np.ndarray, n: int) -> float:
    """Slope of facts against H before saturation, the authors' rule (EXP_1_and_4.py): a least
    squares line through the points up to and including the first with accuracy > 0.95."""
    heads, accuracy = np.asarray(heads, float), np.asarray(accuracy, float)
    above = np.nonzero(accuracy > 0.95)[0]
    stop = above[0] + 1 if len(above) else len(accuracy)
    if stop < 2:
        return float("nan")
    return float(np.polyfit(heads[:stop], facts(accuracy[:stop], n), 1)[0])


def power_law(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(k, a, b) of the least-squares law y = a + b·x^k: a and b fitted for every k on a grid of
    step 0.005 in [0.05, 6], the k of the least residual: how the paper reads "linear",
    "quadratic" and "cubic" in Sec. 4.2 (least-squares laws with an offset), the exponent free."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ks = np.arange(0.05, 6.0, 0.005)
    xk = x[None, :] ** ks[:, None]
    xc, yc = xk - xk.mean(1, keepdims=True), y - y.mean()
    sxx, sxy = (xc**2).sum(1), xc @ yc
    best = int(np.argmin((yc**2).sum() - sxy**2 / sxx))  # each k's least-squares residual
    b = sxy[best] / sxx[best]
    return float(ks[best]), float(y.mean() - b * xk[best].mean()), float(b)


def power_exponent(x: np.ndarray, y: np.ndarray) -> float:
    """The exponent k of the least-squares law y = a + b·x^k (`power_law`)."""
    return power_law(x, y)[0]


def log_log_exponent(x: np.ndarray, y: np.ndarray) -> float | None:
    """The exponent k of y = c·x^k fitted by least squares on log-log axes (no offset); None
    where some y <= 0 (no logarithm)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if (y <= 0).any():
        return None
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def slopes_in_heads(heads: np.ndarray, accuracy: np.ndarray, n: int) -> np.ndarray:
    """Facts per head at every row of `accuracy` (rows: d = d_h; columns: the `heads`), each by
    the authors' rule (`facts_per_head`): Fig. 2b's "scaling law coefficient" in facts."""
    return np.array([facts_per_head(heads, row, n) for row in np.atleast_2d(accuracy)])


def d_law(d: np.ndarray, slopes: np.ndarray) -> dict[str, Any]:
    """Sec. 4.2's law of the facts-per-head slope in d = d_h: the exponent k of the
    least-squares slope = a + b·d^k (`power`, with `power_a`, `power_b`; 3 d values at least),
    of slope = c·d^k on log-log axes (`log_log`, with `log_log_c`), and Fig. 2b's two laws with
    an offset, slope = a + b·d^2 and a + b·d^3 (the authors' EXP_1_and_4.py fits both), each
    with its residual sum of squares."""
    d, slopes = np.asarray(d, float), np.asarray(slopes, float)
    out: dict[str, Any] = {"power": None, "power_a": None, "power_b": None}
    if len(d) >= 3:
        out["power"], out["power_a"], out["power_b"] = power_law(d, slopes)
    k = log_log_exponent(d, slopes)
    out["log_log"] = k
    out["log_log_c"] = None if k is None else float(np.exp(np.mean(np.log(slopes) - k * np.log(d))))
    for name, power in (("quadratic", 2), ("cubic", 3)):
        b, a = np.polyfit(d**power, slopes, 1)
        rss = float(np.sum((a + b * d**power - slopes) ** 2))
        out[name] = {"a": float(a), "b": float(b), "rss": rss}
    return out


def redraw_spread(
    d: np.ndarray, heads: np.ndarray, accuracy: np.ndarray, std: float, n: int, draws: int = 400
) -> dict[str, Any]:
    """The standard deviations of the per-d slopes and of the law's two exponents (`d_law`)
    when every point of `accuracy` (rows d, columns H) moves by independent normal noise of
    `std` (a repeat mean's noise): over `draws` redraws, generator seed 0."""
    rng = np.random.default_rng(0)
    slopes, power, log_log = [], [], []
    for _ in range(draws):
        s = slopes_in_heads(heads, accuracy + rng.normal(0.0, std, accuracy.shape), n)
        law = d_law(d, s)
        slopes.append(s)
        power.append(np.nan if law["power"] is None else law["power"])
        log_log.append(np.nan if law["log_log"] is None else law["log_log"])
    return {
        "slopes": [float(v) for v in np.std(slopes, axis=0)],
        "power": float(np.nanstd(power)) if len(d) >= 3 else None,
        "log_log": float(np.nanstd(log_log)),
    }


# Sec. 4.2's laws the sweeps test: facts grow as d_h² (Fig. 1b) and, for d <= d_h, linearly in
# d (Fig. 2a), hence as d³ where d = d_h (Fig. 2b): (the points fitted, the paper's exponent).
EXPONENT = {"capacity_head_dim": 2.0, "capacity_embed_dim": 1.0}


def pool_counts(law: Law, pool: dict[str, Any]) -> torch.Tensor:
    """How often each pair (index x1·N + x2) occurs in the pool a member trained on (the pool is
    a function of the law and the pool seed; `laws.PoolSampler`)."""
    n = law.pi0.shape[-1]
    sampler = PoolSampler(Law(*(p[None] for p in law)), [pool["seed"]], [0], pool["size"], CPU)
    x = sampler.pool[0]
    return torch.bincount(x[:, 0] * n + x[:, 1], minlength=n * n).double()


def member_values(ex: Extract, last: int, data: str) -> pd.DataFrame:
    """One row per member of an extract: variant, shape, seed, the authors' metric
    (`paper_metric`: mean batch accuracy of the `last` steps before the final one), the plain
    mean of the last `last`, the exact accuracy and divergence over all N² facts at the final
    step, and the final model's accuracy with each fact weighted by how often its pair occurs
    in the pool (`pool_weighted`: what the training batches measure)."""
    acc = ex["metrics/accuracy"]
    laws = read_laws(data)[0]
    counts: dict[tuple, torch.Tensor] = {}
    rows = []
    for k, m in enumerate(ex.members):
        key = (json.dumps(m["law"], sort_keys=True), m["law_seed"], m["pool"]["seed"])
        if key not in counts:
            counts[key] = pool_counts(laws[k], m["pool"])
        n = int(m["N"])
        logits, _ = ex.forward(k, all_pairs(n, 1, CPU))
        target = laws[k].pi2.reshape(n * n, n).argmax(-1)
        right = (logits[0].argmax(-1) == target).double()
        rows.append(
            {
                "variant": m["variant"],
                "H": int(m["para"]),
                "d_head": int(m["d_head"]),
                "d": int(m["d"]),
                "N": int(m["N"]),
                "seed": int(m["seed"]),
                "paper_metric": float(acc[-last - 1 : -1, k].mean()),
                "last_mean": float(acc[-last:, k].mean()),
                "exact": float(ex["exact/accuracy"][-1, k]),
                "divergence": float(ex["exact/divergence"][-1, k]),
                "pool_weighted": float((right * counts[key]).sum() / counts[key].sum()),
            }
        )
    return pd.DataFrame(rows)


def paper_value(sweep: str, n: int, heads: int, d_head: int, d: int) -> float:
    """The authors' stored value at a point of a sweep (NaN where they stored none)."""
    if n != PAPER_N:
        return np.nan
    if sweep == "capacity_diag":
        return PAPER_DIAG.get(d, {}).get(heads, np.nan) if d == d_head else np.nan
    return PAPER[sweep].get({"H": heads, "d_head": d_head, "d": d}[AXIS[sweep][1]], np.nan)


def diag_law(
    table: pd.DataFrame, arrays: dict[str, np.ndarray], variants: list[str], n: int, paper: bool
) -> dict[str, Any]:
    """Fig. 2b from a `capacity_diag` table (rows d-major, then H): per variant the per-d slopes
    of facts in H (`slopes_in_heads`), their law in d (`d_law`), both per repeat too, and the
    spread the repeats' noise gives them (`redraw_spread`: the pooled repeat std of the points
    over sqrt(repeats)); where the authors stored the grid (`paper`), the same for their points
    (noise: the same pooled std over sqrt(5)) and for their whole stored grid (d = 3..13,
    H = 1..31)."""
    d, heads = np.unique(table.d), np.unique(table.H)
    grid = (len(d), len(heads))

    def law(acc: np.ndarray) -> dict[str, Any]:
        slopes = slopes_in_heads(heads, acc.reshape(grid), n)
        return {
            "slopes": dict(zip(map(str, d), map(float, slopes), strict=True)),
            **d_law(d, slopes),
        }

    out: dict[str, Any] = {
        "d": [int(v) for v in d],
        "H": [int(v) for v in heads],
        "slope_rule": "facts per head: least squares of facts on H through the points up to the "
        "first with accuracy > 0.95 (EXP_1_and_4.py), facts = (acc - 1/N)/(1 - 1/N)·N²",
        "fits": "power: slope = a + b·d^k (least squares, k free); log_log: slope = c·d^k on "
        "log-log axes; quadratic, cubic: slope = a + b·d^2, a + b·d^3 (Fig. 2b)",
        "paper_statement": 3.0,
    }
    for v in variants:
        reps = arrays[f"{v}/paper_metric"]  # (points, repeats)
        std = (
            float(np.sqrt(np.nanmean(np.var(reps, axis=1, ddof=1)))) if reps.shape[1] > 1 else None
        )
        out[v] = law(table[f"{v}_accuracy"].to_numpy())
        out[v]["per_repeat"] = [law(col) for col in reps.T]
        out[v]["repeat_std"] = std
        if std is not None:
            mean = table[f"{v}_accuracy"].to_numpy().reshape(grid)
            out[v]["spread"] = redraw_spread(d, heads, mean, std / np.sqrt(reps.shape[1]), n)
    if paper:
        out["paper"] = law(table.paper.to_numpy())
        rep = variants[0]
        std = out[rep]["repeat_std"]
        if std is not None:
            stored = table.paper.to_numpy().reshape(grid)
            out["paper"]["spread"] = redraw_spread(
                d, heads, stored, std / np.sqrt(PAPER_REPEATS), n
            )
            ours, theirs = out[rep]["spread"], out["paper"]["spread"]
            out["difference_std"] = {
                k: None if ours[k] is None else float(np.hypot(ours[k], theirs[k]))
                for k in ("power", "log_log")
            }
            out["difference_std"]["slopes"] = [
                float(np.hypot(a, b)) for a, b in zip(ours["slopes"], theirs["slopes"], strict=True)
            ]
        full_d = np.array(sorted(PAPER_DIAG))
        stored = np.array([[PAPER_DIAG[k][h] for h in PAPER_DIAG_H] for k in full_d])
        slopes = slopes_in_heads(np.array(PAPER_DIAG_H), stored, PAPER_N)
        out["paper_full_grid"] = {
            "d": [int(v) for v in full_d],
            "H": list(PAPER_DIAG_H),
            "slopes": dict(zip(map(str, full_d), map(float, slopes), strict=True)),
            **d_law(full_d, slopes),
        }
    return out


def sweep_of(exs: list[Extract], config: dict[str, Any]) -> str:
    """Which capacity sweep the extracts' members make (their shapes are its points)."""
    shapes = {(m["d"], m["para"], m["d_head"]) for ex in exs for m in ex.members}
    for sweep in AXIS:
        points = capacity_points(config, sweep)
        if shapes == {(p["d"], p["para"], p["d_head"]) for p in points}:
            return sweep
    raise ValueError(f"members {sorted(shapes)} are no capacity sweep of this config")


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Summary, one row per point and per-repeat arrays of a capacity sweep (see the module
    docstring); `config` is {"capacity": the study's capacity block}."""
    sweep = sweep_of(exs, config)
    c = config["capacity"]
    frame = pd.concat(
        [member_values(ex, int(c["last"]), d) for ex, d in zip(exs, data, strict=True)],
        ignore_index=True,
    )
    _, axis, _ = AXIS[sweep]
    n = int(frame.N.iloc[0])
    variants = list(capacity_variants(config, sweep))
    rows, arrays = [], {}
    for (h, dh, d), point in frame.groupby(["H", "d_head", "d"], sort=False):
        row: dict[str, Any] = {"H": h, "d_head": dh, "d": d, "N": n, "facts": n * n}
        row["paper"] = paper_value(sweep, n, h, dh, d)
        for v in variants:
            r = point[point.variant == v].sort_values("seed")
            row[f"{v}_accuracy"] = r.paper_metric.mean()
            row[f"{v}_min"] = r.paper_metric.min()
            row[f"{v}_max"] = r.paper_metric.max()
            row[f"{v}_std"] = r.paper_metric.std(ddof=1) if len(r) > 1 else np.nan
            row[f"{v}_exact"] = r.exact.mean()
            row[f"{v}_exact_min"] = r.exact.min()
            row[f"{v}_exact_max"] = r.exact.max()
            row[f"{v}_pool_weighted"] = r.pool_weighted.mean()
            row[f"{v}_repeats"] = len(r)
        row["bound_applies"] = bool(dh <= d)
        row["lower_bound"] = lower_bound(n, h, dh, d) if dh <= d else np.nan
        rows.append(row)
    order = ["d", "H"] if sweep == "capacity_diag" else [axis]
    table = pd.DataFrame(rows).sort_values(order, ignore_index=True)
    paper = bool(table.paper.notna().all())
    labels = table[axis].astype(str)  # the summary's point names: the axis value (diag: "d,H")
    if sweep == "capacity_diag":
        labels = table.d.astype(str) + "," + labels
    key = ["H", "d_head", "d"]
    for v in variants:
        part = frame[frame.variant == v].sort_values(key + ["seed"])
        for metric in ("paper_metric", "exact", "pool_weighted"):
            grid = part.pivot_table(index=key, columns="seed", values=metric)
            grid = grid.reindex(pd.MultiIndex.from_frame(table[key]))
            arrays[f"{v}/{metric}"] = grid.to_numpy()
    arrays["axis"] = table[axis].to_numpy()

    summary: dict[str, Any] = {
        "sweep": sweep,
        "axis": axis,
        "N": n,
        "facts": n * n,
        "variants": {v: dict(c["variants"][v]) for v in variants},
        "repeats": {v: int(table[f"{v}_repeats"].min()) for v in variants},
        "metric": f"mean batch accuracy of the {c['last']} steps before the last, over repeats",
        "points": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
    }
    for v in variants:
        summary[v] = {
            "accuracy": dict(zip(labels, table[f"{v}_accuracy"], strict=True)),
            "exact": dict(zip(labels, table[f"{v}_exact"], strict=True)),
            "max_spread": float((table[f"{v}_max"] - table[f"{v}_min"]).max()),
            "max_metric_vs_exact": float(
                (table[f"{v}_accuracy"] - table[f"{v}_exact"]).abs().max()
            ),
            "max_metric_vs_pool_weighted": float(
                (table[f"{v}_accuracy"] - table[f"{v}_pool_weighted"]).abs().max()
            ),
        }
        if paper:
            diff = table[f"{v}_accuracy"] - table.paper
            summary[v]["max_abs_diff_vs_paper"] = float(diff.abs().max())
            summary[v]["mean_diff_vs_paper"] = float(diff.mean())
        applies = table.bound_applies
        summary[v]["above_bound"] = bool(
            (table[f"{v}_min"][applies] >= table.lower_bound[applies]).all()
        )
    if sweep in EXPONENT:
        # Fig. 1b: every d_h (all <= d); Fig. 2a: the part d <= d_h, which the paper calls linear
        fit = (table.d <= table.d_head if sweep == "capacity_embed_dim" else table.d > 0).to_numpy()
        x = table[axis].to_numpy()[fit]

        def exponent(acc: np.ndarray) -> float | None:  # a law a + b·x^k needs 3 points
            return power_exponent(x, facts(acc[fit], n)) if fit.sum() >= 3 else None

        summary["exponent"] = {
            "law": f"facts = a + b·{axis}^k"
            + (", points with d <= d_h" if sweep == "capacity_embed_dim" else ""),
            "paper_statement": EXPONENT[sweep],
            **{v: exponent(table[f"{v}_accuracy"].to_numpy()) for v in variants},
            "per_repeat": {
                v: [exponent(col) for col in arrays[f"{v}/paper_metric"].T] for v in variants
            },
        }
        if paper:
            summary["exponent"]["paper"] = exponent(table.paper.to_numpy())
    if sweep == "capacity_diag":
        summary["law"] = diag_law(table, arrays, variants, n, paper)
    if sweep == "capacity_heads":
        fph = {v: facts_per_head(table.H, table[f"{v}_accuracy"], n) for v in variants}
        if paper:
            fph["paper"] = facts_per_head(table.H, table.paper, n)
        summary["facts_per_head"] = fph
    return Result(summary, table, arrays)


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """A capacity figure: per point the paper's value, the reproduction (authors' layout and
    recipe) and the per-head comparison (same recipe), bands min–max over repeats, the exact
    accuracy over all N² facts, random guessing and Corollary 2's bound where d_h <= d
    (`capacity_diag`: `draw_diag`)."""
    sweep = summary["cell"]
    if sweep == "capacity_diag":
        draw_diag(summary, table, pdf, png)
        return
    _, axis, label = AXIS[sweep]
    t = table.sort_values(axis)
    x = t[axis]
    n = int(summary["N"])
    fig, ax = plt.subplots(figsize=(1.5 * COLUMN, 1.1 * COLUMN))
    names = {
        "reproduction": "authors' layout (reproduction)",
        "per_head": "per-head layout (ours)",
    }
    order = sorted(summary["variants"], key=lambda v: (v != "reproduction", v))
    for i, v in enumerate(order):
        colour = f"C{i}"
        ax.fill_between(x, t[f"{v}_min"], t[f"{v}_max"], color=colour, alpha=0.25, lw=0)
        ax.plot(x, t[f"{v}_accuracy"], "o-", color=colour, ms=3, label=names.get(v, v))
        ax.plot(x, t[f"{v}_exact"], ":", color=colour, lw=1, label=f"{v}: exact, all $N^2$")
    if t.paper.notna().any():
        ax.plot(x, t.paper, "k*--", ms=7, lw=0.8, label="paper (authors' stored)")
    applies = t.bound_applies.to_numpy()
    if applies.any():
        ax.plot(x[applies], t.lower_bound[applies], color="C3", ls="--", lw=1,
                label=r"Cor. 2 bound ($d_h \leq d$)")  # fmt: skip
    ax.axhline(1 / n, color="grey", lw=0.8, ls="-.", label="random $1/N$")
    fixed = {"H": "H", "d_head": "d_h", "d": "d"}
    rest = ", ".join(f"{fixed[c]}={int(t[c].iloc[0])}" for c in fixed if c != axis)
    reps = ", ".join(f"{v} ×{r}" for v, r in summary["repeats"].items())
    ax.set(xlabel=label, ylabel="accuracy", ylim=(0, 1.05))
    ax.set_title(f"N={n} ({n * n} facts), {rest}; repeats: {reps}", fontsize=8)
    ax.legend(fontsize=6, loc="lower right" if sweep != "capacity_embed_dim" else "best")
    save_figure(fig, pdf, png)


def draw_diag(summary: dict[str, Any], table: pd.DataFrame, pdf: str, png: str) -> None:
    """Fig. 2b: left, accuracy against H at every d = d_h (the reproduction's repeat mean and
    min–max band; the authors' stored points, their whole H range, as stars); right, the
    per-d slope of facts in H against d on log-log axes (error bars: the redraw std), the
    authors' on the same grid and on their whole stored grid, the reproduction's two fits (a + b·d^k
    with k free; c·d^k on log-log axes) and the cubic c·d³ through the reproduction's largest d."""
    law, n = summary["law"], int(summary["N"])
    v = "reproduction" if "reproduction" in law else next(iter(summary["variants"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(2.2 * COLUMN, 1.0 * COLUMN))
    for i, d in enumerate(law["d"]):
        t = table[table.d == d].sort_values("H")
        colour = f"C{i}"
        left.fill_between(t.H, t[f"{v}_min"], t[f"{v}_max"], color=colour, alpha=0.25, lw=0)
        left.plot(t.H, t[f"{v}_accuracy"], "o-", color=colour, ms=3, label=f"$d=d_h={d}$")
        if n == PAPER_N and d in PAPER_DIAG:
            stored = PAPER_DIAG[d]
            left.plot(list(stored), list(stored.values()), "*--", color=colour, ms=5, lw=0.6)
    left.plot([], [], "k*--", ms=5, lw=0.6, label="authors' stored")
    left.axhline(1 / n, color="grey", lw=0.8, ls="-.", label="random $1/N$")
    left.set(xlabel="heads $H$", ylabel="accuracy (batch metric)", ylim=(0, 1.05))
    left.legend(fontsize=6)
    d = np.array(law["d"], float)
    ours = law[v]
    slopes = np.array([ours["slopes"][str(int(k))] for k in d])
    err = ours.get("spread", {}).get("slopes")
    right.errorbar(d, slopes, yerr=err, fmt="o", color="C0", ms=4, capsize=2,
                   label="reproduction")  # fmt: skip
    dd = np.linspace(d.min(), d.max(), 100)
    if "paper" in law:
        full = law["paper_full_grid"]
        fd = np.array(full["d"], float)
        right.plot(fd, [full["slopes"][str(int(k))] for k in fd], "k*", mfc="none", ms=6,
                   label=f"authors, all d (power k={full['power']:.2f})")  # fmt: skip
        right.plot(d, [law["paper"]["slopes"][str(int(k))] for k in d], "k*", ms=6,
                   label=f"authors, this grid (k={law['paper']['power']:.2f})")  # fmt: skip
    if ours["power"] is not None:
        fit = ours["power_a"] + ours["power_b"] * dd ** ours["power"]
        right.plot(dd, fit, "C0-", lw=1, label=f"$a+b\\,d^k$, k={ours['power']:.2f}")
    if ours["log_log"] is not None:
        fit = ours["log_log_c"] * dd ** ours["log_log"]
        label = f"$c\\,d^k$ (log-log), k={ours['log_log']:.2f}"
        right.plot(dd, fit, "C1--", lw=1, label=label)
    cubic = slopes[-1] * (dd / d[-1]) ** 3
    right.plot(dd, cubic, "C3:", lw=1.2, label="$\\propto d^3$ (paper)")
    right.set(xscale="log", yscale="log", xlabel="$d = d_h$")
    ticks = sorted(set(law.get("paper_full_grid", {}).get("d", [])) | set(law["d"]))
    right.set_xticks(ticks, [str(t) for t in ticks], fontsize=6)
    right.xaxis.set_minor_locator(plt.NullLocator())
    right.set_ylabel("facts per head (slope in $H$)")
    right.legend(fontsize=6)
    reps = summary["repeats"][v]
    fig.suptitle(f"N={n} ({n * n} facts), d = d_h; {v} ×{reps} repeats", fontsize=8)
    save_figure(fig, pdf, png)


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
