"""The exact learning coefficient of reduced-rank regression (two-layer linear networks).

Aoyagi & Watanabe (2005), "Stochastic complexities of reduced rank regression in Bayesian
estimation", Main Theorem: for y = B·A·x with input M, output N, hidden H (A: H × M, B: N × H)
and a true map of rank r ≤ min(M, N, H), the learning coefficient λ and its multiplicity m are

  case 1  N + r ≤ M + H,  M + r ≤ N + H,  H + r ≤ M + N:
          M + H + N + r even: λ = [2(H + r)(M + N) − (M − N)² − (H + r)²] / 8,  m = 1
          M + H + N + r odd:  λ = [2(H + r)(M + N) − (M − N)² − (H + r)² + 1] / 8,  m = 2
  case 2  M + H < N + r:  λ = [HM − Hr + Nr] / 2,  m = 1
  case 3  N + H < M + r:  λ = [HN − Hr + Mr] / 2,  m = 1
  case 4  M + N < H + r:  λ = MN / 2,  m = 1

and a regular model (here: one linear layer, no hidden layer) has λ = d/2.
"""

from __future__ import annotations

CASES = ("case1_even", "case1_odd", "case2", "case3", "case4", "regular")


def case(M: int, N: int, H: int, r: int) -> str:
    """Which case of the theorem (M, N, H, r) falls in; H = 0 means one linear layer (regular)."""
    if H == 0:
        return "regular"
    if not 0 <= r <= min(M, N, H):
        raise ValueError(f"true rank r = {r} must lie in 0..min(M, N, H) = {min(M, N, H)}")
    if M + H < N + r:
        return "case2"
    if N + H < M + r:
        return "case3"
    if M + N < H + r:
        return "case4"
    return "case1_even" if (M + H + N + r) % 2 == 0 else "case1_odd"


def learning_coefficient(M: int, N: int, H: int, r: int) -> tuple[float, int]:
    """(λ, m) of reduced-rank regression with these widths and true rank (H = 0: y = W·x)."""
    kind = case(M, N, H, r)
    if kind == "regular":
        return M * N / 2, 1
    if kind == "case2":
        return (H * M - H * r + N * r) / 2, 1
    if kind == "case3":
        return (H * N - H * r + M * r) / 2, 1
    if kind == "case4":
        return M * N / 2, 1
    base = 2 * (H + r) * (M + N) - (M - N) ** 2 - (H + r) ** 2
    if kind == "case1_even":
        return base / 8, 1
    return (base + 1) / 8, 2
