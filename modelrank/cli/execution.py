"""Options shared by ``score``, ``evaluate`` and ``benchmark`` for choosing where units run."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import typer

from modelrank.execution import DEFAULT_RETRIES, Executor, make_executor

EXECUTOR = typer.Option("local", "--executor", help="Where units of work run: local (this "
                        "process, one after another) or ray (Ray tasks, in parallel).")
RAY_ADDRESS = typer.Option(None, "--ray-address", help="Ray cluster to join ('auto', 'host:6379', "
                           "'ray://host:10001'); default: start a local Ray instance.")
WORKERS = typer.Option(None, "--workers", help="CPUs of a local Ray instance (default: all).")
RETRIES = typer.Option(DEFAULT_RETRIES, "--retries", help="Retries of a unit that raises or "
                       "whose worker dies, before it is reported as failed.")
CPUS_PER_TASK = typer.Option(1.0, "--cpus-per-task", help="CPUs (and torch threads) each Ray "
                             "task declares.")
GPUS_PER_TASK = typer.Option(1.0, "--gpus-per-task", help="GPUs each Ray task on cuda declares; "
                             "0.25 packs four tasks onto one GPU.")


@contextmanager
def open_executor(name: str, ray_address: Optional[str], workers: Optional[int], retries: int,
                  cpus_per_task: float, gpus_per_task: float, on_counts) -> Iterator[Executor]:
    """The chosen executor, closed (Ray shut down if we started it) on the way out."""
    ex = make_executor(name, ray_address=ray_address, workers=workers, max_retries=retries,
                       cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                       on_counts=on_counts)
    try:
        yield ex
    finally:
        ex.close()


#: Exit status of a command that finished but has units that failed after their retries.
FAILED_UNITS_EXIT = 3


def exit_if_failed(n_failed: int) -> None:
    """After everything is printed and stored: exit with :data:`FAILED_UNITS_EXIT` when units
    failed, so that scripts notice; re-running the command retries only those."""
    if n_failed:
        from rich.console import Console

        Console(stderr=True).print(f"{n_failed} unit(s) failed after their retries; the results "
                                   "above leave them out. Re-run the command to retry only them.",
                                   soft_wrap=True)
        raise typer.Exit(FAILED_UNITS_EXIT)
