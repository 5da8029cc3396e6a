"""A user's own suite file end to end: class-subset targets, two fine-tuning seeds, a control
kept out of the pool, a second ground truth (linear probe), intervals, static baselines."""

import math

import numpy as np
import pytest
from scipy import stats

from modelrank.benchmark import LOTO, load_suite, run_benchmark
from modelrank.benchmark_stats import loto_prior
from modelrank.errors import ConfigError
from modelrank.ranking import ScoreOptions

ZOO = """
models:
  ra: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}
  rb: {source: torchvision, id: resnet18, weights: random, seed: 2, preprocess: {size: 32, resize: 32}}
  rc: {source: torchvision, id: resnet18, weights: random, seed: 3, preprocess: {size: 32, resize: 32}}
  rz: {source: torchvision, id: resnet18, weights: random, seed: 4, preprocess: {size: 32, resize: 32}, tags: [control]}
"""

SUITE = """
name: mine
zoo: {zoo}
models: all
controls: control
targets: ["digits[0-4]", "digits[5-9]", "digits[0,9]"]
per_class: {{"digits[0-4]": 6, "digits[5-9]": 6, "digits[0,9]": 8}}
metrics: [knn, logme, param-count]
ground_truth:
  kind: finetune
  protocol: full
  seeds: [0, 1, 2, 3]
  budget: {{lrs: [0.05], ws: [0.0], steps: 3, batch_size: 8, retrain: false, test_per_class: 8}}
  per_class: {{"digits[0-4]": 6, "digits[5-9]": 6, "digits[0,9]": 6}}
also_against:
  linear: {{kind: finetune, protocol: linear, budget: {{test_per_class: 8}},
           per_class: {{"digits[0-4]": 6, "digits[5-9]": 6, "digits[0,9]": 6}}}}
bootstrap: {{replicates: 12, seed: 0}}
"""


#: The targets line of SUITE, replaced by the tests that need fewer targets.
TARGETS = 'targets: ["digits[0-4]", "digits[5-9]", "digits[0,9]"]'
#: SUITE's bootstrap line (as formatted), removed by the tests that need no intervals.
BOOTSTRAP = "bootstrap: {replicates: 12, seed: 0}"


def _variant(mine, *changes: tuple[str, str]) -> str:
    """SUITE on ``mine``'s zoo with each (old, new) text replaced; an old text that is not there
    fails the test (a change that silently does nothing would test the wrong suite)."""
    text = SUITE.format(zoo=mine / "zoo.yaml")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def mine(tmp_path_factory):
    d = tmp_path_factory.mktemp("suite")
    (d / "zoo.yaml").write_text(ZOO)
    (d / "suite.yaml").write_text(SUITE.format(zoo=d / "zoo.yaml"))
    return d


@pytest.fixture(scope="module")
def result(mine):
    return run_benchmark(
        load_suite(str(mine / "suite.yaml")), options=ScoreOptions(cache_dir=mine / "cache")
    )


@pytest.mark.xdist_group("suite_protocol")
def test_the_pool_keeps_the_control_out_and_accuracies_are_seed_means(result):
    assert result.pool == ["ra", "rb", "rc"] and result.controls == ["rz"]
    head = result.ground_truths["headline"]
    for t in result.targets:
        for m in ("ra", "rb", "rc", "rz"):
            seeds = head.per_seed[t][m]
            assert len(seeds) == 4 and head.accuracies[t][m] == pytest.approx(np.mean(seeds))
    assert {r["n"] for r in result.records} == {3}  # the control is in no headline correlation
    assert set(result.tables) == {"headline", "linear"}
    assert (
        "mean over seeds 0, 1, 2, 3" in head.description
        and "linear probe" in result.ground_truths["linear"].description
    )
    # one learning rate is no grid searched on validation; the zoo's one input size is named
    assert "steps of 8, lr 0.05 (no search), 32 px; mean over seeds" in head.description
    assert result.control_tau and all(
        math.isfinite(v) or math.isnan(v)
        for col in result.control_tau.values()
        for v in col.values()
    )


@pytest.mark.xdist_group("suite_protocol")
def test_records_are_scipys_taus_and_loto_is_the_other_targets_mean(result):
    head = result.ground_truths["headline"]
    rank = result.rankings["digits[0-4]"]
    knn = {r.model: r.scores["knn"] for r in rank.rows}
    rec = next(r for r in result.records if r["score"] == "knn" and r["dataset"] == "digits[0-4]")
    models = sorted(knn)
    s = [knn[m] for m in models]
    a = [head.accuracies["digits[0-4]"][m] for m in models]
    if np.ptp(s) and np.ptp(a):
        assert rec["weighted_tau"] == pytest.approx(stats.weightedtau(s, a)[0])
        assert rec["kendall_tau"] == pytest.approx(stats.kendalltau(s, a)[0])
    pool_accs = {
        t: {m: v for m, v in col.items() if m in result.pool} for t, col in head.accuracies.items()
    }
    prior = loto_prior(pool_accs, "digits[5-9]")
    assert prior["ra"] == pytest.approx(
        (head.accuracies["digits[0-4]"]["ra"] + head.accuracies["digits[0,9]"]["ra"]) / 2
    )
    assert LOTO in result.baselines and "param-count" in result.baselines
    assert "knn" not in result.baselines  # it sees the target's images: not a static baseline


@pytest.mark.xdist_group("suite_protocol")
def test_intervals_cover_every_target_and_the_mean_and_the_report_says_what_it_compared(result):
    for label in ("headline", "linear"):
        ivs = result.intervals[label]
        # the static baselines move with the ground truth's seeds (one linear-probe seed: not)
        assert set(ivs) == {"knn", "logme", "param-count", LOTO}
        point = result.tables[label]["tau"]
        for score, cols in ivs.items():
            for t, (lo, hi, k) in cols.items():
                assert k <= 12 and (math.isnan(lo) or lo <= hi)
                p = result.mean(score, label) if t == "mean" else point[score][t]
                if math.isfinite(lo):  # every printed interval contains its printed point
                    assert lo - 1e-12 <= p <= hi + 1e-12, (label, score, t)
    for rec in result.records:
        if rec.get("tau_low") is not None and math.isfinite(rec["tau_low"]):
            assert rec["tau_low"] <= rec["weighted_tau"] <= rec["tau_high"]
    # one linear-probe seed: nothing to resample for a prior, its interval is its point
    for t, (lo, hi, _) in result.intervals["linear"][LOTO].items():
        p = result.mean(LOTO, "linear") if t == "mean" else result.tables["linear"]["tau"][LOTO][t]
        assert lo == pytest.approx(hi) and lo == pytest.approx(p) or math.isnan(p)
    md = result.to_markdown()
    for text in (
        "## Ground truth: headline",
        "## Ground truth: linear",
        "beats the best static",
        "Seed spread",
        "rz (control)",
        "## With the controls in the pool",
        "| digits[0-4] |",
        "joint resamples",
        "noise ceiling (split-half)",
        "Noise ceiling of headline",
        "(paired)",
        "not measured (1 seed; a ceiling needs 4)",
        "against headline (scores at 32 px, ground truth at 32 px)",
    ):
        assert text in md, text


@pytest.mark.xdist_group("suite_protocol")
def test_ceilings_are_measured_per_target_and_a_noisy_target_leaves_the_means(result):
    from copy import copy

    from modelrank.benchmark_report import best_baseline, paired_differences, verdict
    from modelrank.noise_ceiling import NoiseCeiling, noise_ceiling

    head = result.ground_truths["headline"]
    for t in result.targets:
        want = noise_ceiling({m: head.per_seed[t][m] for m in result.pool})
        got = result.ceilings["headline"][t]
        assert (
            got.seeds == 4
            and got.weighted_tau == want.weighted_tau
            or (math.isnan(got.weighted_tau) and math.isnan(want.weighted_tau))
        )
    assert all(math.isnan(c.weighted_tau) for c in result.ceilings["linear"].values())

    noisy = copy(result)
    noisy.ceilings = {
        **result.ceilings,
        "headline": {
            t: NoiseCeiling(0.3 if t == "digits[5-9]" else 0.9, 0.2, 0.46, 4, 3, 3)
            for t in result.targets
        },
    }
    assert noisy.too_noisy() == ["digits[5-9]"] and "digits[5-9]" not in noisy.included()
    knn = result.tables["headline"]["tau"]["knn"]
    kept = [knn[t] for t in ("digits[0-4]", "digits[0,9]") if math.isfinite(knn[t])]
    if kept:
        assert noisy.mean("knn") == pytest.approx(np.mean(kept))
    md = noisy.to_markdown()
    assert "digits[5-9] (too noisy)" in md and "**ground truth too noisy to rank**" in md
    assert "Weighted tau as a fraction of the noise ceiling (headline)" in md
    # the paired verdict: the difference's interval, from the same joint resamples
    base, _ = best_baseline(result, "headline")
    diffs = paired_differences(result, "headline", base)
    for s, (d, lo, hi, _n) in diffs.items():
        assert lo <= d <= hi
        want = ("beats" if lo > 0 else "does not beat") if s not in result.baselines else "baseline"
        assert verdict(result, "headline", s) == want


@pytest.mark.xdist_group("suite_protocol")
def test_the_cli_runs_the_suite_file_again_from_the_cache_with_the_same_table(cli, mine, result):
    rc, out, err = cli(
        "benchmark",
        "--suite",
        str(mine / "suite.yaml"),
        "--cache-dir",
        str(mine / "cache"),
        "--db",
        str(mine / "r.db"),
        "--output",
        str(mine / "b.md"),
    )
    assert rc == 0, err
    assert (mine / "b.md").read_text().split("\n", 2)[2] == result.to_markdown()
    rc, _, err = cli(
        "benchmark",
        "--suite",
        str(mine / "suite.yaml"),
        "--cache-dir",
        str(mine / "cache"),
        "--db",
        str(mine / "r.db"),
        "--output",
        str(mine / "b.json"),
    )
    assert rc == 0, err
    import json

    doc = json.loads((mine / "b.json").read_text())["ground_truths"]["headline"]
    head = result.ground_truths["headline"]
    assert doc["per_seed"] == head.per_seed  # every seed's accuracy, kept
    for t, c in doc["ceilings"].items():
        want = result.ceilings["headline"][t].weighted_tau
        assert c["seeds"] == 4 and (c["weighted_tau"] == want or math.isnan(want))
    assert doc["included"] == result.included("headline")
    from modelrank.benchmark_report import verdict
    from modelrank.store import Store

    with Store(mine / "r.db", read_only=True) as st:
        stored = {(r["ground_truth"], r["score"]): r for r in st.tau_summaries()}
    for label in ("headline", "linear"):
        for score in ("knn", "logme"):
            row = stored[(label, score)]
            taus = [v for v in result.tables[label]["tau"][score].values() if math.isfinite(v)]
            assert row["mean_tau"] == pytest.approx(np.mean(taus), abs=1e-12)
            lo, hi, _ = result.intervals[label][score]["mean"]
            assert row["tau_low"] == (lo if math.isfinite(lo) else None)
            assert row["verdict"] == verdict(result, label, score)


def test_malformed_protocol_fields_are_refused_before_any_work(tmp_path):
    base = SUITE.format(zoo=tmp_path / "zoo.yaml")
    for old, new, why in [
        ("seeds: [0, 1, 2, 3]", "seeds: [0, -1]", "seeds must be a non-empty list"),
        ("replicates: 12", "replicates: 3", "replicates ≥ 10"),
    ]:
        (tmp_path / "s.yaml").write_text(base.replace(old, new))
        with pytest.raises(ConfigError, match=why):
            load_suite(str(tmp_path / "s.yaml"))


def test_the_packaged_offline_suites_meet_their_protocol():
    from modelrank.benchmark import zoo_path
    from modelrank.zoo import load_zoo, select

    s = load_suite("fmnist-imagenet")
    zoo = load_zoo(zoo_path(s.zoo))
    controls = {e.name for e in select(zoo, s.controls)}
    pool = [e for e in select(zoo, s.models) if e.name not in controls]
    assert len(pool) >= 9 and len(controls) == 3
    assert {e.preprocess.size for e in pool} == {224}  # the zoo's own; the suite scores at 64 px
    assert len({(e.id, e.truncate) for e in pool}) == len(pool)  # genuinely different extractors
    assert len(s.targets) >= 4 and "fashion-mnist[upper-body]" in s.targets
    # the ground truths chosen by the budget study (benchmarks/results/ground_truth_budget.md):
    # enough seeds for a noise ceiling, the whole test split, one resolution for scores and truth
    gt = s.ground_truth
    assert gt["protocol"] == "linear" and len(gt["seeds"]) >= 6
    assert gt["budget"]["image_size"] == s.score_image_size == 64
    assert gt["budget"].get("test_per_class") is None and set(gt["per_class"].values()) == {20}
    z = load_suite("fmnist-zoo")
    assert z.zoo == "trained:fmnist" and len(z.targets) >= 3
    zt = z.ground_truth
    assert zt["protocol"] == "full" and len(zt["seeds"]) >= 6 and zt["budget"]["lrs"] == [0.03]
    assert zt["budget"].get("test_per_class") is None and zt["budget"]["threads"] == 1
    assert z.score_image_size is None  # the trained zoo's own 32 px, where it is fine-tuned too


def test_lr_search_on_the_first_seed_repeats_its_choice_with_the_others(mine, tmp_path):
    from modelrank.benchmark import ground_truth
    from modelrank.finetuning import FinetuneConfig, RunLog, finetune
    from modelrank.zoo import load_zoo

    text = _variant(
        mine,
        ("lrs: [0.05]", "lrs: [0.05, 0.01]"),
        ("seeds: [0, 1, 2, 3]", "seeds: [0, 1]\n  lr_search: first-seed"),
        (TARGETS, 'targets: ["digits[0-4]"]'),
        ("models: all", "models: ra,rb"),
    )
    (tmp_path / "s.yaml").write_text(text)
    suite = load_suite(str(tmp_path / "s.yaml"))
    runs = []
    gt = ground_truth(
        suite, cache_dir=tmp_path / "c", on_progress=lambda what, d, t: runs.append((what, t))
    )
    runs = [(what, t) for what, t in runs if what.endswith(" fine-tune runs")]
    assert (
        "chosen on validation with seed 0, the other seeds repeating its choice" in gt.description
    )
    assert {t for _, t in runs} == {2, 1}  # seed 0: the grid of two; seed 1: one run
    zoo = load_zoo(str(mine / "zoo.yaml"))
    for m in ("ra", "rb"):
        logged = [
            ln
            for ln in (tmp_path / "c" / "runs" / f"{m}__digits[0-4].jsonl").read_text().splitlines()
        ]
        assert len(logged) == 3  # not 4: seed 1 ran the chosen lr only
        budget = dict(
            lrs=(0.05, 0.01), ws=(0.0,), steps=3, batch_size=8, retrain=False, test_per_class=8
        )
        first = finetune(
            zoo[m],
            "digits[0-4]",
            cfg=FinetuneConfig(**budget, seed=0),
            per_class=6,
            log=RunLog(tmp_path / f"{m}0.jsonl"),
        )
        again = finetune(
            zoo[m],
            "digits[0-4]",
            cfg=FinetuneConfig(**{**budget, "lrs": (first.best["lr"],)}, seed=1),
            per_class=6,
            log=RunLog(tmp_path / f"{m}1.jsonl"),
        )
        assert gt.per_seed["digits[0-4]"][m] == [first.accuracy, again.accuracy]
    (tmp_path / "bad.yaml").write_text(text.replace("first-seed", "sometimes"))
    with pytest.raises(ConfigError, match="lr_search must be every-seed or first-seed"):
        load_suite(str(tmp_path / "bad.yaml"))


def test_a_ground_truth_of_the_pool_only_leaves_the_controls_to_the_next(mine, tmp_path):
    from modelrank.benchmark_report import render_markdown

    text = _variant(
        mine,
        ("seeds: [0, 1, 2, 3]", "seeds: [0]\n  models: pool"),
        (TARGETS, 'targets: ["digits[0-4]", "digits[5-9]"]'),
        (BOOTSTRAP, ""),
    )
    (tmp_path / "s.yaml").write_text(text)
    res = run_benchmark(
        load_suite(str(tmp_path / "s.yaml")), options=ScoreOptions(cache_dir=tmp_path / "c")
    )
    head, lin = res.ground_truths["headline"], res.ground_truths["linear"]
    for t in res.targets:
        assert set(head.accuracies[t]) == {"ra", "rb", "rc"}  # the control was not fine-tuned
        assert "rz" in lin.accuracies[t]
    assert res.control_truth == "linear" and res.control_tau
    import modelrank
    from modelrank.data import load_target

    for t in res.targets:  # the controls' table: all four backbones against the linear probe
        r = modelrank.rank(
            load_target(t, per_class=6),
            zoo=str(mine / "zoo.yaml"),
            models="all",
            metrics=["knn"],
            options=ScoreOptions(cache_dir=tmp_path / "c"),
        )
        knn = {row.model: row.scores["knn"] for row in r.rows}
        assert set(knn) == {"ra", "rb", "rc", "rz"}
        want = stats.weightedtau(
            [knn[m] for m in sorted(knn)], [lin.accuracies[t][m] for m in sorted(knn)]
        )[0]
        assert res.control_tau["knn"][t] == pytest.approx(want, abs=1e-12, nan_ok=True)
    assert (
        "Weighted tau against the linear ground truth when the pool also holds rz"
        in render_markdown(res)
    )
    (tmp_path / "bad.yaml").write_text(text.replace("models: pool", "models: some"))
    with pytest.raises(ConfigError, match="models must be all"):
        load_suite(str(tmp_path / "bad.yaml"))


def test_a_suite_scores_at_the_resolution_it_names_and_says_so(mine, tmp_path):
    text = _variant(
        mine,
        ("seeds: [0, 1, 2, 3]", "seeds: [0]"),
        (TARGETS, 'targets: ["digits[0-4]"]'),
        ("metrics: [knn, logme, param-count]", "metrics: [knn]\nscore_image_size: 16"),
        (BOOTSTRAP, ""),
        ("budget: {lrs: [0.05]", "budget: {image_size: 16, lrs: [0.05]"),
    )
    (tmp_path / "s.yaml").write_text(text)
    res = run_benchmark(
        load_suite(str(tmp_path / "s.yaml")), options=ScoreOptions(cache_dir=tmp_path / "c")
    )
    rows = res.rankings["digits[0-4]"].rows
    assert {r.info["image_size"] for r in rows} == {16} and res.score_resolution() == "16 px"
    assert res.ground_truths["headline"].resolution == "16 px"
    assert "against headline (scores at 16 px, ground truth at 16 px)" in res.to_markdown()
    (tmp_path / "bad.yaml").write_text(text.replace("score_image_size: 16", "score_image_size: 4"))
    with pytest.raises(ConfigError, match="score_image_size must be a whole number of pixels"):
        load_suite(str(tmp_path / "bad.yaml"))


@pytest.mark.xdist_group("suite_protocol")
def test_a_committed_measured_ground_truth_is_used_unless_remeasuring(mine, result, tmp_path):
    import shutil

    from modelrank.benchmark import ground_truth

    shutil.copytree(mine / "cache" / "runs", tmp_path / "measured")
    text = _variant(mine, ("  seeds: [0, 1, 2, 3]", "  seeds: [0, 1, 2, 3]\n  measured: measured"))
    (tmp_path / "s.yaml").write_text(text)
    suite = load_suite(str(tmp_path / "s.yaml"))
    trained = []
    gt = ground_truth(
        suite,
        cache_dir=tmp_path / "fresh",
        on_progress=lambda what, d, t: trained.append(what == "steps of this run"),
    )
    assert gt.per_seed == result.ground_truths["headline"].per_seed
    assert not any(trained) and not (tmp_path / "fresh" / "runs").exists()  # nothing trained
    one = text.replace(TARGETS, 'targets: ["digits[0-4]"]').replace(
        "seeds: [0, 1, 2, 3]", "seeds: [0]"
    )
    (tmp_path / "one.yaml").write_text(one)
    again = ground_truth(
        load_suite(str(tmp_path / "one.yaml")), cache_dir=tmp_path / "fresh", remeasure=True
    )
    assert len(list((tmp_path / "fresh" / "runs").glob("*.jsonl"))) == 4  # trained again
    assert again.per_seed["digits[0-4]"] == {
        m: v[:1] for m, v in result.ground_truths["headline"].per_seed["digits[0-4]"].items()
    }
    shutil.rmtree(tmp_path / "measured")
    with pytest.raises(ConfigError, match="the measured ground truth .* is missing"):
        ground_truth(suite, cache_dir=tmp_path / "fresh")
