"""Degenerate input gives a correct number or a clear MetricError — never a crash, never NaN.

Every registered score is run on each degenerate case; the registry is also checked for complete
entries.
"""

from __future__ import annotations

import numpy as np
import pytest

import modelrank.metrics as metrics
from modelrank.errors import MetricError
from modelrank.metrics.registry import NEEDS, MetricInputs

#: Modules of the established scores and priors (other modules register e.g. topological
#: scores with inputs of their own; their tests live beside them).
MODULES = {
    f"modelrank.metrics.{m}"
    for m in (
        "etran",
        "gbc",
        "hscore",
        "knn",
        "leep",
        "linear",
        "logme",
        "nce",
        "ncti",
        "nleep",
        "parc",
        "priors",
        "sfda",
        "transrate",
    )
}
SPECS = [s for s in metrics.list_metrics() if s.compute.__module__ in MODULES]
ALL = [s.name for s in SPECS]
FEATURE_SCORES = [s.name for s in SPECS if "features" in s.needs]
LOGIT_SCORES = [s.name for s in SPECS if "logits" in s.needs]
LABEL_SCORES = [s.name for s in SPECS if "labels" in s.needs]
INFO = {"imagenet_top1": 75.0, "param_count": 11_689_512, "source_top1": 88.0}


def make(n=60, d=8, k=3, c_src=10, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.standard_normal((k, d))[y] * 1.5 + rng.standard_normal((n, d))
    z = rng.standard_normal((n, c_src)) + 2.0 * np.eye(c_src)[y % c_src]
    return x, y, z


def evaluate(name, inp):
    """The score's value(s) as a finite float; pool-dependent scores combined with a 2nd model."""
    spec = metrics.get_metric(name)
    value = spec.compute(inp)
    if spec.pool_dependent:
        assert isinstance(value, dict) and value
        assert all(np.isfinite(v) for v in value.values()), value
        x2, y2, z2 = make(n=len(np.asarray(inp.labels)), d=8, k=3, seed=99)
        other = spec.compute(
            MetricInputs(x2, inp.labels if inp.labels is not None else y2, z2, model_info=INFO)
        )
        combined = spec.combine([value, other])
        assert len(combined) == 2 and all(np.isfinite(combined))
        return combined[0]
    assert isinstance(value, float), type(value)
    assert np.isfinite(value), value
    return value


def number_or_metric_error(name, inp):
    try:
        return evaluate(name, inp)
    except MetricError as err:
        assert str(err)  # a message that says what is wrong
        return None


# ---------------------------------------------------------------- the registry


def test_registry_entries_are_complete():
    assert len(ALL) == 27  # 24 + gbc-spherical, transrate-released and source-top1
    for spec in SPECS:
        assert spec.description and "\n" not in spec.description
        assert spec.kind in ("score", "prior")
        assert spec.needs <= NEEDS
    for name in ("knn", "linear", "imagenet-top1", "param-count"):
        assert metrics.get_metric(name).kind == "prior"
    assert {s.name for s in SPECS if s.pool_dependent} == {
        "etran",
        "etran-full",
        "etran-ref",
        "ncti",
        "ncti-nolog",
    }
    for name in ("leep", "leep-nolog", "nce"):
        assert metrics.get_metric(name).needs == frozenset({"logits", "labels"})


# ---------------------------------------------------------------- feature degeneracies


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_constant_features_raise(name):
    x, y, z = make()
    x[:] = 3.0
    with pytest.raises(MetricError, match="constant"):
        evaluate(name, MetricInputs(x, y, z, model_info=INFO))


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_nan_features_raise(name):
    x, y, z = make()
    x[5, 2] = np.nan
    with pytest.raises(MetricError, match="NaN"):
        evaluate(name, MetricInputs(x, y, z, model_info=INFO))


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_more_dims_than_samples_gives_a_number(name):
    x, y, z = make(n=30, d=100, k=3)
    if name in ("sfda", "sfda-nolog", "hscore"):
        # n < d with λ at its floor: every posterior is exactly 1, a tie at the bound, refused;
        # H-score: the span of the features holds every class direction, K - 1 for any backbone
        with pytest.raises(MetricError, match="saturated"):
            evaluate(name, MetricInputs(x, y, z, model_info=INFO))
        return
    evaluate(name, MetricInputs(x, y, z, model_info=INFO))


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_some_constant_dimensions_give_a_number(name):
    x, y, z = make()
    x[:, :3] = 1.0  # dead units, as after a ReLU
    evaluate(name, MetricInputs(x, y, z, model_info=INFO))


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_one_sample_class(name):
    x, y, z = make(n=61)
    y = y.copy()
    y[-1] = 3  # class 3 has one sample
    value = number_or_metric_error(name, MetricInputs(x, y, z, model_info=INFO))
    if name not in ("knn", "linear"):  # cross-validation needs 2 per class; the rest must work
        assert value is not None


@pytest.mark.parametrize("name", FEATURE_SCORES)
@pytest.mark.parametrize("scale", [1e-150, 1e120])
def test_extreme_scales_never_crash(name, scale):
    x, y, z = make()
    number_or_metric_error(name, MetricInputs(x * scale, y, z, model_info=INFO))


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_duplicate_samples_give_a_number_or_error(name):
    x, y, z = make()
    x[1::2] = x[0::2]  # pairs of identical feature vectors (with different labels)
    number_or_metric_error(name, MetricInputs(x, y, z, model_info=INFO))


# ---------------------------------------------------------------- label degeneracies


@pytest.mark.parametrize("name", LABEL_SCORES)
def test_single_class_raises(name):
    x, y, z = make()
    with pytest.raises(MetricError, match="at least 2 classes"):
        evaluate(name, MetricInputs(x, np.zeros_like(y), z, model_info=INFO))


@pytest.mark.parametrize("name", LABEL_SCORES)
def test_label_count_mismatch_raises(name):
    x, y, z = make()
    with pytest.raises(MetricError):
        evaluate(name, MetricInputs(x, y[:-1], z, model_info=INFO))


@pytest.mark.parametrize("name", LABEL_SCORES)
def test_non_contiguous_labels_are_recoded(name):
    x, y, z = make()
    a = evaluate(name, MetricInputs(x, y, z, model_info=INFO))
    b = evaluate(name, MetricInputs(x, np.array([10, 20, 30])[y], z, model_info=INFO))
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- logits


@pytest.mark.parametrize("name", LOGIT_SCORES)
@pytest.mark.parametrize(
    "bad",
    ["none", "one_dim", "wrong_n", "one_source_class", "nan", "three_dim"],
)
def test_bad_logits_raise(name, bad):
    x, y, z = make()
    z = {
        "none": None,
        "one_dim": z[:, 0],
        "wrong_n": z[:-2],
        "one_source_class": z[:, :1],
        "nan": np.where(np.arange(z.size).reshape(z.shape) == 7, np.nan, z),
        "three_dim": z[:, :, None],
    }[bad]
    with pytest.raises(MetricError):
        evaluate(name, MetricInputs(x, y, z, model_info=INFO))


@pytest.mark.parametrize("name", LOGIT_SCORES)
def test_extreme_logits_give_a_number(name):
    x, y, z = make()
    evaluate(name, MetricInputs(x, y, z * 1e4, model_info=INFO))  # one-hot softmax rows


# ---------------------------------------------------------------- priors


@pytest.mark.parametrize(
    "info",
    [
        {},
        {"imagenet_top1": None, "param_count": None},
        {"imagenet_top1": float("nan"), "param_count": -1},
    ],
)
@pytest.mark.parametrize("name", ["imagenet-top1", "param-count"])
def test_priors_unknown_raise(name, info):
    with pytest.raises(MetricError):
        evaluate(name, MetricInputs(model_info=info))
