"""The study that chose the clear/inconclusive rule (benchmarks/bench_advice_rule.py): its
cases are judged as the pre-registration says, checked on hand-computed cases."""

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_advice_rule.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("bench_advice_rule", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_case_is_judged_on_its_own_subset(study):
    # c leads every half-sample of the whole pool, but the user's subset is {a, b}: there a
    # is first in 3 of 4 half-samples and b in 1 (the 4th is a tie of a and b: half each)
    tables = [
        {"knn": {"a": 0.9, "b": 0.5, "c": 1.0}},
        {"knn": {"a": 0.8, "b": 0.6, "c": 1.0}},
        {"knn": {"a": 0.4, "b": 0.7, "c": 1.0}},
        {"knn": {"a": 0.6, "b": 0.6, "c": 1.0}},
    ]
    case = study.judge_case(
        ("a", "b"), "knn", {"a": 0.8, "b": 0.6, "c": 1.0}, tables, {"a": 70.0, "b": 75.5, "c": 90.0}
    )
    assert case["pick"] == "a" and case["stability"] == pytest.approx((1 + 1 + 0 + 0.5) / 4)
    assert case["plausible"] == ["a", "b"] and case["covered"]
    assert not case["right"] and case["regret"] == pytest.approx(5.5)


def test_subsets_are_all_of_them_or_a_distinct_draw(study):
    pool = [f"m{i}" for i in range(9)]
    assert len(study.subsets(pool, 3, 200)) == math.comb(9, 3) == 84
    drawn = study.subsets([f"m{i}" for i in range(25)], 5, 200)
    assert len(drawn) == len(set(drawn)) == 200
    assert drawn == study.subsets([f"m{i}" for i in range(25)], 5, 200)  # seeded


def test_the_threshold_is_chosen_as_pre_registered(study):
    def row(s, clear, right):
        return {"threshold": s, "clear": clear, "right_clear": right}

    # the smallest threshold whose clear picks are right 80 % of the time
    assert study.choose([row(0.5, 10, 0.6), row(0.7, 5, 0.82), row(0.9, 2, 1.0)]) == (0.7, True)
    # none reaches it: the most often right, the smaller threshold on a tie; none clear is skipped
    assert study.choose(
        [row(0.5, 10, 0.6), row(0.7, 5, 0.7), row(0.8, 3, 0.7), row(0.9, 0, math.nan)]
    ) == (0.7, False)


def test_the_summary_counts_clear_and_inconclusive_picks(study):
    cases = [
        {
            "stability": 0.9,
            "right": True,
            "regret": 0.0,
            "k": 3,
            "covered": True,
            "plausible": ["a"],
        },
        {
            "stability": 0.5,
            "right": False,
            "regret": 2.0,
            "k": 3,
            "covered": True,
            "plausible": ["a", "b"],
        },
        {
            "stability": 0.8,
            "right": False,
            "regret": 1.0,
            "k": 5,
            "covered": False,
            "plausible": ["a", "b", "c"],
        },
    ]
    r = study.summarise(cases, 0.8)
    assert (r["clear"], r["right_clear"], r["right_vague"]) == (2, 0.5, 0.0)
    assert r["regret_clear"] == pytest.approx(0.5) and r["regret_vague"] == pytest.approx(2.0)
    assert r["chance"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 5) / 3)
    assert r["coverage"] == pytest.approx(2 / 3) and r["plausible_size"] == pytest.approx(2.0)
