"""How well a score predicted accuracy: rank correlations and rel@k over a pool of backbones."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from modelrank.errors import MetricError


def rel_at_k(scores: np.ndarray, accuracies: np.ndarray, k: int) -> float:
    """Best accuracy among the ``k`` top-scored backbones over the best accuracy overall.

    Ties in the score at the k-th place are broken by pool order (stable sort), as a user
    picking the first k rows of a ranked table would.
    """
    s, a = np.asarray(scores, float), np.asarray(accuracies, float)
    top = np.argsort(-s, kind="stable")[: min(k, s.size)]
    return float(a[top].max() / a.max())


def _as_mapping(values, what: str) -> Mapping:
    """A mapping as it is; a sequence or 1-D array as {position: value}."""
    if isinstance(values, Mapping):
        return values
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise MetricError(
            f"{what} must be a mapping {{backbone: value}} or a 1-D sequence, got "
            f"an array of shape {arr.shape}"
        )
    return {i: v for i, v in enumerate(arr.tolist())}


def weighted_tau(
    scores: Mapping[str, float] | Sequence[float] | np.ndarray,
    accuracies: Mapping[str, float] | Sequence[float] | np.ndarray,
) -> float:
    """``scipy.stats.weightedtau`` (default arguments) of a score with accuracy: over the
    backbones in both mappings, or two sequences paired by position; NaN below 3 backbones or
    when either side is constant (no ranking to compare). Every weighted tau modelrank prints
    comes from here."""
    if isinstance(scores, Mapping) and isinstance(accuracies, Mapping):
        common = [m for m in scores if m in accuracies]
        s = np.array([scores[m] for m in common], float)
        a = np.array([accuracies[m] for m in common], float)
    else:
        s, a = np.asarray(scores, float), np.asarray(accuracies, float)
        if s.shape != a.shape or s.ndim != 1:
            raise MetricError(
                f"scores and accuracies must be 1-D of the same length, got "
                f"shapes {s.shape} and {a.shape}"
            )
    if len(s) < 3 or np.ptp(s) == 0 or np.ptp(a) == 0:
        return float("nan")
    return float(stats.weightedtau(s, a)[0])


def correlate(
    scores: Mapping[str, float] | Sequence[float] | np.ndarray,
    accuracies: Mapping[str, float] | Sequence[float] | np.ndarray,
) -> dict[str, float]:
    """Correlation of a score with accuracy over the backbones present in both mappings.

    ``scores`` and ``accuracies`` are mappings {backbone: value}, or two sequences / 1-D arrays
    of the same length, paired by position (as scipy takes them).

    Returns weighted Kendall tau (``scipy.stats.weightedtau`` with default arguments, the
    transferability literature's headline number), Kendall tau-b, Spearman rho, Pearson r,
    rel@1, rel@3 and ``n`` (backbones used). Needs at least 3 backbones. Ties are handled as
    scipy handles them; a constant score gives NaN correlations (scipy's answer), reported as is.

    Raises MetricError for a negative, non-finite or non-numeric accuracy, for accuracies that
    are all 0, for fewer than 3 backbones, and for two sequences of different lengths.
    """
    if not isinstance(scores, Mapping) or not isinstance(accuracies, Mapping):
        if isinstance(scores, Mapping) or isinstance(accuracies, Mapping):
            raise MetricError("scores and accuracies must both be mappings or both be sequences")
        if len(scores) != len(accuracies):
            raise MetricError(
                f"scores and accuracies must have the same length, got "
                f"{len(scores)} and {len(accuracies)}"
            )
    scores, accuracies = _as_mapping(scores, "scores"), _as_mapping(accuracies, "accuracies")
    bad = [
        (m, a)
        for m, a in accuracies.items()
        if not (
            isinstance(a, (int, float, np.floating, np.integer)) and math.isfinite(a) and a >= 0
        )
    ]
    if bad:
        raise MetricError(f"accuracies must be finite numbers ≥ 0; {bad[0][0]!r} has {bad[0][1]!r}")
    common = [
        m
        for m in scores
        if m in accuracies and math.isfinite(scores[m]) and math.isfinite(accuracies[m])
    ]
    if common and max(accuracies[m] for m in common) == 0:
        raise MetricError(
            "every accuracy is 0: nothing to correlate with (rel@k divides by the best accuracy)"
        )
    if len(common) < 3:
        raise MetricError(
            f"correlation needs at least 3 backbones with both a score and an "
            f"accuracy, got {len(common)}"
        )
    s = np.array([scores[m] for m in common], float)
    a = np.array([accuracies[m] for m in common], float)
    constant = np.ptp(s) == 0 or np.ptp(a) == 0
    nan = float("nan")
    return {
        "n": len(common),
        "weighted_tau": weighted_tau(s, a),
        "kendall_tau": nan if constant else float(stats.kendalltau(s, a)[0]),
        "spearman": nan if constant else float(stats.spearmanr(s, a)[0]),
        "pearson": nan if constant else float(stats.pearsonr(s, a)[0]),
        "rel_at_1": rel_at_k(s, a, 1),
        "rel_at_3": rel_at_k(s, a, 3),
    }


def shared_ranks(values: Sequence[float | None]) -> list[int | None]:
    """Competition ranks of ``values`` (higher is better): equal values share the best rank of
    their group and the next value skips past them (1, 1, 3); None or NaN gets None."""
    out: list[int | None] = []
    finite = [v for v in values if v is not None and math.isfinite(v)]
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
        else:
            out.append(1 + sum(1 for w in finite if w > v))
    return out
