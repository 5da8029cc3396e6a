"""Decay scores over depth, and the topological metrics built on them.

θ is checked against the ridge normal equations solved here with numpy; the alternatives against
closed-form values on curves whose answer is known by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from modelrank.errors import MetricError
from modelrank.metrics.betti import omega_curve_cubical, omega_curve_rips
from modelrank.metrics.registry import MetricInputs, get_metric
from modelrank.topology import pointclouds as pc
from modelrank.topology.decay import auc_decay, exp_decay_rate, omega, theta


def theta_by_hand(curve) -> float:
    """Ridge with unpenalised intercept: centre, then solve (XᵀX + αI) c = Xᵀy by least squares."""
    y = np.asarray(curve, dtype=np.float64)
    y = y / np.sqrt(np.sum(y**2))
    x = np.arange(1, y.size + 1, dtype=np.float64)
    X = np.c_[x, x**2, x**3]
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    A = np.r_[Xc, np.sqrt(1e-3) * np.eye(3)]  # ||Xc c - yc||² + α||c||² as one lstsq
    b = np.r_[yc, np.zeros(3)]
    c = np.linalg.lstsq(A, b, rcond=None)[0]
    return c[0] + 0.5 * c[1] + 0.5 * c[2]


@pytest.mark.parametrize(
    "curve",
    [
        [10, 8, 7, 3],
        [120.0, 300.0, 250.0, 90.0, 40.0, 12.0, 5.0, 3.0, 2.0, 1.0, 1.0],
        list(np.exp(-np.linspace(0, 3, 19)) * 1000 + np.arange(19) % 3),
    ],
)
def test_theta_against_hand_ridge(curve):
    assert theta(curve) == pytest.approx(theta_by_hand(curve), rel=1e-6, abs=1e-9)


def test_theta_is_scale_invariant_and_ranks_decay():
    base = np.exp(-np.linspace(0, 1, 12))
    assert theta(7.5 * base) == pytest.approx(theta(base))
    fast = np.exp(-4 * np.linspace(0, 1, 12))
    slow = np.exp(-1 * np.linspace(0, 1, 12))
    assert theta(fast) < theta(slow)


def test_auc_closed_forms():
    assert auc_decay([1, 1, 1, 1]) == pytest.approx(1.0)
    assert auc_decay([4, 3, 2, 1, 0]) == pytest.approx(0.5)  # a straight line to zero
    assert auc_decay([2, 0]) == pytest.approx(0.5)
    assert auc_decay([0, 5, 0]) == pytest.approx(0.5)  # triangle; max-normalised
    assert auc_decay([10, 20, 5]) == auc_decay([1, 2, 0.5])


def test_exp_rate_recovers_true_rates():
    t = np.linspace(0, 1, 19)
    for r in (0.5, 2.0, 5.0, -1.0):
        assert exp_decay_rate(300 * np.exp(-r * t)) == pytest.approx(r, abs=1e-4)
    assert exp_decay_rate([1, 1, 1, 1]) == pytest.approx(0.0, abs=1e-6)


def test_alternatives_rank_faster_decay_better():
    t = np.linspace(0, 1, 15)
    curves = [np.exp(-r * t) * 100 + 1 for r in (0.5, 1, 2, 4, 8)]  # slow -> fast
    aucs = [auc_decay(c) for c in curves]
    rates = [exp_decay_rate(c) for c in curves]
    assert np.all(np.diff(aucs) < 0)  # lower area = faster simplification
    assert np.all(np.diff(rates) > 0)  # higher rate = faster simplification
    # a monotone curve vs one that stays high longer
    quick = [100, 20, 5, 2, 1, 1]
    late = [100, 90, 80, 60, 5, 1]
    assert auc_decay(quick) < auc_decay(late)
    assert exp_decay_rate(quick) > exp_decay_rate(late)


@pytest.mark.parametrize("fn", [theta, auc_decay, exp_decay_rate])
def test_degenerate_curves_raise(fn):
    with pytest.raises(ValueError, match="zero at every layer"):
        fn(np.zeros(6))
    with pytest.raises(ValueError, match="NaN"):
        fn([1.0, np.nan, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        fn([1.0, -1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="1-D"):
        fn(np.ones((3, 4)))
    with pytest.raises(ValueError, match="at least"):
        fn([1.0])


def test_theta_needs_four_layers():
    with pytest.raises(ValueError, match="at least 4 layers"):
        theta([3, 2, 1])
    assert auc_decay([3, 2, 1]) > 0  # the alternatives work from 2 layers


def test_omega_sums_the_last_axis():
    b = np.arange(24).reshape(2, 4, 3)
    assert np.array_equal(omega(b), b[..., 0] + b[..., 1] + b[..., 2])


# ------------------------------------------------------------------------------------------
# registered metrics
# ------------------------------------------------------------------------------------------


def _cubical_inputs():
    rng = np.random.default_rng(0)
    n, L = 10, 6
    betti = rng.integers(0, 50, (n, L, 3))
    labels = np.array([0] * 7 + [1] * 3)
    return betti, labels


def test_omega_curve_cubical_by_hand():
    betti, labels = _cubical_inputs()
    tot = betti.sum(axis=2)
    want = (tot[:7].mean(axis=0) + tot[7:].mean(axis=0)) / 2  # classes weigh equally
    np.testing.assert_allclose(omega_curve_cubical(betti, labels), want)
    with pytest.raises(MetricError):
        omega_curve_cubical(betti[:, :, :2], labels)
    with pytest.raises(MetricError):
        omega_curve_cubical(betti, labels[:5])


def test_cubical_metrics_registered():
    betti, labels = _cubical_inputs()
    inp = MetricInputs(cubical_betti=betti, labels=labels)
    tot = betti.sum(axis=2)
    curve = (tot[:7].mean(axis=0) + tot[7:].mean(axis=0)) / 2
    spec = get_metric("betti-cubical")
    assert spec.higher_is_better is False
    assert spec.needs == frozenset({"cubical_betti", "labels"})
    assert spec.compute(inp) == pytest.approx(theta_by_hand(curve), rel=1e-6)
    assert get_metric("betti-cubical-auc").higher_is_better is False
    assert get_metric("betti-cubical-auc").compute(inp) == pytest.approx(auc_decay(curve))
    assert get_metric("betti-cubical-exp").higher_is_better is True
    assert get_metric("betti-cubical-exp").compute(inp) == pytest.approx(exp_decay_rate(curve))
    short = MetricInputs(cubical_betti=betti[:, :3], labels=labels)
    with pytest.raises(MetricError, match="at least 4 layers"):
        spec.compute(short)


def test_rips_metric_on_known_shapes():
    # Layer 1: class 0 = circle (1,1), class 1 = two linked circles (2,2) -> Ω = (2 + 4) / 2 = 3.
    # Later layers "simplify": class clouds become blobs (1,0) -> Ω = 1.
    rng = np.random.default_rng(1)
    c0 = np.c_[pc.circle(300, noise=0.02, seed=1), np.zeros(300)]
    c1 = pc.linked_circles(300, noise=0.02, seed=2)
    labels = np.r_[np.zeros(300, int), np.ones(300, int)]
    blob = rng.standard_normal((600, 3))
    feats = {"l1": np.r_[c0, c1], "l2": blob, "l3": blob * 2, "l4": blob[:, :2]}
    omega_curve, betti = omega_curve_rips(feats, labels, max_points=250)
    assert betti.shape == (4, 2, 2)
    assert tuple(betti[0, 0]) == (1, 1) and tuple(betti[0, 1]) == (2, 2)
    assert np.all(betti[1:, :, 0] == 1) and np.all(betti[1:, :, 1] == 0)
    np.testing.assert_allclose(omega_curve, [3, 1, 1, 1])
    spec = get_metric("betti-rips")
    assert spec.higher_is_better is False
    inp = MetricInputs(layer_features=feats, labels=labels)
    assert spec.compute(inp) == pytest.approx(theta_by_hand(omega_curve_rips(feats, labels)[0]))


def test_every_omega_is_the_one_of_topology_omega():
    """One definition of Ω (topology/omega.py) behind the score, the leaderboard and the CLI:
    class means of b0 + b1 + b2 (classes weigh equally), by hand on 3 images of 2 classes."""
    from modelrank.leaderboard import omega_from_arrays
    from modelrank.topology.omega import class_means, omega_curve

    betti = np.array(
        [
            [[1, 0, 0], [2, 1, 0]],  # class 7: Ω = 1, 3
            [[3, 0, 0], [0, 0, 0]],  # class 7: Ω = 3, 0
            [[5, 2, 1], [1, 1, 1]],
        ]
    )  # class 2: Ω = 8, 3
    labels = np.array([7, 7, 2])  # any label values; sorted: class 2 first
    want = np.array([(8 + (1 + 3) / 2) / 2, (3 + (3 + 0) / 2) / 2])
    np.testing.assert_allclose(omega_curve(betti, labels), want, rtol=0, atol=1e-15)
    means = class_means(betti, labels)
    np.testing.assert_allclose(means[0], betti[2])
    np.testing.assert_allclose(means[1], betti[:2].mean(axis=0))
    np.testing.assert_allclose(omega_curve(means), want, atol=1e-15)  # from class means
    np.testing.assert_allclose(omega_curve_cubical(betti, np.array([1, 1, 0])), want, atol=1e-15)
    np.testing.assert_allclose(omega_from_arrays({"cubical_betti": betti, "labels": labels}), want)
    np.testing.assert_allclose(omega_from_arrays({"betti_per_class_mean": means}), want)
    assert omega_from_arrays({"cubical_betti": betti[0], "labels": labels}) is None
