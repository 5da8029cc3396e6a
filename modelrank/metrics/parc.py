"""PARC: Pairwise Annotation Representation Comparison.

Bolya et al. "Scalable Diverse Model Selection for Accessible Transfer Learning",
NeurIPS 2021.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, finite, pca
from modelrank.metrics.registry import score


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ with average ranks for ties (Pearson correlation of the ranks)."""
    ra = rankdata(a)
    rb = rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = np.sqrt(np.dot(ra, ra) * np.dot(rb, rb))
    if denom == 0.0:
        raise MetricError(
            "PARC is undefined: one dissimilarity matrix is constant (e.g. every class has a "
            "single sample, or the features collapse to one direction)"
        )
    return float(np.dot(ra, rb) / denom)


@score(
    "parc",
    description=(
        "PARC (Bolya et al. 2021): 100·Spearman between 1-Pearson RDMs of PCA-32 standardised "
        "features and one-hot labels (upper triangle)"
    ),
)
def parc(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_components: int = 32,
    max_samples: int = 5000,
    seed: int = 0,
) -> float:
    """PARC = 100 · Spearman(upper triangle of RDM(features), upper triangle of RDM(labels)).

    Features are reduced by PCA to ``n_components`` dimensions (exact PCA; the reference code
    uses sklearn's randomized solver with one power iteration) and standardised per dimension;
    RDM(A) = 1 - Pearson correlation between the rows of A (samples); the label RDM uses one-hot
    rows, whose RDM is exactly 0 or K/(K-1) — computed exactly, since the reference's
    ``1 - np.corrcoef`` leaves rounding noise that turns the ties into arbitrary ranks (a
    percent-level change of the score). The ×100 scale is the reference code's.

    More than ``max_samples`` samples are subsampled per class (stratified, ``seed``): the RDMs
    are n×n. The reference code means to subsample above 15,000 (a bug there keeps all samples).

    Returns:
        PARC in [-100, 100]; higher is better.
    """
    x, y, k = check_features_labels(features, labels)
    n = x.shape[0]
    if n > max_samples:
        rng = np.random.default_rng(seed)
        per_class = []
        for c in range(k):
            idx = np.flatnonzero(y == c)
            take = max(1, int(round(len(idx) * max_samples / n)))
            per_class.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
        keep = np.sort(np.concatenate(per_class))
        x, y = x[keep], y[keep]
        n = x.shape[0]
    z, _ = pca(x, n_components)
    if z.shape[1] < 2:
        raise MetricError(
            "PARC needs features of rank at least 2 (a correlation between samples over one "
            "dimension is undefined)"
        )
    sd = z.std(axis=0)
    z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    zc = z - z.mean(axis=1, keepdims=True)
    row_norm = np.linalg.norm(zc, axis=1)
    if np.any(row_norm == 0):
        raise MetricError("PARC is undefined: a sample's standardised features are constant")
    zc /= row_norm[:, None]
    rdm_f = 1.0 - zc @ zc.T
    # 1 - Pearson correlation of one-hot rows is exactly 0 (same class) or K/(K-1) (different
    # classes); built exactly so that rounding noise (as in 1 - np.corrcoef) cannot split ties.
    iu = np.triu_indices(n, 1)
    rdm_y = np.where(y[iu[0]] == y[iu[1]], 0.0, k / (k - 1.0))
    return finite(100.0 * _spearman(rdm_f[iu], rdm_y), "PARC")
