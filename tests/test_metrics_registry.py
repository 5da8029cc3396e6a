"""Scores register by a decorator on their definition; inputs come from parameter names."""

import numpy as np
import pytest

from modelrank.metrics import registry
from modelrank.metrics.registry import MetricInputs, get_metric, list_metrics, score


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    return registry._REGISTRY


def test_inputs_needs_and_fixed_options_come_from_the_signature(scratch_registry):
    @score("twice", factor=2.0, description="2 x mean feature")
    @score("once", description="mean feature")
    def mean_feature(features, labels, layer_names=(), *, factor: float = 1.0, metric: str = ""):
        return factor * float(np.mean(features)) + 0 * len(labels) + len(metric) * 0

    once, twice = get_metric("once"), get_metric("twice")
    assert once.needs == twice.needs == frozenset({"features", "labels"})
    inp = MetricInputs(features=np.full((3, 2), 1.5), labels=np.arange(3))
    assert once.compute(inp) == 1.5 and twice.compute(inp) == 3.0
    assert mean_feature(np.ones((2, 2)), np.arange(2)) == 1.0  # the function is returned as is


def test_a_parameter_that_is_no_input_needs_a_default(scratch_registry):
    def f(features, weights):
        return 0.0

    with pytest.raises(TypeError, match="parameter 'weights' of f is neither an input nor fixed"):
        score("bad", description="")(f)
    with pytest.raises(TypeError, match="has no parameter 'scale'"):
        score("bad", description="", scale=2)(f)


def test_every_registered_score_reads_its_needs_from_its_function():
    import inspect

    for spec in list_metrics():
        fn = spec.compute.__wrapped__
        params = inspect.signature(fn).parameters
        required = {p for p, v in params.items() if v.default is v.empty and p in registry.NEEDS}
        assert spec.needs == required, spec.name


def test_a_score_lives_in_the_file_named_after_it():
    """``betti-cubical`` is in metrics/betti.py, ``sfda-nolog`` in metrics/sfda.py, ...; the priors
    that need nothing of the target (ImageNet top-1, parameter count) in metrics/priors.py."""
    for spec in list_metrics():
        module = spec.compute.__wrapped__.__module__
        family = spec.name.split("-")[0]
        expected = (
            "modelrank.metrics.priors"
            if spec.kind == "prior" and spec.needs <= {"model_info"}
            else f"modelrank.metrics.{family}"
        )
        assert module == expected, (spec.name, module)
