"""The topology study: every pre-registered variant (:mod:`.topology_variants`) on benchmark
suites, each chosen on one suite and reported on the other.

:func:`score_suite` runs (or, from a full cache, reads back) a suite's benchmark for its ground
truth and the established scores, then scores every variant of every backbone on every target:
one forward pass per backbone and target computes all cubical columns
(:class:`~.topology_variants.VariantColumnsReducer`, cached like any embedding), the half-sample
replicates are recomputed from those columns (the same images as the benchmark's intervals), and
the Rips sources use pooled features of :data:`~.topology_variants.RIPS_PER_CLASS` train images
per class. A truncated network's columns and features are the first layers of its full-depth
network's pass when that network is in the pool (:func:`truncation_parent`: the same arrays, not
an approximation). Each backbone x target is journaled when done, so a killed study resumes and a second
run computes nothing. :func:`held_out`, :func:`fusion` and :func:`partial_spearman` are the
pre-registered comparisons.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import stats

from modelrank import __version__
from modelrank.benchmark import load_suite, run_benchmark, scoring_zoo
from modelrank.benchmark_stats import (
    half_samples,
    mean_over_targets,
    pivot_interval,
    resample_seeds,
    weighted_tau,
)
from modelrank.data import load_target
from modelrank.errors import ModelrankError
from modelrank.execution import LocalExecutor, Task, run_journaled, unit_journal
from modelrank.history import rank_average
from modelrank.ranking import ScoreOptions
from modelrank.studies import topology_variants as tv
from modelrank.util.digest import digest
from modelrank.zoo import truncation_parent

#: The established scores and baselines the variants stand beside (issue 15, item 2).
COMPARED = (
    "knn",
    "linear",
    "logme",
    "ncti",
    "sfda",
    "betti-cubical",
    "param-count",
    "source-top1",
    "imagenet-top1",
    "loto-accuracy",
)
FAITHFUL = "whc/eta0/all/theta/per-class"
#: The scores fused with the held-out variant.
FUSED_WITH = ("knn", "logme")


@dataclass
class SuiteVariants:
    """Every variant on one suite.

    Attributes:
        tau: {variant: {target: weighted tau against the headline ground truth}}.
        intervals: {variant: (low, high)} 95 % joint interval (images and seeds) of the mean tau
            over the included targets, placed around it (NaN: none).
        scores: {target: {variant: {model: score}}} (higher is better).
        compared: {score: {"tau": {target: tau}, "mean": m, "interval": (low, high)}} of
            :data:`COMPARED` from the suite's benchmark.
        accuracies: {target: {model: headline accuracy %}}.
        established: {score: {target: {model: value, higher is better}}} of :data:`FUSED_WITH`.
        seconds_per_image: {"cubical columns" | "rips": wall seconds per image and backbone,
            over the backbones whose forward pass was computed (a truncated network reuses its
            full-depth network's pass: :func:`truncation_parent`).
        columns_per_class: images per class the cubical columns saw when fewer than the
            suite's scored images (a stated deviation, for cost); None: the suite's own.
        included: the targets of the means: those whose ground truth can rank (the benchmark's
            :meth:`~modelrank.benchmark.BenchmarkResult.included`); None: every target.
        versus_faithful: {variant: (mean τ − the faithful θ's mean τ, low, high)}, the paired
            difference over the same joint resamples of images and fine-tuning seeds.
    """

    suite: str
    targets: list[str]
    pool: list[str]
    tau: dict[str, dict[str, float]]
    intervals: dict[str, tuple[float, float]]
    scores: dict[str, dict[str, dict[str, float]]]
    compared: dict[str, dict[str, Any]]
    accuracies: dict[str, dict[str, float]]
    established: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    seconds_per_image: dict[str, float] = field(default_factory=dict)
    columns_per_class: int | None = None
    included: list[str] | None = None
    versus_faithful: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def mean(self, variant: str) -> float:
        """Mean weighted tau over the :attr:`included` targets where it is finite."""
        keep = set(self.targets if self.included is None else self.included)
        vals = [v for t, v in self.tau.get(variant, {}).items() if t in keep and math.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def to_json(self) -> str:
        """Everything, as JSON (NaN written as null), so one suite can be studied in one session
        and compared with another later (:meth:`from_json`)."""
        import dataclasses
        import json

        def clean(o):
            if isinstance(o, float):
                return o if math.isfinite(o) else None
            if isinstance(o, dict):
                return {k: clean(v) for k, v in o.items()}
            if isinstance(o, (list, tuple)):
                return [clean(v) for v in o]
            return o

        return json.dumps(clean(dataclasses.asdict(self)), indent=0, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SuiteVariants":
        import json

        def back(o):
            if o is None:
                return float("nan")
            if isinstance(o, dict):
                return {k: back(v) for k, v in o.items()}
            if isinstance(o, list):
                return tuple(back(v) for v in o)
            return o

        d = json.loads(text)
        return cls(
            d["suite"],
            list(d["targets"]),
            list(d["pool"]),
            back(d["tau"]),
            back(d["intervals"]),
            back(d["scores"]),
            back(d["compared"]),
            back(d["accuracies"]),
            back(d["established"]),
            back(d["seconds_per_image"]),
            d.get("columns_per_class"),
            None if d.get("included") is None else list(d["included"]),
            back(d.get("versus_faithful") or {}),
        )


def _unit(
    entry,
    data,
    data_rips,
    *,
    replicates: int,
    seed: int,
    rips: bool,
    cache_dir,
    journal,
    parent=None,
    parent_unit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One backbone on one target: {"full": {variant: score}, "replicates": [{variant: score}],
    "seconds": {...}, "images": {...}}, journaled (:func:`_variants_unit` computes it). With
    ``parent`` (:func:`truncation_parent`) the columns and pooled features of ``entry``'s
    layers are those of the parent's first layers, from the parent's (cached) pass, and its Rips
    curves the first values of the parent's (``parent_unit``, the parent's result); its cost is
    then counted once, with the parent."""
    key = digest(
        {
            "unit": "topology-variants-v1",
            "version": __version__,
            "entry": entry.recipe(),
            "data": data.fingerprint(),
            "rips": data_rips.fingerprint() if rips else None,
            "replicates": replicates,
            "seed": seed,
            "variants": len(tv.variant_names()),
        },
        32,
    )
    task = Task(
        key,
        f"topology variants {entry.name} x {data.name}",
        _variants_unit,
        (entry, data, data_rips, replicates, seed, rips, cache_dir, parent, parent_unit),
    )
    # one after another here: a truncated network reads its parent's result
    oc = run_journaled([task], journal=journal, executor=LocalExecutor(max_retries=0), expect=dict)[
        key
    ]
    if not oc.ok:
        raise ModelrankError(f"topology variants of {entry.name} on {data.name}: {oc.error}")
    return oc.value


def _variants_unit(
    entry,
    data,
    data_rips,
    replicates: int,
    seed: int,
    rips: bool,
    cache_dir,
    parent,
    parent_unit: dict[str, Any] | None,
) -> dict[str, Any]:
    """The computation of :func:`_unit`."""
    from modelrank.loaders import build_backbone  # torch, paid by the unit that needs it
    from modelrank.probe import probe

    bb = build_backbone(entry, device="cpu")
    names = [li.name for li in bb.layers]
    source = bb
    if parent is not None:
        pbb = build_backbone(parent, device="cpu")
        if [li.name for li in pbb.layers][: len(names)] == names:
            source = pbb
    t0 = time.perf_counter()
    emb = probe(source, data, cubical=tv.VariantColumnsReducer(), device="cpu", cache_dir=cache_dir)
    columns, labels = emb.cubical[:, : len(names), :], np.asarray(data.labels)
    full = tv.cubical_variant_scores(columns, labels)
    reps = [
        tv.cubical_variant_scores(columns[idx], labels[idx])
        for idx in half_samples(labels, replicates=replicates, seed=seed)
    ]
    seconds = {"cubical columns": time.perf_counter() - t0}
    images = {"cubical columns": len(data) if source is bb else 0}
    curves = None
    if rips:
        t0 = time.perf_counter()
        if source is not bb and parent_unit and parent_unit.get("rips_curves"):
            curves = {k: list(c)[: len(names)] for k, c in parent_unit["rips_curves"].items()}
        else:
            pooled = probe(source, data_rips, device="cpu", cache_dir=cache_dir)
            curves = tv.rips_curves(
                {n: pooled.layers[n] for n in names}, np.asarray(data_rips.labels)
            )
        full.update(tv.rips_scores_from_curves(curves, hw=columns[0, :, -1]))
        seconds["rips"] = time.perf_counter() - t0
        images["rips"] = len(data_rips) if source is bb else 0
    return {
        "full": full,
        "replicates": reps,
        "seconds": seconds,
        "images": images,
        "columns_from": None if source is bb else parent.name,
        "rips_curves": curves,
    }


def score_suite(
    suite_name: str,
    *,
    cache_dir: str | Path | None = None,
    replicates: int = 100,
    seed: int = 0,
    rips: bool = True,
    rips_per_class: int = tv.RIPS_PER_CLASS,
    columns_per_class: int | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> SuiteVariants:
    """Every pre-registered variant on ``suite_name``'s headline pool and targets (see module).

    ``rips_per_class``: train images per class of the Rips sources (the pre-registered 200;
    smaller only for tests). ``rips=False`` leaves the Rips variants out (NaN).
    ``columns_per_class``: score the cubical columns on this many images per class of the
    suite's score split (seed 0) instead of the suite's scored images — a deviation from the
    pre-registered protocol for suites where every column of every image costs too much
    (recorded in the result); None: the suite's images, as registered.
    """
    suite = load_suite(suite_name)
    res = run_benchmark(suite, options=ScoreOptions(cache_dir=cache_dir))
    zoo = scoring_zoo(suite)  # at the suite's score resolution, as the benchmark scored
    journal = unit_journal(cache_dir)
    names = tv.variant_names()
    tau: dict[str, dict[str, float]] = {v: {} for v in names}
    rep_tau: dict[str, dict[str, np.ndarray]] = {v: {} for v in names}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    cost: dict[str, list[float]] = {}
    if columns_per_class is not None and columns_per_class < 2:
        raise ValueError(
            f"columns_per_class must be at least 2 (half-samples), got {columns_per_class}"
        )
    head = res.ground_truths["headline"]
    truth_r = [
        resample_seeds(
            {
                t: {m: v for m, v in col.items() if m in res.pool}
                for t, col in head.per_seed.items()
            },
            np.random.default_rng([seed, r, 1]),
        )
        for r in range(replicates)
    ]
    for target in res.targets:
        data = load_target(
            target,
            split=suite.split_for(target),
            per_class=suite.per_class_for(target)
            if columns_per_class is None
            else columns_per_class,
        )
        data_rips = (
            load_target(target, split=suite.split_for(target), per_class=rips_per_class)
            if rips
            else None
        )
        accs = {m: a for m, a in res.accuracies.get(target, {}).items() if m in res.pool}
        units = {}
        pool_entries = [zoo[m] for m in res.pool]
        # full-depth networks first, so that a truncated one finds its parent's pass cached
        order = sorted(
            (m for m in res.pool if m in accs), key=lambda m: zoo[m].truncate is not None
        )
        for i, model in enumerate(order):
            parent = truncation_parent(zoo[model], pool_entries)
            units[model] = _unit(
                zoo[model],
                data,
                data_rips,
                replicates=replicates,
                seed=seed,
                rips=rips,
                cache_dir=cache_dir,
                journal=journal,
                parent=parent,
                parent_unit=units.get(parent.name) if parent else None,
            )
            for part, sec in units[model]["seconds"].items():
                if units[model]["images"][part]:  # a reused pass costs nothing of its own
                    cost.setdefault(part, []).append(sec / units[model]["images"][part])
            if on_progress:
                on_progress(f"variants x {target}", i + 1, len(accs))
        scores[target] = {
            v: {
                m: u["full"][v]
                for m, u in units.items()
                if math.isfinite(u["full"].get(v, float("nan")))
            }
            for v in names
        }
        for v in names:
            # as the benchmark does: over the backbones the variant is defined for (weighted_tau
            # needs 3); each replicate over the same backbones
            have = list(scores[target][v])
            tau[v][target] = weighted_tau(scores[target][v], accs)
            if v.startswith("rips-"):
                continue
            # replicate r: the r-th half-sample of the images with the r-th resample of the
            # seeds, as the benchmark's intervals pair them (the same resamples)
            rep_tau[v][target] = np.array(
                [
                    weighted_tau(
                        {m: units[m]["replicates"][r][v] for m in have}, truth_r[r][target]
                    )
                    if have and all(math.isfinite(units[m]["replicates"][r][v]) for m in have)
                    else float("nan")
                    for r in range(replicates)
                ]
            )
    included = res.included("headline")
    intervals, versus_faithful = {}, {}
    for v in names:
        point, reps = mean_over_targets(tau[v], rep_tau[v], included)
        lo, hi, _ = (
            pivot_interval(point, reps) if reps is not None else (float("nan"), float("nan"), 0)
        )
        intervals[v] = (lo, hi)
    for v in names:
        both = [
            t
            for t in included
            if t in rep_tau[v]
            and t in rep_tau[FAITHFUL]
            and math.isfinite(tau[v].get(t, float("nan")))
            and math.isfinite(tau[FAITHFUL].get(t, float("nan")))
        ]
        if v == FAITHFUL or not both:
            continue
        diff = {t: tau[v][t] - tau[FAITHFUL][t] for t in both}
        d_point, d_reps = mean_over_targets(
            diff, {t: rep_tau[v][t] - rep_tau[FAITHFUL][t] for t in both}, both
        )
        lo, hi, _ = pivot_interval(d_point, d_reps, bounds=(-2.0, 2.0))
        versus_faithful[v] = (d_point, lo, hi)
    compared = {}
    for s in COMPARED:
        col = res.tables["headline"]["tau"].get(s)
        if col is None:
            continue
        iv = res.intervals.get("headline", {}).get(s, {}).get("mean")
        compared[s] = {
            "tau": dict(col),
            "mean": res.mean(s),
            "interval": (iv[0], iv[1]) if iv else (float("nan"), float("nan")),
        }
    established = {s: {t: res.score_column(s, t) for t in res.targets} for s in FUSED_WITH}
    return SuiteVariants(
        suite.name,
        list(res.targets),
        list(res.pool),
        tau,
        intervals,
        scores,
        compared,
        {t: dict(a) for t, a in res.accuracies.items()},
        established,
        {k: float(np.mean(v)) for k, v in cost.items()},
        columns_per_class,
        included,
        versus_faithful,
    )


def best_variant(study: SuiteVariants) -> str:
    """The variant with the highest mean tau (ties: the first in the pre-registered order)."""
    best, best_mean = tv.variant_names()[0], -math.inf
    for v in tv.variant_names():
        m = study.mean(v)
        if math.isfinite(m) and m > best_mean:
            best, best_mean = v, m
    return best


def held_out(chosen_on: SuiteVariants, reported_on: SuiteVariants) -> dict[str, Any]:
    """The variant chosen on one suite, its mean tau and interval on the other, and whether it
    beats the faithful θ there: the paired interval of their difference
    (:attr:`SuiteVariants.versus_faithful`) lies above 0."""
    v = best_variant(chosen_on)
    lo, hi = reported_on.intervals.get(v, (float("nan"), float("nan")))
    faithful = reported_on.mean(FAITHFUL)
    held = reported_on.mean(v)
    d = reported_on.versus_faithful.get(v)
    verdict = (
        "undefined on this suite"
        if not math.isfinite(held)
        else "the faithful θ itself"
        if v == FAITHFUL
        else "no interval"
        if d is None or not math.isfinite(d[1])
        else "beats the faithful θ"
        if d[1] > 0
        else "does not beat the faithful θ"
    )
    return {
        "variant": v,
        "chosen_on": chosen_on.suite,
        "reported_on": reported_on.suite,
        "mean_chosen": chosen_on.mean(v),
        "mean_held_out": held,
        "interval_held_out": (lo, hi),
        "faithful_held_out": faithful,
        "faithful_interval": reported_on.intervals.get(FAITHFUL),
        "difference_held_out": d,
        "verdict": verdict,
    }


def fusion(
    study: SuiteVariants, variant: str, other: Mapping[str, Mapping[str, float]], *, how: str
) -> dict[str, float]:
    """{target: weighted tau} of the fusion of ``variant`` with another score ``other``
    ({target: {model: value, higher is better}}): ``rank`` = mean of the two ranks, ``z`` = sum
    of the two z-scores, over the backbones both have."""
    out = {}
    for t in study.targets:
        a, b = study.scores[t].get(variant, {}), other.get(t, {})
        models = [m for m in study.pool if m in a and m in b]
        if len(models) < 3:
            out[t] = float("nan")
            continue
        if how == "rank":  # the history study's rule (modelrank.history.rank_average)
            fused = rank_average({m: a[m] for m in models}, {m: b[m] for m in models})
        elif how == "z":
            # unlike history.z_sum, a constant score adds zeros here (as pre-registered)
            za, zb = (np.array([d[m] for m in models]) for d in (a, b))
            fused = dict(zip(models, sum((x - x.mean()) / (x.std() or 1.0) for x in (za, zb))))
        else:
            raise ValueError(f"how must be 'rank' or 'z', got {how!r}")
        out[t] = weighted_tau(fused, study.accuracies[t])
    return out


def partial_spearman(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float:
    """Spearman partial correlation of x and y given z (first-order formula on the rank
    correlations); NaN when undefined."""
    import warnings

    with warnings.catch_warnings():  # a constant input gives NaN, which is the answer here
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        rxy, rxz, ryz = [stats.spearmanr(a, b)[0] for a, b in ((x, y), (x, z), (y, z))]
    den = math.sqrt(max((1 - rxz**2) * (1 - ryz**2), 0.0))
    return float((rxy - rxz * ryz) / den) if den > 0 and math.isfinite(den) else float("nan")
