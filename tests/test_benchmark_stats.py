"""Benchmark statistics: half-samples, replicate taus, seed spread, the leave-one-target-out
prior, against hand-computed values and scipy."""

import numpy as np
import pytest
from scipy import stats

from modelrank.benchmark_stats import (bootstrap_scores, interval, loto_prior, pool_scores,
                                       replicate_tau, seed_spread, stratified_half_sample,
                                       weighted_tau)
from modelrank.metrics import get_metric
from modelrank.metrics.registry import MetricInputs


def test_half_samples_keep_half_of_every_class_without_repeats():
    y = np.array([0] * 10 + [1] * 7 + [2] * 3)
    idx = stratified_half_sample(y, np.random.default_rng(0))
    assert len(set(idx.tolist())) == idx.size  # no image twice
    assert np.bincount(y[idx]).tolist() == [5, 4, 2]  # round(3.5) = 4; at least 2
    again = stratified_half_sample(y, np.random.default_rng(0))
    assert np.array_equal(idx, again)


def test_half_sample_variance_of_a_mean_matches_a_fresh_draw():
    # McCarthy's half-sampling: Var(mean of n/2 drawn without replacement) = s^2 / n
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    y = np.zeros(400, int)
    means = [x[stratified_half_sample(y, np.random.default_rng([0, r]))].mean() for r in range(4000)]
    assert np.var(means) == pytest.approx(x.var(ddof=1) / 400, rel=0.08)


def test_replicate_tau_is_scipys_weighted_tau_and_nan_when_a_backbone_is_missing():
    accs = {"a": 70.0, "b": 60.0, "c": 80.0, "d": 50.0}
    tables = [{"s": {"a": 3.0, "b": 2.0, "c": 4.0, "d": 1.0}},
              {"s": {"a": 1.0, "b": 2.0, "c": 4.0, "d": 3.0}},
              {"s": {"a": 1.0, "b": 2.0, "c": 4.0}}]
    got = replicate_tau(tables, accs, complete=list(accs))["s"]
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(stats.weightedtau([1, 2, 4, 3], [70, 60, 80, 50])[0])
    assert np.isnan(got[2])
    assert np.isnan(weighted_tau({"a": 1, "b": 1, "c": 1}, accs))  # constant score
    # a score undefined for d on the full sample: its replicates use the other three
    per_score = replicate_tau(tables, accs, complete={"s": ["a", "b", "c"]})["s"]
    assert per_score[2] == pytest.approx(stats.weightedtau([1, 2, 4], [70, 60, 80])[0])
    assert np.isnan(replicate_tau(tables, accs, complete={"other": ["a"]})["s"]).all()


def test_interval_needs_ten_finite_replicates():
    lo, hi, k = interval(np.r_[np.arange(100.0), [np.nan] * 5])
    assert (lo, hi, k) == (pytest.approx(2.475), pytest.approx(96.525), 100)
    assert np.isnan(interval(np.arange(9.0))[0])


def test_seed_spread_by_hand():
    sp = seed_spread({"a": [80.0, 82.0], "b": [81.0, 85.0], "c": [90.0, 90.0]})
    assert sp["half_range"] == {"a": 1.0, "b": 2.0, "c": 0.0}
    # a~b: |81 - 83| = 2 <= 1 + 2; a~c: 9 > 1; b~c: 7 > 2
    assert sp["pairs"] == 3 and sp["pairs_within"] == 1 and sp["within"] == ["a~b"]


def test_loto_prior_is_the_mean_over_the_other_targets():
    accs = {"t1": {"a": 10.0, "b": 20.0}, "t2": {"a": 30.0, "b": 40.0, "c": 1.0},
            "t3": {"a": 50.0, "b": 0.0, "c": 2.0}}
    assert loto_prior(accs, "t1") == {"a": 40.0, "b": 20.0, "c": 1.5}
    assert loto_prior(accs, "t2") == {"a": 30.0, "b": 10.0}  # c has no accuracy on t1
    assert loto_prior({"t1": accs["t1"], "t2": accs["t2"]}, "t1") == {}  # needs 3 targets


def test_bootstrap_scores_recompute_each_score_on_the_half_sample():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    inputs = {m: MetricInputs(features=rng.normal(size=(30, 4)) + y[:, None] * k, labels=y)
              for k, m in enumerate(["a", "b", "c"])}
    specs = [get_metric("logme"), get_metric("knn")]
    tables = bootstrap_scores(specs, inputs, replicates=3, seed=7)
    idx = stratified_half_sample(y, np.random.default_rng([7, 1]))
    by_hand = get_metric("logme").compute(MetricInputs(features=inputs["b"].features[idx],
                                                       labels=y[idx]))
    assert tables[1]["logme"]["b"] == pytest.approx(by_hand)
    full = pool_scores(specs, inputs)
    assert full["logme"]["b"] == pytest.approx(get_metric("logme").compute(inputs["b"]))
    assert tables[0]["logme"]["b"] != full["logme"]["b"]
