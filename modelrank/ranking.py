"""Orchestrate zoo x data x probe x scores into a :class:`~modelrank.ranking_result.Ranking`:
:func:`rank` (one target) and :func:`rank_targets` (several as one job)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from modelrank import cpu_runtime
from modelrank.benchmark_stats import combine_replicates
from modelrank.data import TargetData, load_target
from modelrank.errors import ConfigError, MetricError, ParameterError
from modelrank.execution import LocalExecutor, Shared, Task, run_journaled, unit_journal
from modelrank.journal import Journal
from modelrank.metrics.registry import MetricSpec
from modelrank.progress import OnProgress
from modelrank.ranking_result import Ranking, RankRow, library_versions, scored_resolution
from modelrank.recording import record_ranking
from modelrank.score_options import ScoreOptions
from modelrank.scoring import UnitScore, resolve_metrics, score_backbone, set_score, unit_key
from modelrank.util.checks import check_whole_number
from modelrank.zoo import ZooEntry, load_zoo, select, truncation_parent

#: What callers of scoring need, from the modules that own them.
__all__ = [
    "RankRow",
    "Ranking",
    "ScoreOptions",
    "rank",
    "rank_targets",
    "resolve_metrics",
    "scored_resolution",
]

if TYPE_CHECKING:
    from modelrank.execution import Executor


def rank(
    dataset: str | TargetData = "digits",
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    metrics: str | Sequence[str] | None = None,
    split: str = "train",
    per_class: int | None = None,
    seed: int = 0,
    device: str | None = None,
    options: ScoreOptions | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    store: bool | str | Path = False,
    stability: int = 0,
) -> Ranking:
    """Score every selected backbone on ``dataset`` and rank them.

    Args:
        dataset: name, ImageFolder path, or a loaded TargetData.
        zoo: zoo file path, packaged zoo name, or parsed zoo (default: the packaged zoo.yaml).
        models: comma list of names and tags (default: the ``offline`` tag).
        metrics: comma list of registered metric names, or "all"; the first is the primary.
        split, per_class, seed: which images the scores see (recorded); ignored for a loaded
            TargetData except ``seed``, which is recorded.
        device: where the backbones run: "cpu", "cuda", or None/"auto" (CUDA when present).
        options: how the probe runs and the scores are computed (:class:`ScoreOptions`:
            batch size, mixed precision, cubical threshold, layout and engine, the cache).
        executor: where the units run (default: a :class:`LocalExecutor`, this process).
        on_progress: ``on_progress(model, images done, total)`` while probing
            (:mod:`modelrank.progress`; in-process executors only).
        on_skip: called (model, reason) for a backbone that cannot be built here.
        store: also record the ranking in the results database (True: the default one,
            ``$MODELRANK_DB``; a path: that file), where ``leaderboard`` finds it.
        stability: half-samples of the scored images on which each scoring unit recomputes the
            primary score (``Ranking.half_samples``, the recommendation's stability; 0: none).

    Returns:
        Ranking, rows sorted best first by the primary metric. Units that failed after their
        retries are listed in ``Ranking.failed``, backbones that could not be built in
        ``Ranking.skipped``.
    """
    check_whole_number("seed", seed, least=0)
    data = (
        dataset
        if isinstance(dataset, TargetData)
        else load_target(dataset, split=split, per_class=per_class, seed=seed)
    )
    ranking = rank_targets(
        [data],
        zoo=zoo,
        models=models,
        metrics=metrics,
        seed=seed,
        device=device,
        options=options,
        executor=executor,
        on_progress=on_progress,
        on_skip=on_skip,
        stability=stability,
    )[0]
    if store:
        record_ranking(
            ranking,
            db=None if store is True else store,
            command=f"python: modelrank.rank({data.name!r}, models={models!r}, "
            f"metrics={metrics!r})",
        )
    return ranking


def rank_targets(
    targets: Sequence[TargetData],
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    metrics: str | Sequence[str] | None = None,
    seed: int = 0,
    device: str | None = None,
    options: ScoreOptions | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    stability: int = 0,
) -> list[Ranking]:
    """:func:`rank` for several loaded targets as one job of (backbone x target) units.

    Units already in the journal are not run again. Every unit is submitted to ``executor``
    at once, so a cluster can work on all of them; pool-dependent metrics are combined here
    per target once all of its units are back. Returns one Ranking per target, in order.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)

    opts = options if options is not None else ScoreOptions()
    if not isinstance(opts, ScoreOptions):
        raise ParameterError("options", f"must be a ScoreOptions, got {type(opts).__name__}")
    check_whole_number("seed", seed, least=0)
    check_whole_number("stability", stability, least=0)
    for t in targets:
        if t.num_classes < 2:
            raise ConfigError(
                f"{t.name} ({t.split}) has {t.num_classes} class; ranking needs at least 2"
            )
    specs = resolve_metrics(metrics)
    names = tuple(s.name for s in specs)
    parsed = zoo if isinstance(zoo, dict) else load_zoo(zoo)
    entries = select(parsed, models if models is not None else "offline")
    need_cubical = any("cubical_betti" in s.needs for s in specs)
    ex = executor if executor is not None else LocalExecutor()
    task_device = ex.check_device(device)
    journal = unit_journal(opts.cache_dir) if opts.use_cache else Journal(None)
    tasks = []
    # full-depth networks first, so that their truncations find their pass in the cache
    submit_order = sorted(entries, key=lambda e: e.truncate is not None)
    for ti, data in enumerate(targets):
        shared = Shared(data)
        for entry in submit_order:
            args: tuple = (
                entry,
                shared,
                names,
                opts,
                truncation_parent(entry, entries),
                (stability, seed),
            )
            if ex.in_process and on_progress is not None:
                args += (on_progress,)
            task = Task(
                unit_key(entry, data, names, opts, (stability, seed)),
                f"score {entry.name} x {data.name}",
                score_backbone,
                args,
                num_cpus=ex.cpus_per_task,
                device=task_device,
                context=(ti, entry.name),
            )
            tasks.append(task)

    def told(oc) -> None:
        if oc.ok and oc.value.skipped is not None and on_skip:
            on_skip(oc.task.context[1], oc.value.skipped)

    outcomes = run_journaled(
        tasks,
        journal=journal,
        executor=ex,
        expect=UnitScore,
        keep=lambda unit: unit.skipped is None,
        on_outcome=told,
    )
    results: list[dict[str, UnitScore]] = [{} for _ in targets]
    failed: list[list[tuple[str, str]]] = [[] for _ in targets]
    for task in tasks:
        ti, model = task.context
        oc = outcomes[task.key]
        if not oc.ok:
            failed[ti].append((model, oc.error))
            continue
        if oc.attempts == 0:  # read back from the journal: no forward pass in this run
            oc.value.row.info.update(forward_pass=False, from_journal=True)
        results[ti][model] = oc.value
    recipe_base = {
        "seed": seed,
        "eta": opts.eta if need_cubical else None,
        "layout": opts.layout if need_cubical else None,
        "amp": opts.amp,
        "batch_size": opts.batch_size,
        "versions": library_versions(),
        "zoo": str(zoo) if zoo is not None and not isinstance(zoo, dict) else "packaged",
        "execution": ex.describe(),
    }
    order = [e.name for e in entries]
    return [
        _assemble(
            specs,
            [results[ti][m] for m in order if m in results[ti]],
            failed[ti],
            {"data": data.recipe(), **recipe_base},
        )
        for ti, data in enumerate(targets)
    ]


def _assemble(
    specs: list[MetricSpec],
    units: list[UnitScore],
    failed: list[tuple[str, str]],
    recipe: dict[str, Any],
) -> Ranking:
    """Combine pool-dependent sub-scores over the pool and sort (units in zoo order)."""
    rows = [u.row for u in units if u.row is not None]
    skipped = [(u.model, u.skipped) for u in units if u.skipped is not None]
    for spec in specs:
        if not spec.pool_dependent:
            continue
        pairs = [(u.row, u.sub[spec.name]) for u in units if spec.name in u.sub]
        if not pairs:
            continue
        try:
            combined = spec.combine([v for _, v in pairs])
        except MetricError as exc:
            for row, _ in pairs:
                row.unavailable[spec.name] = str(exc)
            continue
        for (row, v), c in zip(pairs, combined):
            row.info.setdefault("subscores", {})[spec.name] = v
            set_score(row, spec, float(c))
    primary = specs[0].name
    rows.sort(key=lambda r: (primary not in r.scores, -r.scores.get(primary, 0.0)))
    if failed:
        recipe = {**recipe, "failed": [{"model": m, "reason": why} for m, why in failed]}
    # the half-samples of the backbones that have the primary score, combined over them as the
    # full-sample score was (a pool-dependent score is normalised over the same pool)
    scored = {r.model for r in rows if primary in r.scores}
    halves = combine_replicates(
        specs[:1], {u.model: u.half_samples for u in units if u.half_samples and u.model in scored}
    )
    return Ranking([s.name for s in specs], primary, rows, skipped, recipe, failed, halves)
