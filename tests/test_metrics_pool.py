"""Pool-dependent scores (ETran, NCTI): per-backbone sub-scores combined across the pool.

The combination is checked on hand-made pools against values worked out by hand, and against the
authors' own combination formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

import modelrank.metrics as metrics
from modelrank.errors import MetricError
from modelrank.metrics._common import minmax_sum
from modelrank.metrics.registry import MetricInputs


def test_minmax_sum_by_hand():
    pool = [{"a": 1.0, "b": 10.0}, {"a": 3.0, "b": 0.0}, {"a": 2.0, "b": 2.5}]
    # a → (0, 1, 0.5); b → (1, 0, 0.25)
    assert minmax_sum(("a", "b"))(pool) == pytest.approx([1.0, 1.0, 0.75])
    assert minmax_sum(("a", "b"), weights=(0.15, 0.85))(pool) == pytest.approx(
        [0.85, 0.15, 0.15 * 0.5 + 0.85 * 0.25]
    )
    assert minmax_sum(("a",))(pool) == pytest.approx([0.0, 1.0, 0.5])


def test_constant_subscore_contributes_nothing():
    pool = [{"a": 5.0, "b": 1.0}, {"a": 5.0, "b": 3.0}]
    assert minmax_sum(("a", "b"))(pool) == pytest.approx([0.0, 1.0])
    assert minmax_sum(("a", "b"))([{"a": 1.0, "b": 2.0}]) == [0.0]  # a pool of one
    assert minmax_sum(("a",))([]) == []


def test_missing_or_nonfinite_subscore_raises():
    with pytest.raises(MetricError, match="lacks"):
        minmax_sum(("a", "b"))([{"a": 1.0, "b": 1.0}, {"a": 2.0}])
    with pytest.raises(MetricError, match="not finite"):
        minmax_sum(("a",))([{"a": 1.0}, {"a": float("nan")}])


def test_registered_combines():
    pool = [
        {
            "energy": 7.0,
            "lda": -0.5,
            "svd": -0.2,
            "seli": 100.0,
            "ncc": -0.3,
            "ncc_nolog": 0.8,
            "vc": -5.0,
        },
        {
            "energy": 9.0,
            "lda": -1.5,
            "svd": -0.1,
            "seli": 300.0,
            "ncc": -0.1,
            "ncc_nolog": 0.9,
            "vc": -6.0,
        },
        {
            "energy": 8.0,
            "lda": -1.0,
            "svd": -0.3,
            "seli": 200.0,
            "ncc": -0.2,
            "ncc_nolog": 0.6,
            "vc": -4.0,
        },
    ]
    # etran: energy (0, 1, .5) + lda (1, 0, .5)
    assert metrics.get_metric("etran").combine(pool) == pytest.approx([1.0, 1.0, 1.0])
    # etran-full adds svd (.5, 1, 0)
    assert metrics.get_metric("etran-full").combine(pool) == pytest.approx([1.5, 2.0, 1.0])
    # etran-ref: 0.15·energy + 0.85·lda
    assert metrics.get_metric("etran-ref").combine(pool) == pytest.approx([0.85, 0.15, 0.5])
    # ncti: seli (0, 1, .5) + ncc (0, 1, .5) + vc (.5, 0, 1)
    assert metrics.get_metric("ncti").combine(pool) == pytest.approx([0.5, 2.0, 2.0])
    # ncti-nolog: ncc_nolog (2/3, 1, 0)
    assert metrics.get_metric("ncti-nolog").combine(pool) == pytest.approx([0.5 + 2 / 3, 2.0, 1.5])


def test_ncti_combine_equals_released_formula_plus_one():
    """Their score: mm(seli) + mm(ncc) - mm(log Σ‖P_c‖_*); ours stores vc = -log Σ‖P_c‖_*."""
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((6, 3)) * [50, 0.2, 1.0] + [300, 0.6, 4.0]
    mm = lambda v: (v - v.min()) / (v.max() - v.min())  # noqa: E731
    theirs = mm(raw[:, 0]) + mm(raw[:, 1]) - mm(raw[:, 2])
    pool = [{"seli": a, "ncc_nolog": b, "vc": -c} for a, b, c in raw]
    ours = metrics.get_metric("ncti-nolog").combine(pool)
    np.testing.assert_allclose(ours, theirs + 1.0, rtol=1e-12)


def test_pool_membership_changes_a_models_value():
    """The documented pool dependence: the same backbone's ETran value moves with the pool."""
    rng = np.random.default_rng(1)
    y = np.arange(60) % 3
    feats = [
        rng.standard_normal((3, 6))[y] * s + rng.standard_normal((60, 6)) for s in (0.5, 1.5, 3.0)
    ]
    spec = metrics.get_metric("etran")
    subs = [spec.compute(MetricInputs(f, y)) for f in feats]
    alone = spec.combine(subs[:2])
    joined = spec.combine(subs)
    assert alone[1] != pytest.approx(joined[1])
    assert np.argmax(joined) == 2
