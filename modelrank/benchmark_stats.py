"""The statistics of a benchmark beyond one correlation: bootstrap intervals, seed spread, and
the leave-one-target-out accuracy prior.

- :func:`bootstrap_scores` + :func:`replicate_tau`: resample the images the scores saw, recompute
  every score of every backbone from its cached embeddings (no forward pass), and correlate each
  replicate with the fixed accuracies; the 2.5 and 97.5 percentiles of the replicates are the
  95 % interval. The resamples are *half-samples*: half of each class's images, drawn without
  replacement. Drawing with replacement (the textbook bootstrap) repeats images, and repeated
  images break the scores themselves: LogME's evidence becomes unbounded when n ≤ d (duplicates
  are fitted exactly), a k-NN score's cross-validation puts copies of a test image in its
  training fold. A half-sample has no copies, and for a mean its variance, σ²(1/m − 1/n) with
  m = n/2, is exactly the σ²/n of a fresh draw of n images (McCarthy's half-sampling), so the
  spread of the replicates estimates how much a new draw of the images would move the result.
- :func:`seed_spread`: how far the fine-tuning seeds of each backbone lie apart, and how many
  backbone pairs cannot be told apart by that spread.
- :func:`loto_prior`: a static baseline that knows the other targets' accuracies: a backbone's
  score on target t is its mean accuracy over the suite's other targets.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from modelrank.correlation import weighted_tau
from modelrank.errors import MetricError
from modelrank.metrics.registry import MetricInputs, MetricSpec


def stratified_half_sample(labels: np.ndarray, rng: np.random.Generator,
                           fraction: float = 0.5) -> np.ndarray:
    """Sorted indices of ``fraction`` of each class's images (at least 2), without replacement."""
    labels = np.asarray(labels)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = min(idx.size, max(2, int(round(fraction * idx.size))))
        keep.append(rng.choice(idx, k, replace=False))
    return np.sort(np.concatenate(keep))


def subset_inputs(inputs: MetricInputs, idx: np.ndarray) -> MetricInputs:
    """The inputs of the images ``idx`` (rows of every per-image array), a fresh memo."""
    def take(a):
        return None if a is None else a[idx]

    return MetricInputs(features=take(inputs.features), labels=take(inputs.labels),
                        logits=take(inputs.logits),
                        layer_features={k: v[idx] for k, v in inputs.layer_features.items()},
                        cubical_betti=take(inputs.cubical_betti), layer_names=inputs.layer_names,
                        model_info=inputs.model_info)


def backbone_values(specs: Sequence[MetricSpec], inputs: MetricInputs) -> dict[str, Any]:
    """{score: value} of one backbone (sub-score dicts for pool-dependent scores); a score
    that fails or is not finite is left out."""
    have = inputs.available()
    out: dict[str, Any] = {}
    for s in specs:
        if s.needs - have:
            continue
        try:
            v = s.compute(inputs)
        except MetricError:
            continue
        if s.pool_dependent or math.isfinite(float(v)):
            out[s.name] = v
    return out


def combine_pool(specs: Sequence[MetricSpec], values: Mapping[str, Mapping[str, Any]]
                 ) -> dict[str, dict[str, float]]:
    """{score: {model: value in ranking direction}} from :func:`backbone_values` of a pool,
    pool-dependent scores combined over the backbones that have them."""
    out: dict[str, dict[str, float]] = {s.name: {} for s in specs}
    for s in specs:
        have = [m for m, v in values.items() if s.name in v]
        if s.pool_dependent:
            if not have:
                continue
            try:
                combined = s.combine([values[m][s.name] for m in have])
            except MetricError:
                continue
            pairs = zip(have, map(float, combined))
        else:
            pairs = ((m, float(values[m][s.name])) for m in have)
        for m, v in pairs:
            if math.isfinite(v):
                out[s.name][m] = v if s.higher_is_better else -v
    return out


def pool_scores(specs: Sequence[MetricSpec], inputs: Mapping[str, MetricInputs]
                ) -> dict[str, dict[str, float]]:
    """{score: {model: value in ranking direction}} for a pool; a score that fails for a
    backbone leaves that backbone out of that score."""
    return combine_pool(specs, {m: backbone_values(specs, inp) for m, inp in inputs.items()})


def half_samples(labels: np.ndarray, *, replicates: int, seed: int) -> list[np.ndarray]:
    """The image indices of each replicate; replicate r uses ``default_rng([seed, r])``, so a
    longer run extends a shorter one and every backbone of a target sees the same images."""
    return [stratified_half_sample(labels, np.random.default_rng([seed, r]))
            for r in range(replicates)]


def bootstrap_backbone(specs: Sequence[MetricSpec], inputs: MetricInputs, *, replicates: int,
                       seed: int, on_replicate: Callable[[int, int], None] | None = None
                       ) -> list[dict[str, Any]]:
    """:func:`backbone_values` of one backbone on each half-sample of its target's images."""
    out = []
    for r, idx in enumerate(half_samples(inputs.labels, replicates=replicates, seed=seed)):
        out.append(backbone_values(specs, subset_inputs(inputs, idx)))
        if on_replicate:
            on_replicate(r + 1, replicates)
    return out


def bootstrap_scores(specs: Sequence[MetricSpec], inputs: Mapping[str, MetricInputs], *,
                     replicates: int, seed: int,
                     on_replicate: Callable[[int, int], None] | None = None
                     ) -> list[dict[str, dict[str, float]]]:
    """Every score of every backbone on ``replicates`` half-samples of one target's images.

    Args:
        specs: the scores (priors are constant under resampling and may be left out).
        inputs: {model: MetricInputs} of one target; every model sees the same half-samples.
        replicates, seed: see :func:`half_samples`.

    Returns one {score: {model: value in ranking direction}} per replicate.
    """
    per_model = {m: bootstrap_backbone(specs, inp, replicates=replicates, seed=seed)
                 for m, inp in inputs.items()}
    return combine_replicates(specs, per_model)


def combine_replicates(specs: Sequence[MetricSpec],
                       per_model: Mapping[str, Sequence[Mapping[str, Any]]]
                       ) -> list[dict[str, dict[str, float]]]:
    """:func:`combine_pool` of each replicate of :func:`bootstrap_backbone`'s per-model lists."""
    n = min((len(v) for v in per_model.values()), default=0)
    return [combine_pool(specs, {m: v[r] for m, v in per_model.items()}) for r in range(n)]


def replicate_tau(tables: Sequence[Mapping[str, Mapping[str, float]]],
                  accuracies: Mapping[str, float], *,
                  complete: Sequence[str] | Mapping[str, Sequence[str]]
                  ) -> dict[str, np.ndarray]:
    """{score: (replicates,) weighted tau} of :func:`bootstrap_scores`' tables against fixed
    ``accuracies``, over the backbones of ``complete`` (one list, or one per score: the
    backbones its point estimate used); a replicate where one of them has no value gives NaN
    (never a tau over a smaller pool)."""
    names = sorted({s for t in tables for s in t})
    out = {s: np.full(len(tables), np.nan) for s in names}
    for r, table in enumerate(tables):
        for s, scores in table.items():
            pool = complete.get(s, ()) if isinstance(complete, Mapping) else complete
            if pool and all(m in scores for m in pool):
                out[s][r] = weighted_tau({m: scores[m] for m in pool}, accuracies)
    return out


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, int]:
    """(low, high, finite replicates) percentile interval; NaNs when under 10 are finite."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < 10:
        return float("nan"), float("nan"), int(v.size)
    lo, hi = np.percentile(v, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi), int(v.size)


def seed_spread(per_seed: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Spread of the fine-tuning seeds: {"half_range": {model: (max - min) / 2},
    "mean_half_range", "pairs", "pairs_within"}: a pair is within the spread when the seed
    ranges of its two backbones overlap (``|mean_i - mean_j| <= half_range_i + half_range_j``)."""
    means = {m: float(np.mean(v)) for m, v in per_seed.items() if len(v)}
    half = {m: float(np.ptp(v)) / 2 for m, v in per_seed.items() if len(v)}
    pairs = list(itertools.combinations(sorted(means), 2))
    within = [(a, b) for a, b in pairs if abs(means[a] - means[b]) <= half[a] + half[b]]
    return {"half_range": half, "mean_half_range": float(np.mean(list(half.values()))) if half
            else float("nan"), "pairs": len(pairs), "pairs_within": len(within),
            "within": [f"{a}~{b}" for a, b in within]}


def loto_prior(accuracies: Mapping[str, Mapping[str, float]], target: str) -> dict[str, float]:
    """{model: mean accuracy over every other target} for the models with an accuracy on all
    of them; {} when the suite has fewer than 3 targets (the prior would be one target's)."""
    others = [t for t in accuracies if t != target]
    if len(accuracies) < 3:
        return {}
    models = set.intersection(*(set(accuracies[t]) for t in others)) if others else set()
    return {m: float(np.mean([accuracies[t][m] for t in others])) for m in sorted(models)}
