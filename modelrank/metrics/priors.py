"""Priors read from the zoo entry: ImageNet top-1 accuracy, source-task accuracy (zoos trained
here) and parameter count of the backbone.

They need no target data; every leaderboard shows them beside the transferability scores
(docs/methods.md §4), because a score that does not beat "pick the best ImageNet model" adds nothing.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics.registry import score


@score(
    "imagenet-top1",
    description="ImageNet top-1 accuracy of the backbone (%), from the zoo entry or timm metadata",
    kind="prior",
)
def imagenet_top1(model_info: Mapping[str, Any]) -> float:
    """The backbone's ImageNet top-1 accuracy in percent, from the zoo entry or timm's metadata.

    Raises:
        MetricError: when the accuracy is unknown for this backbone (``imagenet_top1`` is None or
            absent), or not a finite number.
    """
    value = (model_info or {}).get("imagenet_top1")
    if value is None:
        raise MetricError(
            "ImageNet top-1 accuracy is unknown for this backbone (neither the zoo entry nor "
            "timm's metadata gives it)"
        )
    v = float(value)
    if not np.isfinite(v):
        raise MetricError(f"ImageNet top-1 accuracy of this backbone is not a number ({value!r})")
    return v


@score(
    "param-count",
    description="Number of parameters of the backbone (bigger tends to fine-tune better)",
    kind="prior",
)
def param_count(model_info: Mapping[str, Any]) -> float:
    """The backbone's number of parameters.

    Raises:
        MetricError: when ``param_count`` is missing or not a positive finite number.
    """
    value = (model_info or {}).get("param_count")
    if value is None:
        raise MetricError("the parameter count of this backbone is unknown")
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise MetricError(f"invalid parameter count for this backbone ({value!r})")
    return v


@score(
    "source-top1",
    description="Test accuracy (%) on the source task, for zoos trained here (modelrank zoo build)",
    kind="prior",
)
def source_top1(model_info: Mapping[str, Any]) -> float:
    """The backbone's test accuracy (%) on the source task it was pre-trained on here.

    Raises:
        MetricError: for a backbone with no ``source_top1`` in its zoo entry (one not trained
            by :mod:`modelrank.trained_zoo`).
    """
    value = (model_info or {}).get("source_top1")
    if value is None:
        raise MetricError(
            "the source-task accuracy is known only for backbones trained here "
            "(modelrank zoo build)"
        )
    return float(value)
