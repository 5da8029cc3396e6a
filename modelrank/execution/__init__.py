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

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from modelrank.errors import ConfigError, ModelrankError, ParameterError

EXECUTORS = ("local", "ray")
DEFAULT_RETRIES = 2


@dataclass(frozen=True, eq=False)
class Shared:
    """Wraps a task argument many tasks share (a data set): Ray stores it once in its object
    store and passes a reference; the local executor passes the object itself."""

    value: Any


@dataclass(eq=False)
class Task:
    """One unit of work.

    Attributes:
        key: unique within a job (a digest of what determines the result).
        label: what the progress display shows, e.g. "tf_efficientnet_lite0 x digits".
        fn: a module-level function (Ray ships it by reference, so it must be importable).
        args: positional arguments; :class:`Shared` ones are de-duplicated.
        num_cpus, num_gpus: resources the task declares to Ray (the local executor runs
            tasks one at a time with whatever the process has).
        device: when set (a :meth:`Executor.check_device` value), the executor passes ``fn``
            the concrete device as keyword ``device`` and, on Ray, declares
            ``gpus_per_task`` GPUs for cuda.
        context: driver-side information about the task; never shipped.
    """

    key: str
    label: str
    fn: Callable[..., Any]
    args: tuple = ()
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    device: str | None = None
    context: Any = None


@dataclass
class Outcome:
    """What became of a task: ``value`` when it succeeded, else ``error`` (one line)."""

    task: Task
    value: Any = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Counts:
    """Progress over a whole job: tasks known so far and their states."""

    total: int = 0
    done: int = 0
    running: int = 0
    failed: int = 0

    @property
    def queued(self) -> int:
        return self.total - self.done - self.running - self.failed


OnOutcome = Callable[[Outcome], Iterable[Task] | None]
OnCounts = Callable[[Counts], None]


@dataclass
class Executor:
    """Runs tasks; subclasses implement :meth:`_start` and :meth:`_next`.

    Attributes:
        max_retries: attempts after the first for a task that raises or whose worker dies.
        on_counts: called with the job's :class:`Counts` whenever they change.
        cpus_per_task: CPUs a remote task declares (and the torch threads it uses).
        gpus_per_task: GPUs a remote task on cuda declares; a fraction (0.25) lets Ray pack
            several tasks onto one GPU.
    """

    max_retries: int = DEFAULT_RETRIES
    on_counts: OnCounts | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 1.0
    name: str = field(default="executor", init=False)
    counts: Counts = field(default_factory=Counts, init=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ParameterError("max_retries", f"must be at least 0, got {self.max_retries}")
        if self.cpus_per_task <= 0:
            raise ParameterError("cpus_per_task", f"must be positive, got {self.cpus_per_task}")
        g = self.gpus_per_task
        if not (0 < g <= 1 or (g > 1 and g == int(g))):
            raise ParameterError("gpus_per_task", "must be a fraction in (0, 1] or a whole number, "
                                 f"got {self.gpus_per_task}")

    def run(self, tasks: Iterable[Task], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        """Run ``tasks`` (and any follow-ups ``on_outcome`` returns) to completion.

        Returns every outcome in the order they finished. Raises only for a problem of the
        executor itself (or KeyboardInterrupt); a task's failure is an outcome.
        """
        outcomes: list[Outcome] = []
        pending = list(tasks)
        self._add(len(pending))
        self._start(pending)
        while self._busy():
            oc = self._next()
            if oc.ok:
                self.counts.done += 1
            else:
                self.counts.failed += 1
            self._emit()
            outcomes.append(oc)
            more = list(on_outcome(oc) or ()) if on_outcome else []
            if more:
                self._add(len(more))
                self._start(more)
        return outcomes

    def describe(self) -> dict[str, Any]:
        """What a result records about how it was computed."""
        return {"executor": self.name, "max_retries": self.max_retries}

    @property
    def in_process(self) -> bool:
        """True when tasks run in this process (so they may take callbacks)."""
        return False

    def gpus_available(self) -> bool:
        """Whether tasks can be given GPUs."""
        return False

    def check_device(self, device: str | None) -> str:
        """The user's ``device`` validated on the driver (a one-line error when it is bad).

        In this process it is resolved at once ("auto" -> "cuda" or "cpu"). For remote tasks
        only its form is checked; "auto" is decided when the tasks are submitted, from whether
        the cluster has GPUs, so that a task never uses a GPU it did not declare.
        """
        import torch

        from modelrank.probe import resolve_device

        if self.in_process:
            return str(resolve_device(device))
        if device in (None, "auto"):
            return "auto"
        try:
            kind = torch.device(device).type
        except RuntimeError:
            raise ConfigError(f"unknown device {device!r}; use cpu, cuda or auto") from None
        if kind not in ("cpu", "cuda"):
            raise ConfigError(f"remote tasks run on cpu or cuda, not {device!r}")
        return kind  # Ray shows a task only the GPU it was given: always cuda:0 there

    def close(self) -> None:
        """Release what the executor holds (a Ray connection)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- for subclasses

    def _add(self, n: int) -> None:
        self.counts.total += n
        self._emit()

    def _emit(self) -> None:
        if self.on_counts:
            self.on_counts(Counts(**vars(self.counts)))

    def _start(self, tasks: list[Task]) -> None:
        raise NotImplementedError

    def _busy(self) -> bool:
        raise NotImplementedError

    def _next(self) -> Outcome:
        raise NotImplementedError


def times(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n} times"


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (the last line of a multi-line message)."""
    msg = str(exc).strip().splitlines()
    text = msg[-1] if msg else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class LocalExecutor(Executor):
    """Runs tasks one after another in this process (the default; no extra dependencies)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.name = "local"
        self._queue: list[Task] = []

    @property
    def in_process(self) -> bool:
        return True

    def _start(self, tasks: list[Task]) -> None:
        self._queue.extend(tasks)

    def _busy(self) -> bool:
        return bool(self._queue)

    def _next(self) -> Outcome:
        task = self._queue.pop(0)
        args = tuple(a.value if isinstance(a, Shared) else a for a in task.args)
        kwargs = {} if task.device is None else {"device": task.device}
        self.counts.running = 1
        self._emit()
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    return Outcome(task, task.fn(*args, **kwargs), attempts=attempt)
                except ModelrankError as exc:
                    return Outcome(task, error=str(exc), attempts=attempt)
                except Exception as exc:  # noqa: BLE001 - any task failure is an outcome
                    if attempt > self.max_retries:
                        return Outcome(task, error=f"failed {times(attempt)}; last: {one_line(exc)}",
                                       attempts=attempt)
        finally:
            self.counts.running = 0


def make_executor(name: str = "local", ray_address: str | None = None, workers: int | None = None,
                  max_retries: int = DEFAULT_RETRIES, cpus_per_task: float = 1.0,
                  gpus_per_task: float = 1.0, on_counts: OnCounts | None = None) -> Executor:
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
            raise ParameterError("workers", "needs the ray executor (it sizes a local Ray instance)")
        return LocalExecutor(max_retries=max_retries, on_counts=on_counts,
                             cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task)
    if name == "ray":
        from modelrank.execution.ray_executor import RayExecutor

        return RayExecutor(max_retries=max_retries, on_counts=on_counts,
                           cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                           address=ray_address, workers=workers)
    raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}, got {name!r}")
