"""The ``modelrank`` command line: typer commands that call into the library.

Errors a user can cause (:class:`~modelrank.errors.ModelrankError`) are printed on one line
and exit with status 1; no traceback.
"""

from __future__ import annotations

import sys
import warnings
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from modelrank.cli.execution import (CPUS_PER_TASK, EXECUTOR, GPUS_PER_TASK, RAY_ADDRESS,
                                     RETRIES, WORKERS,
                                     exit_if_failed)
from modelrank.cli.paths import ZOO_HELP
from modelrank.errors import ModelrankError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Rank pre-trained backbones for an image-classification target.")
zoo_app = typer.Typer(help="The model zoo.", no_args_is_help=True)


@app.callback()
def _global(threads: Optional[int] = typer.Option(
        None, "--threads", help="CPU threads for torch and BLAS (default: the libraries' own).")) -> None:
    """Rank pre-trained backbones for an image-classification target."""
    if threads is not None:
        if threads < 1:
            raise ModelrankError(f"--threads must be at least 1, got {threads}")
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        threadpool_limits(threads)
app.add_typer(zoo_app, name="zoo")
err = Console(stderr=True)
out = Console()

#: Images per class ``score`` samples when --per-class is not given: enough for every score to
#: be defined and a first try on 2 CPU cores to finish in a minute or two.
DEFAULT_PER_CLASS = 50


def parse_per_class(text: str) -> int | None:
    """--per-class: a whole number ≥ 1, or 'all' (None: every image)."""
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ModelrankError(f"--per-class must be a whole number of at least 1 or 'all', got {text!r}")
    return value


@app.command()
def score(
    dataset: str = typer.Option("digits", "--dataset", "-d", help="Registered name or ImageFolder path."),
    zoo: Optional[str] = typer.Option(None, "--zoo", help=ZOO_HELP),
    models: str = typer.Option("offline", "--models", "-m", help="Comma list of model names and/or tags; 'all'."),
    metric: str = typer.Option("knn", "--metric", help="Comma list of metrics, or 'all'; the first ranks."),
    per_class: Optional[str] = typer.Option(
        None, "--per-class", help=f"Images per class, or 'all' (default: {DEFAULT_PER_CLASS}, so that a "
        "first try takes a minute or two)."),
    split: str = typer.Option("train", "--split", help="Which split the scores see."),
    seed: int = typer.Option(0, "--seed", help="Seed of the per-class sampling."),
    image_column: Optional[str] = typer.Option(None, "--image-column", help="Hugging Face data: the "
                                               "image column (default: the first Image feature)."),
    label_column: Optional[str] = typer.Option(None, "--label-column", help="Hugging Face data: the "
                                               "label column (default: the first ClassLabel)."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    batch_size: int = typer.Option(32, "--batch-size"),
    amp: bool = typer.Option(False, "--amp", help="Mixed precision forward passes."),
    eta: float = typer.Option(0.0, "--eta", help="Cubical Betti threshold."),
    layout: str = typer.Option("whc", "--layout", help="Cubical volume: whc, channel-mean, per-channel."),
    betti_engine: str = typer.Option(
        "auto", "--betti-engine", help="Where cubical Betti numbers are counted: auto (on the GPU "
        "when the backbones run there, else numpy on the host), numpy or torch. Same numbers."),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help="Embedding cache (default: user cache)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the embedding cache."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the ranking to FILE.json/.csv/.md."),
    db: Optional[str] = typer.Option(None, "--db", help="Results database (default: $MODELRANK_DB, else the user data dir)."),
    stability: int = typer.Option(50, "--stability", help="Half-samples behind the recommendation's stability; 0: none."),
    executor: str = EXECUTOR,
    ray_address: Optional[str] = RAY_ADDRESS,
    workers: Optional[int] = WORKERS,
    retries: int = RETRIES,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Score every selected backbone on a target and print the ranking."""
    from modelrank.cli.execution import open_executor
    from modelrank.cli.render import job_progress, print_ranking, print_skipped
    from modelrank.data import load_target
    from modelrank.ranking import _check_options, rank

    from modelrank.cli.commands import check_outputs, store_ranking, write_output

    capped = per_class is None
    per_class = DEFAULT_PER_CLASS if capped else parse_per_class(per_class)
    if layout not in ("whc", "channel-mean", "per-channel"):
        raise ModelrankError(f"--layout must be whc, channel-mean or per-channel, got {layout!r}")
    if stability < 0:
        raise ModelrankError(f"--stability must be 0 or more half-samples, got {stability}")
    check_outputs(output=output, db=db)
    from modelrank.probe import BETTI_ENGINES

    if betti_engine not in BETTI_ENGINES:
        raise ModelrankError(f"--betti-engine must be auto, numpy or torch, got {betti_engine!r}")
    _check_options(batch_size=batch_size, eta=eta, layout=layout, seed=seed, cache_dir=cache_dir,
                   betti_engine=betti_engine)
    data = load_target(dataset, split=split, per_class=per_class, seed=seed,
                       image_column=image_column, label_column=label_column)
    with job_progress(err) as (on_progress, on_counts), open_executor(
            executor, ray_address, workers, retries, cpus_per_task, gpus_per_task,
            on_counts) as ex:
        ranking = rank(
            data, zoo=zoo, models=models, metrics=metric, split=split, per_class=per_class,
            seed=seed, device=device, batch_size=batch_size, amp=amp, eta=eta, layout=layout,
            betti_engine=betti_engine, cache_dir=cache_dir, use_cache=not no_cache, on_progress=on_progress,
            on_skip=lambda m, why: print_skipped(err, m, why), executor=ex,
        )
    if not ranking.rows and not ranking.failed:
        raise ModelrankError(f"none of the {len(ranking.skipped)} selected backbone(s) could be "
                             "scored here (the reasons are above)")
    print_ranking(out, ranking)
    if capped and ranking.recipe["data"]["n_images"] >= DEFAULT_PER_CLASS * ranking.recipe["data"]["n_classes"]:
        out.print(f"  scored {DEFAULT_PER_CLASS} images per class, the default cap "
                  "(--per-class N or --per-class all to score more)", highlight=False)
    if sum(ranking.primary in r.scores for r in ranking.rows) > 1:
        from modelrank.recommendation import recommend
        from modelrank.zoo import load_zoo, select

        rec = recommend(ranking, data, select(load_zoo(zoo), models),
                        replicates=0 if no_cache else stability, seed=seed, cache_dir=cache_dir)
        out.print(escape(rec.line()), highlight=False, soft_wrap=True)
    for m, why in ranking.failed:
        err.print(f"[red]failed {escape(str(m))}[/]: {escape(str(why))}", highlight=False,
                  soft_wrap=True)
    run_id = store_ranking(ranking, db)
    if output:
        write_output(ranking, output, run_id, db)
        err.print(f"wrote {output}")
    exit_if_failed(len(ranking.failed))


@zoo_app.command("list")
def zoo_list(
    zoo: Optional[str] = typer.Option(None, "--zoo", help=ZOO_HELP),
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Only these names / tags / patterns."),
    source: Optional[str] = typer.Option(None, "--source", help="List what a library offers instead "
                                         "of the zoo: timm (pretrained), tv (torchvision), hf (cached here)."),
    pattern: str = typer.Option("*", "--pattern", help="Shell-style filter of --source's names."),
) -> None:
    """List the zoo's backbones (or a library's) and whether their weights are usable offline."""
    from modelrank.cli.render import print_zoo
    from modelrank.zoo import load_zoo, select

    if source is None:
        print_zoo(out, select(load_zoo(zoo), models))
        return
    from modelrank.model_specs import catalogue

    entries = catalogue(source, pattern)
    if not entries:
        raise ModelrankError(f"no {source} backbone matches {pattern!r}")
    print_zoo(out, entries)
    out.print(f"{len(entries)} {source} backbones; use a name as --models {entries[0].name}",
              highlight=False, soft_wrap=True)


@zoo_app.command("build")
def zoo_build(
    name: str = typer.Argument("fmnist", help="Which trained zoo (fmnist)."),
    seed: int = typer.Option(0, "--seed", help="Seeds every network's initialisation and batches."),
    root: Optional[str] = typer.Option(None, "--root", help="Where (default: $MODELRANK_CACHE/zoos)."),
) -> None:
    """Pre-train a zoo of small convnets here and write its zoo file (for --zoo)."""
    from modelrank.cli.render import job_progress
    from modelrank.trained_zoo import build_zoo

    with job_progress(err) as (on_progress, _):
        path = build_zoo(name, seed=seed, root=root, on_progress=on_progress)
    out.print(str(path), highlight=False, markup=False, soft_wrap=True)


@app.command()
def datasets() -> None:
    """List the named target data sets and whether they are usable offline."""
    from modelrank.cli.render import print_datasets

    print_datasets(out)


@app.command()
def metrics() -> None:
    """List the registered scores and priors."""
    from modelrank.cli.render import print_metrics

    print_metrics(out)


def _register_subcommands() -> None:
    """Sub-commands that live in their own modules."""
    from modelrank.cli import commands, leaderboard
    from modelrank.cli.study import study_app

    commands.register(app)
    leaderboard.register(app)
    app.add_typer(study_app, name="study")


_register_subcommands()


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


INTERRUPTED = "interrupted; finished work is kept (cache, journal, run logs): re-run the command to resume"


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors are one line and exit 1, usage errors are click's usage
    message and exit 2, Ctrl-C exits 130; never a traceback for any of them."""
    abort, click_error, exit_ = _click_exceptions()
    warnings.simplefilter("default")
    try:
        rc = app(args=argv, standalone_mode=False)
    except ModelrankError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
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
