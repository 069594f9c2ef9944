"""Grokking study: the effective theory's critical training fraction (Liu et al. 2022, Fig. 4a).

A training set D (a subset of the p(p+1)/2 pairs i <= j) contains the parallelograms whose two
pairs are both in D: pairs (i, j), (m, n) with i + j = m + n. A representation that lets the
decoder reuse what it learned on D must satisfy E_i + E_j = E_m + E_n for each of them. Those
linear equations always admit E = const and E_i = i (a line); the set *forces* the linear
representation (unique up to scale and shift) when that two-dimensional space is all they admit,
i.e. when the rank of the constraint system is p - 2. The share of random training sets of each
size that force it, against the training fraction, crosses 1/2 at the theory's critical fraction.

Ranks are computed for many sets at once: the Gram matrix M^T M of a set's constraint rows is
w @ (A_q A_q^T) over all parallelograms q (w_q = 1 where q lies in the set), so a batch of sets is
one (S, P) @ (P, p²) product and one batched symmetric eigenvalue solve.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from ..io import write_csv, write_json
from .model import pairs, parallelograms


def constraint_matrix(p: int) -> np.ndarray:
    """A (P, p): row q is onehot(i) + onehot(j) - onehot(m) - onehot(n) of parallelogram q."""
    ij, par = pairs(p), parallelograms(p)
    a = np.zeros((len(ij), p))
    np.add.at(a, (np.arange(len(ij)), ij[:, 0]), 1)
    np.add.at(a, (np.arange(len(ij)), ij[:, 1]), 1)
    return a[par[:, 0]] - a[par[:, 1]]


def constraint_rank(masks: np.ndarray, p: int) -> np.ndarray:
    """Rank of the equal-sum constraints of each training set; `masks` (..., N) marks the
    training pairs (in the order of `pairs(p)`). Returns integer ranks of shape (...)."""
    masks = np.asarray(masks, dtype=bool)
    par = parallelograms(p)
    a = constraint_matrix(p)
    outer = (a[:, :, None] * a[:, None, :]).reshape(len(a), p * p)
    inside = (masks[..., par[:, 0]] & masks[..., par[:, 1]]).astype(np.float64)  # (..., P)
    gram = (inside @ outer).reshape(*masks.shape[:-1], p, p)
    eig = np.linalg.eigvalsh(gram)
    # Integer Gram matrices: nonzero eigenvalues are far above rounding (<1e-12 here).
    return (eig > 1e-8 * max(1.0, float(np.abs(eig).max(initial=0.0)))).sum(-1)


def forces_line(masks: np.ndarray, p: int) -> np.ndarray:
    """True where a training set's parallelograms leave only E = a·i + b (rank p - 2)."""
    return constraint_rank(masks, p) == p - 2


def _sets(n_all: int, k: int, samples: int, exact_max: int, rng: np.random.Generator):
    """All C(n_all, k) training sets of size k if there are at most `exact_max`, else
    `samples` uniformly random ones. Returns (masks (S, n_all), exact)."""
    total = math.comb(n_all, k)
    if total <= exact_max:
        masks = np.zeros((total, n_all), dtype=bool)
        for row, chosen in enumerate(itertools.combinations(range(n_all), k)):
            masks[row, list(chosen)] = True
        return masks, True
    ranks = rng.random((samples, n_all)).argsort(axis=1)  # uniform random k-subsets
    return ranks < k, False


def forced_share(p: int, samples: int, exact_max: int, seed: int) -> pd.DataFrame:
    """For every training-set size 0..N: the share of training sets that force the line
    (exact where the sets of that size number at most `exact_max`, else over `samples`)."""
    n_all = p * (p + 1) // 2
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_all + 1):
        masks, exact = _sets(n_all, k, samples, exact_max, rng)
        forced = np.concatenate(
            [forces_line(masks[i : i + 4096], p) for i in range(0, len(masks), 4096)]
        )
        rows.append(
            {
                "train_num": k,
                "fraction": k / n_all,
                "share": float(forced.mean()),
                "sets": len(masks),
                "exact": exact,
            }
        )
    return pd.DataFrame(rows)


def crossing(x: np.ndarray, y: np.ndarray, level: float = 0.5) -> float | None:
    """The first x where y reaches `level`, linearly interpolated between the two points around
    it (y sampled at increasing x); None if y never reaches it."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    above = np.flatnonzero(y >= level)
    if len(above) == 0:
        return None
    k = int(above[0])
    if k == 0 or y[k] == level:
        return float(x[k])
    x0, x1, y0, y1 = x[k - 1], x[k], y[k - 1], y[k]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


def theory(config: dict[str, Any], table: str, summary: str) -> None:
    """DAG verb: the forced-line share for every training-set size (CSV) and its crossing of
    1/2 (JSON). `config`: p, samples, exact_max, seed."""
    c = config
    frame = forced_share(int(c["p"]), int(c["samples"]), int(c["exact_max"]), int(c["seed"]))
    write_csv(table, frame)
    write_json(
        summary,
        {
            "p": int(c["p"]),
            "samples_per_size": int(c["samples"]),
            "exact_sizes": [int(k) for k in frame.train_num[frame.exact]],
            "critical_fraction": crossing(frame.fraction, frame.share),
            "critical_train_num": crossing(frame.train_num, frame.share),
            "first_fraction_all_forced": float(frame.fraction[frame.share >= 1].min()),
        },
    )


# ---- the effective theory's dynamics (Fig. 4c/d) -------------------------------------------


def representation_rqi(rep: np.ndarray, eps: float = 0.01) -> np.ndarray:
    """RQI of representations (..., p): the share of the dataset's parallelograms whose
    E_i + E_j - E_m - E_n, E divided by its (unbiased) std, has square below `eps`."""
    rep = np.asarray(rep, dtype=np.float64)
    scaled = rep / rep.std(axis=-1, ddof=1, keepdims=True)
    gap = scaled @ constraint_matrix(rep.shape[-1]).T
    return (gap**2 < eps).mean(axis=-1)


def _effective_steps(rep0: np.ndarray, masks: np.ndarray, lr: np.ndarray, steps: int):
    """Yield the effective theory's representations (E, p), step 0 (the start) first."""
    rep0 = np.asarray(rep0, dtype=np.float64)
    e, p = rep0.shape
    a = constraint_matrix(p)
    par = parallelograms(p)
    inside = (masks[:, par[:, 0]] & masks[:, par[:, 1]]).astype(np.float64)  # (E, P)
    hess = np.einsum("eq,qi,qj->eij", inside, a, a)  # sum of a a^T over the set's parallelograms
    x = (rep0 - rep0.mean(axis=1, keepdims=True)) / rep0.std(axis=1, ddof=1, keepdims=True)
    lr = np.asarray(lr, dtype=np.float64).reshape(e, 1)
    for _ in range(steps):
        yield x
        hx = np.einsum("eij,ej->ei", hess, x)
        z = (x * x).sum(axis=1, keepdims=True)
        loss = (x * hx).sum(axis=1, keepdims=True)
        x = x - lr * (2 * hx / z - 2 * loss * x / z**2)


def effective_dynamics(
    rep0: np.ndarray, masks: np.ndarray, lr: np.ndarray, steps: int
) -> np.ndarray:
    """The effective theory's representation dynamics (Liu et al. 2022, Sec. 3.3, Fig. 4c):
    gradient descent with step `lr` (per member: the representation's learning rate) on the
    effective loss l_eff = sum_q (E_i + E_j - E_m - E_n)^2 / sum_k E_k^2 over the parallelograms
    q whose two pairs are marked in `masks` (E, N): the training set's in the paper's text, all
    of them in the authors' train_add (its Fig. 4c), from each member's representation `rep0`
    (E, p) normalised to zero mean and unit std. The loss is scale-free, so its exact gradient keeps
    the norm to first order. Returns the trajectory (steps, E, p); step 0 is the start."""
    return np.stack(list(_effective_steps(rep0, masks, lr, steps)))


def effective_first_step(
    rep0: np.ndarray, masks: np.ndarray, lr: np.ndarray, steps: int, threshold: float, eps: float
) -> np.ndarray:
    """Per member, the first step of `effective_dynamics` with RQI above `threshold`; NaN if
    not within `steps` (the effective theory's time to a linear representation, Fig. 4c/d)."""
    first = np.full(len(rep0), np.nan)
    for t, x in enumerate(_effective_steps(rep0, masks, lr, steps)):
        new = np.isnan(first) & (representation_rqi(x, eps) > threshold)
        first[new] = t
        if not np.isnan(first).any():
            break
    return first
