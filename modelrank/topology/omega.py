"""Topological complexity Ω (docs/methods.md §1 step 5): the total Betti number of a layer, and
the per-layer Ω curve of a target, balanced over its classes.

Every Ω in modelrank comes from here: the scores, the per-backbone summaries saved beside a
ranking, the leaderboard's curves and the ``betti`` command's table. Pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_means", "omega", "omega_curve"]


def omega(betti: np.ndarray) -> np.ndarray:
    """Topological complexity: the sum of Betti numbers over the last axis.

    Args:
        betti: (..., K) array of Betti numbers (K = 3 for b0, b1, b2).

    Returns:
        (...,) array, ``betti.sum(-1)`` (int for int input).
    """
    b = np.asarray(betti)
    if b.ndim == 0:
        raise ValueError("betti must have a last axis of Betti numbers, got a scalar")
    return b.sum(axis=-1)


def class_means(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each class's mean of per-image ``values``: (n, ...) and (n,) -> (C, ...) float64, classes
    in sorted label order (any label values; only the classes present)."""
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels)
    if v.ndim < 1 or v.shape[0] == 0 or y.shape != (v.shape[0],):
        raise ValueError(
            f"values must be (n, ...) with n > 0 and labels (n,), got {v.shape} and {y.shape}"
        )
    classes, index = np.unique(y, return_inverse=True)
    sums = np.zeros((len(classes),) + v.shape[1:])
    np.add.at(sums, index, v)
    counts = np.bincount(index, minlength=len(classes)).astype(np.float64)
    return sums / counts.reshape((-1,) + (1,) * (v.ndim - 1))


def omega_curve(betti: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """The Ω curve, (L,) float64: each class's mean Ω at each layer, averaged over the classes
    (so classes weigh equally, whatever their size).

    ``betti``: (n, L, K) per image with ``labels`` (n,), or, with ``labels=None``, (C, L, K)
    class means already taken (``class_means(betti, labels)``)."""
    b = np.asarray(betti)
    if b.ndim != 3 or b.shape[0] == 0:
        raise ValueError(f"betti must be (n, L, K) with n > 0, got shape {b.shape}")
    if labels is None:
        return omega(b.astype(np.float64)).mean(axis=0)
    return class_means(omega(b), labels).mean(axis=0)
