"""Grokking study (seed 004, Liu et al. 2022): addition learned through a 1-D representation.

Task: the p(p+1)/2 pairs (i, j), i <= j, with target i + j. Each symbol has a Gaussian input
template; each sum a Gaussian output template. The representation E (p × 1) is initialised as
the seed does, by a random tanh MLP applied to the input templates, and then trained directly
(the seed's "natural gradient" switch) with Adam; the decoder, a tanh MLP of width 200 on
E_i + E_j, trains with AdamW. Loss: MSE to the output template, full batch over the training
pairs. Accuracy: nearest output template. RQI: see `rqi`.

Here: the task's data, the RQI, the seed's modules and the batched parameters of an ensemble.
Training (the batched forward and backward, the optimisers, the data and train verbs) is in
`train.py`.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

STUDY = "grokking"


# ---- data ----------------------------------------------------------------------------------


def pairs(p: int) -> np.ndarray:
    """The dataset's pairs (i, j), i <= j, in the seed's order: (0,0), (0,1), ..., (p-1,p-1)."""
    return np.array([(i, j) for i in range(p) for j in range(i, p)], dtype=np.int64)


def parallelograms(p: int) -> np.ndarray:
    """Index pairs (a, b), a < b, of dataset pairs with equal sums i + j (the seed's P0)."""
    s = pairs(p).sum(axis=1)
    return np.array(
        [(a, b) for a, b in itertools.combinations(range(len(s)), 2) if s[a] == s[b]],
        dtype=np.int64,
    ).reshape(-1, 2)


INITS = ("notebook", "authors")


def member_data(
    p: int,
    train_num: int,
    seed: int,
    input_dim: int,
    output_dim: int,
    modulo: bool,
    init: str = "notebook",
) -> dict[str, np.ndarray]:
    """One member's templates and training mask, drawn from np.random.seed(seed) in the order
    of the source. `init="notebook"` (the seed notebook): first the training pairs (choice
    without replacement), then the input templates (p × input_dim), then the output templates
    ((2p - 1) or p × output_dim). `init="authors"` (the authors' released `train_add`): first the
    output templates, then the training pairs; there are no input templates (the representation
    starts uniform, see `authors_modules`), so `x_templates` is zeros, kept for equal shapes."""
    if init not in INITS:
        raise ValueError(f"unknown grokking init {init!r}; choose from {INITS}")
    rng = np.random.RandomState(seed)  # the legacy global stream both sources use
    n = p * (p + 1) // 2
    n_out = p if modulo else 2 * p - 1
    if init == "notebook":
        train_id = rng.choice(n, train_num, replace=False)
        x = rng.normal(0, 1, size=(p, input_dim))
        y = rng.normal(0, 1, size=(n_out, output_dim))
    else:
        y = rng.normal(0, 1, size=(n_out, output_dim))
        train_id = rng.choice(n, train_num, replace=False)
        x = np.zeros((p, input_dim))
    mask = np.zeros(n, dtype=bool)
    mask[train_id] = True
    return {"x_templates": x.astype(np.float32), "y_templates": y.astype(np.float32), "mask": mask}


# ---- representation quality ----------------------------------------------------------------


def parallelogram_matrix(p: int) -> torch.Tensor:
    """C (P, p): row q is onehot(i)+onehot(j)-onehot(m)-onehot(n) of parallelogram q, so
    C @ E gives E_i + E_j - E_m - E_n for all parallelograms at once."""
    ij, par = pairs(p), parallelograms(p)
    a = np.zeros((len(ij), p), dtype=np.float32)
    np.add.at(a, (np.arange(len(ij)), ij[:, 0]), 1)
    np.add.at(a, (np.arange(len(ij)), ij[:, 1]), 1)
    return torch.from_numpy(a[par[:, 0]] - a[par[:, 1]])


def rqi(rep: torch.Tensor, c: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """Representation quality index of representations `rep` (..., p, d): the fraction of
    parallelograms with mean_d((E_i + E_j - E_m - E_n)²) < eps after dividing E by its std over
    symbols (per dimension, unbiased as torch.std). `c` is `parallelogram_matrix(p)`."""
    scaled = rep / rep.std(dim=-2, keepdim=True)
    dist = torch.matmul(c, scaled).square().mean(dim=-1)  # (..., P)
    return (dist < eps).float().mean(dim=-1)


# ---- model -----------------------------------------------------------------------------------


class MLP(nn.Module):
    """The seed's NET: Linear-tanh-Linear-tanh-Linear."""

    def __init__(self, input_dim: int, output_dim: int, width: int) -> None:
        super().__init__()
        self.l1 = nn.Linear(input_dim, width)
        self.l2 = nn.Linear(width, width)
        self.l3 = nn.Linear(width, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l3(torch.tanh(self.l2(torch.tanh(self.l1(x)))))


def seed_modules(seed: int, x_templates: np.ndarray, output_dim: int, width: int):
    """The seed's initialisation under torch.manual_seed(seed): the encoder MLP (input -> 1)
    and then the decoder MLP (1 -> output) are built in that order; the representation is the
    encoder applied to the input templates. Returns (representation (p, 1), decoder MLP)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        encoder = MLP(x_templates.shape[1], 1, width)
        decoder = MLP(1, output_dim, width)
    with torch.no_grad():
        rep = encoder(torch.from_numpy(x_templates)).clone()
    return rep, decoder


def authors_modules(seed: int, p: int, output_dim: int, width: int):
    """The authors' start (`train_add` in ejmichaud/grokking-squared) under
    torch.manual_seed(seed): the representation uniform in [-0.5, 0.5) drawn first, then the
    decoder MLP (1 -> output). Returns (representation (p, 1), decoder MLP)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        rep = torch.rand(p, 1) - 0.5
        decoder = MLP(1, output_dim, width)
    return rep, decoder


def init_params(
    seeds: list[int] | tuple[int, ...],
    x_templates: np.ndarray,
    output_dim: int,
    width: int,
    init: str = "notebook",
) -> dict[str, torch.Tensor]:
    """Batched parameters of all members: rep (E, p, 1) and the decoder's W1, b1, W2, b2, W3, b3
    with W stored as (E, in, out) (nn.Linear's weight transposed) so a layer is h @ W + b.
    `init`: "notebook" (`seed_modules`) or "authors" (`authors_modules`)."""
    if init == "notebook":
        per = [
            seed_modules(s, x, output_dim, width) for s, x in zip(seeds, x_templates, strict=True)
        ]
    elif init == "authors":
        p = x_templates.shape[1]
        per = [authors_modules(s, p, output_dim, width) for s in seeds]
    else:
        raise ValueError(f"unknown grokking init {init!r}; choose from {INITS}")
    params = {"rep": torch.stack([r for r, _ in per])}
    for k in (1, 2, 3):
        layer = [getattr(d, f"l{k}") for _, d in per]
        params[f"W{k}"] = torch.stack([m.weight.detach().T.contiguous() for m in layer])
        params[f"b{k}"] = torch.stack([m.bias.detach() for m in layer])
    return params
