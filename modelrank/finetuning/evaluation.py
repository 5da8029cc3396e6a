"""Ground truth of a zoo on targets: :func:`evaluate` (one target) and :func:`evaluate_targets`
(several as one job), by full fine-tuning or linear probing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from modelrank import cpu_runtime
from modelrank.errors import ParameterError
from modelrank.execution import Executor, LocalExecutor, Task, run_journaled, unit_journal
from modelrank.finetuning.config import FinetuneConfig, budget_config
from modelrank.finetuning.job import FinetuneJob
from modelrank.finetuning.linear import linear_key, linear_unit
from modelrank.finetuning.results import EvalResult, Evaluation
from modelrank.finetuning.splits import load_splits
from modelrank.progress import OnProgress
from modelrank.recording import record_evaluation
from modelrank.zoo import load_zoo, select, truncation_parent
from modelrank.zoo_entry import ZooEntry


def evaluate(
    dataset: str,
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    protocol: str = "full",
    budget: str | FinetuneConfig = "cpu",
    per_class: int | None = None,
    device: str | None = None,
    cache_dir: str | Path | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    store: bool | str | Path = False,
) -> Evaluation:
    """Ground-truth accuracy of every selected backbone on ``dataset`` (see module docstring).

    Args:
        zoo, models: the zoo and which of its backbones (default: the ``offline`` tag).
        protocol: "full" (fine-tune everything) or "linear" (logistic head on cached features).
        budget: "cpu" (default, small), "published" (the full docs/methods.md §5 grid, 5000 steps)
            or a FinetuneConfig.
        per_class: training images per class (default: all).
        device: "cpu", "cuda", or None/"auto".
        cache_dir: run logs and linear-probe embeddings (see :func:`evaluate_targets`).
        executor: where the units run (default: this process). Units are the single runs of
            the grid and the retrain (full) or one backbone each (linear).
        on_progress: told (:func:`runs_label` of a model, runs done, runs) and (:data:`STEPS`,
            step, steps) (:mod:`modelrank.progress`).
        on_skip: called (model, reason) for a backbone whose weights are unavailable.
        store: also record the accuracies in the results database (True: the default one,
            ``$MODELRANK_DB``; a path: that file), where ``leaderboard`` finds them.

    Returns:
        :class:`Evaluation`: the results, and the backbones that failed or were skipped.
    """
    ev = evaluate_targets(
        [(dataset, per_class)],
        zoo=zoo,
        models=models,
        protocol=protocol,
        budget=budget,
        device=device,
        cache_dir=cache_dir,
        executor=executor,
        on_progress=on_progress,
        on_skip=on_skip,
    )[0]
    if store:
        record_evaluation(
            ev,
            db=None if store is True else store,
            command=f"python: modelrank.evaluate({dataset!r}, models={models!r}, "
            f"protocol={protocol!r})",
        )
    return ev


def evaluate_targets(
    targets: Sequence[tuple[str, int | None]],
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    protocol: str = "full",
    budget: str | FinetuneConfig = "cpu",
    device: str | None = None,
    cache_dir: str | Path | None = None,
    points: Mapping[tuple[str, str], Sequence[tuple[float, float]]] | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    measured: str | Path | None = None,
) -> list[Evaluation]:
    """:func:`evaluate` on several (dataset, per_class) targets as one job.

    ``measured`` (full protocol only): a directory of committed run logs (a suite's measured
    ground truth, ``<model>__<dataset>.jsonl``) whose runs are taken as done; runs missing
    from it are trained and logged under ``cache_dir`` as usual.

    ``points`` (full protocol only): {(model, dataset): [(lr, w), ...]}, the grid points a pair
    runs instead of the budget's whole grid (the repeat of a chosen learning rate with another
    seed); pairs not in it run the whole grid.

    ``cache_dir`` (default: ``$MODELRANK_CACHE``) holds the run logs (``runs/``, written by this
    process only) and the linear probe's embeddings (written where the units run: give a
    directory every node mounts at the same path to share them).

    Returns one :class:`Evaluation` per target, in order.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)

    if protocol not in ("full", "linear"):
        raise ParameterError("protocol", f"must be full or linear, got {protocol!r}")
    cfg = budget_config(budget)
    parsed = zoo if isinstance(zoo, dict) else load_zoo(zoo)
    entries = select(parsed, models if models is not None else "offline")
    ex = executor if executor is not None else LocalExecutor()
    out: dict[str, list[EvalResult]] = {d: [] for d, _ in targets}
    if protocol == "full":
        job = FinetuneJob(cfg, device, ex, on_progress, cache_dir, measured)
        for dataset, per_class in targets:
            for entry in entries:
                job.add(entry, dataset, per_class, points=(points or {}).get((entry.name, dataset)))
        results, failures, skipped = job.run()
        for r in results:
            out[r.dataset].append(r)
    else:
        task_device = ex.check_device(device)
        failures, skipped, got, tasks = [], [], {}, []
        for dataset, per_class in targets:
            train, _, test, _ = load_splits(dataset, per_class, cfg.seed, 0.2, cfg.test_per_class)
            # full-depth networks first, so that their truncations find their pass in the cache
            for entry in sorted(entries, key=lambda e: e.truncate is not None):
                tasks.append(
                    Task(
                        linear_key(entry, train, test, cfg),
                        f"linear probe {entry.name} x {dataset}",
                        linear_unit,
                        (
                            entry,
                            dataset,
                            per_class,
                            cfg.seed,
                            cfg.image_size,
                            None if cache_dir is None else str(cache_dir),
                            cfg.test_per_class,
                            truncation_parent(entry, entries),
                            cfg.threads,
                        ),
                        num_cpus=ex.cpus_per_task,
                        device=task_device,
                        context=(entry.name, dataset),
                    )
                )
        # a unit answers the reason as a string when the weights are unavailable: not journaled
        outcomes = run_journaled(
            tasks,
            journal=unit_journal(cache_dir),
            executor=ex,
            expect=EvalResult,
            keep=lambda v: not isinstance(v, str),
        )
        for task in tasks:
            oc, (model, dataset) = outcomes[task.key], task.context
            if not oc.ok:
                failures.append((model, dataset, oc.error))
            elif isinstance(oc.value, str):
                skipped.append((model, dataset, oc.value))
            else:  # as journaled, it trained nothing; computed in this run, it counts one run
                got[(model, dataset)] = (
                    oc.value if oc.attempts == 0 else replace(oc.value, runs_computed=1)
                )
        for dataset, _ in targets:
            out[dataset] = [got[(e.name, dataset)] for e in entries if (e.name, dataset) in got]
    evaluations = [Evaluation(d, protocol, out[d]) for d, _ in targets]
    by_dataset = {e.dataset: e for e in evaluations}
    for model, dataset, why in skipped:
        by_dataset[dataset].skipped.append((model, why))
        if on_skip:
            on_skip(model, why)
    for model, dataset, why in failures:
        by_dataset[dataset].failed.append((model, why))
    return evaluations
