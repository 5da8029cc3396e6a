"""What a finished job leaves in the results database (:mod:`modelrank.store`): a ranking, an
evaluation, a benchmark. The command line calls these after printing; library users may too."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from modelrank.accuracy import accuracy_kind
from modelrank.benchmark_report import summary_rows
from modelrank.data.content import known_test_digest
from modelrank.store import Store

if TYPE_CHECKING:
    from modelrank.benchmark import BenchmarkResult, Suite
    from modelrank.finetuning import Evaluation
    from modelrank.ranking import Ranking


def record_ranking(ranking: "Ranking", *, db: str | os.PathLike | None, command: str) -> int:
    """Store one ranking (every row, its scores and topology arrays); returns its run id.
    ``db``: the database file (None: :func:`modelrank.store.default_path`); ``command``: the
    command line that produced it."""
    with Store(db) as store:
        return store.record_ranking(ranking.to_dict(), command)


def record_evaluation(
    evaluation: "Evaluation",
    *,
    db: str | os.PathLike | None,
    command: str,
    execution: dict | None = None,
) -> list[int]:
    """Store each backbone's accuracy as a run of its own (its recipe: how it was trained), and
    the failed backbones, when there are any, as one more run; returns the run ids."""
    ids = []
    # the digest of the test images lets a later history recognise the target under any name
    content = known_test_digest(evaluation.dataset) if evaluation.results else None
    with Store(db) as store:
        base = {
            "kind": "evaluate",
            "dataset": evaluation.dataset,
            **({"test_content": content} if content else {}),
        }
        if evaluation.failed:
            ids.append(
                store.record_run(
                    command,
                    {
                        **base,
                        "execution": execution or {},
                        "failed": [{"model": m, "reason": why} for m, why in evaluation.failed],
                    },
                )
            )
        for r in evaluation.results:
            run_id = store.record_run(command, {**base, **r.recipe})
            store.record_evaluation(
                run_id,
                r.model,
                r.dataset,
                r.protocol,
                r.best,
                r.accuracy,
                r.accuracy_kind,
                "test",
                {"grid": r.grid},
            )
            ids.append(run_id)
    return ids


def record_benchmark(
    result: "BenchmarkResult", suite: "Suite", *, db: str | os.PathLike | None, command: str
) -> int:
    """Store a benchmark: each target's ranking, every ground-truth accuracy, each score's
    correlation per target and the summary over targets; returns the benchmark's run id."""
    digests: dict[str, str | None] = {}  # once per target, whatever the ground truths
    with Store(db) as store:
        for ranking in result.rankings.values():
            store.record_ranking(ranking.to_dict(), command)
        run_id = store.record_run(command, {"kind": "benchmark", "suite": suite.name})
        for label, gt in result.ground_truths.items():
            spec = suite.ground_truth if label == "headline" else suite.also_against[label]
            published = spec["kind"] == "published"
            protocol = (
                "published"
                if published
                else "finetune"
                if spec.get("protocol", "full") == "full"
                else "linear"
            )
            for target, accs in gt.accuracies.items():
                kind = accuracy_kind(target, published=published)
                if not published and target not in digests:
                    digests[target] = known_test_digest(target)
                content = None if published else digests[target]
                for model, acc in accs.items():
                    store.record_evaluation(
                        run_id,
                        model,
                        target,
                        protocol,
                        {},
                        float(acc),
                        kind,
                        "test",
                        {
                            "per_seed": gt.per_seed.get(target, {}).get(model),
                            **({"test_content": content} if content else {}),
                        },
                    )
            store.record_correlations(run_id, suite.name, result.tables[label]["records"])
        store.record_tau_summaries(run_id, suite.name, summary_rows(result))
    return run_id
