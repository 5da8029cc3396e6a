"""SFDA: Self-challenging Fisher Discriminant Analysis.

Shao et al. "Not All Models Are Equal: Predicting Model
Transferability in a Self-challenging Fisher Space", ECCV 2022.

Also home of the regularised-LDA posterior that ETran's classification score reuses.
"""

from __future__ import annotations

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics._common import (
    check_features_labels,
    class_means,
    finite,
    gram_eigh,
    log_softmax,
)
from modelrank.metrics.registry import score

#: Floor on the regularisation strength λ (the released code's max(exp(-a·σ), 1e-10)).
LAMBDA_FLOOR = 1e-10


def _saturated(name: str) -> MetricError:
    """The error for a score at its bound: every image's true-class probability is exactly 1.

    With few images per dimension (n < d) and λ at its floor the Fisher classifier's margins
    reach thousands of nats, every posterior is exactly 1 and the score ties every such backbone
    at its bound (measured: 5 of 5 half-samples of 25 Fashion-MNIST footwear images per class,
    Lite0 features, gave exactly 0.0). A value merely close to the bound still orders backbones
    by their margins (log-softmax keeps e^-margin to full relative precision) and is kept."""
    return MetricError(
        f"{name} is saturated (every image gets probability 1 of its class in the regularised "
        "Fisher space): it cannot rank here; give it more images per class"
    )


def regularised_lda_log_posterior(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    *,
    lam: float | None = None,
    a: float = 5.0,
    target: str = "identity",
) -> tuple[np.ndarray, float]:
    """log p(c | x) of the Bayes classifier in SFDA's regularised Fisher space.

    S_w = Σ_c (n_c/n) cov_c (within-class covariance, denominator n_c), regularised as
    S̃_w = (1 - λ) S_w + λ·τ·I with τ = 1 (``target="identity"``, the paper) or τ = tr(S_w)/d
    (``target="trace"``, sklearn-style shrinkage as in the released code). When ``lam`` is None,
    λ = max(exp(-a·σ_max(S_w)), 1e-10) with σ_max the largest eigenvalue of S_w (exact here).

    The paper projects onto the K-1 leading generalised eigenvectors U of (S_b, S̃_w) (so that
    Uᵀ S̃_w U = I) and classifies with δ_c(x̃) = x̃·μ̃_c - ½|μ̃_c|² + log π_c. Along the remaining
    generalised eigenvectors S_b v = 0, i.e. vᵀμ_c is the same for every class, so those directions
    add the same amount to every δ_c: the posterior equals the full-space regularised-LDA posterior
    softmax_c(xᵀ S̃_w⁻¹ μ_c - ½ μ_cᵀ S̃_w⁻¹ μ_c + log π_c), which is what is computed here, from one
    eigen-decomposition of the within-class Gram matrix (no d×d generalised eigenproblem).

    Returns:
        (n, K) log-posteriors and the λ used.
    """
    n, d = x.shape
    counts, means = class_means(x, y, k)
    xw = x - means[y]
    s2, _, v = gram_eigh(xw)  # S_w = V diag(s2/n) Vᵀ on its range, 0 elsewhere
    ev = s2 / n
    if lam is None:
        sigma_max = float(ev[0]) if ev.size else 0.0
        lam = max(float(np.exp(-a * sigma_max)), LAMBDA_FLOOR)
    tau = 1.0 if target == "identity" else float(ev.sum()) / d
    if lam * tau <= 0.0:
        raise MetricError(
            "regularised LDA is singular: no within-class variance and a zero shrinkage target"
        )
    mv = means @ v  # (K, r)
    reg = (1.0 - lam) * ev + lam * tau
    w = v @ (mv / reg).T  # S̃_w⁻¹ μ_c on the range of S_w, (d, K)
    if v.shape[1] < d:  # the part of μ_c outside the range of S_w sees only λτ·I
        # (skipped when S_w has full rank: there the difference is rounding noise, which 1/λ
        # would amplify by up to 1e10)
        w += (means.T - v @ mv.T) / (lam * tau)
    bias = -0.5 * np.einsum("kd,dk->k", means, w) + np.log(counts / n)
    return log_softmax(x @ w + bias), lam


def _power_sigma_max(xw: np.ndarray, iterations: int = 3) -> float:
    """Largest eigenvalue of S_w = xwᵀ xw / n as the released code estimates it.

    Their ``iterative_A``: start from S_w·1, take ``iterations`` double power steps, return the
    Rayleigh-like quotient xᵀ S_w y. Done with matrix–vector products (no d×d matrix).
    """
    n = xw.shape[0]

    def sw(vec: np.ndarray) -> np.ndarray:
        return xw.T @ (xw @ vec) / n

    vec = sw(np.ones(xw.shape[1]))
    other = vec
    for _ in range(iterations):
        t = sw(vec)
        nt = np.linalg.norm(t)
        if nt == 0.0:
            return 0.0
        other = t / nt
        t = sw(other)
        nt = np.linalg.norm(t)
        if nt == 0.0:
            return 0.0
        vec = t / nt
    return float(vec @ sw(other))


def _confmix(x: np.ndarray, y: np.ndarray, k: int, p_true: np.ndarray) -> np.ndarray:
    """SFDA's self-challenging ConfMix: x̂ᵢ = pᵢ xᵢ + (1 - pᵢ) μ̄_{-yᵢ}.

    pᵢ is the confidence in the true class; μ̄_{-c} the (unweighted) mean of the other classes'
    means.
    """
    _, means = class_means(x, y, k)
    others = (means.sum(axis=0) - means) / (k - 1)
    p = p_true[:, None]
    return p * x + (1.0 - p) * others[y]


@score(
    "sfda",
    description=(
        "SFDA (Shao et al. 2022), paper form: regularised Fisher space (λ=exp(-5σmax(Sw)), "
        "(1-λ)Sw+λI) + ConfMix self-challenge, mean log p(y|x)"
    ),
)
def sfda(features: np.ndarray, labels: np.ndarray, *, a: float = 5.0) -> float:
    """SFDA score, paper form.

    1. Regularised Fisher space: S̃_w = (1 - λ) S_w + λ I, λ = exp(-a·σ_max(S_w)) (a = 5, floored
       at 1e-10 as in the released code; σ_max exact), Bayes classifier p(y | x) in that space.
    2. Self-challenging ConfMix: x̂ᵢ = pᵢ xᵢ + (1 - pᵢ) μ̄_{-yᵢ}, pᵢ = p(yᵢ | xᵢ).
    3. Refit on x̂ with the same λ; score = (1/n) Σᵢ log p(yᵢ | x̂ᵢ) (NLEEP-like, with the log).

    Divergences of the released code (TencentARC/SFDA ``SFDA_Score``), available as
    ``sfda-nolog`` (:func:`sfda_reference`): the log is dropped (mean probability), the shrinkage
    target is tr(S_w)/d·I rather than I, σ_max comes from three power-iteration steps, and the
    confidences are passed through a second softmax ("softened") before ConfMix.

    Returns:
        Mean log-probability of the true class after ConfMix (≤ 0); higher is better.

    Raises:
        MetricError: when saturated (every log-probability exactly 0), rather than tie backbones
            at 0.
    """
    x, y, k = check_features_labels(features, labels)
    logp, lam = regularised_lda_log_posterior(x, y, k, a=a)
    idx = np.arange(x.shape[0])
    mixed = _confmix(x, y, k, np.exp(logp[idx, y]))
    logp2, _ = regularised_lda_log_posterior(mixed, y, k, lam=lam)
    value = finite(np.mean(logp2[idx, y]), "SFDA")
    if value == 0.0:
        raise _saturated("SFDA")
    return value


@score(
    "sfda-nolog",
    description=(
        "SFDA as the released code computes it: mean probability (no log), tr(Sw)/d shrinkage "
        "target, 3-step power iteration for σmax, softened ConfMix weights"
    ),
)
def sfda_reference(features: np.ndarray, labels: np.ndarray, *, a: float = 5.0) -> float:
    """SFDA as the released code computes it (mean probability, no log).

    λ = max(exp(-a·σ̂), 1e-10) with σ̂ from three power-iteration steps started at S_w·1;
    S̃_w = (1 - λ) S_w + λ·(tr S_w / d)·I (sklearn-style shrinkage); the posterior p is softened by
    a second softmax, softmax(p), before ConfMix; the refit reuses λ; score = mean p(yᵢ | x̂ᵢ).

    Returns:
        Mean probability of the true class after ConfMix, in (0, 1); higher is better.

    Raises:
        MetricError: when saturated (mean probability exactly 1), rather than tie backbones at 1.
    """
    x, y, k = check_features_labels(features, labels)
    n = x.shape[0]
    _, means = class_means(x, y, k)
    sigma = _power_sigma_max(x - means[y])
    lam = max(float(np.exp(-a * sigma)), LAMBDA_FLOOR)
    logp, _ = regularised_lda_log_posterior(x, y, k, lam=lam, target="trace")
    soft = np.exp(log_softmax(np.exp(logp)))  # the code's "soften the probability" step
    idx = np.arange(n)
    mixed = _confmix(x, y, k, soft[idx, y])
    logp2, _ = regularised_lda_log_posterior(mixed, y, k, lam=lam, target="trace")
    value = finite(np.mean(np.exp(logp2[idx, y])), "SFDA (reference)")
    if value == 1.0:
        raise _saturated("SFDA (reference)")
    return value
