"""Each transferability score against a value computed by a different, explicit route.

The truth is never an output of modelrank: it comes from closed forms worked by hand, numpy loops
over the paper's formula, or scikit-learn/scipy pieces (PCA, GaussianMixture, LedoitWolf,
LinearDiscriminantAnalysis, LogisticRegression, slogdet, spearmanr, an optimiser).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg, optimize
from scipy.special import logsumexp, softmax
from scipy.stats import spearmanr

from modelrank.errors import MetricError
from modelrank.metrics import (
    etran,
    gbc,
    hscore,
    leep,
    linear,
    logme,
    nce,
    ncti,
    nleep,
    parc,
    priors,
    sfda,
    transrate,
)


def blobs(n=60, d=6, k=3, sep=1.5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    means = rng.standard_normal((k, d)) * sep
    x = (means[y] + rng.standard_normal((n, d))) * scale
    return x, y


# ---------------------------------------------------------------- LogME


def _dense_neg2_log_evidence(f, t, log_a, log_b):
    """-2 log N(t | 0, b I + a F Fᵀ) from a dense n x n covariance (no SVD, no profiling)."""
    n = f.shape[0]
    c = np.exp(log_b) * np.eye(n) + np.exp(log_a) * (f @ f.T)
    _, logdet = np.linalg.slogdet(c)
    return logdet + t @ np.linalg.solve(c, t) + n * np.log(2 * np.pi)


def _max_log_evidence(f, t):
    """sup over (α, β) of log N(t | 0, β⁻¹ I + α⁻¹ F Fᵀ), by generic optimisers on the dense form.

    a = 1/α is searched down to e^-40 (all noise), b = 1/β down to e^-12 (below that the dense
    covariance is too ill-conditioned to trust). When F has rank n the supremum lies at b → 0,
    so the b = 0 model N(t | 0, a F Fᵀ) is maximised over a as well."""
    n = f.shape[0]
    best = np.inf
    for x0 in ([-6.0, 0.0], [0.0, -10.0], [0.0, 0.0], [6.0, 4.0]):
        r = optimize.minimize(
            lambda th: _dense_neg2_log_evidence(f, t, *th),
            x0,
            method="L-BFGS-B",
            bounds=[(-40, 12), (-12, 12)],
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        best = min(best, r.fun)
    if np.linalg.matrix_rank(f) == n:
        r = optimize.minimize_scalar(
            lambda la: _dense_neg2_log_evidence(f, t, la, -np.inf),
            bounds=(-40, 12),
            method="bounded",
            options={"xatol": 1e-12},
        )
        best = min(best, r.fun)
    return -0.5 * best


def _features_and_labels(n, d, k=3, seed=1):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.standard_normal((n, d))
    x[:, :k] += 1.5 * np.eye(k)[y]
    return x / np.sqrt(np.mean(x**2)), y


@pytest.mark.parametrize("n,d", [(60, 20), (40, 6), (40, 40), (30, 60), (12, 20), (25, 200)])
def test_logme_is_the_maximum_evidence(n, d):
    """n > d (interior maximum), n = d and n < d (labels in the span: supremum at β → ∞)."""
    x, y = _features_and_labels(n, d)
    truth = np.mean([_max_log_evidence(x, (y == c).astype(float)) for c in range(3)]) / n
    # rel 5e-9: at n < d the generic optimiser's approach to the b -> 0 supremum stops ~2e-9 short
    # on some BLAS builds (LogME then lies above it, as a maximum should)
    assert logme.logme(x, y) == pytest.approx(truth, rel=5e-9, abs=1e-10)


def test_logme_does_not_depend_on_an_iteration_cap_when_n_below_d():
    """The case a fixed point cannot settle: 60 x 512. The value is the supremum, the same for
    any rescaling and row order of the features."""
    x, y = _features_and_labels(60, 512, seed=4)
    value = logme.logme(x, y)
    truth = np.mean([_max_log_evidence(x, (y == c).astype(float)) for c in range(3)]) / 60
    assert value == pytest.approx(truth, rel=1e-9)
    perm = np.random.default_rng(0).permutation(60)
    assert logme.logme(1e3 * x[perm], y[perm]) == pytest.approx(value, rel=1e-9)


def test_logme_refuses_an_unbounded_evidence():
    """Features of rank < n that fit every one-vs-rest target exactly (here: the one-hot labels
    themselves, so images of one class are identical): a noise-free fit has infinite density,
    which must not come out as a number."""
    y = np.arange(30) % 3
    x = np.hstack([np.eye(3)[y], np.zeros((30, 5))])
    with pytest.raises(MetricError, match="unbounded"):
        logme.logme(x, y)
    x[:, 3:] = np.random.default_rng(0).standard_normal((30, 5))  # rank 8 < 30, labels in span
    with pytest.raises(MetricError, match="unbounded"):
        logme.logme(x, y)
    x += 0.1 * np.random.default_rng(1).standard_normal(x.shape)  # rank 8, labels off the span
    assert np.isfinite(logme.logme(x, y))


# ---------------------------------------------------------------- LEEP / NCE


def test_leep_hand_example():
    theta = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]])
    y = np.array([0, 0, 1, 1])
    # P̂(y, z) = 1/4 Σ θ: class 0 → (1.7, 0.3), class 1 → (0.5, 1.5); P̂(z) = (2.2, 1.8)/4
    p_y_given_z = np.array([[1.7 / 2.2, 0.3 / 1.8], [0.5 / 2.2, 1.5 / 1.8]])
    eep = [sum(p_y_given_z[y[i], z] * theta[i, z] for z in range(2)) for i in range(4)]
    logits = np.log(theta) + 3.0  # softmax(log θ + c) = θ
    assert leep.leep(logits, y) == pytest.approx(np.mean(np.log(eep)), rel=1e-12)
    assert leep.leep(logits, y, log=False) == pytest.approx(np.mean(eep), rel=1e-12)


def test_leep_against_loops():
    rng = np.random.default_rng(3)
    n, zs, k = 50, 7, 4
    logits = rng.standard_normal((n, zs)) * 2
    y = rng.integers(0, k, n)
    theta = softmax(logits, axis=1)
    joint = np.zeros((k, zs))
    for i in range(n):
        joint[y[i]] += theta[i] / n
    cond = joint / joint.sum(axis=0)
    eep = np.array([np.dot(cond[y[i]], theta[i]) for i in range(n)])
    assert leep.leep(logits, y) == pytest.approx(np.mean(np.log(eep)), rel=1e-12)


def test_nce_hand_example():
    # source argmax z = (0, 0, 1, 1, 1), targets y = (0, 1, 1, 1, 0)
    logits = np.array([[2, 0], [1, 0], [0, 3], [0, 1], [-1, 0]], dtype=float)
    y = np.array([0, 1, 1, 1, 0])
    # z=0: y split 1/1 → P̂(y|z) = 1/2 each; z=1: y=1 twice, y=0 once → 2/3, 1/3
    truth = 2 / 5 * np.log(1 / 2) + 2 / 5 * np.log(2 / 3) + 1 / 5 * np.log(1 / 3)
    assert nce.nce(logits, y) == pytest.approx(truth, rel=1e-12)


def test_nce_perfect_source_is_zero():
    y = np.array([0, 1, 2, 0, 1, 2])
    logits = np.eye(5)[[3, 1, 4, 3, 1, 4]] * 5.0
    assert nce.nce(logits, y) == pytest.approx(0.0, abs=1e-15)


# ---------------------------------------------------------------- NLEEP


def test_nleep_against_sklearn_pipeline():
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    x, y = blobs(n=90, d=12, k=3, sep=2.0, seed=4)
    z = PCA(n_components=0.8, svd_solver="full").fit_transform(x)
    post = GaussianMixture(15, covariance_type="diag", random_state=0).fit(z).predict_proba(z)
    joint = np.zeros((3, 15))
    for i in range(len(y)):
        joint[y[i]] += post[i] / len(y)
    cond = joint / joint.sum(axis=0)
    eep = np.array([np.dot(cond[y[i]], post[i]) for i in range(len(y))])
    assert nleep.nleep(x, y) == pytest.approx(np.mean(np.log(eep)), rel=1e-6)
    assert nleep.nleep(x, y, log=False) == pytest.approx(np.mean(eep), rel=1e-6)


# ---------------------------------------------------------------- H-score family


def _class_mean_matrix(x, y):
    g = np.zeros_like(x)
    for c in np.unique(y):
        g[y == c] = x[y == c].mean(axis=0)
    return g


def test_hscore_textbook_formula():
    x, y = blobs(n=80, d=5, k=4, seed=5)
    g = _class_mean_matrix(x, y)
    truth = np.trace(np.linalg.pinv(np.cov(x, rowvar=False)) @ np.cov(g, rowvar=False))
    assert hscore.hscore(x, y) == pytest.approx(truth, rel=1e-9)


def test_hscore_is_k_minus_1_when_n_le_d():
    # span of the centred features = all centred n-vectors ⊇ the class directions
    x, y = blobs(n=20, d=50, k=4, seed=6)
    assert hscore.hscore(x, y) == pytest.approx(3.0, rel=1e-9)
    # the registered score refuses that tie instead of printing it (n = 20, rank 19)
    with pytest.raises(MetricError, match="saturated: the centred features have rank 19"):
        hscore.hscore_flagged(x, y)
    x, y = blobs(n=80, d=5, k=4, seed=5)  # n > d: the same number as the formula
    assert hscore.hscore_flagged(x, y) == hscore.hscore(x, y)


def test_hscore_google_elementwise_trace():
    x, y = blobs(n=80, d=5, k=4, seed=7)
    g = _class_mean_matrix(x, y)
    truth = np.trace(np.linalg.pinv(np.cov(x, rowvar=False), rcond=1e-5) * np.cov(g, rowvar=False))
    assert hscore.hscore_google(x, y) == pytest.approx(truth, rel=1e-9)


@pytest.mark.parametrize("n,d", [(80, 6), (15, 40)])
def test_ledoit_wolf_shrinkage_matches_sklearn(n, d):
    from sklearn.covariance import LedoitWolf

    x, _ = blobs(n=n, d=d, k=3, seed=8)
    xc = x - x.mean(axis=0)
    assert hscore.ledoit_wolf_shrinkage(xc) == pytest.approx(
        LedoitWolf().fit(x).shrinkage_, rel=1e-9
    )


@pytest.mark.parametrize("n,d", [(80, 6), (15, 40)])
def test_shrinkage_hscore_with_sklearn_ledoitwolf(n, d):
    from sklearn.covariance import LedoitWolf

    x, y = blobs(n=n, d=d, k=3, seed=9)
    lw = LedoitWolf().fit(x)
    g = _class_mean_matrix(x, y)
    cov_g = np.cov(g, rowvar=False, bias=True)
    truth = np.trace(np.linalg.inv(lw.covariance_) @ ((1 - lw.shrinkage_) * cov_g))
    assert hscore.hscore_shrinkage(x, y) == pytest.approx(truth, rel=1e-8)


# ---------------------------------------------------------------- GBC


def test_gbc_matrix_form():
    from sklearn.decomposition import PCA

    x, y = blobs(n=61, d=5, k=4, sep=1.0, seed=10)  # class 0 has 16 samples, others 15
    y = y.copy()
    y[0] = 3  # keep classes unbalanced
    z = PCA(svd_solver="full").fit_transform(x)  # d = 5 < 64: PCA keeps all dims (a rotation)
    stats = []
    for c in range(4):
        zc = z[y == c]
        stats.append((zc.mean(axis=0), np.diag(np.maximum(zc.var(axis=0), 1e-4))))
    total = 0.0
    for i in range(4):
        for j in range(4):
            if i == j:
                continue
            (m1, s1), (m2, s2) = stats[i], stats[j]
            s = (s1 + s2) / 2
            dist = (m1 - m2) @ np.linalg.inv(s) @ (m1 - m2) / 8 + 0.5 * np.log(
                np.linalg.det(s) / np.sqrt(np.linalg.det(s1) * np.linalg.det(s2))
            )
            total += np.exp(-dist)
    assert gbc.gbc(x, y) == pytest.approx(-total, rel=1e-9)


def test_gbc_one_sample_class_uses_variance_floor():
    x, y = blobs(n=31, d=3, k=3, seed=11)
    y = y.copy()
    y[-1] = 3  # class 3 has a single sample: variance floored at 1e-4, still a number
    assert np.isfinite(gbc.gbc(x, y))


def test_gbc_spherical_follows_the_released_code():
    """gaussian_type='spherical': one variance per class (the mean of the floored per-dimension
    variances), and the log term of D_B counted once, as the released code sums a scalar there."""
    from sklearn.decomposition import PCA

    x, y = blobs(n=52, d=6, k=4, sep=1.0, seed=21)
    z = PCA(svd_solver="full").fit_transform(x)
    mus = [z[y == c].mean(axis=0) for c in range(4)]
    vs = [np.maximum(z[y == c].var(axis=0), 1e-4).mean() for c in range(4)]
    total = 0.0
    for i in range(4):
        for j in range(4):
            if i != j:
                avg = (vs[i] + vs[j]) / 2
                dist = np.sum((mus[i] - mus[j]) ** 2 / avg) / 8 + 0.5 * (
                    np.log(avg) - 0.5 * np.log(vs[i]) - 0.5 * np.log(vs[j])
                )
                total += np.exp(-dist)
    assert gbc.gbc(x, y, gaussian="spherical") == pytest.approx(-total, rel=1e-9)
    assert gbc.gbc(x, y, gaussian="spherical") != pytest.approx(gbc.gbc(x, y), rel=1e-3)
    with pytest.raises(ValueError, match="gaussian"):
        gbc.gbc(x, y, gaussian="full")


# ---------------------------------------------------------------- TransRate


def _rate(z, eps2):
    m, d = z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + z.T @ z / (m * eps2))[1]


def test_transrate_paper_form():
    x, y = blobs(n=45, d=7, k=3, seed=12)
    y = y.copy()
    y[:5] = 0  # unequal class sizes so that n_c/n ≠ 1/K matters
    z = x - x.mean(axis=0)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    truth = _rate(z, 1e-4) - sum(np.mean(y == c) * _rate(z[y == c], 1e-4) for c in range(3))
    assert transrate.transrate(x, y) == pytest.approx(truth, rel=1e-9)


def test_transrate_tllib_form():
    x, y = blobs(n=45, d=7, k=3, seed=12)
    y = y.copy()
    y[:5] = 0
    z = x - x.mean(axis=0)
    truth = _rate(z, 1e-4) - sum(_rate(z[y == c], 1e-4) for c in range(3)) / 3
    assert transrate.transrate_tllib(x, y) == pytest.approx(truth, rel=1e-9)


@pytest.mark.parametrize("n,d", [(45, 7), (20, 30)])
def test_transrate_released_form(n, d):
    """Normalise, centre, normalise again; rates with all eigenvalues; divided by numpy's rank of
    ZᵀZ/n (computed here on the dense d x d matrix)."""
    x, y = blobs(n=n, d=d, k=3, seed=12)
    y = y.copy()
    y[:5] = 0
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    z = z - z.mean(axis=0)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    raw = _rate(z, 1e-4) - sum(np.mean(y == c) * _rate(z[y == c], 1e-4) for c in range(3))
    truth = raw / np.linalg.matrix_rank(z.T @ z / n)
    assert transrate.transrate_released(x, y) == pytest.approx(truth, rel=1e-9)
    assert np.linalg.matrix_rank(z.T @ z / n) == min(n - 1, d)


# ---------------------------------------------------------------- PARC


def test_parc_against_sklearn_and_scipy():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x, y = blobs(n=50, d=40, k=5, sep=0.8, seed=13)
    z = StandardScaler().fit_transform(PCA(n_components=32, svd_solver="full").fit_transform(x))
    rdm_f = 1 - np.corrcoef(z)
    rdm_y = np.round(1 - np.corrcoef(np.eye(5)[y]), 12)  # exact ties: 0 or 5/4
    iu = np.triu_indices(50, 1)
    truth = 100 * spearmanr(rdm_f[iu], rdm_y[iu])[0]
    assert parc.parc(x, y) == pytest.approx(truth, rel=1e-9)


# ---------------------------------------------------------------- SFDA


def _fisher_posterior(x, y, k, lam, tau_trace=False):
    """Bayes classifier in the (K-1)-dim regularised Fisher space, by the paper's recipe."""
    n, d = x.shape
    means = np.array([x[y == c].mean(axis=0) for c in range(k)])
    priors_ = np.array([np.mean(y == c) for c in range(k)])
    mu = x.mean(axis=0)
    sw = sum(
        priors_[c] * np.cov(x[y == c], rowvar=False, bias=True).reshape(d, d) for c in range(k)
    )
    sb = sum(priors_[c] * np.outer(means[c] - mu, means[c] - mu) for c in range(k))
    tau = np.trace(sw) / d if tau_trace else 1.0
    sw_reg = (1 - lam) * sw + lam * tau * np.eye(d)
    evals, evecs = linalg.eigh(sb, sw_reg)
    u = evecs[:, np.argsort(evals)[::-1][: k - 1]]
    xt, mt = x @ u, means @ u
    delta = xt @ mt.T - 0.5 * np.sum(mt**2, axis=1) + np.log(priors_)
    return delta - logsumexp(delta, axis=1, keepdims=True)


def _confmix(x, y, k, p):
    means = np.array([x[y == c].mean(axis=0) for c in range(k)])
    out = x.copy()
    for i in range(len(y)):
        others = np.mean([means[c] for c in range(k) if c != y[i]], axis=0)
        out[i] = p[i] * x[i] + (1 - p[i]) * others
    return out


def test_sfda_paper_form_via_explicit_fisher_projection():
    x, y = blobs(n=60, d=5, k=4, sep=0.8, seed=14, scale=0.3)  # σ_max(S_w) small: λ not floored
    k, idx = 4, np.arange(60)
    xw = x - np.array([x[y == c].mean(axis=0) for c in range(k)])[y]
    lam = np.exp(-5 * np.linalg.eigvalsh(xw.T @ xw / 60).max())
    assert lam > 0.3  # the regularisation is exercised
    logp = _fisher_posterior(x, y, k, lam)
    mixed = _confmix(x, y, k, np.exp(logp[idx, y]))
    truth = np.mean(_fisher_posterior(mixed, y, k, lam)[idx, y])
    assert sfda.sfda(x, y) == pytest.approx(truth, rel=1e-9)


def test_sfda_flags_saturation_instead_of_tying_backbones_at_its_bound():
    """n < d with λ at its floor: sklearn's LDA itself gives every image probability 1.0 of its
    class (float64), so the score could only tie backbones at 0 (paper) / 1 (released code)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA

    x, y = blobs(n=30, d=200, k=3, sep=3.0, seed=19, scale=10.0)
    sw = sum(np.mean(y == c) * np.cov(x[y == c], rowvar=False, bias=True) for c in range(3))
    assert np.exp(-5 * _iterative_a(sw)) < 1e-10  # λ is floored
    prob = LDA(solver="eigen", shrinkage=1e-10).fit(x, y).predict_proba(x)
    assert np.all(prob[np.arange(30), y] == 1.0)
    for score in (sfda.sfda, sfda.sfda_reference):
        with pytest.raises(MetricError, match="saturated"):
            score(x, y)
    # with more images than dimensions (60, 5) the classes overlap: not saturated, still scored
    x2, y2 = blobs(n=60, d=5, k=3, sep=1.0, seed=19)
    assert sfda.sfda(x2, y2) < -1e-6 and sfda.sfda_reference(x2, y2) < 1 - 1e-6


class _RidgeCov:
    """Covariance estimator for sklearn's LDA: (1 - λ)·cov + λ·I (SFDA's paper regulariser)."""

    def __init__(self, lam):
        self.lam = lam

    def fit(self, x):
        c = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
        self.covariance_ = (1 - self.lam) * c + self.lam * np.eye(c.shape[0])
        return self

    def get_params(self, deep=True):
        return {"lam": self.lam}


def test_regularised_lda_posterior_matches_sklearn_lda():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA

    x, y = blobs(n=70, d=6, k=3, sep=0.7, seed=15, scale=0.5)
    logp, lam = sfda.regularised_lda_log_posterior(x, y, 3, lam=0.2)
    ref = LDA(solver="lsqr", covariance_estimator=_RidgeCov(0.2)).fit(x, y).predict_log_proba(x)
    np.testing.assert_allclose(logp, ref, rtol=1e-8, atol=1e-10)
    logp, _ = sfda.regularised_lda_log_posterior(x, y, 3, lam=0.2, target="trace")
    ref = LDA(solver="eigen", shrinkage=0.2).fit(x, y).predict_log_proba(x)
    np.testing.assert_allclose(logp, ref, rtol=1e-8, atol=1e-10)


def _iterative_a(a, iterations=3):
    """The released SFDA code's power iteration, on an explicit matrix."""
    v = a.sum(axis=1)
    for _ in range(iterations):
        t = a @ v
        w = t / np.linalg.norm(t)
        t = a @ w
        v = t / np.linalg.norm(t)
    return v @ a @ w


def test_sfda_reference_form_via_sklearn_lda():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA

    x, y = blobs(n=60, d=5, k=4, sep=0.8, seed=16, scale=0.3)
    k, idx = 4, np.arange(60)
    sw = sum(np.mean(y == c) * np.cov(x[y == c], rowvar=False, bias=True) for c in range(k))
    lam = max(np.exp(-5 * _iterative_a(sw)), 1e-10)
    prob = LDA(solver="eigen", shrinkage=lam).fit(x, y).predict_proba(x)
    soft = softmax(prob, axis=1)  # the released code's "soften" step
    mixed = _confmix(x, y, k, soft[idx, y])
    prob2 = LDA(solver="eigen", shrinkage=lam).fit(mixed, y).predict_proba(mixed)
    assert sfda.sfda_reference(x, y) == pytest.approx(np.mean(prob2[idx, y]), rel=1e-9)


# ---------------------------------------------------------------- ETran


def test_etran_subscores():
    x, y = blobs(n=60, d=5, k=3, sep=0.8, seed=17, scale=0.4)
    sub = etran.etran_subscores(x, y)
    assert sub["energy"] == pytest.approx(np.mean(np.log(np.exp(x).sum(axis=1))), rel=1e-12)
    logp, _ = sfda.regularised_lda_log_posterior(x, y, 3)
    assert sub["lda"] == pytest.approx(np.mean(logp[np.arange(60), y]), rel=1e-12)
    onehot = np.eye(3)[y]
    beta = np.linalg.lstsq(x, onehot, rcond=None)[0]
    assert sub["svd"] == pytest.approx(-np.mean((x @ beta - onehot) ** 2), rel=1e-9)


def test_etran_reference_lda_is_nearest_mean_because_of_eigh():
    """The released code's eigh on a non-symmetric matrix makes its LDA a nearest-mean softmax."""
    x, y = blobs(n=60, d=5, k=3, sep=0.8, seed=18)
    n, d, k = 60, 5, 3
    means = np.array([x[y == c].mean(axis=0) for c in range(k)])
    priors_ = np.array([np.mean(y == c) for c in range(k)])
    sw = sum(priors_[c] * np.cov(x[y == c], rowvar=False, bias=True) for c in range(k))
    st = np.cov(x, rowvar=False, bias=True)
    lam = 1e-10
    shrunk = (1 - lam) * sw + lam * np.trace(sw) / d * np.eye(d)
    _, evecs = np.linalg.eigh(np.linalg.inv(shrunk) @ (st - shrunk))  # as in their LDA class
    coef = means @ evecs @ evecs.T
    np.testing.assert_allclose(coef, means, atol=1e-10)
    logits = x @ coef.T - 0.5 * np.sum(coef * means, axis=1) + np.log(priors_)
    prob = softmax(logits, axis=1)[np.arange(n), y]
    lse = np.sort(logsumexp(x, axis=1))
    sub = etran.etran_reference_subscores(x, y)
    assert sub["lda"] == pytest.approx(prob.mean(), rel=1e-10)
    assert sub["energy"] == pytest.approx(lse[:1].mean(), rel=1e-12)  # 5·60//1000 = 0 → 1 sample


# ---------------------------------------------------------------- NCTI


def test_ncti_subscores_explicit():
    from sklearn.decomposition import PCA

    x, y = blobs(n=60, d=5, k=3, sep=0.8, seed=19, scale=0.4)
    n, k = 60, 3
    z = PCA(svd_solver="full").fit_transform(x)  # d = 5: all components kept
    var = PCA(svd_solver="full").fit(x).explained_variance_
    shrink = np.exp(-var[:32].sum())
    assert shrink > 1e-10  # the shrinkage (eigen) branch
    d = z.shape[1]
    means = np.array([z[y == c].mean(axis=0) for c in range(k)])
    priors_ = np.array([np.mean(y == c) for c in range(k)])
    covs = [np.cov(z[y == c], rowvar=False, bias=True) for c in range(k)]
    sigma = sum(
        priors_[c] * ((1 - shrink) * covs[c] + shrink * np.trace(covs[c]) / d * np.eye(d))
        for c in range(k)
    )
    w = np.linalg.solve(sigma, means.T)
    logits = z @ w - 0.5 * np.sum(means * w.T, axis=1) + np.log(priors_)
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    post = np.exp(logp)
    # the code's LDA (sklearn, eigen solver) takes S_b = shrunk(S_t) - shrunk(S_w)
    st = np.cov(z, rowvar=False, bias=True)
    st = (1 - shrink) * st + shrink * np.trace(st) / d * np.eye(d)
    evals, evecs = linalg.eigh(st - sigma, sigma)
    proj = z @ evecs[:, np.argsort(evals)[::-1][: k - 1]]
    proj -= proj.mean(axis=0)
    nuc = lambda a: np.linalg.svd(a, compute_uv=False).sum()  # noqa: E731
    sub = ncti.ncti_subscores(x, y)
    assert sub["seli"] == pytest.approx(nuc(proj), rel=1e-7)
    assert sub["ncc"] == pytest.approx(np.mean(logp[np.arange(n), y]), rel=1e-8)
    assert sub["ncc_nolog"] == pytest.approx(np.mean(post[np.arange(n), y]), rel=1e-8)
    assert sub["vc"] == pytest.approx(-np.log(sum(nuc(post[y == c]) for c in range(k))), rel=1e-8)


# ---------------------------------------------------------------- priors


def test_linear_probe_explicit_folds():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    x, y = blobs(n=60, d=4, k=3, sep=0.6, seed=20)
    accs = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        sc = StandardScaler().fit(x[tr])
        clf = LogisticRegression(C=1.0, max_iter=200).fit(sc.transform(x[tr]), y[tr])
        accs.append(np.mean(clf.predict(sc.transform(x[te])) == y[te]))
    assert linear.linear_probe_accuracy(x, y) == pytest.approx(np.mean(accs), abs=1e-12)


def test_priors_read_model_info():
    assert priors.imagenet_top1({"imagenet_top1": 76.13, "param_count": 10}) == 76.13
    assert priors.param_count({"imagenet_top1": None, "param_count": 25_557_032}) == 25_557_032
    with pytest.raises(MetricError, match="unknown"):
        priors.imagenet_top1({"imagenet_top1": None, "param_count": 10})


def test_knn_explicit_folds():
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier

    from modelrank.metrics import knn

    x, y = blobs(n=60, d=4, k=3, sep=0.6, seed=21)
    accs = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        clf = KNeighborsClassifier(n_neighbors=5, metric="cosine").fit(x[tr], y[tr])
        accs.append(np.mean(clf.predict(x[te]) == y[te]))
    assert knn.knn_accuracy(x, y) == pytest.approx(np.mean(accs), abs=1e-12)


def test_log_softmax_keeps_a_probability_near_one_distinguishable_from_one():
    import math

    from modelrank.metrics._common import log_softmax

    z = np.array([[0.0, -63.0, -70.0], [800.0, 0.0, -5.0], [1.0, 2.0, 3.0]])
    out = log_softmax(z)
    assert out[0, 0] == pytest.approx(-math.log1p(math.exp(-63) + math.exp(-70)), rel=1e-12)
    assert out[0, 0] < 0.0  # z - logsumexp(z) rounds it to exactly 0
    assert out[1, 0] == 0.0 and out[1, 1] == -800.0  # a real underflow stays exact
    np.testing.assert_allclose(out[2], [1, 2, 3] - np.log(np.exp([1, 2, 3]).sum()), rtol=1e-14)
