"""Journaled units of work: what is in the journal is read back, the rest runs on an executor, and
each result is journaled as it arrives, so an interrupted job loses nothing and a second run
computes nothing. Every driver of modelrank (scoring, half-samples, linear probes, the topology
study) runs its units through :func:`run_journaled`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from modelrank.execution.base import Executor, Outcome, Task
from modelrank.execution.local import LocalExecutor
from modelrank.journal import Journal
from modelrank.util.paths import cache_root


def unit_journal(cache_dir: str | Path | None) -> Journal:
    """The journal of finished units under ``cache_dir`` (default: modelrank's cache)."""
    return Journal((Path(cache_dir) if cache_dir is not None else cache_root()) / "units")


def run_journaled(
    tasks: Sequence[Task],
    *,
    journal: Journal,
    executor: Executor | None = None,
    expect: type | None = None,
    keep: Callable[[Any], bool] = lambda value: True,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> dict[str, Outcome]:
    """Run ``tasks`` whose results are not in ``journal`` yet; {task key: Outcome} for all.

    A result read back from the journal is an Outcome with ``attempts=0`` (nothing ran). A task
    that ran is journaled when it succeeded and ``keep(value)`` (a unit that was skipped, for
    example, is not). ``expect``: the type a journaled result must have (another is deleted and
    the unit runs again). ``on_outcome`` is told each outcome of a task that ran, as it arrives.
    """
    out: dict[str, Outcome] = {}
    todo = []
    for task in tasks:
        hit = journal.get(task.key, expect=expect)
        if hit is not None:
            out[task.key] = Outcome(task, hit, attempts=0)
        else:
            todo.append(task)

    def collect(oc: Outcome) -> None:
        if oc.ok and keep(oc.value):
            journal.put(oc.task.key, oc.value)
        out[oc.task.key] = oc
        if on_outcome is not None:
            on_outcome(oc)

    if todo:
        (executor if executor is not None else LocalExecutor()).run(todo, collect)
    return out
