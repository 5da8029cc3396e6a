"""Half-samples of the scored images: every score recomputed on half of each class, from the
cached embeddings (no new forward pass), one journaled unit per backbone. The benchmark's
intervals and the recommendation's stability both read them (:func:`bootstrap_target`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from modelrank import __version__
from modelrank.benchmark_stats import bootstrap_backbone, combine_replicates
from modelrank.errors import ModelrankError
from modelrank.execution import LocalExecutor, Shared, Task, run_journaled, unit_journal
from modelrank.metrics import get_metric
from modelrank.scoring import metric_inputs
from modelrank.util.digest import digest

if TYPE_CHECKING:
    from modelrank.execution import Executor


def bootstrap_unit(
    entry,
    data,
    names: list[str],
    replicates: int,
    seed: int,
    cache_dir: str | None,
    eta: float,
    layout: str,
    on_replicate: Callable[[int, int], None] | None = None,
) -> list:
    """One backbone's half-sample replicates of the scores ``names`` on ``data``, from its cached
    embeddings (an executor unit: module level, so that Ray can ship it)."""
    from modelrank.loaders import build_backbone  # torch, paid by the unit that needs it
    from modelrank.probe import CubicalBettiReducer, probe

    specs = [get_metric(n) for n in names]
    cubical = any("cubical_betti" in s.needs for s in specs)
    bb = build_backbone(entry, device="cpu")
    emb = probe(
        bb,
        data,
        cubical=CubicalBettiReducer(eta, layout) if cubical else None,
        device="cpu",
        cache_dir=cache_dir,
    )
    return bootstrap_backbone(
        specs,
        metric_inputs(emb, bb.entry, bb.param_count),
        replicates=replicates,
        seed=seed,
        on_replicate=on_replicate,
    )


def bootstrap_target(
    entries,
    data,
    specs,
    *,
    replicates: int,
    seed: int,
    cache_dir: str | Path | None,
    eta: float = 0.0,
    layout: str = "whc",
    on_progress: Callable[[str, int, int], None] | None = None,
    executor: "Executor | None" = None,
) -> list[dict[str, dict[str, float]]]:
    """The half-sample replicates of every score of ``entries`` on ``data``
    (:func:`modelrank.benchmark_stats.bootstrap_scores`) from their cached embeddings, one unit
    per backbone on ``executor`` (default: this process, one after another). Each backbone's
    replicates go to the unit journal as soon as they are done, so an interrupted run resumes
    and a second run computes nothing. The replicates do not depend on the executor."""
    ex = executor if executor is not None else LocalExecutor()
    names = [s.name for s in specs]
    tasks, shared = [], Shared(data)
    for entry in entries:
        key = digest(
            {
                "unit": "bootstrap-v1",
                "version": __version__,
                "entry": entry.recipe(),
                "data": data.fingerprint(),
                "scores": names,
                "replicates": replicates,
                "seed": seed,
                "eta": eta,
                "layout": layout,
            },
            32,
        )
        args: tuple = (
            entry,
            shared,
            names,
            replicates,
            seed,
            None if cache_dir is None else str(cache_dir),
            eta,
            layout,
        )
        if on_progress and ex.in_process:
            args += (
                lambda i, n, m=entry.name: on_progress(f"half-samples {m} x {data.name}", i, n),
            )
        tasks.append(
            Task(
                key,
                f"half-samples {entry.name} x {data.name}",
                bootstrap_unit,
                args,
                num_cpus=ex.cpus_per_task,
                context=entry.name,
            )
        )
    outcomes = run_journaled(tasks, journal=unit_journal(cache_dir), executor=ex, expect=list)
    per_model = {}
    for task in tasks:
        oc = outcomes[task.key]
        if not oc.ok:
            raise ModelrankError(
                f"half-samples of {task.context} on {data.name} failed: {oc.error}"
            )
        per_model[task.context] = oc.value
    return combine_replicates(specs, {e.name: per_model[e.name] for e in entries})
