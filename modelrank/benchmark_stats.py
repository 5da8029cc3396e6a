"""The statistics of a benchmark beyond one correlation: bootstrap intervals, seed spread, and
the leave-one-target-out accuracy prior.

- :func:`bootstrap_scores` + :func:`replicate_tau` (accuracies fixed) or
  :func:`joint_tau_replicates` (the fine-tuning seeds resampled with the images, as benchmarks
  do): resample the images the scores saw, recompute every score of every backbone from its
  cached embeddings (no forward pass), and correlate each replicate with the accuracies;
  :func:`pivot_interval` places the replicates' 2.5–97.5 % spread around the full-sample value.
  The resamples are *half-samples*: half of each class's images, drawn without
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


def stratified_half_sample(
    labels: np.ndarray, rng: np.random.Generator, fraction: float = 0.5
) -> np.ndarray:
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

    return MetricInputs(
        features=take(inputs.features),
        labels=take(inputs.labels),
        logits=take(inputs.logits),
        layer_features={k: v[idx] for k, v in inputs.layer_features.items()},
        cubical_betti=take(inputs.cubical_betti),
        layer_names=inputs.layer_names,
        model_info=inputs.model_info,
    )


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


def combine_pool(
    specs: Sequence[MetricSpec], values: Mapping[str, Mapping[str, Any]]
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


def pool_scores(
    specs: Sequence[MetricSpec], inputs: Mapping[str, MetricInputs]
) -> dict[str, dict[str, float]]:
    """{score: {model: value in ranking direction}} for a pool; a score that fails for a
    backbone leaves that backbone out of that score."""
    return combine_pool(specs, {m: backbone_values(specs, inp) for m, inp in inputs.items()})


def half_samples(labels: np.ndarray, *, replicates: int, seed: int) -> list[np.ndarray]:
    """The image indices of each replicate; replicate r uses ``default_rng([seed, r])``, so a
    longer run extends a shorter one and every backbone of a target sees the same images."""
    return [
        stratified_half_sample(labels, np.random.default_rng([seed, r])) for r in range(replicates)
    ]


def bootstrap_backbone(
    specs: Sequence[MetricSpec],
    inputs: MetricInputs,
    *,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`backbone_values` of one backbone on each half-sample of its target's images."""
    out = []
    for r, idx in enumerate(half_samples(inputs.labels, replicates=replicates, seed=seed)):
        out.append(backbone_values(specs, subset_inputs(inputs, idx)))
        if on_replicate:
            on_replicate(r + 1, replicates)
    return out


def bootstrap_scores(
    specs: Sequence[MetricSpec],
    inputs: Mapping[str, MetricInputs],
    *,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int, int], None] | None = None,
) -> list[dict[str, dict[str, float]]]:
    """Every score of every backbone on ``replicates`` half-samples of one target's images.

    Args:
        specs: the scores (priors are constant under resampling and may be left out).
        inputs: {model: MetricInputs} of one target; every model sees the same half-samples.
        replicates, seed: see :func:`half_samples`.

    Returns one {score: {model: value in ranking direction}} per replicate.
    """
    per_model = {
        m: bootstrap_backbone(specs, inp, replicates=replicates, seed=seed)
        for m, inp in inputs.items()
    }
    return combine_replicates(specs, per_model)


def combine_replicates(
    specs: Sequence[MetricSpec], per_model: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[dict[str, dict[str, float]]]:
    """:func:`combine_pool` of each replicate of :func:`bootstrap_backbone`'s per-model lists."""
    n = min((len(v) for v in per_model.values()), default=0)
    return [combine_pool(specs, {m: v[r] for m, v in per_model.items()}) for r in range(n)]


def replicate_tau(
    tables: Sequence[Mapping[str, Mapping[str, float]]],
    accuracies: Mapping[str, float],
    *,
    complete: Sequence[str] | Mapping[str, Sequence[str]],
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
            out[s][r] = _pool_tau(pool, scores, accuracies)
    return out


def _pool_tau(
    pool: Sequence[str], scores: Mapping[str, float], accuracies: Mapping[str, float]
) -> float:
    """Weighted tau of ``scores`` over the backbones of ``pool`` against ``accuracies`` (over
    those of them with an accuracy, as the point estimate correlates); NaN when the pool is empty
    or one of its backbones has no score in this replicate (never a tau over a smaller pool)."""
    if not pool or not all(m in scores for m in pool):
        return float("nan")
    return weighted_tau({m: scores[m] for m in pool}, accuracies)


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
    return {
        "half_range": half,
        "mean_half_range": float(np.mean(list(half.values()))) if half else float("nan"),
        "pairs": len(pairs),
        "pairs_within": len(within),
        "within": [f"{a}~{b}" for a, b in within],
    }


def loto_prior(accuracies: Mapping[str, Mapping[str, float]], target: str) -> dict[str, float]:
    """{model: mean accuracy over every other target} for the models with an accuracy on all
    of them; {} when the suite has fewer than 3 targets (the prior would be one target's)."""
    others = [t for t in accuracies if t != target]
    if len(accuracies) < 3:
        return {}
    models = set.intersection(*(set(accuracies[t]) for t in others)) if others else set()
    return {m: float(np.mean([accuracies[t][m] for t in others])) for m in sorted(models)}


def resample_seeds(
    per_seed: Mapping[str, Mapping[str, Sequence[float]]], rng: np.random.Generator
) -> dict[str, dict[str, float]]:
    """One resample of a ground truth: {target: {model: mean accuracy over its seeds drawn with
    replacement}}, each backbone x target drawn on its own (its runs share nothing with another
    backbone's or target's). A backbone with one seed keeps its accuracy."""
    out: dict[str, dict[str, float]] = {}
    for t in sorted(per_seed):
        col = {}
        for m in sorted(per_seed[t]):
            v = np.asarray(per_seed[t][m], float)
            col[m] = float(v.mean() if v.size <= 1 else v[rng.integers(0, v.size, v.size)].mean())
        out[t] = col
    return out


def joint_tau_replicates(
    *,
    per_seed: Mapping[str, Mapping[str, Sequence[float]]],
    image_tables: Mapping[str, Sequence[Mapping[str, Mapping[str, float]]]],
    fixed: Mapping[str, Mapping[str, Mapping[str, float]]],
    complete: Mapping[str, Mapping[str, Sequence[str]]],
    pool: Sequence[str],
    replicates: int,
    seed: int,
    loto_name: str | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Weighted τ of every score on every target over joint resamples of both noises.

    Replicate r pairs the r-th half-sample of the scored images (``image_tables[target][r]``,
    from :func:`bootstrap_scores`) with the r-th resample of the fine-tuning seeds
    (:func:`resample_seeds` with ``default_rng([seed, r, 1])``), so each τ replicate carries
    the images' noise and the ground truth's at once, and two scores' replicates are paired.

    Args:
        per_seed: {target: {model: [accuracy % per seed]}} of the ground truth.
        image_tables: {target: one {score: {model: value}} per replicate} of the scores that
            depend on the images; a target may be absent.
        fixed: {target: {score: {model: value}}} of scores that do not depend on the images
            (static priors): only the ground truth is resampled for them.
        complete: {target: {score: [models]}}: the backbones of each score's point estimate;
            a replicate in which one of them has no value gives NaN (never a smaller pool).
        pool: the backbones correlated (accuracies of others are ignored).
        loto_name: when given, the leave-one-target-out prior (:func:`loto_prior`) is recomputed
            from each replicate's resampled accuracies and reported under this name.

    Returns {score: {target: (replicates,) weighted τ}}.
    """
    pool_set = set(pool)
    truth = {t: {m: v for m, v in col.items() if m in pool_set} for t, col in per_seed.items()}
    out: dict[str, dict[str, np.ndarray]] = {}

    def put(score: str, target: str, r: int, value: float) -> None:
        out.setdefault(score, {}).setdefault(target, np.full(replicates, np.nan))[r] = value

    for r in range(replicates):
        acc_r = resample_seeds(truth, np.random.default_rng([seed, r, 1]))
        for t, acc in acc_r.items():
            want = complete.get(t, {})
            tables = image_tables.get(t)
            if tables is not None and r < len(tables):
                for s, scores in tables[r].items():
                    put(s, t, r, _pool_tau(want.get(s, ()), scores, acc))
            for s, scores in fixed.get(t, {}).items():
                put(s, t, r, _pool_tau(want.get(s, ()), scores, acc))
            if loto_name is not None:
                prior = loto_prior(acc_r, t)
                if prior:
                    put(loto_name, t, r, _pool_tau(want.get(loto_name, sorted(prior)), prior, acc))
    return out


def pivot_interval(
    point: float,
    replicates: np.ndarray,
    level: float = 0.95,
    bounds: tuple[float, float] = (-1.0, 1.0),
) -> tuple[float, float, int]:
    """(low, high, finite replicates): the replicates' percentile interval moved so that their
    median sits on ``point``, clipped to ``bounds`` (those of a τ; (−2, 2) for a difference).

    A half-sample holds half the images, and scores that depend on the number of images (ETran,
    H-score, TransRate) are shifted there, so the plain percentile interval of their replicates
    can miss the full-sample value altogether. The spread of the replicates measures the noise;
    placing it around the full-sample value keeps the interval about the estimate it is printed
    beside, which it therefore always contains. NaNs when ``point`` is not finite or fewer than
    10 replicates are."""
    lo, hi, n = interval(replicates, level)
    if not (math.isfinite(lo) and math.isfinite(point)):
        return float("nan"), float("nan"), n
    v = np.asarray(replicates, float)
    mid = float(np.median(v[np.isfinite(v)]))
    return float(max(bounds[0], point + lo - mid)), float(min(bounds[1], point + hi - mid)), n


def mean_over_targets(
    point: dict[str, float], reps: dict[str, np.ndarray], targets: list[str]
) -> tuple[float, np.ndarray | None]:
    """(mean of ``point``, mean of the (B,) replicates ``reps``) over the ``targets`` where the
    point is finite and there are replicates, so that the mean's replicates average the same
    targets as its point; (NaN, None) when there are none."""
    use = [t for t in targets if t in reps and math.isfinite(point.get(t, float("nan")))]
    if not use:
        return float("nan"), None
    with np.errstate(all="ignore"):
        return (
            float(np.mean([point[t] for t in use])),
            np.mean(np.vstack([reps[t] for t in use]), axis=0),
        )


def paired_mean_difference(
    point_a: Mapping[str, float],
    reps_a: Mapping[str, np.ndarray],
    point_b: Mapping[str, float],
    reps_b: Mapping[str, np.ndarray],
    targets: Sequence[str],
) -> tuple[float, float, float, int] | None:
    """(mean over ``targets`` of a − b, the 95 % interval of that difference from the paired
    (B,) replicates, placed around it, finite replicates) over the targets where both points are
    finite and both have replicates; None when there is no such target."""
    use = [
        t
        for t in targets
        if t in reps_a
        and t in reps_b
        and math.isfinite(point_a.get(t, float("nan")))
        and math.isfinite(point_b.get(t, float("nan")))
    ]
    if not use:
        return None
    diff = float(np.mean([point_a[t] - point_b[t] for t in use]))
    with np.errstate(all="ignore"):
        d = np.mean(np.vstack([reps_a[t] - reps_b[t] for t in use]), axis=0)
    lo, hi, n = pivot_interval(diff, d, bounds=(-2.0, 2.0))
    return diff, lo, hi, n
