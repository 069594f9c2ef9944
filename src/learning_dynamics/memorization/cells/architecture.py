"""Memorization cell 4 (architecture): the final divergence for every valid setting of the five
skip switches (residual, positions and embeddings in QK and OV), the full model's spread over init
seeds, and the exact floors of the settings whose prediction provably sees less of the pair.

Seed bug fixed: the seed built the skip flags but never passed them to the model.

The floors (closed forms on the cell's law, no training): with E skipped in QK the attention
scores read positions only, so they are the same for every pair and the output at x2's position
is f(x1) + g(x2): the logits are additive, and no such model beats the best additive predictor
(a convex problem, solved here to machine precision). With E skipped in OV as well, the values
read positions only, so the output is the residual E[x2] plus a constant: a predictor of x2
alone, whose best divergence is H(x3 | x2) − H(x3 | x1, x2). Without the residual too, the
output is constant, and the best constant is the marginal of x3: H(x3) − H(x3 | x1, x2)."""

from __future__ import annotations

from typing import Any

import torch

from ...plotting import COLUMN, plt, save_figure
from ..analysis import Extract, Result, member_law, member_table, seed_spread
from ..figures import bars
from ..laws import Law, entropy, prior

FULL = "none"  # the label of the setting that skips nothing
# the floor each setting's inputs allow, by the switches that decide it (see the module docstring)
FLOORS = {
    frozenset({"emb_qk", "emb_ov", "residual"}): "constant",
    frozenset({"emb_qk", "emb_ov"}): "x2_only",
    frozenset({"emb_qk"}): "additive",
}


def floor_of(skips: str) -> str | None:
    """The floor of a setting ('emb_qk+residual' etc.): the most specific one its skips imply."""
    on = set(skips.split("+"))
    for needs, name in FLOORS.items():  # most specific first
        if needs <= on:
            return name
    return None


def _entropy_of(p: torch.Tensor) -> float:
    return float(-torch.special.xlogy(p, p).sum())


def floors(law: Law, tol: float = 1e-12, rounds: int = 20) -> dict[str, float]:
    """The best divergence of a constant predictor, of a predictor of x2 alone, and of an
    additive one (log q = a[x1] + b[x2] − log Z) on `law` (float64)."""
    p = prior(law).double()  # (N, N): P(x1, x2)
    pi2 = law.pi2.double()  # (N, N, N): P(x3 | x1, x2)
    own = float(entropy(Law(*(t.double() for t in law))))
    joint = p[..., None] * pi2  # P(x1, x2, x3)
    x2_x3 = joint.sum(0)  # (N, N): P(x2, x3)
    h_given_x2 = _entropy_of(x2_x3) - _entropy_of(x2_x3.sum(1))  # H(x2, x3) − H(x2)
    n = p.shape[0]
    a = torch.zeros(n, n, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n, n, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [a, b], max_iter=200, tolerance_grad=1e-10, tolerance_change=1e-14,
        history_size=50, line_search_fn="strong_wolfe",
    )  # fmt: skip

    x1, x2 = p.nonzero(as_tuple=True)  # only the pairs the law draws
    weight = joint[x1, x2]

    def cross_entropy() -> torch.Tensor:
        opt.zero_grad()
        loss = -(weight * torch.log_softmax(a[x1] + b[x2], -1)).sum()
        loss.backward()
        return loss

    last = float("inf")
    for _ in range(rounds):  # LBFGS rounds until the optimum stops moving
        value = float(opt.step(cross_entropy).detach())  # the loss at the round's start
        if last - value < tol:
            break
        last = value
    return {
        "constant": _entropy_of(joint.sum((0, 1))) - own,
        "x2_only": h_given_x2 - own,
        "additive": min(value, last) - own,
    }


def analyse(exs: list[Extract], data: list[str], config: dict[str, Any]) -> Result:
    """Cell 4: every setting's final divergence at the notebook's init seed, the full model's
    spread over init seeds, and each setting's floor."""
    frame = member_table(exs[0], data[0])
    frame.insert(1, "notebook_seed", frame.seed == config["architecture"]["seed"])
    frame["floor"] = [floor_of(s) for s in frame.skips]
    exact = floors(member_law(data[0]))
    frame["floor_divergence"] = [exact.get(f, 0.0) for f in frame.floor]
    frame = frame.sort_values(["notebook_seed", "divergence"], ascending=[False, True])
    frame = frame.reset_index(drop=True)
    seed = frame[frame.notebook_seed]
    full = float(seed.divergence[seed.skips == FULL].iloc[0])
    bounded = seed[seed.floor.notna()]
    summary = {
        "divergence": dict(zip(seed.skips, seed.divergence, strict=True)),
        "accuracy": dict(zip(seed.skips, seed.accuracy, strict=True)),
        "random_baseline": float(frame.random.iloc[0]),
        "spread": {FULL: seed_spread(frame[frame.skips == FULL])},
        "floors": exact,
        # a floor is an infimum, so training can only approach it from above (up to the float32
        # rounding of the exact metric)
        "above_floors": bool((bounded.divergence >= bounded.floor_divergence - 1e-5).all()),
        "bounded_settings": len(bounded),
        "full_over_additive": full / exact["additive"],
    }
    constant = seed[seed.floor == "constant"]
    if len(constant):  # the token-blind model's divergence over its floor: 1 at the optimum
        summary["constant_over_floor"] = float(constant.divergence.iloc[0]) / exact["constant"]
    return Result(summary, frame, {})


def draw(summary, table, arrays, extracts, pdf, png) -> None:  # noqa: ANN001
    """Cell 4: final divergence for each setting of the skip switches (the notebook's init seed)
    and, where a setting's inputs imply one, its exact floor."""
    table = table[table.notebook_seed]
    fig, ax = plt.subplots(figsize=(1.8 * COLUMN, 0.4 * COLUMN + 0.22 * len(table)))
    labels = [f"skip {s}" if s != FULL else "full model" for s in table.skips]
    bars(
        ax,
        labels,
        table.divergence.to_numpy(),
        summary["random_baseline"],
        "architecture: which inputs the heads need",
    )
    names = {"constant": "best constant", "x2_only": "best of x2", "additive": "best additive"}
    for y, row in enumerate(table.itertuples()):
        if isinstance(row.floor, str):
            ax.plot([row.floor_divergence] * 2, [y - 0.4, y + 0.4], color="k", lw=1.5)
            ax.annotate(
                names[row.floor], (row.floor_divergence, y), xytext=(-3, 0),
                textcoords="offset points", fontsize=6, va="center", ha="right", color="white",
            )  # fmt: skip
    ax.plot([], [], color="k", lw=1.5, label="exact floor of the inputs a setting keeps")
    ax.legend(fontsize=6, loc="lower right")
    save_figure(fig, pdf, png)
