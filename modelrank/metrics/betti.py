"""Topological transferability scores: how fast a backbone simplifies a target's topology.

Registered scores (all read per-layer data of the probed layers, in depth order):

- ``betti-cubical`` — θ of Suresh et al. (docs/methods.md §1) on the cubical Ω curve; raw value
  lower-is-better (``rank`` negates it).
- ``betti-cubical-auc`` — area under the max-normalised cubical Ω curve over depth in [0, 1]
  (ours; lower is better).
- ``betti-cubical-exp`` — fitted exponential decay rate of the cubical Ω curve over depth in
  [0, 1] (ours; higher is better).
- ``betti-rips`` — θ on the Rips Ω curve: per layer and class, the faithful Naitzat recipe
  (k = 14, scale 2 of the hop metric) on the class's pooled layer features; lower is better.

The Ω curves are public (:func:`omega_curve_cubical`, :func:`omega_curve_rips`) so callers can
save the per-layer arrays beside the score.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics.registry import as_float64, as_labels, score
from modelrank.topology.decay import auc_decay, exp_decay_rate, theta
from modelrank.topology.omega import omega_curve
from modelrank.topology.rips import maxmin_subsample, naitzat_betti

__all__ = [
    "RIPS_K",
    "RIPS_MAX_POINTS",
    "RIPS_MAXDIM",
    "omega_curve_cubical",
    "omega_curve_rips",
]

#: Defaults of ``betti-rips``: the paper's k, H0 and H1, at most this many points per class.
RIPS_K = 14
RIPS_MAXDIM = 1
RIPS_MAX_POINTS = 500


def omega_curve_cubical(cubical_betti: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cubical Ω per layer: b0 + b1 + b2, averaged over each class's images, then over classes.

    Args:
        cubical_betti: (n, L, 3) Betti numbers of each image at each probed layer.
        labels: (n,) class of each image.

    Returns:
        (L,) float64 Ω curve (classes weigh equally, whatever their size).
    """
    b = np.asarray(cubical_betti)
    if b.ndim != 3 or b.shape[2] != 3:
        raise MetricError(f"cubical_betti must have shape (n, L, 3), got {b.shape}")
    if b.shape[0] == 0 or b.shape[1] == 0:
        raise MetricError(f"cubical_betti is empty (shape {b.shape})")
    b = b.astype(np.float64)
    if not np.all(np.isfinite(b)):
        raise MetricError("cubical_betti contains NaN or infinite values")
    return omega_curve(b, as_labels(labels, n=b.shape[0], min_classes=1))


def omega_curve_rips(
    layer_features: Mapping[str, np.ndarray],
    labels: np.ndarray,
    k: int = RIPS_K,
    divisor: int = 1,
    maxdim: int = RIPS_MAXDIM,
    max_points: int | None = RIPS_MAX_POINTS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rips Ω per layer from pooled features, with the faithful Naitzat recipe per class.

    For every layer and class: the class's rows of that layer's features; if there are more than
    ``max_points``, keep ``max_points`` max–min landmarks of that layer's cloud (seeded; landmarks
    spread evenly over the cloud and so keep its shape, which a random subsample does not, at a
    cost O(n·max_points·d)); then :func:`~modelrank.topology.rips.naitzat_betti` with ``k``,
    ``divisor`` and ``maxdim``. Ω(layer) = mean over classes of the sum of the Betti numbers.
    Classes are the target labels (the paper uses the network's own predictions; for transfer
    ranking the backbone has no target head).

    Args:
        layer_features: ordered mapping layer -> (n, d_layer) pooled activations, depth order.
        labels: (n,) target classes.
        k, divisor, maxdim: the recipe's parameters (defaults: 14, 1, 1 = H0 and H1).
        max_points: cap on points per class and layer (None = no cap).
        seed: seed of the max–min landmarks.

    Returns:
        ``(omega, betti)``: (L,) float64 Ω curve and (L, K, maxdim + 1) int64 Betti numbers per
        layer and class (K classes in label order).
    """
    if not len(layer_features):
        raise MetricError("betti-rips needs per-layer features, got none")
    names = list(layer_features)
    first = np.asarray(layer_features[names[0]])
    y = as_labels(labels, n=first.shape[0], min_classes=1)
    n_classes = int(y.max()) + 1
    betti = np.zeros((len(names), n_classes, maxdim + 1), dtype=np.int64)
    for li, name in enumerate(names):
        x = as_float64(layer_features[name], what=f"features of layer {name!r}")
        if x.shape[0] != y.shape[0]:
            raise MetricError(
                f"layer {name!r} has {x.shape[0]} rows but there are {y.shape[0]} labels"
            )
        for c in range(n_classes):
            xc = x[y == c]
            if max_points is not None and xc.shape[0] > max_points:
                xc = xc[maxmin_subsample(xc, max_points, seed=seed)]
            betti[li, c] = naitzat_betti(xc, k=k, divisor=divisor, maxdim=maxdim)
    omega = betti.sum(axis=2).astype(np.float64).mean(axis=1)
    return omega, betti


def _score(fn, curve: np.ndarray, name: str) -> float:
    try:
        return fn(curve)
    except ValueError as exc:
        raise MetricError(f"{name}: {exc}") from None


@score(
    "betti-cubical-exp",
    statistic=exp_decay_rate,
    higher_is_better=True,
    description=(
        "least-squares exponential decay rate of the max-normalised cubical Omega curve over "
        "depth in [0, 1] (ours)"
    ),
)
@score(
    "betti-cubical-auc",
    statistic=auc_decay,
    higher_is_better=False,
    description=(
        "area under the max-normalised cubical Omega curve over depth rescaled to [0, 1] "
        "(ours; lower = faster simplification)"
    ),
)
@score(
    "betti-cubical",
    statistic=theta,
    higher_is_better=False,
    description=(
        "Suresh et al. 2023 rate of decay theta of cubical Betti numbers (W,H,C volumes, "
        "V-construction, eta=0) over depth; faithful cubic ridge fit"
    ),
)
def cubical_decay(
    cubical_betti: np.ndarray,
    labels: np.ndarray,
    *,
    statistic: Callable[[np.ndarray], float],
    metric: str,
) -> float:
    """``statistic`` (θ, AUC or decay rate) of the cubical Ω curve (:func:`omega_curve_cubical`)."""
    return _score(statistic, omega_curve_cubical(cubical_betti, labels), metric)


@score(
    "betti-rips",
    statistic=theta,
    higher_is_better=False,
    description=(
        "theta of Naitzat et al. 2020 Rips Betti numbers (k=14 k-NN hop metric, scale 2, H0+H1) "
        "of each class's pooled layer features, max-min subsampled to 500 points per class"
    ),
)
def rips_decay(
    layer_features: Mapping[str, np.ndarray],
    labels: np.ndarray,
    memo: dict[str, Any],
    *,
    statistic: Callable[[np.ndarray], float],
    metric: str,
) -> float:
    """``statistic`` of the Rips Ω curve, computed once per backbone: (Ω, per-layer Betti) are
    kept in ``memo["rips"]`` for the result's topology summary."""
    if "rips" not in memo:
        memo["rips"] = omega_curve_rips(layer_features, labels)
    return _score(statistic, memo["rips"][0], metric)
