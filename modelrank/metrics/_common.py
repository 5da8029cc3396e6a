"""Shared pieces of the transferability scores: input checks, class statistics, PCA, softmax.

Not a score itself. Every helper works in float64 and raises :class:`MetricError` (never returns
NaN) when the input cannot give a defined value.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence, SupportsFloat

import numpy as np
from scipy import linalg

from modelrank.errors import MetricError
from modelrank.metrics.registry import as_float64, as_labels

#: Eigenvalues of a Gram or scatter matrix below this fraction of the largest are treated as zero.
#: Eigen-decomposing X Xᵀ (instead of an SVD of X) resolves eigenvalues only down to about
#: n·eps·λ_max ≈ 1e-13·λ_max; directions that weak carry no signal at the float32 precision the
#: features are stored in, so a cut at 1e-12 separates rank from rounding noise.
RANK_RTOL = 1e-12

#: Largest feature magnitude accepted: products of two features and sums over n·d of them must
#: stay far from float64 overflow (1.8e308).
MAX_ABS = 1e100


def check_features_labels(
    features: np.ndarray, labels: np.ndarray, *, min_classes: int = 2
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate (features, labels) for a feature-based score.

    Returns:
        x: (n, d) float64 features; y: (n,) int64 labels recoded to 0..K-1; K.

    Raises:
        MetricError: non-finite features, shape mismatch, fewer than ``min_classes`` classes,
            fewer than 2 samples, or features that are the same vector for every sample.
    """
    x = as_float64(features, "features")
    n, d = x.shape
    if n < 2:
        raise MetricError(f"need at least 2 samples, got {n}")
    if d < 1:
        raise MetricError("features have no dimensions")
    y = as_labels(labels, n=n, min_classes=min_classes)
    peak = float(np.abs(x).max())
    if peak > MAX_ABS:
        raise MetricError(
            f"features reach magnitude {peak:.3g}: second moments would overflow float64; "
            f"rescale them (scores need |x| <= {MAX_ABS:.0e})"
        )
    if not np.any(x.max(axis=0) > x.min(axis=0)):
        raise MetricError(
            "features are constant across samples (the backbone returns the same vector for "
            "every image): the score is undefined"
        )
    return x, y, int(y.max()) + 1


def check_logits(logits: np.ndarray, n: int) -> np.ndarray:
    """Validate source-model logits of shape (n, C_src) with C_src >= 2; return float64."""
    if logits is None:
        raise MetricError("this score needs source-model logits, and the backbone has none")
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise MetricError(f"logits must be a 2-D array (n, C_src), got shape {z.shape}")
    z = as_float64(z, "logits")
    if z.shape[0] != n:
        raise MetricError(f"got logits for {z.shape[0]} samples but {n} labels")
    if z.shape[1] < 2:
        raise MetricError(f"source logits need at least 2 source classes, got {z.shape[1]}")
    return z


def finite(value: SupportsFloat, name: str) -> float:
    """``float(value)``, or a MetricError when it is NaN or infinite."""
    v = float(value)
    if not np.isfinite(v):
        raise MetricError(f"{name} came out non-finite ({v}): the input is degenerate for it")
    return v


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """(n, k) float64 indicator matrix of integer labels 0..k-1."""
    out = np.zeros((y.shape[0], k))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def class_means(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sample counts (k,) and means (k, d)."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, y, x)
    return counts, sums / counts[:, None]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large logits and accurate for the largest entry:
    log p_max = −log1p(Σ_{j≠max} e^{z_j − z_max}) keeps a probability within 1e-300 of 1
    distinguishable from 1 (``z − logsumexp(z)`` rounds every log p_max above −1e-16 to 0)."""
    z = np.asarray(z, dtype=np.float64)
    top = np.argmax(z, axis=1)
    rows = np.arange(z.shape[0])
    shifted = z - z[rows, top][:, None]
    with np.errstate(under="ignore"):
        rest = np.exp(shifted)
    rest[rows, top] = 0.0
    return shifted - np.log1p(rest.sum(axis=1, keepdims=True))


def gram_eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD of ``a`` (m, p) via the eigen-decomposition of the smaller Gram matrix.

    Returns (s2, u, v) with s2 the squared singular values in decreasing order, restricted to the
    numerical rank (``s2 > RANK_RTOL * s2.max()``), u (m, r) and v (p, r) orthonormal, so that
    ``a ≈ u @ diag(sqrt(s2)) @ v.T``. One symmetric eigen-solve of size min(m, p).
    """
    m, p = a.shape
    try:
        return _gram_eigh(a, m, p)
    except (np.linalg.LinAlgError, ValueError) as err:
        raise MetricError(f"eigen-decomposition failed on degenerate features ({err})") from None


def _gram_eigh(a: np.ndarray, m: int, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if m <= p:
        w, u = linalg.eigh(a @ a.T, driver="evd", overwrite_a=True, check_finite=False)
        w, u = w[::-1], u[:, ::-1]
        keep = w > RANK_RTOL * max(w[0], 0.0)
        if not np.any(keep):
            return np.zeros(0), np.zeros((m, 0)), np.zeros((p, 0))
        w, u = w[keep], u[:, keep]
        v = (a.T @ u) / np.sqrt(w)
    else:
        w, v = linalg.eigh(a.T @ a, driver="evd", overwrite_a=True, check_finite=False)
        w, v = w[::-1], v[:, ::-1]
        keep = w > RANK_RTOL * max(w[0], 0.0)
        if not np.any(keep):
            return np.zeros(0), np.zeros((m, 0)), np.zeros((p, 0))
        w, v = w[keep], v[:, keep]
        u = (a @ v) / np.sqrt(w)
    return w, u, v


def pca(
    x: np.ndarray, n_components: int | None = None, *, variance: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component scores of ``x`` (centred), as ``sklearn.decomposition.PCA`` gives them.

    Exactly one of ``n_components`` (kept components, capped at the rank) or ``variance`` (keep
    the fewest leading components whose cumulative explained-variance ratio exceeds it, the rule
    of ``PCA(n_components=0.8)``) must be given.

    Returns:
        scores: (n, k) projections on the leading components; the sign of each component is fixed
            so that its largest-magnitude loading is positive (deterministic).
        explained_variance: (r,) variances of all non-null components (denominator n - 1).
    """
    if (n_components is None) == (variance is None):
        raise ValueError("pca needs exactly one of n_components and variance")
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    s2, u, v = gram_eigh(xc)
    if s2.size == 0:
        raise MetricError("features have zero variance: PCA is undefined")
    explained = s2 / max(n - 1, 1)
    if variance is not None:
        ratio = np.cumsum(explained) / explained.sum()
        k = int(np.searchsorted(ratio, variance, side="right")) + 1
    elif n_components is not None:  # one of the two, checked above
        k = int(n_components)
    k = max(1, min(k, s2.size))
    u, v, s = u[:, :k], v[:, :k], np.sqrt(s2[:k])
    flip = np.sign(v[np.abs(v).argmax(axis=0), np.arange(k)])
    flip[flip == 0] = 1.0
    return u * (s * flip), explained


def minmax_sum(
    keys: Sequence[str], weights: Sequence[float] | None = None
) -> Callable[[Sequence[Mapping[str, float]]], list[float]]:
    """A ``combine`` for pool-dependent scores: min–max normalise each sub-score across the pool
    (to [0, 1]) and add them, optionally weighted.

    A sub-score that is equal for every model in the pool (including a pool of one) carries no
    ranking information and contributes 0 to every model, instead of the 0/0 of the papers' code.
    """
    w = [1.0] * len(keys) if weights is None else [float(a) for a in weights]

    def combine(pool: Sequence[Mapping[str, float]]) -> list[float]:
        if not pool:
            return []
        total = np.zeros(len(pool))
        for key, weight in zip(keys, w):
            try:
                vals = np.array([float(p[key]) for p in pool])
            except KeyError:
                raise MetricError(f"a model in the pool lacks the sub-score {key!r}") from None
            if not np.all(np.isfinite(vals)):
                raise MetricError(f"sub-score {key!r} is not finite for every model in the pool")
            lo, hi = vals.min(), vals.max()
            if hi > lo:
                total += weight * (vals - lo) / (hi - lo)
        return [float(t) for t in total]

    return combine
