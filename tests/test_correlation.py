"""Rank correlations agree with scipy; rel@k by hand; the published prior numbers reproduce."""

import json
from importlib import resources

import numpy as np
import pytest
from scipy import stats

from modelrank.correlation import correlate, rel_at_k
from modelrank.errors import MetricError


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_scipy_on_random_vectors_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 30))
    s = rng.integers(0, 5, n).astype(float)  # many ties
    a = rng.integers(0, 6, n).astype(float) + 60
    if np.ptp(s) == 0 or np.ptp(a) == 0:
        s[0], a[0] = s[0] + 1, a[0] + 1
    names = [f"m{i}" for i in range(n)]
    c = correlate(dict(zip(names, s)), dict(zip(names, a)))
    assert c["n"] == n
    assert c["weighted_tau"] == pytest.approx(stats.weightedtau(s, a).statistic, nan_ok=True)
    assert c["kendall_tau"] == pytest.approx(stats.kendalltau(s, a).statistic, nan_ok=True)
    assert c["spearman"] == pytest.approx(stats.spearmanr(s, a).statistic, nan_ok=True)
    assert c["pearson"] == pytest.approx(stats.pearsonr(s, a).statistic, nan_ok=True)


def test_rel_at_k_by_hand():
    acc = np.array([90.0, 80.0, 95.0, 70.0])
    score = np.array([0.9, 0.8, 0.1, 0.95])  # ranking: m3 (70), m0 (90), m1 (80), m2 (95)
    assert rel_at_k(score, acc, 1) == pytest.approx(70 / 95)
    assert rel_at_k(score, acc, 3) == pytest.approx(90 / 95)
    assert rel_at_k(score, acc, 4) == 1.0
    assert rel_at_k(-score, acc, 1) == 1.0


def test_only_common_backbones_count_and_too_few_is_an_error():
    c = correlate({"a": 1, "b": 2, "c": 3, "x": 9}, {"a": 10, "b": 20, "c": 30, "y": 1})
    assert c["n"] == 3 and c["spearman"] == pytest.approx(1.0)
    with pytest.raises(MetricError, match="at least 3"):
        correlate({"a": 1, "b": 2}, {"a": 1, "b": 2})


def test_imagenet_top1_prior_reproduces_the_published_weighted_tau():
    """docs/methods.md §5: ranking group1 by ImageNet top-1 gives 0.252 on Flowers, 0.654 on average."""
    import torchvision.models as tvm

    gt = json.loads(
        (resources.files("modelrank") / "published" / "ground_truth_sfda.json").read_text()
    )
    pool = gt["group1_supervised"]
    top1 = {
        m: tvm.get_model_weights(m)["IMAGENET1K_V1"].meta["_metrics"]["ImageNet-1K"]["acc@1"]
        for m in pool["flowers"]
    }
    taus = {d: correlate(top1, acc)["weighted_tau"] for d, acc in pool.items()}
    assert len(taus) == 11
    assert round(taus["flowers"], 3) == 0.252
    assert round(float(np.mean(list(taus.values()))), 3) == 0.654


def test_two_arrays_are_paired_by_position_as_scipy_takes_them():
    rng = np.random.default_rng(5)
    s, a = rng.normal(size=9), rng.uniform(50, 90, size=9)
    got = correlate(s, a)
    assert got["n"] == 9
    assert got["weighted_tau"] == stats.weightedtau(s, a)[0]
    assert got["kendall_tau"] == stats.kendalltau(s, a)[0]
    assert got == correlate(dict(zip("abcdefghi", s)), dict(zip("abcdefghi", a)))
    assert correlate(list(s), list(a)) == got
    with pytest.raises(MetricError, match="same length, got 9 and 8"):
        correlate(s, a[:8])
    with pytest.raises(MetricError, match="both be mappings or both be sequences"):
        correlate(dict(zip("abcdefghi", s)), a)
    with pytest.raises(MetricError, match="1-D sequence"):
        correlate(np.ones((3, 3)), np.ones((3, 3)))


def test_one_weighted_tau_for_mappings_and_sequences():
    from modelrank.benchmark_stats import weighted_tau as from_stats
    from modelrank.correlation import weighted_tau

    s, a = [0.3, 0.1, 0.7, 0.2, 0.9], [71.0, 60.0, 80.0, 65.0, 79.0]
    truth = stats.weightedtau(s, a)[0]
    names = [f"m{i}" for i in range(5)]
    assert weighted_tau(s, a) == truth == weighted_tau(np.array(s), np.array(a))
    assert weighted_tau(dict(zip(names, s)), dict(zip(names[::-1], a[::-1]))) == truth
    assert from_stats is weighted_tau
    assert np.isnan(weighted_tau(s[:2], a[:2])) and np.isnan(weighted_tau([1.0] * 5, a))
    with pytest.raises(MetricError, match="same length"):
        weighted_tau(s, a[:4])
