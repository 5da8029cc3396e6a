"""The topology study end to end on two tiny suites: every variant scored, the faithful one equal
to the benchmark's own betti-cubical tau, held-out choice both ways, fusion, the report, and a
second run that computes nothing."""

import json
import math

import numpy as np
import pytest

from modelrank.ranking import ScoreOptions
from modelrank.studies import topology_study as ts
from modelrank.studies import topology_variants as tv
from modelrank.studies.topology_study_report import factor_means, render_markdown, to_csv

ARCH = {
    "pa": "plain:depth=3,width=4,act=relu",
    "pb": "plain:depth=4,width=6,act=tanh",
    "ra": "resnet:depth=3,width=4,act=gelu",
    "ma": "mobile:depth=4,width=8,act=relu",
}
ZOO = (
    "defaults: {preprocess: {size: 16, resize: 16, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}}\n"
    "models:\n"
    + "".join(
        f"  {k}: {{source: file, id: 'modelrank:{a},classes=2', weights: random, seed: {i}}}\n"
        for i, (k, a) in enumerate(ARCH.items())
    )
)
SUITE = """
name: {name}
zoo: {zoo}
models: all
targets: {targets}
per_class: {per_class}
{extra}metrics: [knn, logme, betti-cubical, param-count]
ground_truth:
  kind: finetune
  protocol: full
  seeds: [0]
  budget: {{lrs: [0.1], ws: [0.0], steps: 20, batch_size: 8, retrain: false, test_per_class: 10}}
  per_class: {per_class}
bootstrap: {{replicates: 10, seed: 0}}
"""


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    (d / "zoo.yaml").write_text(ZOO)
    for name, targets in [
        ("sa", ["digits[0-4]", "digits[5-9]"]),
        ("sb", ["digits[0,9]", "shapes"]),
    ]:
        per_class = "{" + ", ".join(f'"{t}": 6' for t in targets) + "}"
        # suite sb scores at another resolution than its zoo's (as fmnist-imagenet does): the
        # study must score there too, or its faithful θ is not the benchmark's
        extra = "score_image_size: 12\n" if name == "sb" else ""
        (d / f"{name}.yaml").write_text(
            SUITE.format(
                name=name,
                zoo=d / "zoo.yaml",
                per_class=per_class,
                targets=json.dumps(targets),
                extra=extra,
            )
        )
    out = [
        ts.score_suite(
            str(d / f"{n}.yaml"), cache_dir=d / "cache", replicates=10, rips_per_class=15
        )
        for n in ("sa", "sb")
    ]
    return d, out


@pytest.mark.xdist_group("topology_study")
def test_every_variant_is_scored_and_the_faithful_one_is_the_benchmarks_theta(studies):
    _, (a, b) = studies
    assert set(a.tau) == set(tv.variant_names())
    for s in (a, b):
        theta = s.compared["betti-cubical"]["tau"]
        for t in s.targets:
            assert s.tau[ts.FAITHFUL][t] == pytest.approx(theta[t], abs=1e-12, nan_ok=True)
        defined = [v for v in tv.variant_names() if math.isfinite(s.mean(v))]
        assert len(defined) > 300  # most variants are defined on 4-5 layer networks
        # Rips sources are scored (on 15 points per class their curves are flat, so tau is NaN)
        for t in s.targets:
            assert len(s.scores[t]["rips-euclidean/all/auc/pooled"]) == 4
        lo, hi = s.intervals[ts.FAITHFUL]
        assert lo <= hi
    assert any(math.isfinite(s.tau[ts.FAITHFUL][t]) for s in (a, b) for t in s.targets)
    assert a.seconds_per_image["cubical columns"] > 0


@pytest.mark.xdist_group("topology_study")
def test_the_study_scores_at_the_suites_score_resolution(studies):
    # suite sb scores at 12 px, its zoo is at 16 px: the faithful variant's θ of each backbone is
    # the benchmark's betti-cubical score, value for value (a τ over 4 backbones could agree by
    # chance)
    from modelrank.benchmark import load_suite, run_benchmark

    d, (_, b) = studies
    res = run_benchmark(load_suite(str(d / "sb.yaml")), options=ScoreOptions(cache_dir=d / "cache"))
    checked = 0
    for t in b.targets:
        bench = {
            r.model: r.scores["betti-cubical"]
            for r in res.rankings[t].rows
            if "betti-cubical" in r.scores
        }
        for m, v in b.scores[t][ts.FAITHFUL].items():
            assert v == pytest.approx(bench[m], rel=1e-9, abs=1e-12)
            checked += 1
    assert checked >= 4


@pytest.mark.xdist_group("topology_study")
def test_held_out_choice_both_ways_and_the_report(studies):
    _, (a, b) = studies
    h = ts.held_out(a, b)
    assert h["variant"] == ts.best_variant(a)
    assert h["mean_chosen"] == max(
        a.mean(v) for v in tv.variant_names() if math.isfinite(a.mean(v))
    )
    assert h["mean_held_out"] == pytest.approx(b.mean(h["variant"]), nan_ok=True)
    md = render_markdown([a, b])
    for text in (
        "## Held out",
        "| sa | sb |",
        "| sb | sa |",
        "## Does topology add anything",
        "partial Spearman",
        "## Cost",
    ):
        assert text in md, text
    assert set(factor_means(a)["pooling"]) == {"per-class", "pooled"}
    rows = to_csv([a, b]).splitlines()
    assert len(rows) == 1 + len(tv.variant_names()) * 4


@pytest.mark.xdist_group("topology_study")
def test_fusion_by_hand_and_partial_correlation():
    s = ts.SuiteVariants(
        "s",
        ["t"],
        ["a", "b", "c", "d"],
        {},
        {},
        {"t": {"v": {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}}},
        {},
        {"t": {"a": 10.0, "b": 20.0, "c": 30.0, "d": 40.0}},
    )
    other = {"t": {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}}
    assert math.isnan(ts.fusion(s, "v", other, how="rank")["t"])  # ranks cancel: constant
    same = {"t": {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}}
    assert ts.fusion(s, "v", same, how="z")["t"] == pytest.approx(1.0)
    z = np.arange(8.0)
    assert math.isnan(ts.partial_spearman(z, z, z))  # x = z: undefined, not a number
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 200))
    assert abs(ts.partial_spearman(a + c, b + c, c)) < 0.2  # related only through c
    assert ts.partial_spearman(a + c, b + c, rng.standard_normal(200)) > 0.3


@pytest.mark.xdist_group("topology_study")
def test_a_second_run_reads_everything_from_the_journal(studies, monkeypatch):
    d, (a, _) = studies
    from modelrank.studies import topology_variants

    def boom(*_, **__):
        raise AssertionError("recomputed")

    monkeypatch.setattr(topology_variants, "layer_omegas", boom)
    again = ts.score_suite(
        str(d / "sa.yaml"), cache_dir=d / "cache", replicates=10, rips_per_class=15
    )
    assert again.tau == a.tau or all(
        (again.tau[v][t] == a.tau[v][t])
        or (math.isnan(again.tau[v][t]) and math.isnan(a.tau[v][t]))
        for v in a.tau
        for t in a.targets
    )


@pytest.mark.xdist_group("topology_study")
def test_a_suite_scored_in_one_session_is_compared_in_another(studies, tmp_path):
    _, (a, b) = studies
    back = ts.SuiteVariants.from_json(a.to_json())
    assert back.targets == a.targets and back.pool == a.pool
    for v in (ts.FAITHFUL, ts.best_variant(a)):
        assert back.mean(v) == pytest.approx(a.mean(v), nan_ok=True)
        assert back.intervals[v] == pytest.approx(a.intervals[v], nan_ok=True)
    assert render_markdown([back, b]) == render_markdown([a, b])


@pytest.mark.xdist_group("topology_study")
def test_fewer_images_for_the_columns_is_a_recorded_deviation(studies):
    import modelrank
    from modelrank.data import load_target

    d, (a, _) = studies
    few = ts.score_suite(
        str(d / "sa.yaml"), cache_dir=d / "cache", replicates=10, rips=False, columns_per_class=4
    )
    assert few.columns_per_class == 4 and a.columns_per_class is None
    for t in few.targets:
        # the faithful variant is the benchmark's own betti-cubical on those 4 per class (both
        # oriented higher-is-better: -θ)
        r = modelrank.rank(
            load_target(t, per_class=4),
            zoo=str(d / "zoo.yaml"),
            models="all",
            metrics=["betti-cubical"],
            options=ScoreOptions(cache_dir=d / "cache"),
        )
        theta = {row.model: row.scores["betti-cubical"] for row in r.rows}
        got = few.scores[t][ts.FAITHFUL]
        assert len(got) == 4 and got == pytest.approx({m: theta[m] for m in got}, abs=1e-12)
    text = render_markdown([few, a])
    assert (
        "**Deviation on `sa`:** the cubical columns (and their half-samples) saw 4 images" in text
    )
    assert ts.SuiteVariants.from_json(few.to_json()).columns_per_class == 4
    with pytest.raises(ValueError, match="at least 2"):
        ts.score_suite(str(d / "sa.yaml"), cache_dir=d / "cache", columns_per_class=1)


def test_a_truncated_network_reuses_its_full_depth_pass_exactly(tmp_path):
    from modelrank.benchmark import zoo_path
    from modelrank.data import load_target
    from modelrank.journal import Journal
    from modelrank.loaders import build_backbone
    from modelrank.probe import probe
    from modelrank.zoo import load_zoo, parse_entry

    # the real case: an ImageNet Lite0 truncated after its 4th stage, at 224 px
    lite = load_zoo(zoo_path("fmnist-imagenet"))
    assert ts.truncation_parent(lite["lite0-stage4"], lite.values()).name == "lite0"
    assert ts.truncation_parent(lite["lite0"], lite.values()) is None
    assert ts.truncation_parent(lite["lite1-stage4"], [lite["lite0"], lite["lite0-random"]]) is None
    two = load_target("digits[0,1]", per_class=2)
    full, cut = (
        probe(
            build_backbone(lite[m], device="cpu"),
            two,
            cubical=tv.VariantColumnsReducer(),
            device="cpu",
            cache_dir=tmp_path,
        )
        for m in ("lite0", "lite0-stage4")
    )
    k = len(cut.layer_names)
    assert full.layer_names[:k] == cut.layer_names and k < len(full.layer_names)
    assert np.array_equal(full.cubical[:, :k], cut.cubical)
    for n in cut.layer_names:
        assert np.array_equal(full.layers[n], cut.layers[n])

    # the unit: every variant score and half-sample replicate equal to scoring it on its own
    pre = {"size": 16, "resize": 16, "mean": [0.5] * 3, "std": [0.5] * 3}
    raw = {
        "source": "file",
        "id": "modelrank:plain:depth=4,width=4,act=relu,classes=2",
        "weights": "random",
        "seed": 3,
        "preprocess": pre,
    }
    pa, pt = parse_entry("pa", raw), parse_entry("pa-cut", {**raw, "truncate": "blocks.1"})
    data, rips = load_target("digits", per_class=6), load_target("digits", per_class=12)
    kw = dict(replicates=5, seed=0, rips=True, cache_dir=tmp_path, journal=Journal(tmp_path / "j1"))
    parent_unit = ts._unit(pa, data, rips, **kw)
    reused = ts._unit(pt, data, rips, parent=pa, parent_unit=parent_unit, **kw)
    alone = ts._unit(pt, data, rips, **{**kw, "journal": Journal(tmp_path / "j2")})
    assert reused["columns_from"] == "pa" and alone["columns_from"] is None
    assert reused["rips_curves"] == alone["rips_curves"]  # the parent's curves, cut to its layers
    assert reused["images"] == {"cubical columns": 0, "rips": 0}
    same = lambda a, b: a == b or (math.isnan(a) and math.isnan(b))  # noqa: E731
    assert set(reused["full"]) == set(alone["full"])
    assert all(same(reused["full"][v], alone["full"][v]) for v in alone["full"])
    assert all(
        same(r[v], a[v]) for r, a in zip(reused["replicates"], alone["replicates"]) for v in a
    )


def test_the_held_out_verdicts_by_hand():
    """The verdict is the paired difference's interval (variant − faithful θ over the same
    joint resamples) against 0, not one interval against the other's point value."""
    v, faithful = tv.variant_names()[5], ts.FAITHFUL

    def study(name, tau, versus=None):
        return ts.SuiteVariants(
            name,
            ["t"],
            ["a", "b", "c"],
            tau,
            {v: (0.3, 0.6)},
            {},
            {},
            {},
            {},
            {},
            versus_faithful=versus or {},
        )

    chosen = study("A", {v: {"t": 0.9}, faithful: {"t": 0.1}})
    assert ts.best_variant(chosen) == v
    cases = [
        ({faithful: {"t": 0.1}}, {}, "undefined on this suite"),  # v not defined there
        ({v: {"t": 0.5}, faithful: {"t": 0.1}}, {}, "no interval"),
        ({v: {"t": 0.5}, faithful: {"t": 0.1}}, {v: (0.4, 0.05, 0.7)}, "beats the faithful θ"),
        # its own interval (0.3, 0.6) lies above θ's 0.1, but the paired one reaches below 0
        (
            {v: {"t": 0.5}, faithful: {"t": 0.1}},
            {v: (0.4, -0.1, 0.7)},
            "does not beat the faithful θ",
        ),
    ]
    for tau, versus, verdict in cases:
        assert ts.held_out(chosen, study("B", tau, versus))["verdict"] == verdict
    # a noisy target is kept out of the means
    two = ts.SuiteVariants(
        "C",
        ["t", "u"],
        ["a", "b", "c"],
        {v: {"t": 0.5, "u": -0.5}},
        {},
        {},
        {},
        {},
        {},
        {},
        included=["t"],
    )
    assert two.mean(v) == 0.5
