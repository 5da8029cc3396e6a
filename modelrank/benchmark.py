"""Benchmark suites: how well each score predicts fine-tuned accuracy, per target and on average.

A suite (``modelrank/suites/<name>.yaml``) names a zoo and its models, the targets, the split
and sampling the scores see, the scores, and where ground truth comes from: the published
fine-tune accuracies (SFDA paper's tables) or fine-tuning here (cached run log). The result is a
table: rows = scores (priors included), columns = targets, cells = weighted Kendall tau, plus the
mean over targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from modelrank import cpu_runtime
from modelrank.benchmark_report import best_baseline, paired, render_markdown, verdict
from modelrank.benchmark_stats import (
    joint_tau_replicates,
    loto_prior,
    mean_over_targets,
    pivot_interval,
    seed_spread,
)
from modelrank.correlation import correlate
from modelrank.data import load_target
from modelrank.errors import ConfigError, DatasetUnavailableError, MetricError
from modelrank.half_samples import bootstrap_target
from modelrank.history import history_tau, published_history
from modelrank.noise_ceiling import noise_ceiling
from modelrank.progress import OnProgress
from modelrank.ranking import ScoreOptions, rank_targets, resolve_metrics, scored_resolution
from modelrank.util.suggest import did_you_mean
from modelrank.zoo import load_zoo, read_yaml, select, zoo_path

if TYPE_CHECKING:
    from modelrank.execution import Executor
    from modelrank.noise_ceiling import NoiseCeiling


@dataclass
class Suite:
    """A parsed suite file (see the module docstring).

    Attributes:
        also_against: further ground truths by label ({"linear": {kind, protocol, budget,
            ...}}), each correlated with the same scores in a table of its own.
        controls: a model selector (names / tags) of control backbones (random weights): they
            are scored (and measured by every ground truth that does not say ``models: pool``),
            kept out of the headline pool, and reported in a table of their own with the pool
            they join, against the first ground truth that measured them.
        bootstrap: {"replicates": B, "seed": s, "metrics": [...] (default: every score),
            "skip": [...] (scores too slow to recompute B times)} for 95 % intervals of
            weighted tau; None: no intervals.
        score_image_size: the resolution (pixels) the backbones are scored at, replacing their
            zoo entries' own; set it to the fine-tuning resolution so that scores and ground
            truth see the same images. None: the entries' own.
        directory: the folder of the suite file; a ground truth's ``measured`` path (committed
            run logs, used unless re-measuring) is relative to it.
    """

    name: str
    zoo: str | None
    models: str
    targets: list[str]
    score_split: dict[str, str]
    per_class: dict[str, int] | None
    metrics: Any
    ground_truth: dict[str, Any]
    published: dict[str, dict[str, float]] = field(default_factory=dict)
    also_against: dict[str, dict[str, Any]] = field(default_factory=dict)
    controls: str | None = None
    bootstrap: dict[str, Any] | None = None
    description: str = ""
    score_image_size: int | None = None
    directory: Path | None = None

    def split_for(self, target: str) -> str:
        return self.score_split.get(target, self.score_split.get("default", "train"))

    def per_class_for(self, target: str) -> int | None:
        return (self.per_class or {}).get(target)


def suite_names() -> list[str]:
    return sorted(
        p.name[:-5]
        for p in (resources.files("modelrank") / "suites").iterdir()
        if p.name.endswith(".yaml")
    )


def load_suite(name_or_path: str) -> Suite:
    """Parse a packaged suite by name, or a suite file by path."""
    p = Path(name_or_path)
    if not p.is_file():
        packaged = resources.files("modelrank") / "suites" / f"{name_or_path}.yaml"
        if not packaged.is_file():
            raise ConfigError(
                f"unknown suite {name_or_path!r}"
                f"{did_you_mean(name_or_path, suite_names())}; known: "
                f"{', '.join(suite_names())}"
            )
        p = Path(str(packaged))

    doc = read_yaml(p, "suite file")
    if not isinstance(doc, dict):
        raise ConfigError(
            f"suite file {str(p)!r} must be a mapping (name, targets, "
            f"ground_truth, ...), got {type(doc).__name__}"
        )
    try:
        split = doc.get("score_split", "train")
        suite = Suite(
            name=doc["name"],
            zoo=doc.get("zoo"),
            models=str(doc.get("models", "all")),
            targets=list(doc["targets"]),
            score_split=split if isinstance(split, dict) else {"default": split},
            per_class=doc.get("per_class"),
            metrics=doc.get("metrics", "all"),
            ground_truth=doc["ground_truth"],
            published=doc.get("published_weighted_tau") or {},
            also_against=dict(doc.get("also_against") or {}),
            controls=None if doc.get("controls") is None else str(doc["controls"]),
            bootstrap=doc.get("bootstrap"),
            description=str(doc.get("description") or ""),
            score_image_size=doc.get("score_image_size"),
            directory=p.resolve().parent,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ConfigError(f"suite file {str(p)!r} is missing a field or malformed: {exc}") from None
    _check_suite(suite, p)
    return suite


#: How a fine-tuning ground truth with several seeds searches its learning-rate grid:
#: ``every-seed`` runs the whole grid with each seed (each chooses on its own validation
#: share); ``first-seed`` runs it with the first seed only, and every further seed repeats the
#: (lr, w) the first seed chose for that backbone and target (a third of the runs for a grid of
#: three and two seeds; the seed spread is then the spread at a fixed learning rate).
LR_SEARCHES = ("every-seed", "first-seed")


def _check_suite(suite: Suite, path: Path) -> None:
    """Refuse, before any work, the malformed parts that would otherwise fail mid-run."""
    where = f"suite file {str(path)!r}"
    if not suite.targets or not all(isinstance(t, str) and t for t in suite.targets):
        raise ConfigError(f"{where}: targets must be a non-empty list of data set names")
    for label, gt in [
        ("ground_truth", suite.ground_truth),
        *((f"also_against.{k}", v) for k, v in suite.also_against.items()),
    ]:
        if not isinstance(gt, dict) or gt.get("kind") not in ("published", "finetune"):
            raise ConfigError(f"{where}: {label} must be a mapping with kind published or finetune")
        seeds = gt.get("seeds", [0])
        if not (
            isinstance(seeds, list)
            and seeds
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
        ):
            raise ConfigError(
                f"{where}: {label}.seeds must be a non-empty list of whole "
                f"numbers ≥ 0, got {seeds!r}"
            )
        if gt.get("models", "all") not in ("all", "pool"):
            raise ConfigError(
                f"{where}: {label}.models must be all (the suite's models, controls "
                f"included) or pool (the headline pool only), got {gt.get('models')!r}"
            )
        if gt.get("lr_search", "every-seed") not in LR_SEARCHES:
            raise ConfigError(
                f"{where}: {label}.lr_search must be "
                f"{' or '.join(LR_SEARCHES)}, got {gt.get('lr_search')!r}"
            )
    size = suite.score_image_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 8):
        raise ConfigError(
            f"{where}: score_image_size must be a whole number of pixels ≥ 8, got {size!r}"
        )
    b = suite.bootstrap
    if b is not None:
        reps = b.get("replicates") if isinstance(b, dict) else None
        if isinstance(reps, bool) or not isinstance(reps, int) or reps < 10:
            raise ConfigError(
                f"{where}: bootstrap must be a mapping with replicates ≥ 10 "
                f"(a whole number), got {b!r}"
            )


def published_accuracies(group: str, names: dict[str, str]) -> dict[str, dict[str, float]]:
    """{target: {model: accuracy %}} from the shipped SFDA tables."""
    return {names.get(t, t): accs for t, accs in published_history(group).items()}


#: The name of the leave-one-target-out accuracy prior in benchmark tables.
LOTO = "loto-accuracy"


@dataclass
class BenchmarkResult:
    """What a suite measured: per ground truth, every score's correlations per target and mean.

    The first fields describe the headline ground truth (as before ground truths had labels):
    ``tau`` {score: {target: weighted tau}}, ``records`` (one dict per score x target with
    every correlation of :func:`~modelrank.correlation.correlate`), ``accuracies``.

    Attributes:
        ground_truths: {label: GroundTruth}, "headline" first.
        tables: {label: {"records": [...], "tau": {score: {target: weighted tau}}}}.
        intervals: {label: {score: {target or "mean": (low, high, replicates)}}}, 95 %.
        baselines: the rows that are static baselines (priors and :data:`LOTO`).
        control_tau: {score: {target: weighted tau}} with the control backbones in the pool,
            against ``control_truth``, the first ground truth that measured them ("headline"
            unless it says ``models: pool``); {} without controls.
        pool, controls: the headline backbones and the controls.
        spread: {label: {target: seed_spread(...)}}.
        bootstrap: the suite's bootstrap settings and the scores it covered.
        ceilings: {label: {target: NoiseCeiling}}, the split-half ceiling of each ground truth
            on each target over the headline pool (NaN with a reason below 4 seeds).
        replicates: {label: {score: {target: (B,) weighted tau}}} over the joint resamples of
            the scored images and the seeds (paired across scores); {} without a bootstrap.
        image_replicates: {target: one {score: {model: value}} per half-sample of the scored
            images} of the bootstrapped scores (the tables the τ replicates correlate); {}
            without a bootstrap.
        history_tau: {target: weighted τ of the history prior} on every target of a published
            ground truth (:func:`modelrank.history.history_tau`: it needs no images, so it is
            there offline, where the scores are not); {} for measured ground truths.
    """

    suite: str
    targets: list[str]
    scores: list[str]
    tau: dict[str, dict[str, float]]
    records: list[dict[str, Any]]
    accuracies: dict[str, dict[str, float]]
    rankings: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ground_truths: dict[str, "GroundTruth"] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    intervals: dict[str, dict[str, dict[str, tuple[float, float, int]]]] = field(
        default_factory=dict
    )
    baselines: list[str] = field(default_factory=list)
    control_tau: dict[str, dict[str, float]] = field(default_factory=dict)
    control_truth: str | None = None
    pool: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    spread: dict[str, dict[str, Any]] = field(default_factory=dict)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    ceilings: dict[str, dict[str, "NoiseCeiling"]] = field(default_factory=dict)
    replicates: dict[str, dict[str, dict[str, np.ndarray]]] = field(
        default_factory=dict, repr=False
    )
    image_replicates: dict[str, list[dict[str, dict[str, float]]]] = field(
        default_factory=dict, repr=False
    )
    history_tau: dict[str, float] = field(default_factory=dict)

    def too_noisy(self, label: str = "headline") -> list[str]:
        """Targets whose ground truth ``label`` cannot rank its backbones: a measured split-half
        ceiling below :data:`~modelrank.noise_ceiling.RANKABLE`."""
        return [t for t in self.targets if _too_noisy(self.ceilings.get(label, {}).get(t))]

    def included(self, label: str = "headline") -> list[str]:
        """The targets of the means: all but :meth:`too_noisy` (a target whose ceiling was not
        measured, fewer than 4 seeds, is included and its ceiling shown as unknown)."""
        noisy = set(self.too_noisy(label))
        return [t for t in self.targets if t not in noisy]

    def mean_ceiling(self, label: str = "headline") -> float:
        """Mean split-half ceiling of ground truth ``label`` over the :meth:`included` targets
        where it was measured (NaN when nowhere)."""
        ceil = self.ceilings.get(label, {})
        vals = [
            ceil[t].weighted_tau
            for t in self.included(label)
            if t in ceil and math.isfinite(ceil[t].weighted_tau)
        ]
        return float(np.mean(vals)) if vals else float("nan")

    def mean(self, score: str, label: str = "headline") -> float:
        """Mean weighted tau of ``score`` over the :meth:`included` targets where it is finite."""
        tau = self.tau if label == "headline" or not self.tables else self.tables[label]["tau"]
        keep = set(self.included(label))
        vals = [v for t, v in tau.get(score, {}).items() if t in keep and math.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def score_resolution(self) -> str:
        """The resolution the pool was scored at, in words ("64 px", "224–260 px")."""
        return (
            scored_resolution(
                r for rk in self.rankings.values() for r in rk.rows if r.model in self.pool
            )
            or "unknown"
        )

    def score_column(self, score: str, target: str, label: str = "headline") -> dict[str, float]:
        """{model: value in ranking direction} of one score on one target over the headline
        pool; the LOTO prior from ground truth ``label``'s accuracies."""
        if score == LOTO:
            accs = self.ground_truths[label].accuracies
            return loto_prior(
                {t: {m: a for m, a in col.items() if m in self.pool} for t, col in accs.items()},
                target,
            )
        return {r.model: r.scores[score] for r in self.rankings[target].rows if score in r.scores}

    def to_dict(self) -> dict[str, Any]:
        """Everything the report shows, as plain values for JSON: per ground truth its
        description, resolution, per-seed and mean accuracies, per-target noise ceilings, the
        targets in its means, the correlation records (with their intervals), the mean
        intervals and the paired verdicts against the best static baseline."""
        from dataclasses import asdict

        truths = {}
        for label, gt in self.ground_truths.items():
            base, base_tau = best_baseline(self, label) if label in self.tables else (None, None)
            diffs = paired(self, label) if label in self.tables else {}
            truths[label] = {
                "description": gt.description,
                "resolution": gt.resolution,
                "per_seed": gt.per_seed,
                "accuracies": gt.accuracies,
                "ceilings": {
                    t: {k: v for k, v in asdict(c).items() if k != "per_split"}
                    | {"rankable": c.rankable}
                    for t, c in self.ceilings.get(label, {}).items()
                },
                "included": self.included(label),
                "too_noisy": self.too_noisy(label),
                "records": self.tables.get(label, {}).get("records", []),
                "mean_tau": {s: self.mean(s, label) for s in self.scores},
                "mean_intervals": {
                    s: cols["mean"][:2]
                    for s, cols in self.intervals.get(label, {}).items()
                    if "mean" in cols
                },
                "best_baseline": {"name": base, "mean_tau": base_tau},
                "paired": {
                    s: {
                        "difference": d[0],
                        "low": d[1],
                        "high": d[2],
                        "replicates": d[3],
                        "verdict": verdict(self, label, s, diffs),
                    }
                    for s, d in diffs.items()
                },
                "failed": [list(f) for f in gt.failed],
            }
        return {
            "suite": self.suite,
            "targets": self.targets,
            "pool": self.pool,
            "controls": self.controls,
            "scores": self.scores,
            "baselines": self.baselines,
            "score_resolution": self.score_resolution(),
            "ground_truths": truths,
            "bootstrap": self.bootstrap,
            "history_tau": self.history_tau,
            "skipped": self.skipped,
            "failed": self.failed,
        }

    def to_markdown(self, published: dict[str, dict[str, float]] | None = None) -> str:

        return render_markdown(self, published)


@dataclass
class GroundTruth:
    """Accuracies that scores are judged against.

    Attributes:
        label: "headline" for the suite's ``ground_truth``, else its ``also_against`` key.
        description: what was measured (protocol, seeds, budget), one line.
        accuracies: {target: {model: test accuracy %}}, the mean over seeds.
        per_seed: {target: {model: [accuracy % of each seed]}} (one entry for published).
        resolution: the images' resolution the accuracies were measured at, in words.
    """

    label: str
    description: str
    accuracies: dict[str, dict[str, float]]
    per_seed: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (model, target, reason)
    resolution: str = "unknown"  # "64 px", "the backbones' own", or "published"


def pool_and_controls(
    suite: Suite, zoo: dict[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """(the headline pool, the controls): the suite's models in zoo order, split by its
    ``controls`` selector. ``zoo``: the suite's zoo when already loaded."""
    zoo = zoo if zoo is not None else load_zoo(zoo_path(suite.zoo))
    names = [e.name for e in select(zoo, suite.models)]
    controls = {e.name for e in select(zoo, suite.controls)} if suite.controls else set()
    return [m for m in names if m not in controls], [m for m in names if m in controls]


def _measured_dir(suite: Suite, gt: dict[str, Any]) -> Path | None:
    """The committed run logs of ground truth ``gt`` (None when it names none)."""
    rel = gt.get("measured")
    if rel is None:
        return None
    base = suite.directory if suite.directory is not None else Path.cwd()
    path = base / str(rel)
    if not path.is_dir():
        raise ConfigError(
            f"suite {suite.name}: the measured ground truth {str(path)!r} it names "
            "is missing; restore it, or fine-tune again with remeasure "
            "(--remeasure)"
        )
    return path


def scoring_zoo(suite: Suite) -> dict[str, Any]:
    """The suite's zoo with every entry at ``suite.score_image_size`` when it is set."""
    from dataclasses import replace

    zoo = load_zoo(zoo_path(suite.zoo))
    size = suite.score_image_size
    if size is None:
        return zoo
    out = {}
    for name, e in zoo.items():
        if e.preprocess is None:
            raise ConfigError(
                f"suite {suite.name}: score_image_size needs every zoo entry to "
                f"state its preprocessing; {name} does not"
            )
        out[name] = replace(e, preprocess=replace(e.preprocess, size=size, resize=size))
    return out


def _too_noisy(ceiling: "NoiseCeiling | None") -> bool:
    """A measured ceiling below the rankable threshold (an unmeasured one is not "too noisy")."""
    return ceiling is not None and math.isfinite(ceiling.weighted_tau) and not ceiling.rankable


def _own_resolution(suite: Suite, models: Any) -> str:
    """The resolution of a ground truth that keeps each backbone's own input size: "32 px" when
    the measured backbones share one (the zoo's), else "the backbones' own resolution"."""
    sizes = {
        e.preprocess.size if e.preprocess is not None else None
        for e in select(load_zoo(zoo_path(suite.zoo)), models)
    }
    if len(sizes) == 1 and None not in sizes:
        return f"{sizes.pop()} px"
    return "the backbones' own resolution"


def _budget(suite: Suite, gt: dict[str, Any], seed: int):
    from modelrank.finetuning import FinetuneConfig

    b = gt.get("budget", {})
    if not isinstance(b, dict):
        raise ConfigError(f"suite {suite.name}: ground_truth budget must be a mapping, got {b!r}")
    try:
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in b.items()}
        return FinetuneConfig(**{**fields, "seed": seed})
    except TypeError as exc:
        raise ConfigError(f"suite {suite.name}: ground_truth budget: {exc}") from None


def ground_truth(
    suite: Suite,
    gt: dict[str, Any] | None = None,
    *,
    label: str = "headline",
    device: str | None = None,
    cache_dir: str | Path | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    remeasure: bool = False,
) -> GroundTruth:
    """Accuracies from the published tables or by fine-tuning (or linear-probing) here.

    ``gt``: a ground-truth mapping of the suite (default: its ``ground_truth``). Each seed of
    ``gt["seeds"]`` (default: the budget's ``seed``, else 0) is one job on ``executor``; the
    accuracy of a backbone is the mean over the seeds it finished, and a backbone that failed
    on any seed has none. ``gt["lr_search"]`` (:data:`LR_SEARCHES`, default ``every-seed``)
    says whether every seed searches the learning-rate grid or only the first; ``gt["models"]``
    = ``pool`` measures the headline pool only (not the controls), ``all`` (default) every
    model of the suite. Backbones whose fine-tuning failed are in ``GroundTruth.failed``.
    ``gt["measured"]``: a directory of committed run logs (relative to the suite file) whose
    runs are taken as done unless ``remeasure``.
    """
    gt = suite.ground_truth if gt is None else gt
    if gt["kind"] == "published":
        accs = published_accuracies(gt["group"], gt.get("names", {}))
        return GroundTruth(
            label,
            f"published ({gt['group']})",
            accs,
            {t: {m: [a] for m, a in col.items()} for t, col in accs.items()},
            resolution="the published protocol's",
        )
    if gt["kind"] != "finetune":
        raise ConfigError(f"suite {suite.name}: ground_truth kind must be published or finetune")
    from modelrank.finetuning import evaluate_targets

    seeds = gt.get("seeds") or [int((gt.get("budget") or {}).get("seed", 0))]
    per_class = gt.get("per_class") or {}
    protocol = gt.get("protocol", "full")
    failures: list[tuple[str, str, str]] = []
    models = suite.models
    if gt.get("models") == "pool" and suite.controls:
        models, _ = pool_and_controls(suite)
    first_only = protocol == "full" and gt.get("lr_search") == "first-seed"
    chosen: dict[tuple[str, str], list[tuple[float, float]]] | None = None
    per_seed: dict[str, dict[str, list[float]]] = {t: {} for t in suite.targets}
    for seed in seeds:
        cfg = _budget(suite, gt, seed)
        res = evaluate_targets(
            [(t, per_class.get(t)) for t in suite.targets],
            zoo=zoo_path(suite.zoo),
            models=models,
            protocol=protocol,
            budget=cfg,
            device=device,
            cache_dir=cache_dir,
            points=chosen,
            executor=executor,
            on_progress=on_progress,
            measured=None if remeasure else _measured_dir(suite, gt),
        )
        for ev in res:
            failures += [(m, ev.dataset, why) for m, why in ev.failed]
            for r in ev.results:
                per_seed[ev.dataset].setdefault(r.model, []).append(r.accuracy)
        if first_only and chosen is None:
            chosen = {
                (r.model, ev.dataset): [(r.best["lr"], r.best["w"])]
                for ev in res
                for r in ev.results
            }
    failed = {(m, t) for m, t, _ in failures}
    per_seed = {
        t: {m: v for m, v in col.items() if (m, t) not in failed and len(v) == len(seeds)}
        for t, col in per_seed.items()
    }
    accs = {t: {m: float(np.mean(v)) for m, v in col.items()} for t, col in per_seed.items()}
    cfg = _budget(suite, gt, seeds[0])
    size = f"{cfg.image_size} px" if cfg.image_size else _own_resolution(suite, models)
    searched = (
        f"chosen on validation with seed {seeds[0]}, the other seeds repeating its choice"
        if first_only and len(seeds) > 1
        else "chosen on validation"
    )
    lrs = (
        f"lr {cfg.lrs[0]:g} (no search)"
        if len(cfg.lrs) == 1 and len(cfg.ws) == 1
        else f"lr grid {', '.join(f'{x:g}' for x in cfg.lrs)} {searched}"
    )
    what = (
        f"full fine-tuning, {cfg.steps} steps of {cfg.batch_size}, {lrs}, {size}"
        if protocol == "full"
        else f"linear probe (logistic regression on frozen features, C chosen on validation), "
        f"{size}"
    )
    over = f"mean over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}"
    return GroundTruth(label, f"{what}; {over}", accs, per_seed, failures, size)


def _static(spec) -> bool:
    """A static baseline: a prior that needs nothing of the target (parameter count, ImageNet
    top-1), unlike the k-NN and linear-probe priors, which see the target's images."""
    return spec.kind == "prior" and spec.needs <= {"model_info"}


def half_sample_tables(
    suite: Suite,
    res: BenchmarkResult,
    metrics: Any,
    *,
    cache_dir: str | Path | None = None,
    executor: "Executor | None" = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, list[dict[str, dict[str, float]]]]:
    """{target: one {score: {model: value}} per half-sample} of ``metrics`` over the backbones
    each target's ranking scored, with the suite's bootstrap settings: the half-samples of
    :attr:`BenchmarkResult.image_replicates`, so the tables pair with them, for scores the
    suite's bootstrap skipped (the linear probe). Journaled like every bootstrap unit."""
    if not suite.bootstrap:
        raise ConfigError(f"suite {suite.name} has no bootstrap settings")
    specs = resolve_metrics(metrics)
    entries = select(scoring_zoo(suite), suite.models)
    out = {}
    for target in res.targets:
        r = res.rankings[target]
        scored = {row.model for row in r.rows}
        data = load_target(
            target, split=suite.split_for(target), per_class=suite.per_class_for(target)
        )
        out[target] = bootstrap_target(
            [e for e in entries if e.name in scored],
            data,
            specs,
            replicates=int(suite.bootstrap["replicates"]),
            seed=int(suite.bootstrap.get("seed", 0)),
            cache_dir=cache_dir,
            eta=r.recipe.get("eta") or 0.0,
            layout=r.recipe.get("layout") or "whc",
            on_progress=on_progress,
            executor=executor,
        )
    return out


def _table(
    specs,
    ranking,
    accs: dict[str, float],
    pool: list[str],
    target: str,
    all_accs: dict[str, dict[str, float]],
) -> list[dict[str, Any]]:
    """Correlation records of every score (and the LOTO prior) with ``accs`` over ``pool``."""
    accs = {m: a for m, a in accs.items() if m in pool}
    rows = []
    columns = [
        (
            s.name,
            {
                r.model: r.scores[s.name]
                for r in ranking.rows
                if s.name in r.scores and r.model in pool
            },
        )
        for s in specs
    ]
    loto = loto_prior(
        {t: {m: a for m, a in col.items() if m in pool} for t, col in all_accs.items()}, target
    )
    if loto:
        columns.append((LOTO, loto))
    for name, scores in columns:
        try:
            c = correlate(scores, accs)
        except MetricError:
            continue
        rows.append({"dataset": target, "score": name, **c})
    return rows


def _intervals(
    b: dict[str, Any],
    specs,
    data,
    ranked,
    entries,
    truths,
    tables,
    cache_dir,
    on_progress,
    executor,
    pool: list[str],
    included: dict[str, list[str]],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """95 % intervals of weighted tau per ground truth, score and target, and of the mean over
    the ``included`` targets (those whose ground truth can rank), from joint resamples: the
    r-th half-sample of the scored images (:func:`bootstrap_target`) with the r-th resample of
    the fine-tuning seeds (:func:`~modelrank.benchmark_stats.joint_tau_replicates`); each
    interval is placed around its point (:func:`~modelrank.benchmark_stats.pivot_interval`).
    Records get ``tau_low``/``tau_high``. Returns (intervals, the replicates, what the bootstrap
    covered, the half-sample tables per target)."""
    boot_specs = [
        s
        for s in specs
        if not _static(s)
        and s.name not in b.get("skip", ())
        and (not b.get("metrics") or s.name in b["metrics"])
    ]
    reps, bseed = int(b["replicates"]), int(b.get("seed", 0))
    boot_info = {
        "replicates": reps,
        "seed": bseed,
        "scores": [s.name for s in boot_specs],
        "skipped": [s.name for s in specs if not _static(s) and s not in boot_specs],
    }
    image_tables, has = {}, {}
    for d, r in zip(data, ranked):
        scored = [e for e in entries if e.name in {row.model for row in r.rows}]
        image_tables[d.name] = bootstrap_target(
            scored,
            d,
            boot_specs,
            replicates=reps,
            seed=bseed,
            cache_dir=cache_dir,
            eta=r.recipe.get("eta") or 0.0,
            layout=r.recipe.get("layout") or "whc",
            on_progress=on_progress,
            executor=executor,
        )
        has[d.name] = {row.model: row.scores for row in r.rows}
    statics = [s.name for s in specs if _static(s)]
    intervals: dict[str, dict[str, dict[str, tuple[float, float, int]]]] = {}
    replicates: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for label, gt in truths.items():
        complete, fixed = {}, {}
        for t, scores_of in has.items():
            acc = gt.accuracies.get(t, {})
            # each score's replicates over the backbones its point estimate has
            complete[t] = {
                s.name: [m for m in pool if m in acc and s.name in scores_of.get(m, {})]
                for s in specs
            }
            fixed[t] = {n: {m: scores_of[m][n] for m in complete[t][n]} for n in statics}
        point = tables[label]["tau"]
        per = joint_tau_replicates(
            per_seed={t: gt.per_seed.get(t, {}) for t in has},
            image_tables=image_tables,
            fixed=fixed,
            complete=complete,
            pool=pool,
            replicates=reps,
            seed=bseed,
            loto_name=LOTO if LOTO in point else None,
        )
        out: dict[str, dict[str, tuple[float, float, int]]] = {}
        for s, cols in per.items():
            for t, v in cols.items():
                out.setdefault(s, {})[t] = pivot_interval(point.get(s, {}).get(t, float("nan")), v)
            mean_point, mean_reps = mean_over_targets(point.get(s, {}), cols, included[label])
            if mean_reps is not None:
                out[s]["mean"] = pivot_interval(mean_point, mean_reps)
        intervals[label], replicates[label] = out, per
    for label, tab in tables.items():
        for rec in tab["records"]:
            iv = intervals.get(label, {}).get(rec["score"], {}).get(rec["dataset"])
            if iv:
                rec["tau_low"], rec["tau_high"] = iv[0], iv[1]
    return intervals, replicates, boot_info, image_tables


def run_benchmark(
    suite: Suite,
    *,
    metrics: Any = None,
    device: str | None = None,
    options: "ScoreOptions | None" = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    remeasure: bool = False,
) -> BenchmarkResult:
    """Score the suite's pool on each target, correlate with every ground truth, tabulate.

    Ground truth and scores each run as one job on ``executor`` (default: this process). A
    backbone whose fine-tuning or scoring failed is left out of that target's correlation and
    listed in ``failed``; targets that cannot be loaded here are listed in ``skipped``.
    Controls (``suite.controls``) are kept out of the headline pool and correlated in a table
    of their own; with ``suite.bootstrap``, every score's weighted tau gets a 95 % interval
    from resampling the scored images (scores recomputed from cached embeddings).
    ``options``: how the scores are computed (:class:`~modelrank.ranking.ScoreOptions`); its
    ``cache_dir`` also holds the run logs of the fine-tuning. ``remeasure``: fine-tune again
    instead of reading a ground truth's committed run logs (``measured`` in the suite).
    ``on_progress``: as for :func:`~modelrank.ranking.rank` and
    :func:`~modelrank.finetuning.evaluate`.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)

    opts = options if options is not None else ScoreOptions()
    cache_dir = opts.cache_dir

    specs = resolve_metrics(metrics if metrics is not None else suite.metrics)
    zoo = scoring_zoo(suite)
    entries = select(zoo, suite.models)
    pool, controls = pool_and_controls(suite, zoo)
    skipped: list[str] = []
    failures: list[str] = []

    def failed(model: str, target: str, why: str) -> None:
        failures.append(f"{model} on {target}: {why}")
        if on_skip:
            on_skip(f"{model} on {target}", f"failed: {why}")

    truths = {
        "headline": ground_truth(
            suite,
            device=device,
            cache_dir=cache_dir,
            executor=executor,
            on_progress=on_progress,
            remeasure=remeasure,
        )
    }
    for label, gt in suite.also_against.items():
        truths[label] = ground_truth(
            suite,
            gt,
            label=label,
            device=device,
            cache_dir=cache_dir,
            executor=executor,
            on_progress=on_progress,
            remeasure=remeasure,
        )
    for gt in truths.values():
        for model, target, why in gt.failed:
            failed(model, target, why)
    data = []
    for target in suite.targets:
        try:
            data.append(
                load_target(
                    target, split=suite.split_for(target), per_class=suite.per_class_for(target)
                )
            )
        except DatasetUnavailableError as exc:
            skipped.append(f"{target}: {exc}")
            if on_skip:
                on_skip(target, str(exc))
    names = [s.name for s in specs]
    ranked = rank_targets(
        data,
        zoo=zoo,
        models=pool,
        metrics=names,
        device=device,
        options=opts,
        executor=executor,
        on_progress=on_progress,
        on_skip=on_skip,
    )
    with_controls = (
        rank_targets(
            data,
            zoo=zoo,
            models=pool + controls,
            metrics=names,
            device=device,
            options=opts,
            executor=executor,
            on_skip=on_skip,
        )
        if controls
        else []
    )
    rankings = {d.name: r for d, r in zip(data, ranked)}
    for d, r in zip(data, ranked):
        for model, why in r.failed:
            failed(model, d.name, why)

    tables: dict[str, dict[str, Any]] = {}
    for label, gt in truths.items():
        recs = [
            rec
            for d, r in zip(data, ranked)
            for rec in _table(specs, r, gt.accuracies.get(d.name, {}), pool, d.name, gt.accuracies)
        ]
        tau: dict[str, dict[str, float]] = {}
        for rec in recs:
            rec["ground_truth"] = label
            tau.setdefault(rec["score"], {})[rec["dataset"]] = rec["weighted_tau"]
        tables[label] = {"records": recs, "tau": tau}
    control_tau: dict[str, dict[str, float]] = {}
    control_truth = (
        next(
            (
                lb
                for lb, gt in truths.items()
                if any(c in col for col in gt.accuracies.values() for c in controls)
            ),
            None,
        )
        if controls
        else None
    )
    for d, r in zip(data, with_controls if control_truth else []):
        accs = truths[control_truth].accuracies
        for rec in _table(specs, r, accs.get(d.name, {}), pool + controls, d.name, accs):
            control_tau.setdefault(rec["score"], {})[d.name] = rec["weighted_tau"]

    ceilings = {
        label: {
            t: noise_ceiling({m: v for m, v in col.items() if m in pool})
            for t, col in gt.per_seed.items()
            if t in rankings
        }
        for label, gt in truths.items()
    }
    included = {
        label: [
            t for t in suite.targets if t in rankings and not _too_noisy(ceilings[label].get(t))
        ]
        for label in truths
    }
    intervals, replicates, boot_info, image_tables = (
        ({}, {}, {}, {})
        if not suite.bootstrap
        else (
            _intervals(
                suite.bootstrap,
                specs,
                data,
                ranked,
                entries,
                truths,
                tables,
                cache_dir,
                on_progress,
                executor,
                pool,
                included,
            )
        )
    )
    spread = {
        label: {
            t: seed_spread({m: v for m, v in col.items() if m in pool})
            for t, col in gt.per_seed.items()
        }
        for label, gt in truths.items()
        if any(len(v) > 1 for col in gt.per_seed.values() for v in col.values())
    }
    head = truths["headline"]
    history = (
        history_tau(head.accuracies, pool) if suite.ground_truth.get("kind") == "published" else {}
    )
    baselines = [s.name for s in specs if _static(s)] + ([LOTO] if len(suite.targets) >= 3 else [])
    return BenchmarkResult(
        suite.name,
        [t for t in suite.targets if t in rankings],
        names + ([LOTO] if LOTO in tables["headline"]["tau"] else []),
        tables["headline"]["tau"],
        tables["headline"]["records"],
        head.accuracies,
        rankings,
        skipped,
        failures,
        truths,
        tables,
        intervals,
        baselines,
        control_tau,
        control_truth,
        pool,
        controls,
        spread,
        boot_info,
        ceilings,
        replicates,
        image_tables,
        history,
    )
