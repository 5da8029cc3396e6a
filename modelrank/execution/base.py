"""The pieces every executor shares: :class:`Task`, :class:`Outcome`, :class:`Shared`,
:class:`Counts` and the :class:`Executor` base class (see :mod:`modelrank.execution`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from modelrank.devices import resolve_device
from modelrank.errors import ConfigError, ParameterError

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
            raise ParameterError(
                "gpus_per_task",
                f"must be a fraction in (0, 1] or a whole number, got {self.gpus_per_task}",
            )

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
