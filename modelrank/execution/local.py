"""The local executor: tasks one after another in this process (the default)."""

from __future__ import annotations

from dataclasses import dataclass

from modelrank.errors import ModelrankError
from modelrank.execution.base import Executor, Outcome, Shared, Task, one_line, times


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
                        return Outcome(
                            task,
                            error=f"failed {times(attempt)}; last: {one_line(exc)}",
                            attempts=attempt,
                        )
        finally:
            self.counts.running = 0
