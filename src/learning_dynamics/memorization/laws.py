"""Data laws of the memorization study: distributions over 3-token sequences (x1, x2, x3).

A law is three tensors: pi0 (N,) = P(x1), pi1 (N, N) = P(x2 | x1) in row x1, and
pi2 (N, N, N) = P(x3 | x1, x2). Only x3 is predicted, so pi2 is the "knowledge" to memorize and
pi0·pi1 is the prior over contexts. Every law here is drawn from a `torch.Generator`, so a
(law config, law seed) pair fixes it. A batch of E laws of one vocabulary stacks to (E, ...).

Batches are sampled on the fly from the law (the seed pre-samples 5000 × 1024 sequences, 4.5 GB;
per-batch sampling gives the same i.i.d. law in O(batch) memory).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

LAW_KINDS = ("power_uniform", "last_position", "d_law", "almost_rank_d")


class Law(NamedTuple):
    pi0: torch.Tensor  # (..., N)
    pi1: torch.Tensor  # (..., N, N)
    pi2: torch.Tensor  # (..., N, N, N)


def _permuted_rows(base: torch.Tensor, rows: int, g: torch.Generator) -> torch.Tensor:
    """`rows` independent uniformly random permutations of the vector `base` -> (rows, N)."""
    perm = torch.rand(rows, len(base), generator=g, dtype=torch.float64).argsort(dim=1)
    return base[perm]


def _power_base(alpha: float, tokens: int, n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64)
    w = torch.where(k < tokens, torch.tensor(float(alpha), dtype=torch.float64) ** k, 0.0)
    return w / w.sum()


def power_uniform(alphas: list[float], nb_tokens: list[int], n: int, g: torch.Generator) -> Law:
    """Level l puts weight alpha_l^k on k < nb_tokens[l] (0 beyond), normalised; every context
    (none, each x1, each (x1, x2)) gets its own random permutation of that vector.
    nb_tokens[2] = 1 makes x3 a function of (x1, x2): the association (fact) task."""
    pi0 = _permuted_rows(_power_base(alphas[0], nb_tokens[0], n), 1, g)[0]
    pi1 = _permuted_rows(_power_base(alphas[1], nb_tokens[1], n), n, g)
    pi2 = _permuted_rows(_power_base(alphas[2], nb_tokens[2], n), n * n, g).reshape(n, n, n)
    return Law(pi0, pi1, pi2)


def _uniform_prefix(nb_tokens: list[int], n: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """pi0, pi1 uniform over nb_tokens randomly placed tokens (per context for pi1)."""
    pi0 = _permuted_rows(_power_base(1.0, nb_tokens[0], n), 1, g)[0]
    pi1 = _permuted_rows(_power_base(1.0, nb_tokens[1], n), n, g)
    return pi0, pi1


def last_position(nb_tokens: list[int], n: int, k: float, p: float, g: torch.Generator) -> Law:
    """Each context puts mass p on one token c and (1 - p)/(N - 1) on each other; c is drawn
    with weights (1 - i/N)^k (k = 0: uniform)."""
    pi0, pi1 = _uniform_prefix(nb_tokens, n, g)
    weights = (1 - torch.arange(n, dtype=torch.float64) / n) ** k
    c = torch.multinomial(weights, n * n, replacement=True, generator=g)
    pi2 = torch.full((n * n, n), (1 - p) / (n - 1), dtype=torch.float64)
    pi2[torch.arange(n * n), c] = p
    return Law(pi0, pi1, pi2.reshape(n, n, n))


def d_law(
    nb_tokens: list[int], n: int, dim: int, axis_aligned: bool, g: torch.Generator
) -> tuple[Law, torch.Tensor]:
    """Each context gets softmax(0.1·W z), z ~ N(0, I_dim): log-probabilities in the span of
    W (N × dim), the first `dim` identity columns if axis-aligned, else Gaussian.
    Returns (law, W)."""
    pi0, pi1 = _uniform_prefix(nb_tokens, n, g)
    if axis_aligned:
        w = torch.eye(n, dim, dtype=torch.float64)
    else:
        w = torch.randn(n, dim, generator=g, dtype=torch.float64)
    z = torch.randn(n * n, dim, generator=g, dtype=torch.float64)
    pi2 = torch.softmax(0.1 * z @ w.T, dim=-1).reshape(n, n, n)
    return Law(pi0, pi1, pi2), w


def almost_rank_d(
    nb_tokens: list[int], n: int, dim: int, axis_aligned: bool, g: torch.Generator
) -> Law:
    """pi2 = softmax(U S' Vᵀ) from the SVD of an N² × N Gaussian matrix whose singular values
    are replaced by 1 (first `dim`) and 0.1 (the rest); V = I if axis-aligned."""
    pi0, pi1 = _uniform_prefix(nb_tokens, n, g)
    u, _, vh = torch.linalg.svd(
        torch.randn(n * n, n, generator=g, dtype=torch.float64), full_matrices=False
    )
    s = torch.where(torch.arange(n) < dim, 1.0, 0.1).to(torch.float64)
    if axis_aligned:
        vh = torch.eye(n, dtype=torch.float64)
    pi2 = torch.softmax((u * s) @ vh, dim=-1).reshape(n, n, n)
    return Law(pi0, pi1, pi2)


def make_law(spec: dict[str, Any], n: int, seed: int) -> tuple[Law, torch.Tensor | None]:
    """The law a config names ({"kind": ..., params}), drawn with torch seed `seed`: float32
    tensors, plus the d-law's W (None for the other kinds)."""
    g = torch.Generator().manual_seed(int(seed))
    kind, w = spec["kind"], None
    if kind == "power_uniform":
        law = power_uniform(spec["alphas"], spec["nb_tokens"], n, g)
    elif kind == "last_position":
        law = last_position(spec["nb_tokens"], n, spec["k"], spec["p"], g)
    elif kind == "d_law":
        law, w = d_law(spec["nb_tokens"], n, spec["dim"], spec["axis_aligned"], g)
    elif kind == "almost_rank_d":
        law = almost_rank_d(spec["nb_tokens"], n, spec["dim"], spec["axis_aligned"], g)
    else:
        raise ValueError(f"unknown law kind {kind!r}; choose from {LAW_KINDS}")
    return Law(*(p.float() for p in law)), (None if w is None else w.float())


def prior(law: Law) -> torch.Tensor:
    """P(x1, x2) as (..., N, N)."""
    return law.pi0[..., :, None] * law.pi1


def entropy(law: Law) -> torch.Tensor:
    """Mean conditional entropy of x3, E_{x1,x2} H(pi2[x1, x2]), in nats (shape (...)).
    0·log 0 is 0 exactly (the seed adds 1e-10 inside the log instead)."""
    h = -torch.special.xlogy(law.pi2, law.pi2).sum(-1)
    return (prior(law) * h).sum((-2, -1))


def enumerate_sequences(law: Law, eps: float = 0.0) -> torch.Tensor:
    """Every sequence (x1, x2, x3) whose running probability pi0·pi1·pi2 stays above eps, as
    (M, 3) int64 rows (one law, no batch dimension), ordered by context with the first token
    varying faster than the second (row x1 + N·x2 when each context keeps one x3), the
    continuations of a context together."""
    p1 = law.pi0
    p2 = p1[:, None] * law.pi1
    p3 = p2[:, :, None] * law.pi2
    keep = (p1[:, None, None] > eps) & (p2[:, :, None] > eps) & (p3 > eps)
    x2, x1, x3 = torch.nonzero(keep.permute(1, 0, 2), as_tuple=True)
    return torch.stack([x1, x2, x3], dim=1)


class BatchSampler:
    """i.i.d. sequences from E laws at once, each member from its own generator (so member k of
    an ensemble sees exactly the batches a single run with its seed sees)."""

    def __init__(self, law: Law, seeds: list[int], device: torch.device) -> None:
        self.device = device
        e, n = law.pi0.shape
        self.n = n
        cdf = lambda p: torch.cumsum(p.double(), -1).float().to(device)  # noqa: E731
        # conditional tables as rows (E·contexts, N): one index_select per draw
        self.cdf0 = cdf(law.pi0)
        self.cdf1 = cdf(law.pi1).reshape(e * n, n)
        self.cdf2 = cdf(law.pi2).reshape(e * n * n, n)
        self.pi2 = law.pi2.to(device).reshape(e * n * n, n)
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.offset = torch.arange(e, device=device)[:, None] * n

    @staticmethod
    def _draw(cdf_rows: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        # right=True skips zero-probability tokens (flat cdf) even for u = 0
        idx = torch.searchsorted(cdf_rows, (u * cdf_rows[..., -1]).unsqueeze(-1), right=True)
        return idx.squeeze(-1).clamp_max_(cdf_rows.shape[-1] - 1)

    def sample(self, batch: int, rows: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(E, batch, 3) int64 sequences, and (if `rows`) pi2[x1, x2] for each as
        (E, batch, N)."""
        u = torch.stack([torch.rand(3, batch, generator=g) for g in self.generators])
        u = u.to(self.device, non_blocking=True)
        e, n = u.shape[0], self.n
        x1 = torch.searchsorted(self.cdf0, u[:, 0] * self.cdf0[:, -1:], right=True)
        x1 = x1.clamp_max_(n - 1)
        ctx1 = (self.offset + x1).flatten()
        x2 = self._draw(self.cdf1.index_select(0, ctx1), u[:, 1].flatten()).view(e, batch)
        ctx2 = ctx1 * n + x2.flatten()  # = (member·N + x1)·N + x2
        x3 = self._draw(self.cdf2.index_select(0, ctx2), u[:, 2].flatten()).view(e, batch)
        pi2_rows = self.pi2.index_select(0, ctx2).view(e, batch, n) if rows else None
        return torch.stack([x1, x2, x3], dim=-1), pi2_rows

    def state_dict(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.generators]

    def load_state_dict(self, state: list[torch.Tensor]) -> None:
        for g, s in zip(self.generators, state, strict=True):
            g.set_state(s)


class PoolSampler:
    """The authors' recipe: one pool of sequences drawn once from each member's law, shuffled
    anew every epoch and cut into consecutive batches (their DataLoader with shuffle=True).

    Member k's pool is `size` sequences drawn by a BatchSampler seeded with pool_seeds[k] (equal
    laws and pool seeds give equal pools: the repeats of a point share theirs); its epochs are
    permutations drawn from its own generator (shuffle_seeds[k]). `size` is a multiple of the
    batch, so an epoch is size / batch steps and every sequence is seen once per epoch."""

    def __init__(
        self,
        law: Law,
        pool_seeds: list[int],
        shuffle_seeds: list[int],
        size: int,
        device: torch.device,
    ) -> None:
        e, n = law.pi0.shape
        pools = [
            BatchSampler(Law(*(p[k : k + 1] for p in law)), [s], device).sample(size, False)[0][0]
            for k, s in enumerate(pool_seeds)
        ]
        self.pool = torch.stack(pools)  # (E, size, 3)
        self.flat = self.pool.reshape(e * size, 3)
        self.pi2 = law.pi2.to(device).reshape(e * n * n, n)
        self.n, self.size, self.device = n, size, device
        self.generators = [torch.Generator().manual_seed(int(s)) for s in shuffle_seeds]
        self.offset = torch.arange(e, device=device)[:, None] * size
        self.order: torch.Tensor | None = None  # this epoch's permutations + offsets (E, size)
        self.position = 0  # sequences of this epoch already served

    def _new_epoch(self) -> None:
        perms = torch.stack([torch.randperm(self.size, generator=g) for g in self.generators])
        self.order = perms.to(self.device) + self.offset
        self.position = 0

    def sample(self, batch: int, rows: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch of every member's epoch, (E, batch, 3), and (if `rows`) pi2[x1, x2]
        for each as (E, batch, N)."""
        if self.size % batch:
            raise ValueError(f"pool size {self.size} is not a multiple of the batch {batch}")
        if self.order is None or self.position == self.size:
            self._new_epoch()
        idx = self.order[:, self.position : self.position + batch]
        self.position += batch
        e = idx.shape[0]
        seq = self.flat.index_select(0, idx.flatten()).view(e, batch, 3)
        if not rows:
            return seq, None
        member = torch.arange(e, device=self.device)[:, None]
        ctx = (member * self.n + seq[..., 0]) * self.n + seq[..., 1]
        return seq, self.pi2.index_select(0, ctx.flatten()).view(e, batch, self.n)

    def state_dict(self) -> dict:
        return {
            "generators": [g.get_state() for g in self.generators],
            "order": self.order,
            "position": self.position,
        }

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
        self.order, self.position = state["order"], state["position"]
