"""The split-half noise ceiling against ground truths of known noise (issue 29, item 2)."""

import math

import numpy as np
import pytest
from scipy import stats

from modelrank.noise_ceiling import RANKABLE, balanced_splits, noise_ceiling, spearman_brown


def _simulate(rng, *, models: int, seeds: int, signal_sd: float, noise_sd: float) -> dict:
    truth = rng.normal(0.0, signal_sd, models)
    return {f"m{i}": list(80 + truth[i] + rng.normal(0.0, noise_sd, seeds)) for i in range(models)}


def test_balanced_splits_by_hand():
    assert balanced_splits(4) == [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    assert len(balanced_splits(6)) == 10 and len(balanced_splits(8)) == 35
    five = balanced_splits(5)
    assert len(five) == 10 and all(len(a) == 2 and len(b) == 3 for a, b in five)


def test_a_noise_free_ground_truth_has_ceiling_one():
    per_seed = {f"m{i}": [70.0 + i] * 4 for i in range(9)}
    c = noise_ceiling(per_seed)
    assert c.weighted_tau == 1.0 and c.kendall == 1.0 and c.spearman_brown == 1.0
    assert c.seeds == 4 and c.splits == 3 and c.backbones == 9 and c.rankable


def test_pure_noise_has_ceiling_about_zero():
    rng = np.random.default_rng(0)
    sims = [
        noise_ceiling(_simulate(rng, models=9, seeds=4, signal_sd=0.0, noise_sd=1.0))
        for _ in range(400)
    ]
    assert abs(np.mean([c.weighted_tau for c in sims])) < 0.04
    assert abs(np.mean([c.kendall for c in sims])) < 0.04
    assert not np.mean([c.rankable for c in sims]) > 0.2


@pytest.mark.parametrize("noise_sd", [0.5, 1.0, 2.0])
def test_kendall_ceiling_matches_the_bivariate_normal_value(noise_sd):
    """Backbones with true accuracy ~ N(0, 1) and seed noise N(0, σ²): two half-means of h seeds
    are bivariate normal with ρ = 1 / (1 + σ²/h), whose Kendall τ is (2/π)·arcsin ρ (Kendall
    1948), and the sample τ is unbiased for it."""
    rng = np.random.default_rng(1)
    seeds, h = 4, 2
    rho = 1.0 / (1.0 + noise_sd**2 / h)
    expected = 2 / math.pi * math.asin(rho)
    sims = [
        noise_ceiling(_simulate(rng, models=9, seeds=seeds, signal_sd=1.0, noise_sd=noise_sd))
        for _ in range(600)
    ]
    assert np.mean([c.kendall for c in sims]) == pytest.approx(expected, abs=0.035)


def test_the_first_split_is_the_hand_computed_split_half():
    rng = np.random.default_rng(2)
    per_seed = _simulate(rng, models=9, seeds=4, signal_sd=1.0, noise_sd=1.0)
    models = sorted(per_seed)
    a = [np.mean(per_seed[m][:2]) for m in models]
    b = [np.mean(per_seed[m][2:]) for m in models]
    c = noise_ceiling(per_seed)
    assert c.per_split[0] == pytest.approx(stats.weightedtau(a, b)[0], abs=1e-12)
    assert c.weighted_tau == pytest.approx(np.mean(c.per_split), abs=1e-12)


def test_a_ceiling_cannot_be_measured_with_too_few_seeds_or_backbones():
    three = noise_ceiling({f"m{i}": [1.0 + i, 2.0, 3.0] for i in range(5)})
    assert math.isnan(three.weighted_tau) and "3 seeds; a ceiling needs 4" in three.reason
    assert not three.rankable
    uneven = noise_ceiling({"a": [1, 2, 3, 4], "b": [1, 2, 3, 4], "c": [1, 2, 3]})
    assert "different numbers of seeds" in uneven.reason
    assert "a ranking needs 3" in noise_ceiling({"a": [1, 2, 3, 4]}).reason


def test_spearman_brown_and_fraction_by_hand():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.25, 4) == pytest.approx(1.0 / 1.75)
    assert spearman_brown(-0.2) == -0.2 and math.isnan(spearman_brown(float("nan")))
    c = noise_ceiling({f"m{i}": [70.0 + i] * 4 for i in range(5)})
    assert c.fraction(0.5) == 0.5
    assert RANKABLE == 0.5


THREE = """
models:
  ra: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}
  rb: {source: torchvision, id: resnet18, weights: random, seed: 2, preprocess: {size: 32, resize: 32}}
  rc: {source: torchvision, id: resnet18, weights: random, seed: 3, preprocess: {size: 32, resize: 32}}
"""


def test_evaluate_with_four_seeds_reports_each_seed_and_the_ceiling(cli, tmp_path):
    (tmp_path / "zoo.yaml").write_text(THREE)
    common = [
        "evaluate",
        "--zoo",
        str(tmp_path / "zoo.yaml"),
        "--models",
        "all",
        "--per-class",
        "5",
        "--steps",
        "2",
        "--image-size",
        "32",
        "--cache-dir",
        str(tmp_path / "c"),
        "--db",
        str(tmp_path / "r.db"),
    ]
    rc, out, err = cli(*common, "--seeds", "0-3")
    assert rc == 0, err
    assert "each seed" in out and "seeds 0, 1, 2, 3" in out
    import sqlite3

    with sqlite3.connect(tmp_path / "r.db") as con:  # every seed's row, in the order stored
        rows = con.execute("SELECT model, accuracy FROM evaluations ORDER BY id").fetchall()
    per_seed = {}
    for model, acc in rows:
        per_seed.setdefault(model, []).append(acc)
    assert {m: len(v) for m, v in per_seed.items()} == {"ra": 4, "rb": 4, "rc": 4}
    line = next(ln for ln in out.splitlines() if "noise ceiling" in ln)
    c = noise_ceiling(per_seed)  # stored in seed order
    if math.isfinite(c.weighted_tau):
        assert f"noise ceiling {c.weighted_tau:.2f}" in line
        assert ("can rank" in line) == c.rankable and ("too noisy to rank" in line) != c.rankable
    else:
        assert "not measured" in line
    rc, _, err = cli(*common, "--seeds", "3-1")
    assert rc == 1 and "--seeds must be distinct whole numbers" in err and "Traceback" not in err
    rc, _, err = cli(*common, "--seeds", "a,b")
    assert rc == 1 and "--seeds must be a range like 0-3" in err


def test_parse_seeds_and_describe_by_hand():
    from modelrank.noise_ceiling import NoiseCeiling, describe, parse_seeds

    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("5,1, 2") == [5, 1, 2]
    for bad in ("1,1", "-1", "x", ""):
        with pytest.raises(ValueError):
            parse_seeds(bad)
    assert "too noisy to rank" in describe(NoiseCeiling(0.3, 0.2, 0.46, 4, 3, 9))
    assert "can rank" in describe(NoiseCeiling(0.8, 0.7, 0.89, 4, 3, 9))
    assert describe(
        NoiseCeiling(
            float("nan"), float("nan"), float("nan"), 2, 0, 9, "2 seeds; a ceiling needs 4"
        )
    ).endswith("2 seeds; a ceiling needs 4")
