"""Memorization capacity sweeps (paper Figs. 1a, 1b, 2a; cells `capacity_heads`,
`capacity_head_dim`, `capacity_embed_dim`): analysis and plot.

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
from ..runs import capacity_points
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
# the column a sweep varies, its name in the table and its axis label
AXIS = {
    "capacity_heads": ("para", "H", "heads $H$"),
    "capacity_head_dim": ("d_head", "d_head", "head dimension $d_h$"),
    "capacity_embed_dim": ("d", "d", "embedding dimension $d$"),
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


def power_exponent(x: np.ndarray, y: np.ndarray) -> float:
    """The exponent k of the least-squares law y = a + b·x^k (a and b fitted for every k on a
    grid of step 0.005 in [0.05, 6]; the best k): how the paper reads "linear", "quadratic" and
    "cubic" in Sec. 4.2 (least-squares laws with an offset)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ks = np.arange(0.05, 6.0, 0.005)
    residual = [np.sum((np.polyval(np.polyfit(x**k, y, 1), x**k) - y) ** 2) for k in ks]
    return float(ks[int(np.argmin(residual))])


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
    variants = list(c["variants"])
    paper = PAPER[sweep] if n == PAPER_N else {}
    rows, arrays = [], {}
    for (h, dh, d), point in frame.groupby(["H", "d_head", "d"], sort=False):
        row: dict[str, Any] = {"H": h, "d_head": dh, "d": d, "N": n, "facts": n * n}
        row["paper"] = paper.get({"H": h, "d_head": dh, "d": d}[axis], np.nan)
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
    table = pd.DataFrame(rows).sort_values(axis, ignore_index=True)
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
            "accuracy": dict(zip(table[axis].astype(str), table[f"{v}_accuracy"], strict=True)),
            "exact": dict(zip(table[axis].astype(str), table[f"{v}_exact"], strict=True)),
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
    if sweep == "capacity_heads":
        fph = {v: facts_per_head(table.H, table[f"{v}_accuracy"], n) for v in variants}
        if paper:
            fph["paper"] = facts_per_head(table.H, table.paper, n)
        summary["facts_per_head"] = fph
    return Result(summary, table, arrays)


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """A capacity figure: per point the paper's value, the reproduction (authors' layout and
    recipe) and the per-head comparison (same recipe), bands min–max over repeats, the exact
    accuracy over all N² facts, random guessing and Corollary 2's bound where d_h <= d."""
    sweep = summary["cell"]
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


# The DAG verb `plot_<cell>`: reads the cell's analysis files, then draws.
