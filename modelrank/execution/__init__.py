"""Run units of work in this process or on a Ray cluster, with the same results either way.

A unit (:class:`Task`) is one backbone x one target for scoring, or one fine-tuning run of one
backbone x target x hyper-parameters. Drivers (``ranking``, ``evaluate``, ``benchmark``) build
tasks, hand them to an :class:`Executor`, and get one :class:`Outcome` per task back as tasks
finish; an ``on_outcome`` callback may answer with follow-up tasks (the retrain after a
fine-tuning grid). Only the driver touches the results store and the run logs.

Failure semantics are the same for both executors: a task that raises an unexpected exception
(or, on Ray, whose worker dies) is retried up to ``max_retries`` times and then reported as a
failed outcome with the reason; a :class:`~modelrank.errors.ModelrankError` (bad input, a
deterministic refusal) fails at once without retries. The other tasks go on either way.
"""

from __future__ import annotations

from modelrank.errors import ParameterError
from modelrank.execution.base import (
    DEFAULT_RETRIES,
    EXECUTORS,
    Counts,
    Executor,
    OnCounts,
    OnOutcome,
    Outcome,
    Shared,
    Task,
    one_line,
    times,
)
from modelrank.execution.journaled import run_journaled, unit_journal
from modelrank.execution.local import LocalExecutor
from modelrank.execution.ray_executor import RayExecutor

__all__ = [
    "DEFAULT_RETRIES",
    "EXECUTORS",
    "Counts",
    "Executor",
    "LocalExecutor",
    "OnCounts",
    "OnOutcome",
    "Outcome",
    "Shared",
    "Task",
    "make_executor",
    "one_line",
    "run_journaled",
    "times",
    "unit_journal",
]


def make_executor(
    name: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    max_retries: int = DEFAULT_RETRIES,
    cpus_per_task: float = 1.0,
    gpus_per_task: float = 1.0,
    on_counts: OnCounts | None = None,
) -> Executor:
    """An executor by name: "local" (this process) or "ray".

    Args:
        ray_address: a running cluster ("auto", "host:6379", "ray://host:10001"); None starts a
            local Ray instance on this machine.
        workers: CPUs a local Ray instance may use (None: all of this machine's).
        max_retries: attempts after the first for a failing task.
        cpus_per_task: CPUs each remote task declares (and the torch threads it uses).
        gpus_per_task: GPUs each remote task on cuda declares (fractions pack tasks on a GPU).
    """
    if name == "local":
        if ray_address is not None:
            raise ParameterError("ray_address", "needs the ray executor")
        if workers is not None:
            raise ParameterError(
                "workers", "needs the ray executor (it sizes a local Ray instance)"
            )
        return LocalExecutor(
            max_retries=max_retries,
            on_counts=on_counts,
            cpus_per_task=cpus_per_task,
            gpus_per_task=gpus_per_task,
        )
    if name == "ray":
        return RayExecutor(
            max_retries=max_retries,
            on_counts=on_counts,
            cpus_per_task=cpus_per_task,
            gpus_per_task=gpus_per_task,
            address=ray_address,
            workers=workers,
        )
    raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}, got {name!r}")
