"""NCTI: the neural-collapse transferability index (pool-dependent).

Wang et al. "How Far Pre-trained Models Are from Neural Collapse on the Target Dataset Informs
their Transferability", ICCV 2023.

NCTI is POOL-DEPENDENT: each backbone yields three sub-scores — within-class variability
collapse, simplex-ETF-ness (nuclear norm of the LDA-projected features) and nearest-centre
classifiability — and the index is their sum after min–max normalisation of each across the
candidate pool, as the authors' ranking code does. ``compute`` returns the per-backbone dict,
``combine`` turns a pool of dicts into one value per backbone.
"""

from __future__ import annotations

import warnings

import numpy as np

from modelrank.metrics._common import check_features_labels, finite, minmax_sum, pca
from modelrank.metrics.registry import score


def ncti_subscores(
    features: np.ndarray, labels: np.ndarray, *, n_components: int = 64
) -> dict[str, float]:
    """Per-backbone NCTI sub-scores, oriented so that higher is better.

    Following the released code (BUserName/NCTI ``NCTI_Score``):

    1. PCA to ``n_components`` = 64 dims (fewer when the rank is lower).
    2. scikit-learn's LDA, as in the code, with shrinkage max(exp(-Σ of the 32 largest PCA
       variances), 1e-10), or the unshrunk SVD solver when that floor is hit (the eigen solver
       takes S_b = shrunk S_t - shrunk S_w).
    3. ``seli`` (ETF-ness): nuclear norm of the centred LDA projection of the features.
    4. ``ncc`` (nearest-centre classifier): mean log p(yᵢ | xᵢ) of the LDA posterior — the
       log-probability as docs/methods.md §6 takes the paper's form; ``ncc_nolog`` is the released code's
       mean probability.
    5. ``vc`` (within-class variability collapse): -log Σ_c ‖P_c‖_* with P_c the posterior rows of
       class c; the code subtracts the normalised log Σ_c ‖P_c‖_*, stored negated here so that
       every sub-score is higher-is-better (min–max of -v is 1 - min–max of v: same ranking).
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    x, y, k = check_features_labels(features, labels)
    z, explained = pca(x, n_components)
    shrink = max(float(np.exp(-explained[:32].sum())), 1e-10)
    if shrink == 1e-10:
        lda = LinearDiscriminantAnalysis(solver="svd")
    else:
        lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrink)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Variables are collinear"
        low = lda.fit_transform(z, y)
        log_post = lda.predict_log_proba(z)
    low = low - low.mean(axis=0)
    seli = np.linalg.norm(low, ord="nuc")
    idx = np.arange(x.shape[0])
    post = np.exp(log_post)
    class_nuc = sum(np.linalg.norm(post[y == c], ord="nuc") for c in range(k))
    return {
        "seli": finite(seli, "NCTI seli"),
        "ncc": finite(np.mean(log_post[idx, y]), "NCTI ncc"),
        "ncc_nolog": finite(np.mean(post[idx, y]), "NCTI ncc (no log)"),
        "vc": finite(-np.log(class_nuc), "NCTI vc"),
    }


#: The sub-scores each form sums over the pool: the paper's, and the released code's (no log).
NCTI_TERMS = ("seli", "ncc", "vc")
NCTI_NOLOG_TERMS = ("seli", "ncc_nolog", "vc")


@score(
    "ncti-nolog",
    terms=NCTI_NOLOG_TERMS,
    combine=minmax_sum(NCTI_NOLOG_TERMS),
    description=(
        "NCTI as the released code computes it: nearest-centre term as mean probability "
        "(no log); pool-dependent min-max sum"
    ),
)
@score(
    "ncti",
    terms=NCTI_TERMS,
    combine=minmax_sum(NCTI_TERMS),
    description=(
        "NCTI (Wang et al. 2023): ETF nuclear norm + nearest-centre log-prob + within-class "
        "collapse, min-max normalised across the pool and summed (pool-dependent)"
    ),
)
def ncti_terms(
    features: np.ndarray, labels: np.ndarray, *, terms: tuple[str, ...]
) -> dict[str, float]:
    """The NCTI sub-scores named in ``terms`` (of :func:`ncti_subscores`), for the pool's sum."""
    d = ncti_subscores(features, labels)
    return {key: d[key] for key in terms}
