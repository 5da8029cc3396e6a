"""TransRate: mutual information between features and labels, measured by coding rates.

Huang et al. "Frustratingly Easy Transferability Estimation", ICML 2022.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, finite
from modelrank.metrics.registry import score


def coding_rate(z: np.ndarray, eps2: float) -> float:
    """R(Z, ε) = ½ log det(I_d + Zᵀ Z / (m ε²)) for Z of shape (m, d).

    Evaluated through the eigenvalues of the smaller Gram matrix (Sylvester's determinant
    identity: det(I_d + ZᵀZ c) = det(I_m + Z Zᵀ c)).
    """
    m, d = z.shape
    g = z @ z.T if m <= d else z.T @ z
    ev = np.maximum(linalg.eigvalsh(g, overwrite_a=True, check_finite=False), 0.0)
    return 0.5 * float(np.sum(np.log1p(ev / (m * eps2))))


@score(
    "transrate",
    description=(
        "TransRate (Huang et al. 2022): R(Z)-R(Z|Y), ε²=1e-4, features centred then "
        "L2-normalised, classes weighted n_c/n (paper form)"
    ),
)
def transrate(features: np.ndarray, labels: np.ndarray, *, eps2: float = 1e-4) -> float:
    """TransRate (paper form): R(Z, ε) - Σ_c (n_c/n) R(Z_c, ε).

    Z is the features centred (mean over all samples removed) and then L2-normalised per sample,
    as the paper describes it (``eps`` in the authors' code is ε² = 1e-4); a sample that
    coincides with the mean stays the zero vector. The class-conditional rate weights class c by
    n_c/n. The authors' released pipeline differs in two ways (see :func:`transrate_released`):
    it L2-normalises the features *before* centring as well, and divides by rank(Z).

    Returns:
        TransRate; higher is better.
    """
    x, y, k = check_features_labels(features, labels)
    z = _l2_rows(x - x.mean(axis=0))
    n = z.shape[0]
    rz = coding_rate(z, eps2)
    rzy = sum((np.count_nonzero(y == c) / n) * coding_rate(z[y == c], eps2) for c in range(k))
    return finite(rz - rzy, "TransRate")


def _l2_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@score(
    "transrate-released",
    description=(
        "TransRate as the authors' released pipeline: L2-normalised, centred, L2-normalised "
        "again, divided by rank(Z)"
    ),
)
def transrate_released(features: np.ndarray, labels: np.ndarray, *, eps2: float = 1e-4) -> float:
    """TransRate as the authors' released pipeline (Long-Kai/TransRate) computes it by default.

    Features are L2-normalised per sample, centred, and L2-normalised again (the extraction
    script normalises, ``transrate_eig`` receives the centred features and normalises them once
    more); then R(Z) - Σ_c (n_c/n) R(Z_c) as in :func:`transrate`, divided by rank(Z) (their
    ``normalize_opt='rank'`` default, with every eigenvalue active, ``reg = 1``). The rank is
    numpy's ``matrix_rank`` rule on ZᵀZ/n: eigenvalues above λ_max · D · ε_float64. Dividing by
    the rank makes the value a coding rate per dimension, so backbones with different feature
    widths compare on one scale.

    Returns:
        TransRate per dimension of Z's span; higher is better.
    """
    x, y, k = check_features_labels(features, labels)
    z = _l2_rows(x)
    z = _l2_rows(z - z.mean(axis=0))
    n, d = z.shape
    g = z @ z.T if n <= d else z.T @ z
    ev = np.maximum(linalg.eigvalsh(g / n, check_finite=False), 0.0)
    rank = int(np.count_nonzero(ev > ev.max() * d * np.finfo(np.float64).eps)) if ev.size else 0
    if rank == 0:
        raise MetricError("features have rank 0 after centring: TransRate is undefined")
    rz = 0.5 * float(np.sum(np.log1p(ev / eps2)))
    rzy = sum((np.count_nonzero(y == c) / n) * coding_rate(z[y == c], eps2) for c in range(k))
    return finite((rz - rzy) / rank, "TransRate (released)")


@score(
    "transrate-tllib",
    description=(
        "TransRate as tllib computes it: centred, no L2 normalisation, classes averaged 1/K"
    ),
)
def transrate_tllib(features: np.ndarray, labels: np.ndarray, *, eps: float = 1e-4) -> float:
    """TransRate as tllib (``tllib.ranking.transrate``) computes it.

    Centred features without L2 normalisation, coding rate ½ log det(I + ZᵀZ/(m·eps)), and the
    class rates averaged with equal weight 1/K instead of n_c/n. Without the normalisation the
    value depends on the feature scale (eps is absolute): features ≪ sqrt(eps) give ~0.
    """
    x, y, k = check_features_labels(features, labels)
    z = x - x.mean(axis=0)
    rz = coding_rate(z, eps)
    rzy = sum(coding_rate(z[y == c], eps) for c in range(k)) / k
    return finite(rz - rzy, "TransRate (tllib)")
