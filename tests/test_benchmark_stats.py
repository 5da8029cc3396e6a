"""Benchmark statistics: half-samples, replicate taus, seed spread, the leave-one-target-out
prior, against hand-computed values and scipy."""

import numpy as np
import pytest
from scipy import stats

from modelrank.benchmark_stats import (
    bootstrap_scores,
    interval,
    loto_prior,
    pool_scores,
    replicate_tau,
    seed_spread,
    stratified_half_sample,
    weighted_tau,
)
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
    means = [
        x[stratified_half_sample(y, np.random.default_rng([0, r]))].mean() for r in range(4000)
    ]
    assert np.var(means) == pytest.approx(x.var(ddof=1) / 400, rel=0.08)


def test_replicate_tau_is_scipys_weighted_tau_and_nan_when_a_backbone_is_missing():
    accs = {"a": 70.0, "b": 60.0, "c": 80.0, "d": 50.0}
    tables = [
        {"s": {"a": 3.0, "b": 2.0, "c": 4.0, "d": 1.0}},
        {"s": {"a": 1.0, "b": 2.0, "c": 4.0, "d": 3.0}},
        {"s": {"a": 1.0, "b": 2.0, "c": 4.0}},
    ]
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
    accs = {
        "t1": {"a": 10.0, "b": 20.0},
        "t2": {"a": 30.0, "b": 40.0, "c": 1.0},
        "t3": {"a": 50.0, "b": 0.0, "c": 2.0},
    }
    assert loto_prior(accs, "t1") == {"a": 40.0, "b": 20.0, "c": 1.5}
    assert loto_prior(accs, "t2") == {"a": 30.0, "b": 10.0}  # c has no accuracy on t1
    assert loto_prior({"t1": accs["t1"], "t2": accs["t2"]}, "t1") == {}  # needs 3 targets


def test_bootstrap_scores_recompute_each_score_on_the_half_sample():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    inputs = {
        m: MetricInputs(features=rng.normal(size=(30, 4)) + y[:, None] * k, labels=y)
        for k, m in enumerate(["a", "b", "c"])
    }
    specs = [get_metric("logme"), get_metric("knn")]
    tables = bootstrap_scores(specs, inputs, replicates=3, seed=7)
    idx = stratified_half_sample(y, np.random.default_rng([7, 1]))
    by_hand = get_metric("logme").compute(
        MetricInputs(features=inputs["b"].features[idx], labels=y[idx])
    )
    assert tables[1]["logme"]["b"] == pytest.approx(by_hand)
    full = pool_scores(specs, inputs)
    assert full["logme"]["b"] == pytest.approx(get_metric("logme").compute(inputs["b"]))
    assert tables[0]["logme"]["b"] != full["logme"]["b"]


# -- joint resamples of images and seeds (issue 29, item 3)


def _toy_truth(rng, noise_sd, seeds=4, models=6, targets=("a", "b", "c")):
    true = {m: 70.0 + 0.5 * i for i, m in enumerate(f"m{i}" for i in range(models))}
    return {
        t: {m: list(v + rng.normal(0, noise_sd, seeds)) for m, v in true.items()} for t in targets
    }


def test_pivot_interval_always_contains_its_point():
    from modelrank.benchmark_stats import pivot_interval

    rng = np.random.default_rng(0)
    for _ in range(300):
        reps = rng.normal(rng.uniform(-1, 1), rng.uniform(0, 0.5), rng.integers(10, 80))
        point = float(rng.uniform(-1, 1))
        lo, hi, n = pivot_interval(point, reps)
        assert -1 <= lo <= point <= hi <= 1 and n == reps.size
    # by hand: replicates 0..100 have median 50 and 2.5/97.5 % points 2.5/97.5
    lo, hi, _ = pivot_interval(0.0, np.arange(101) / 100.0)
    assert (lo, hi) == pytest.approx((-0.475, 0.475))
    assert np.isnan(pivot_interval(0.1, np.ones(5))[0])


def test_joint_replicates_without_seed_noise_are_the_image_only_replicates():
    from modelrank.benchmark_stats import joint_tau_replicates, replicate_tau

    rng = np.random.default_rng(1)
    models = [f"m{i}" for i in range(6)]
    per_seed = {"a": {m: [60.0 + 2 * i] * 4 for i, m in enumerate(models)}}
    tables = [{"s": {m: float(rng.normal()) for m in models}} for _ in range(20)]
    joint = joint_tau_replicates(
        per_seed=per_seed,
        image_tables={"a": tables},
        fixed={},
        complete={"a": {"s": models}},
        pool=models,
        replicates=20,
        seed=0,
    )
    acc = {m: v[0] for m, v in per_seed["a"].items()}
    plain = replicate_tau(tables, acc, complete=models)
    assert np.array_equal(joint["s"]["a"], plain["s"])


def test_a_static_prior_gets_the_ground_truths_noise_and_loto_is_recomputed_per_replicate():
    from modelrank.benchmark_stats import joint_tau_replicates, loto_prior, resample_seeds
    from modelrank.correlation import weighted_tau

    models = [f"m{i}" for i in range(6)]
    prior = {m: float(i) for i, m in enumerate(models)}
    widths = []
    for noise in (0.0, 1.0, 4.0):
        per_seed = _toy_truth(np.random.default_rng(2), noise)
        fixed = {t: {"prior": prior} for t in per_seed}
        complete = {t: {"prior": models} for t in per_seed}
        reps = joint_tau_replicates(
            per_seed=per_seed,
            image_tables={},
            fixed=fixed,
            complete=complete,
            pool=models,
            replicates=40,
            seed=3,
            loto_name="loto",
        )
        widths.append(np.ptp(reps["prior"]["a"]))
        r = 7  # replicate 7 by hand
        acc = resample_seeds(per_seed, np.random.default_rng([3, r, 1]))
        assert reps["prior"]["a"][r] == pytest.approx(weighted_tau(prior, acc["a"]))
        assert reps["loto"]["b"][r] == pytest.approx(weighted_tau(loto_prior(acc, "b"), acc["b"]))
    assert widths[0] == 0 and 0 < widths[1] < widths[2]


def test_resampling_seeds_keeps_a_single_measurement_and_draws_from_the_seeds():
    from modelrank.benchmark_stats import resample_seeds

    rng = np.random.default_rng(4)
    out = resample_seeds({"t": {"one": [71.0], "many": [1.0, 2.0, 3.0, 4.0]}}, rng)
    assert out["t"]["one"] == 71.0
    draws = [resample_seeds({"t": {"x": [1.0, 2.0, 3.0, 4.0]}}, rng)["t"]["x"] for _ in range(400)]
    assert np.mean(draws) == pytest.approx(2.5, abs=0.06)  # the mean of the seeds
    assert np.std(draws) == pytest.approx(np.std([1, 2, 3, 4]) / 2, rel=0.15)  # σ/√n
