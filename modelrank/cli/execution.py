"""Where a command's units of work run: the six ``--executor`` options, added to a command by
:func:`with_execution` and handed to it as one :class:`Execution`; and the exit status of a
command whose units failed."""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Iterator

import typer

from modelrank.cli.choices import ExecutorName, plain
from modelrank.cli.options import CpusPerTask, Executor, GpusPerTask, RayAddress, Retries, Workers
from modelrank.execution import DEFAULT_RETRIES, make_executor
from modelrank.execution import Executor as _Executor


@dataclass(frozen=True)
class Execution:
    """The executor options of one command line (:func:`modelrank.execution.make_executor`)."""

    executor: Executor = ExecutorName.local
    ray_address: RayAddress = None
    workers: Workers = None
    retries: Retries = DEFAULT_RETRIES
    cpus_per_task: CpusPerTask = 1.0
    gpus_per_task: GpusPerTask = 1.0

    @contextmanager
    def open(self, on_counts) -> Iterator[_Executor]:
        """The chosen executor, closed (Ray shut down if we started it) on the way out."""
        ex = make_executor(
            plain(self.executor),
            ray_address=self.ray_address,
            workers=self.workers,
            max_retries=self.retries,
            cpus_per_task=self.cpus_per_task,
            gpus_per_task=self.gpus_per_task,
            on_counts=on_counts,
        )
        try:
            yield ex
        finally:
            ex.close()


_FIELDS = [f.name for f in fields(Execution)]


def with_execution(command):
    """``command`` with the executor options added to its command-line signature; it receives
    them as one keyword, ``execution`` (an :class:`Execution`), so each option is declared once."""
    own = inspect.signature(command, eval_str=True)
    hints = inspect.get_annotations(Execution, eval_str=True)
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[name],
            default=getattr(Execution, name),
        )
        for name in _FIELDS
    ]
    kept = [p for p in own.parameters.values() if p.name != "execution"]

    @functools.wraps(command)
    def run(**kwargs):
        execution = Execution(**{name: kwargs.pop(name) for name in _FIELDS})
        return command(**kwargs, execution=execution)

    run.__signature__ = own.replace(parameters=kept + added)
    run.__annotations__ = {
        **{p.name: p.annotation for p in kept + added},
        "return": own.return_annotation,
    }
    del run.__wrapped__  # typer reads __signature__, not the wrapped function's
    return run


#: Exit status of a command that finished but has units that failed after their retries.
FAILED_UNITS_EXIT = 3


def exit_if_failed(n_failed: int) -> None:
    """After everything is printed and stored: exit with :data:`FAILED_UNITS_EXIT` when units
    failed, so that scripts notice; re-running the command retries only those."""
    if n_failed:
        from rich.console import Console

        Console(stderr=True).print(
            f"{n_failed} unit(s) failed after their retries; the results "
            "above leave them out. Re-run the command to retry only them.",
            soft_wrap=True,
        )
        raise typer.Exit(FAILED_UNITS_EXIT)
