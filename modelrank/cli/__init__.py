"""The ``modelrank`` command line: typer commands that call into the library.

Errors a user can cause (:class:`~modelrank.errors.ModelrankError`) are printed on one line
and exit with status 1; no traceback.
"""

from __future__ import annotations

import sys
import warnings
from typing import Optional

import typer
from rich.markup import escape

from modelrank.cli.consoles import err
from modelrank.errors import ModelrankError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Rank pre-trained backbones for an image-classification target.",
)


def _print_version(value: bool) -> None:
    if value:
        from modelrank import __version__

        print(f"modelrank {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    threads: Optional[int] = typer.Option(
        None, "--threads", help="CPU threads for torch and BLAS (default: the libraries' own)."
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        metavar="",
        help="Print the version and exit.",
    ),
) -> None:
    """Rank pre-trained backbones for an image-classification target."""
    if threads is not None:
        from modelrank.util.checks import check_whole_number

        check_whole_number("threads", threads, least=1)
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        threadpool_limits(threads)


def _register_commands() -> None:
    """Every command, each from the module named after what it does."""
    from modelrank.cli import benchmark, betti, catalogue, evaluate, leaderboard, score
    from modelrank.cli.study import study_app
    from modelrank.cli.zoo import zoo_app

    app.command()(score.score)
    app.command()(betti.betti)
    app.command()(evaluate.evaluate)
    app.command()(benchmark.benchmark)
    app.command()(leaderboard.leaderboard)
    app.command()(catalogue.datasets)
    app.command()(catalogue.metrics)
    app.add_typer(zoo_app, name="zoo")
    app.add_typer(study_app, name="study")


_register_commands()


def _click_exceptions() -> tuple[tuple, tuple, tuple]:
    """(Abort classes, ClickException classes, Exit classes) of click and of typer: typer 0.2x
    vendors a copy of click whose exceptions are its own classes, with Abort and Exit in
    ``typer.exceptions``."""
    aborts, errors, exits = [], [], []
    try:
        import click
    except ImportError:  # typer 0.2x does not need click itself
        pass
    else:
        aborts.append(click.exceptions.Abort)
        errors.append(click.exceptions.ClickException)
        exits.append(click.exceptions.Exit)
    try:
        from typer import exceptions as typer_exceptions
        from typer._click import exceptions as vendored
    except ImportError:  # a typer that uses click itself
        pass
    else:
        errors.append(vendored.ClickException)
        for name, into in (("Abort", aborts), ("Exit", exits)):
            if hasattr(typer_exceptions, name):
                into.append(getattr(typer_exceptions, name))
    return tuple(aborts), tuple(errors), tuple(exits)


INTERRUPTED = (
    "interrupted; finished work is kept (cache, journal, run logs): re-run the command to resume"
)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors are one line and exit 1, usage errors are click's usage
    message and exit 2, Ctrl-C exits 130; never a traceback for any of them."""
    from modelrank import cpu_runtime

    cpu_runtime.configure()  # before any command imports torch (modelrank/cpu_runtime.py)
    abort, click_error, exit_ = _click_exceptions()
    warnings.simplefilter("default")
    try:
        rc = app(args=argv, standalone_mode=False)
    except ModelrankError as exc:
        from modelrank.cli.options import worded_for_the_command_line

        err.print(
            f"[red]error:[/] {escape(worded_for_the_command_line(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    except (KeyboardInterrupt, *abort):  # click turns Ctrl-C into Abort
        # Plain write: a progress display may still own the rich console at this point.
        print(INTERRUPTED, file=sys.stderr, flush=True)
        return 130
    except click_error as exc:
        exc.show()  # "Usage: ... / Try '... --help' / Error: ..." (the help text for no arguments)
        return exc.exit_code
    except exit_ as exc:
        return getattr(exc, "exit_code", 0)
    if rc == 130:  # typer turns Ctrl-C into Exit(130) and, not standalone, returns the code
        print(INTERRUPTED, file=sys.stderr, flush=True)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
