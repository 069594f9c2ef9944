"""Memorization study: the extract verb (history -> curves and final weights per member), the
analyse verb (a cell's analysis, looked up in the registry `runs.CELLS`), and what every cell's
analysis shares (`Extract`, `Result`, `member_table`, `random_baseline`).

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

from ..history import History
from ..io import read_arrays, to_json, write_arrays, write_csv, write_json
from . import interp
from .cells import module
from .laws import Law, entropy
from .model import Arch, model_logits, param_count, skip_coefficients
from .train import groups, read_laws

# ---- DAG verbs: extract, analyse ----------------------------------------------------------------


def extract(history: str, out: str) -> None:
    """Curves, exact metrics and every member's final weights of one training job."""
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


def analyse(
    cell: str,
    extracts: list[str],
    data: list[str],
    config: dict,
    summary: str,
    table: str,
    arrays: str,
) -> None:
    """Run the analysis of `cell` (a seed cell or sweep) over its jobs' extracts and data files;
    `config` is the study's config block."""
    result = module(cell).analyse([Extract(p) for p in extracts], data, config)
    write_json(summary, {"cell": cell, **result.summary})
    write_csv(table, result.table)
    write_arrays(arrays, result.arrays, {"cell": cell})


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

    def final_rounded(self, k: int) -> dict[str, float]:
        """`final(k)` rounded to 6 decimals, as the interpretability cells report it."""
        return {key: round(v, 6) for key, v in self.final(k).items()}

    def attention(self, k: int) -> torch.Tensor:
        """Member k's layer-0 attention maps (H, N, N), entry [x1, x2]."""
        keep = skip_coefficients([self.members[k].get("skips", {})], torch.device("cpu"))
        with torch.no_grad():
            return interp.attention_maps(self.params(k), self.arch(k), keep)[0]


def random_baseline(law: Law) -> float:
    """Divergence of the uniform prediction: log N − entropy."""
    n = law.pi0.shape[-1]
    return float(math.log(n) - entropy(law).reshape(-1)[0])


def spread(values: Any) -> dict[str, float]:
    """Mean, standard deviation (n − 1), min and max of a metric over init seeds, and n."""
    v = np.asarray(values, dtype=float)
    std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {
        "mean": float(v.mean()),
        "std": std,
        "min": float(v.min()),
        "max": float(v.max()),
        "seeds": len(v),
    }


FINAL_METRICS = ("loss", "batch_accuracy", "divergence", "accuracy")  # `Extract.final`'s keys


def seed_spread(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each final metric's spread over the rows of `frame`, one row per init seed."""
    return {k: spread(frame[k]) for k in FINAL_METRICS}


def member_law(path: str, k: int = 0) -> Law:
    """Member k's law (no member axis) from a make_data file."""
    return read_laws(path)[0][k]


# ---- what a cell's analysis returns ------------------------------------------------------------


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
