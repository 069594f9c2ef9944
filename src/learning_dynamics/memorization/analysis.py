"""Memorization study: extract (history -> curves and final weights per member) and the
analyses of the training cells and sweeps (tables and summaries the figures read).

extract.h5 layout (one per training job, members in job order):
    metrics/step (S,), metrics/loss (S, E), metrics/accuracy (S, E)   every batch, before its update
    exact/step (K,), exact/divergence (K, E), exact/accuracy (K, E)   noise-free, at snapshots
    final/m<k>/<param>                                               member k's final weights
    attrs: config (the job config, members included)
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from ..history import History, read_arrays, write_arrays
from ..io import to_json, write_csv, write_json
from .laws import Law, entropy
from .model import (
    Arch,
    groups,
    model_logits,
    param_count,
    read_laws,
    skip_coefficients,
)

# ---- extract ------------------------------------------------------------------------------------


def extract(history: str, out: str) -> None:
    with History(history) as h:
        config = h.config
        arrays: dict[str, Any] = {}
        for series in ("metrics", "exact"):
            arrays[f"{series}/step"] = h.steps(series)
            for name in h.names(series):
                arrays[f"{series}/{name}"] = h.read(series, name)
        for g, (_, idx) in enumerate(groups(config["members"])):
            for name in h.names(f"params_g{g}"):
                final = h.read(f"params_g{g}", name, -1)
                for j, k in enumerate(idx):
                    arrays[f"final/m{k}/{name}"] = final[j]
    write_arrays(out, arrays, {"config": to_json(config)})


class Extract:
    """A read extract: config, member specs, curves, and each member's final model."""

    def __init__(self, path: str) -> None:
        self.arrays = read_arrays(path)
        import h5py

        with h5py.File(path, "r") as f:
            self.config = json.loads(f.attrs["config"])
        self.members: list[dict[str, Any]] = self.config["members"]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def params(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's final parameters, with a leading member axis of 1 (a one-member ensemble)."""
        prefix = f"final/m{k}/"
        return {
            n[len(prefix) :]: torch.from_numpy(v)[None]
            for n, v in self.arrays.items()
            if n.startswith(prefix)
        }

    def arch(self, k: int) -> Arch:
        return Arch.of(self.members[k])

    def forward(self, k: int, x: torch.Tensor, trace: bool = False) -> tuple[torch.Tensor, dict]:
        """Member k's logits (1, B, N) on inputs x (1, B, 2), and with `trace` the transformer's
        intermediates (see model.transformer_forward)."""
        keep = skip_coefficients([self.members[k].get("skips", {})], x.device)
        with torch.no_grad():
            return model_logits(self.arch(k), self.params(k), keep, x, trace)

    def final(self, k: int, last: int = 100) -> dict[str, float]:
        """Member k at the end: mean batch loss/accuracy of the last `last` steps (the seed
        divides the sum of the last 99 by 100; this is the plain mean) and the exact metrics."""
        return {
            "loss": float(self["metrics/loss"][-last:, k].mean()),
            "batch_accuracy": float(self["metrics/accuracy"][-last:, k].mean()),
            "divergence": float(self["exact/divergence"][-1, k]),
            "accuracy": float(self["exact/accuracy"][-1, k]),
        }


def random_baseline(law: Law) -> float:
    """Divergence of the uniform prediction: log N − entropy."""
    n = law.pi0.shape[-1]
    return float(math.log(n) - entropy(law).reshape(-1)[0])


# ---- the analyse verb: one function per cell ---------------------------------------------


class Result(NamedTuple):
    """What an analysis writes: scalars the figure reports, a table, arrays the figure draws."""

    summary: dict[str, Any]
    table: pd.DataFrame
    arrays: dict[str, np.ndarray]


def member_table(ex: Extract, data: str | None = None, last: int = 100) -> pd.DataFrame:
    """One row per member: its settings, final batch loss/accuracy and exact metrics (and the
    random baseline log N − entropy of its law when `data` is given)."""
    laws = read_laws(data)[0] if data else None
    rows = []
    for k, m in enumerate(ex.members):
        row = {"member": k, "model": m["model"], "loss_type": m["loss"]}
        row.update(
            {
                key: m.get(key)
                for key in (
                    "N",
                    "d",
                    "para",
                    "heads",
                    "d_head",
                    "layers",
                    "mlp_width",
                    "mlp_depth",
                    "seed",
                    "law_seed",
                )
            }
        )
        row["alphas"] = json.dumps(m["law"].get("alphas"))
        row["freeze"] = "+".join(m["freeze"]) or "none"
        row["skips"] = "+".join(s for s, on in sorted(m["skips"].items()) if on) or "none"
        row["params"] = param_count(Arch.of(m))
        row.update(ex.final(k, last))
        if laws is not None:
            row["random"] = random_baseline(Law(*(p[None] for p in laws[k])))
        rows.append(row)
    return pd.DataFrame(rows)


def analyse(
    cell: str,
    extracts: str | list[str],
    data: str | list[str],
    config: dict[str, Any],
    summary: str,
    table: str,
    arrays: str,
) -> None:
    """Run the analysis of `cell` (a seed cell or sweep) over its jobs' extracts and data files;
    `config` is the study's config block."""
    from . import interp_cells

    extracts = [extracts] if isinstance(extracts, str) else extracts
    data = [data] if isinstance(data, str) else data
    analyses = {**ANALYSES, **interp_cells.ANALYSES}
    if cell not in analyses:
        raise ValueError(
            f"no analysis for memorization cell {cell!r}; choose from {sorted(analyses)}"
        )
    exs = [Extract(p) for p in extracts]
    result = analyses[cell](exs, data, config)
    write_json(summary, {"cell": cell, **result.summary})
    write_csv(table, result.table)
    write_arrays(arrays, result.arrays, {"cell": cell})


def _dynamics(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 1: both losses against the random (log N − entropy) and optimal (trained low-rank)
    baselines, batch and exact."""
    frame = member_table(exs[0], data[0])
    names = {
        ("transformer", "divergence"): "full_divergence",
        ("transformer", "next_token"): "next_token",
        ("low_rank", "divergence"): "low_rank",
    }
    frame.insert(0, "run", [names[(r.model, r.loss_type)] for r in frame.itertuples()])
    summary = {
        r.run: {k: getattr(r, k) for k in ("loss", "batch_accuracy", "divergence", "accuracy")}
        for r in frame.itertuples()
    }
    summary["random_baseline"] = float(frame.random.iloc[0])
    summary["optimal_baseline"] = summary["low_rank"]["divergence"]
    summary["params"] = int(frame.params.iloc[0])
    return Result(summary, frame, {})


def _freezing(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 2: the final loss when only some components train."""
    frame = member_table(exs[0], data[0])
    every = ["E", "P", "QKV", "O", "U"]
    frame.insert(
        0, "trains", ["+".join(c for c in every if c not in m["freeze"]) for m in exs[0].members]
    )
    summary = {
        f"trains {r.trains}": {"loss": r.loss, "divergence": r.divergence, "accuracy": r.accuracy}
        for r in frame.itertuples()
    }
    summary["random_baseline"] = float(frame.random.iloc[0])
    return Result(summary, frame, {})


def _architecture(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 4: final divergence for every setting of the skip switches."""
    frame = member_table(exs[0], data[0]).sort_values("divergence", ignore_index=True)
    summary = {
        "divergence": dict(zip(frame.skips, frame.divergence, strict=True)),
        "accuracy": dict(zip(frame.skips, frame.accuracy, strict=True)),
        "random_baseline": float(frame.random.iloc[0]),
    }
    return Result(summary, frame, {})


def _scaling(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 3: one row per transformer of the grid, with its law's random baseline and the
    trained low-rank model of the same (N, alphas, d) as the optimal one (seed columns kept:
    loss, unif_loss, best_loss)."""
    frame = pd.concat(
        [member_table(ex, d) for ex, d in zip(exs, data, strict=True)], ignore_index=True
    )
    base = frame[frame.model == "low_rank"].set_index(["N", "alphas", "d"])
    rows = frame[frame.model == "transformer"].copy()
    key = list(zip(rows.N, rows.alphas, rows.d, strict=True))
    rows["unif_loss"] = rows["random"]
    rows["best_loss"] = [float(base.loc[k, "loss"]) for k in key]
    rows["best_divergence"] = [float(base.loc[k, "divergence"]) for k in key]
    # where the transformer sits between random (0) and the optimal rank-d model (1)
    rows["closed_gap"] = (rows.unif_loss - rows.divergence) / (
        rows.unif_loss - rows.best_divergence
    )
    rows = rows.drop(columns=["member", "model"]).reset_index(drop=True)
    summary = {"rows": len(rows), "max_closed_gap": float(rows.closed_gap.max())}
    return Result(summary, rows, {})


def _capacity(sweep: str):  # noqa: ANN202
    """A capacity sweep (`capacity.analyse_capacity`)."""

    def run(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
        from .capacity import analyse_capacity

        return Result(*analyse_capacity(sweep, exs, config))

    return run


ANALYSES = {
    "dynamics": _dynamics,
    "freezing": _freezing,
    "architecture": _architecture,
    "scaling": _scaling,
    "capacity_heads": _capacity("capacity_heads"),
    "capacity_head_dim": _capacity("capacity_head_dim"),
    "capacity_embed_dim": _capacity("capacity_embed_dim"),
}
