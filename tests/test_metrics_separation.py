"""Every registered score ranks a backbone with class-separable features above one with noise.

Model A: features = class means + noise, logits informative (each target class maps to a source
class). Model B: features are the same noise without the class response, logits are noise.
(ETran's energy term is label-free: it prefers A because A responds more strongly to the
target images, which is the paper's in-distribution argument.) Priors get model_info that
favours A. Scores are compared in their natural direction (``higher_is_better``); pool-dependent
scores are combined over the pool {A, B}.
"""

from __future__ import annotations

import numpy as np
import pytest

import modelrank.metrics as metrics
from modelrank.metrics.registry import MetricInputs

N, D, K, C_SRC = 150, 24, 5, 40


def _models():
    rng = np.random.default_rng(2024)
    y = np.arange(N) % K
    means = rng.standard_normal((K, D)) * 2.0
    feat_a = means[y] + rng.standard_normal((N, D))
    feat_b = rng.standard_normal((N, D))  # the same noise without the class response
    src_of = rng.choice(C_SRC, size=K, replace=False)
    logit_a = 4.0 * np.eye(C_SRC)[src_of[y]] + rng.standard_normal((N, C_SRC))
    logit_b = rng.standard_normal((N, C_SRC)) * 2.0
    a = MetricInputs(
        feat_a,
        y,
        logit_a,
        model_info={"imagenet_top1": 80.9, "param_count": 6e7, "source_top1": 91.0},
    )
    b = MetricInputs(
        feat_b,
        y,
        logit_b,
        model_info={"imagenet_top1": 69.8, "param_count": 1e7, "source_top1": 70.0},
    )
    return a, b


A, B = _models()
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
NAMES = [s.name for s in metrics.list_metrics() if s.compute.__module__ in MODULES]


def test_every_established_score_is_covered():
    assert len(NAMES) == 27  # gbc-spherical, transrate-released and source-top1 included


@pytest.mark.parametrize("name", NAMES)
def test_informative_backbone_ranks_first(name):
    spec = metrics.get_metric(name)
    va, vb = spec.compute(A), spec.compute(B)
    if spec.pool_dependent:
        va, vb = spec.combine([va, vb])
    assert np.isfinite(va) and np.isfinite(vb)
    if spec.higher_is_better:
        assert va > vb, (name, va, vb)
    else:
        assert va < vb, (name, va, vb)
