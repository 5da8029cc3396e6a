"""H-score and its shrinkage-regularised form.

Bao et al. "An Information-Theoretic Approach to Transferability in Task Transfer
Learning", ICIP 2019: H(f) = tr(cov(f)⁻¹ cov(E[f | y])), with the pseudo-inverse.

Ibrahim et al. "Newer is not always better: Rethinking transferability metrics,
their peculiarities, stability and performance", ECML-PKDD 2022: the feature covariance is replaced
by its Ledoit–Wolf shrinkage estimate, H_α = tr(((1-α)Σ_f + α σ̄ I)⁻¹ (1-α) Σ_g).
"""

from __future__ import annotations

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, class_means, finite, gram_eigh
from modelrank.metrics.registry import score


def _centered_stats(x: np.ndarray, y: np.ndarray, k: int):
    """Centred features, their thin SVD (s², U, V) and the rows of M with Σ_g = Mᵀ M.

    Σ_f = Xcᵀ Xc / n and Σ_g = Σ_c (n_c/n)(μ_c - μ)(μ_c - μ)ᵀ (both with denominator n; the
    H-score ratio does not depend on the choice as long as it is the same for both).
    """
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    counts, means = class_means(xc, y, k)
    m = np.sqrt(counts / n)[:, None] * means  # (K, d): means of centred data are μ_c - μ
    s2, u, v = gram_eigh(xc)
    return xc, s2, u, v, m, counts


def hscore(features: np.ndarray, labels: np.ndarray) -> float:
    """H-score = tr(pinv(Σ_f) Σ_g) (Bao et al. 2019, with the pseudo-inverse as in their code).

    With Xc = U S Vᵀ and e_c the class indicators, tr(pinv(Σ_f) Σ_g) = Σ_c |Uᵀ e_c|² / n_c: the
    overlap between the span of the centred features and the span of the class indicators. It is
    computed that way from one eigen-decomposition of the smaller Gram matrix; directions whose
    variance is below 1e-12 of the largest count as null (see ``_common.RANK_RTOL``).

    Note: when rank(Xc) = n - 1 (e.g. n ≤ d with generic features) every class direction lies in
    the span and H = K - 1 for every backbone — the score stops discriminating; use
    ``hscore-shrinkage`` there.

    Returns:
        H-score in [0, K - 1]; higher is better.
    """
    return _hscore(*check_features_labels(features, labels), flag_saturated=False)


@score(
    "hscore",
    description=(
        "H-score (Bao et al. 2019): tr(pinv(cov f) cov E[f|y]); unavailable (saturated at K-1 "
        "for every model) when the centred features have rank n-1, e.g. n<=d"
    ),
)
def hscore_flagged(features: np.ndarray, labels: np.ndarray) -> float:
    """:func:`hscore`, refusing the saturated case: when the centred features have rank n - 1
    (generic features with n ≤ d + 1) the value is K - 1 for any backbone, so it is a
    :class:`MetricError` (reported as unavailable, with the reason) instead of a tie."""
    return _hscore(*check_features_labels(features, labels), flag_saturated=True)


def _hscore(x: np.ndarray, y: np.ndarray, k: int, *, flag_saturated: bool) -> float:
    _, _, u, _, _, counts = _centered_stats(x, y, k)
    n = x.shape[0]
    if flag_saturated and u.shape[1] >= n - 1:
        raise MetricError(
            f"saturated: the centred features have rank {u.shape[1]} = n - 1 "
            f"(n = {n} images, d = {x.shape[1]}), so H-score = K - 1 for every "
            "backbone; use hscore-shrinkage, or more images than dimensions"
        )
    ut_e = np.zeros((u.shape[1], k))
    np.add.at(ut_e.T, y, u)  # column c = Uᵀ e_c
    return finite(np.sum((ut_e**2).sum(axis=0) / counts), "H-score")


@score(
    "hscore-google",
    description=(
        "H-score as google-research stable_transfer computes it: element-wise product inside "
        "the trace, pinv rcond=1e-5 (not the paper's formula)"
    ),
)
def hscore_google(features: np.ndarray, labels: np.ndarray, *, rcond: float = 1e-5) -> float:
    """H-score as google-research ``stable_transfer`` computes it: tr(pinv(Σ_f) ∘ Σ_g).

    The element-wise product inside the trace keeps only the diagonals:
    Σ_j pinv(Σ_f)_jj · (Σ_g)_jj; the pseudo-inverse drops eigenvalues below ``rcond`` times the
    largest (their ``tf.linalg.pinv(rcond=1e-5)``). Kept for comparison with their numbers.
    """
    x, y, k = check_features_labels(features, labels)
    n = x.shape[0]
    _, s2, _, v, m, _ = _centered_stats(x, y, k)
    lam = s2 / n
    keep = lam > rcond * lam[0]
    pinv_diag = (v[:, keep] ** 2 / lam[keep]).sum(axis=1)
    return finite(np.dot(pinv_diag, (m**2).sum(axis=0)), "H-score (google)")


def ledoit_wolf_shrinkage(xc: np.ndarray, s2: np.ndarray | None = None) -> float:
    """Ledoit–Wolf (2004) optimal shrinkage intensity of S = Xcᵀ Xc / n towards (tr S / d) I.

    From the paper: m = tr(S)/d, δ² = |S - m I|²_F / d, b̄² = (1/n²) Σᵢ |xᵢ xᵢᵀ - S|²_F / d,
    b² = min(b̄², δ²), shrinkage = b² / δ². Uses Σᵢ |xᵢ xᵢᵀ - S|²_F = Σᵢ |xᵢ|⁴ - n |S|²_F and
    |S|²_F = Σ λᵢ², so no d×d matrix is formed. Xc must be centred.
    """
    n, d = xc.shape
    if s2 is None:
        s2 = gram_eigh(xc)[0]
    scale2 = float(np.mean(xc**2))  # the intensity is scale-invariant; unit scale avoids
    if scale2 == 0.0:  # under/overflow of the fourth moments below
        return 0.0
    xc = xc / np.sqrt(scale2)
    lam = s2 / (n * scale2)
    mu = lam.sum() / d
    s_fro2 = np.sum(lam**2)
    delta2 = (s_fro2 - 2.0 * mu * lam.sum() + d * mu**2) / d
    if delta2 <= 0.0:
        return 0.0
    row4 = np.sum(np.einsum("ij,ij->i", xc, xc) ** 2)
    b2 = max((row4 / n - s_fro2) / (n * d), 0.0)
    return float(min(b2, delta2) / delta2)


@score(
    "hscore-shrinkage",
    description=(
        "Regularised H-score (Ibrahim et al. 2022): Ledoit-Wolf shrunk feature covariance, "
        "tr(Σ_α⁻¹(1-α)Σ_g)"
    ),
)
def hscore_shrinkage(features: np.ndarray, labels: np.ndarray) -> float:
    """Shrinkage-regularised H-score (Ibrahim et al. 2022).

    H_α = tr(Σ_α⁻¹ (1 - α) Σ_g) with Σ_α = (1 - α) Σ_f + α σ̄ I, σ̄ = tr(Σ_f)/d and α the
    Ledoit–Wolf shrinkage (agrees with ``sklearn.covariance.LedoitWolf().shrinkage_``). Both
    covariances use denominator n (the tllib code mixes n for Σ_f with n - 1 for Σ_g, a factor
    n/(n-1) on the score). Computed in the eigenbasis of Σ_f: no d×d inverse.

    Returns:
        H_α ≥ 0; higher is better. Unlike the plain H-score it still discriminates when n ≤ d.
    """
    x, y, k = check_features_labels(features, labels)
    n, d = x.shape
    xc, s2, _, v, m, _ = _centered_stats(x, y, k)
    alpha = ledoit_wolf_shrinkage(xc, s2)
    lam = s2 / n
    sigma_bar = lam.sum() / d
    mv2 = (m @ v) ** 2  # (K, r): Σ_g's mass along each eigenvector of Σ_f
    inside = np.sum(mv2 / ((1.0 - alpha) * lam + alpha * sigma_bar))
    outside = 0.0
    if alpha > 0.0:  # class means lie in the row space of Xc, so this is rounding error only
        outside = max(np.sum(m**2) - np.sum(mv2), 0.0) / (alpha * sigma_bar)
    return finite((1.0 - alpha) * (inside + outside), "shrinkage H-score")
