"""LogME: the maximum log marginal evidence of a Bayesian linear model on the features.

You et al. "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
ICML 2021. For classification, each class gives a one-vs-rest 0/1 target; the score is the
per-sample log evidence, maximised over the prior precision α and noise precision β, averaged
over classes.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, finite, gram_eigh, one_hot
from modelrank.metrics.registry import score

#: A target's squared norm off the column space of F below this fraction of |y|² is rounding:
#: the target lies in the span (always so when rank(F) = n).
SPAN_RTOL = 1e-9

# Search range of log t = log(α/β) relative to log σ_max, and the grid step (natural log).
_LOG_T_BELOW, _LOG_T_ABOVE, _LOG_T_STEP = 50.0, 20.0, 0.25


@score(
    "logme",
    description=(
        "LogME (You et al. 2021): max log evidence of Bayesian linear regression per "
        "one-vs-rest class, averaged; the true maximum also when n <= d (thuml's fixed point "
        "does not converge there)"
    ),
)
def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME score (mean over classes of the maximised log evidence per sample).

    For a target y (n,) and features F (n, D), the model is y = F w + noise with
    w ~ N(0, α⁻¹ I_D), noise ~ N(0, β⁻¹ I_n); the evidence is log N(y | 0, β⁻¹ I + α⁻¹ F Fᵀ).
    With F = U S Vᵀ (rank r, squared singular values σᵢ), pᵢ = (uᵢᵀ y)² and o = |y|² - Σ pᵢ (the
    part of y off the span of F), and writing a = 1/α, t = α/β, the evidence is

        -2 log ev = n log(2π) + n log a + Σᵢ log(t + σᵢ) + (n - r) log t + Q(t) / a,
        Q(t) = Σᵢ pᵢ / (t + σᵢ) + o / t.

    The best a for a given t is Q(t)/n, which leaves a function of t alone; it is maximised over
    t ∈ [0, ∞] by a grid over log t refined with a bounded scalar search, with both ends
    (t → 0: noise-free fit, t → ∞: noise only) evaluated in closed form. The result is the true
    maximum whatever n and D are.

    Divergences from the released code (thuml/LogME, ``_fit_fixed_point``), named on purpose:

    - thuml maximises by MacKay's fixed-point updates (at most 11 steps, tolerance 1e-3 on α/β).
      When n ≤ D and F has rank n, y lies in the span of F and the evidence increases all the way
      to β → ∞ (t → 0); the fixed point then never settles, and the value depends on where the
      iteration stops (on 60 × 512 features: -0.199 after 50 steps, 0.161 after 200, -53.1 after
      1000, while the maximum is 0.534). Here the t → 0 limit is taken in closed form.
    - the exact evidence is used when r < D: the released code keeps D/2·log α but sums
      log(α + β σᵢ) over the non-zero σᵢ only, which adds (D - r)/2·log α / n to each class;
    - features are rescaled to unit mean square first (exactly invariant: α absorbs the scale),
      so that absurd feature scales do not overflow.

    Args:
        features: (n, D) features, any float dtype (promoted to float64).
        labels: (n,) class labels.

    Returns:
        Mean per-sample log evidence; higher is better.

    Raises:
        MetricError: the evidence is unbounded for some class: its 0/1 target lies in the span of
            features of rank < n (e.g. identical images with identical labels), so a noise-free fit
            has infinite density; or the features have rank 0.
    """
    f, y, k = check_features_labels(features, labels)
    n = f.shape[0]
    f = f / np.sqrt(np.mean(f**2))  # the maximised evidence is invariant to F → cF
    sigma, u, _ = gram_eigh(f)  # sigma: squared singular values (r,), u: (n, r)
    rank = sigma.size
    if rank == 0:
        raise MetricError("features have rank 0: LogME is undefined")
    targets = one_hot(y, k)  # (n, K)
    proj2 = (u.T @ targets) ** 2  # (r, K) squared coordinates of y in the column space of F
    norm2 = targets.sum(axis=0)  # |y|² per class
    outside = norm2 - proj2.sum(axis=0)
    outside[(outside <= SPAN_RTOL * norm2) | (rank == n)] = 0.0
    if rank < n and np.any(outside == 0.0):
        c = int(np.flatnonzero(outside == 0.0)[0])
        raise MetricError(
            f"LogME is unbounded: class {c}'s labels are fitted exactly by features of rank "
            f"{rank} < {n} images (duplicate images?); the evidence grows without limit"
        )
    evidence = [
        _max_profile_evidence(sigma, proj2[:, c], outside[c], norm2[c], n) for c in range(k)
    ]
    return finite(np.mean(evidence) / n, "LogME")


def _neg2_log_evidence(
    t: np.ndarray, sigma: np.ndarray, p: np.ndarray, o: float, n: int
) -> np.ndarray:
    """-2 log evidence at each t = α/β (t > 0), with α at its best value for that t."""
    r = sigma.size
    ts = t[:, None] + sigma[None, :]  # (G, r)
    q = (p / ts).sum(axis=1) + o / t
    return (
        n * np.log(q / n)
        + n
        + np.log(ts).sum(axis=1)
        + (n - r) * np.log(t)
        + n * np.log(2.0 * np.pi)
    )


def _max_profile_evidence(sigma, p, o, norm2, n) -> float:
    """max over t ∈ [0, ∞] of the log evidence (not yet divided by n)."""
    top = np.log(sigma[0])
    grid = np.arange(top - _LOG_T_BELOW, top + _LOG_T_ABOVE + _LOG_T_STEP, _LOG_T_STEP)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        values = _neg2_log_evidence(np.exp(grid), sigma, p, o, n)
    values = np.where(np.isfinite(values), values, np.inf)
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        lambda s: float(_neg2_log_evidence(np.exp(np.array([s])), sigma, p, o, n)[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    best = min(values[i], res.fun)
    # The ends in closed form: t → ∞ (all of y is noise) and, when y is in the span, t → 0.
    best = min(best, n * np.log(norm2 / n) + n + n * np.log(2.0 * np.pi))
    if o == 0.0:
        best = min(
            best,
            n * np.log((p / sigma).sum() / n) + n + np.log(sigma).sum() + n * np.log(2.0 * np.pi),
        )
    return -0.5 * float(best)
