"""Scores of how fast topological complexity decays with depth.

Input is an Ω curve: Ω(ℓ) = total Betti number of layer ℓ (suitably averaged), for the L probed
layers in depth order. Three scores:

=================  ===========================================  ========================
score              definition                                   direction
=================  ===========================================  ========================
:func:`theta`      docs/methods.md §1 step 7 (faithful, Suresh et     lower is better (rank
                   al.): cubic ridge fit to Ω/‖Ω‖₂ over x = 1..L, by −θ)
                   θ = c1 + ½c2 + ½c3
:func:`auc_decay`  area under Ω/max Ω over depth rescaled to     lower is better
                   [0, 1] (ours)
:func:`exp_decay`  fitted rate r of Ω/max Ω ≈ a·exp(−r·t),       higher is better
_rate              t = depth rescaled to [0, 1] (ours)
=================  ===========================================  ========================

Degenerate input (all raise ``ValueError`` with a message): not a 1-D finite array, negative
values, an all-zero curve (no topology anywhere, so no shape to score), and too few layers
(L < 4 for θ, whose fit has four coefficients; L < 2 for the others).
"""

from __future__ import annotations

import numpy as np

from modelrank.topology.omega import omega

__all__ = ["auc_decay", "exp_decay_rate", "omega", "theta"]

#: Search range of :func:`exp_decay_rate` over depth rescaled to [0, 1].
EXP_RATE_BOUNDS = (-20.0, 50.0)


def _as_curve(omega_curve: np.ndarray, min_len: int, what: str) -> np.ndarray:
    y = np.asarray(omega_curve, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(
            f"{what}: the Omega curve must be 1-D (one value per layer), got shape {y.shape}"
        )
    if y.size < min_len:
        raise ValueError(f"{what} needs at least {min_len} layers, got {y.size}; probe more layers")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{what}: the Omega curve contains NaN or infinite values")
    if np.any(y < 0):
        raise ValueError(f"{what}: the Omega curve must be >= 0 (a sum of Betti numbers)")
    if not np.any(y > 0):
        raise ValueError(
            f"{what}: the Omega curve is zero at every layer (no topology at any depth); "
            "the decay is undefined"
        )
    return y


def theta(omega_curve: np.ndarray) -> float:
    """Rate of decay θ of Suresh et al. (docs/methods.md §1 step 7), exactly.

    y(ℓ) = Ω(ℓ) / ‖Ω‖₂ and x = 1, 2, …, L (raw layer index); y is regressed on the features
    [x, x², x³] by ``sklearn.linear_model.Ridge(alpha=1e-3)`` with a fitted (unpenalised)
    intercept; with coefficients c1, c2, c3, θ = c1 + 0.5·c2 + 0.5·c3.

    Direction: **lower θ = faster simplification = better transfer**; rank by −θ.

    Args:
        omega_curve: (L,) Ω per layer in depth order, L >= 4, >= 0, not all zero.

    Returns:
        θ as a float.
    """
    from sklearn.linear_model import Ridge

    y = _as_curve(omega_curve, 4, "theta")
    y = y / np.linalg.norm(y)
    x = np.arange(1, y.size + 1, dtype=np.float64)
    feats = np.c_[x, x**2, x**3]
    c = Ridge(alpha=1e-3).fit(feats, y).coef_
    return float(c[0] + 0.5 * c[1] + 0.5 * c[2])


def _depth01(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)


def auc_decay(omega_curve: np.ndarray) -> float:
    """Area under the max-normalised Ω curve over depth rescaled to [0, 1] (trapezoid rule).

    y = Ω / max Ω ∈ [0, 1] and t = (ℓ - 1) / (L - 1) ∈ [0, 1]; the score is ∫ y dt ∈ (0, 1].
    Normalising by the maximum (not by Ω at the first layer) keeps the score bounded and defined
    when the first probed layer is simple (Ω[0] = 0 or small) and complexity rises before it
    falls, which happens after stems; rescaling depth makes networks with different numbers of
    probed layers comparable. A curve that drops at once scores near 0, a flat one 1.

    Direction: **lower = faster simplification = better**.

    Args:
        omega_curve: (L,) Ω per layer, L >= 2, >= 0, not all zero.

    Returns:
        The area, a float in (0, 1].
    """
    y = _as_curve(omega_curve, 2, "auc_decay")
    y = y / y.max()
    t = _depth01(y.size)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2.0)


def _exp_fit(y: np.ndarray, t: np.ndarray, r: float) -> tuple[float, float]:
    """Best amplitude a >= 0 and residual sum of squares of y ≈ a·exp(−r t) at a given rate."""
    e = np.exp(-r * t)
    a = max(float(e @ y) / float(e @ e), 0.0)
    res = y - a * e
    return a, float(res @ res)


def exp_decay_rate(omega_curve: np.ndarray) -> float:
    """Least-squares exponential decay rate of the Ω curve over depth rescaled to [0, 1].

    Fits y ≈ a·exp(−r·t) with y = Ω / max Ω, t = (ℓ - 1) / (L - 1), minimising Σ (y - a e^{-rt})²
    (the same squared-error model as θ's ridge fit, on the raw curve, so zeros are allowed —
    unlike a log-linear fit). For each r the best a ≥ 0 is closed form; r is found by a grid over
    :data:`EXP_RATE_BOUNDS` refined by bounded Brent search, so the result is deterministic. r is
    "e-foldings per network depth": r = 2 means Ω falls by e² ≈ 7.4 from input to output.
    Negative r means complexity grows with depth. The value is clipped to the bounds.

    Direction: **higher = faster simplification = better**.

    Args:
        omega_curve: (L,) Ω per layer, L >= 2, >= 0, not all zero.

    Returns:
        The rate r as a float.
    """
    from scipy.optimize import minimize_scalar

    y = _as_curve(omega_curve, 2, "exp_decay_rate")
    y = y / y.max()
    t = _depth01(y.size)
    lo, hi = EXP_RATE_BOUNDS
    grid = np.linspace(lo, hi, 281)
    sse = np.array([_exp_fit(y, t, r)[1] for r in grid])
    i = int(np.argmin(sse))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = minimize_scalar(
        lambda r: _exp_fit(y, t, r)[1], bounds=(a, b), method="bounded", options={"xatol": 1e-8}
    )
    r = float(best.x) if best.fun <= sse[i] else float(grid[i])
    return float(np.clip(r, lo, hi))
