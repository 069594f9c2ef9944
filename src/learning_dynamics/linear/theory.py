"""Closed-form learning curves of one singular mode of a two-layer linear network.

A mode with target strength s, input variance λ and layer weights a, b (u = a·b) follows, under
gradient flow on ½·Σ‖y − W2 W1 x‖² at learning rate η (t in iterations),

    da/dt = ηλ b (s − u),  db/dt = ηλ a (s − u)
    ⇒  du/dt = ηλ (a² + b²)(s − u) = ηλ √(4u² + c²) (s − u)

because c = a² − b² is conserved and a² + b² = √((a² − b²)² + 4a²b²). With Q = √(4s² + c²),

    ∫ du / ((s − u) √(4u² + c²)) = F(u) / Q,   F(u) = ln[(4su + c² + Q √(4u² + c²)) / |s − u|],

so t(u) = (F(u) − F(u0)) / (ηλQ) exactly, and solving for u (a quadratic whose discriminant is a
perfect square, E²Q⁴) gives u(t) in closed form as well (`exact_trajectory`). For c = 0 it reduces
to the balanced sigmoid of Saxe, McClelland & Ganguli (2014), u = s e^{2st/τ}/(e^{2st/τ} − 1 + s/u0)
with τ = 1/(ηλ) (`balanced_trajectory`).
"""

from __future__ import annotations

import numpy as np


def _f(u, s, c, q):
    return np.log((4 * s * u + c**2 + q * np.sqrt(4 * u**2 + c**2)) / np.abs(s - u))


def exact_time(u, *, s, lam, lr, u0, c):
    """Iterations for the mode to go from u0 to u (u between u0 and s), unbalanced included."""
    q = np.sqrt(4 * s**2 + c**2)
    return (_f(u, s, c, q) - _f(u0, s, c, q)) / (lr * lam * q)


def exact_trajectory(t, *, s, lam, lr, u0, c):
    """u(t) of the unbalanced mode; arrays broadcast. Written in e = 1/E, E = N(u)/(s − u) (so
    that E = E0·exp(ηλQt)), which stays finite for all t ≥ 0: u → s as e → 0."""
    q = np.sqrt(4 * s**2 + c**2)
    e0 = (s - u0) / (4 * s * u0 + c**2 + q * np.sqrt(4 * u0**2 + c**2))
    e = e0 * np.exp(-lr * lam * q * np.asarray(t, dtype=np.float64))
    return ((s - c**2 * e) * (1 + 4 * s * e) - q**2 * e) / (1 + 8 * s * e - 4 * c**2 * e**2)


def balanced_trajectory(t, *, s, lam, lr, u0):
    """Saxe et al.'s sigmoid for balanced layers (a = b), in an overflow-free form."""
    return s / (1 + (s / u0 - 1) * np.exp(-2 * s * lr * lam * np.asarray(t, dtype=np.float64)))


def balanced_time(u, *, s, lam, lr, u0):
    """Iterations from u0 to u on the balanced sigmoid; NaN unless 0 < u0, u < s or s < u0, u
    (a balanced mode never changes sign: u = 0 is a fixed point)."""
    ratio = np.asarray(u * (s - u0) / (u0 * (s - u)), dtype=np.float64)
    valid = (np.asarray(u0) > 0) & (ratio > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, np.log(np.where(valid, ratio, 1.0)) / (2 * s * lr * lam), np.nan)


def progress_value(fraction, *, s, u0):
    """Strength at which a mode has covered `fraction` of its way from u0 to its fixed point s."""
    return u0 + np.asarray(fraction) * (s - u0)


def crossing_times(steps: np.ndarray, u: np.ndarray, s, u0, fractions) -> np.ndarray:
    """First (linearly interpolated) step at which each trajectory u (T, ...) has covered each
    fraction of its way from u0 to s; shape (len(fractions), ...), NaN if never reached."""
    progress = (u - u0) / (s - u0)  # (T, ...), rises from 0 towards 1
    out = np.full((len(fractions), *u.shape[1:]), np.nan)
    for k, f in enumerate(fractions):
        above = progress >= f
        first = above.argmax(axis=0)  # index of the first step at or past f
        hit = above.any(axis=0) & (first > 0)
        i = np.where(hit, first, 1)
        p0 = np.take_along_axis(progress, (i - 1)[None], 0)[0]
        p1 = np.take_along_axis(progress, i[None], 0)[0]
        t = steps[i - 1] + (f - p0) / (p1 - p0) * (steps[i] - steps[i - 1])
        out[k] = np.where(hit, t, np.nan)
    return out
