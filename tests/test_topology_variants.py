"""The pre-registered topological variants: each source, depth rule, statistic and pooling
against hand-computed values, the faithful recipe against the registered betti-cubical score,
and the invariances the layouts and thresholds are meant to have."""

import math

import numpy as np
import pytest

from modelrank.metrics import get_metric
from modelrank.metrics.registry import MetricInputs
from modelrank.studies import topology_variants as tv
from modelrank.topology.cubical import betti_counts
from modelrank.topology.pointclouds import circle

RNG = np.random.default_rng(3)
ACTS = RNG.standard_normal((6, 5, 7, 6)).astype(np.float32)
COLS = tv.cubical_columns()


def col(name):
    return COLS.index(name)


def test_the_list_is_the_whole_product_and_starts_with_the_faithful_recipe():
    names = tv.variant_names()
    assert len(names) == len(set(names)) == (5 * 4 + 2 + 2) * 2 * 6 * 2 == 576
    assert names[0] == "whc/eta0/all/theta/per-class"


def test_eta0_columns_are_the_betti_numbers_of_their_layouts():
    out = tv.layer_omegas(ACTS)
    assert out.shape == (6, len(COLS))
    for layout in ("whc", "per-channel", "channel-mean"):
        want = betti_counts(ACTS, eta=0.0, layout=layout).sum(axis=1)
        np.testing.assert_array_equal(out[:, col(f"{layout}/eta0")], want)
    assert np.all(out[:, -1] == 7 * 6)


def test_channel_sorted_and_top8_do_not_depend_on_the_channel_order():
    perm = ACTS[:, [3, 0, 4, 2, 1]]
    a, b = tv.layer_omegas(ACTS), tv.layer_omegas(perm)
    for src in ("channel-sorted", "top8", "channel-mean", "per-channel"):
        for thr in tv.THRESHOLDS:
            np.testing.assert_array_equal(a[:, col(f"{src}/{thr}")], b[:, col(f"{src}/{thr}")])
    # the faithful volume does depend on it (channels are a spatial axis there)
    assert not np.array_equal(a[:, col("whc/eta0")], b[:, col("whc/eta0")])
    # already sorted: channel-sorted is the faithful volume; top8 of 5 channels is all of them
    order = np.argsort(-ACTS[0].mean(axis=(1, 2)), kind="stable")
    s = tv.layer_omegas(ACTS[:1, order])
    assert s[0, col("channel-sorted/eta0")] == s[0, col("whc/eta0")] == a[0, col("top8/eta0")]


def test_quantile_thresholds_are_scale_and_shift_free_eta0_is_not():
    a, b = tv.layer_omegas(ACTS), tv.layer_omegas(3.7 * ACTS + 1.25)
    for j, name in enumerate(COLS):
        if name.split("/")[-1] in ("q25", "q50", "q75", "total-persistence", "persistent-entropy"):
            np.testing.assert_allclose(a[:, j], b[:, j], rtol=1e-5, err_msg=name)
    assert not np.array_equal(a[:, col("whc/eta0")], b[:, col("whc/eta0")])


def test_quantile_threshold_by_hand():
    # one image, one channel, a 1 x 4 row: values 0 1 2 3 -> q50 = 1.5, set {0, 1}: one run
    x = np.array([[[[0.0, 3.0, 1.0, 2.0]]]], dtype=np.float32)
    out = tv.layer_omegas(x)[0]
    assert out[col("whc/q50")] == 2  # {0} and {1} are not neighbours: two components
    assert out[col("whc/q75")] == 2  # {0, 1, 2}: 0 | 1, 2 -> two runs
    assert out[col("whc/q25")] == 1


def test_persistence_summaries_by_hand():
    # sublevel filtration of the row 0 2 1: H0 bars (0, inf) and (1, 2); the essential bar ends
    # at the maximum 2, lengths 2 and 1, range 2
    x = np.array([[[[0.0, 2.0, 1.0]]]], dtype=np.float32)
    out = tv.layer_omegas(x)[0]
    assert out[col("channel-mean/total-persistence")] == pytest.approx(3 / 2)
    p = np.array([2 / 3, 1 / 3])
    assert out[col("channel-mean/persistent-entropy")] == pytest.approx(-(p * np.log(p)).sum())
    flat = tv.layer_omegas(np.ones((1, 2, 3, 3), dtype=np.float32))[0]
    assert flat[col("channel-mean/total-persistence")] == 0.0


def test_stage_layers_keep_the_last_layer_of_each_resolution():
    assert tv.stage_layers([256, 256, 64, 64, 64, 16, 1]) == [1, 4, 5, 6]
    assert tv.stage_layers([4, 4, 4]) == [2]


def test_statistics_by_hand_and_their_direction():
    assert tv.score_of(np.array([math.e - 1, math.e**2 - 1]), "log-slope") == pytest.approx(-1)
    assert tv.score_of(np.array([3.0, 5.0, 1.0]), "last-first") == pytest.approx(-0.5)
    falling, flat = np.array([8.0, 4, 2, 1, 1]), np.array([2.0, 2, 2, 2, 2])
    for stat in tv.STATISTICS:  # every score prefers the curve that simplifies
        assert tv.score_of(falling, stat) > tv.score_of(flat, stat), stat
    with pytest.raises(ValueError, match="at least 4 layers"):
        tv.score_of(np.array([1.0, 2.0, 3.0]), "theta-depth01")


def test_the_faithful_variant_is_the_registered_betti_cubical():
    n, layers = 12, 5
    labels = np.arange(n) % 3
    acts = [RNG.standard_normal((n, 4, 8 - j, 8 - j)).astype(np.float32) for j in range(layers)]
    columns = np.stack([tv.layer_omegas(a) for a in acts], axis=1)
    betti = np.stack([betti_counts(a, eta=0.0, layout="whc") for a in acts], axis=1)
    theta = get_metric("betti-cubical").compute(
        MetricInputs(np.zeros((n, 2)), labels, None, cubical_betti=betti)
    )
    scores = tv.cubical_variant_scores(columns, labels)
    assert len(scores) == 22 * 2 * 6 * 2
    assert scores["whc/eta0/all/theta/per-class"] == pytest.approx(-theta, rel=1e-12)
    # pooled = per-class when the classes have equal size and Omega is linear in the images
    assert scores["whc/eta0/all/auc/pooled"] == pytest.approx(scores["whc/eta0/all/auc/per-class"])


def test_rips_euclidean_counts_a_circle_then_a_blob():
    ring = circle(120, noise=0.01, seed=1)
    blob = RNG.standard_normal((120, 2)) * 0.05
    layers = {"a": ring, "b": ring, "c": blob, "d": blob}
    scores = tv.rips_variant_scores(layers, np.zeros(120, int), hw=[4, 4, 1, 1])
    # Omega = b0 + b1: 2 on the circle, 1 on the blob -> last/first = (1 + 1) / (1 + 2)
    assert scores["rips-euclidean/all/last-first/per-class"] == pytest.approx(-2 / 3)
    assert scores["rips-euclidean/stages/last-first/pooled"] == pytest.approx(-2 / 3)
    assert len(scores) == 2 * 2 * 6 * 2


def test_the_probe_computes_every_column_in_one_pass(tmp_path):
    from modelrank.data import load_target
    from modelrank.loaders import build_backbone
    from modelrank.probe import probe
    from modelrank.zoo import parse_entry

    entry = parse_entry(
        "tiny",
        {
            "source": "file",
            "id": "modelrank:plain:depth=3,width=4,act=relu,classes=2",
            "weights": "random",
            "seed": 0,
            "layers": ["stem", "blocks.0", "blocks.1", "blocks.2"],
            "preprocess": {"size": 16, "resize": 16, "mean": [0.5] * 3, "std": [0.5] * 3},
        },
    )
    data = load_target("digits", per_class=2)
    bb = build_backbone(entry, device="cpu")
    emb = probe(bb, data, cubical=tv.VariantColumnsReducer(), device="cpu", cache_dir=tmp_path)
    assert emb.cubical.shape == (20, 4, len(COLS))
    faithful = probe(bb, data, cubical=tv.CubicalBettiReducer(), device="cpu", cache_dir=tmp_path)
    np.testing.assert_array_equal(emb.cubical[:, :, col("whc/eta0")], faithful.cubical.sum(axis=2))
    scores = tv.cubical_variant_scores(emb.cubical, data.labels)
    assert math.isfinite(scores["whc/eta0/all/theta/per-class"])


def test_the_vectorised_statistics_equal_the_scalar_ones():
    curves = np.abs(RNG.standard_normal((40, 7))) * RNG.uniform(0.1, 30, (40, 1))
    curves[3] = 0.0  # undefined for theta, auc and the rate
    curves[5, 1:] = 0.0  # drops at once
    curves[7] = np.linspace(1, 9, 7)  # grows: a negative rate
    for stat in tv.STATISTICS:
        batch = tv._scores_batch(curves, stat)
        for i, cv in enumerate(curves):
            try:
                want = tv.score_of(cv, stat)
            except ValueError:
                assert math.isnan(batch[i]) and stat in (
                    "theta",
                    "theta-depth01",
                    "auc",
                    "exp-rate",
                )
                continue
            tol = 1e-6 if stat == "exp-rate" else 1e-9
            assert batch[i] == pytest.approx(want, rel=tol, abs=tol), (stat, i)
