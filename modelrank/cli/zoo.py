"""``modelrank zoo list`` and ``modelrank zoo build``."""

from __future__ import annotations

from typing import Optional

import typer

from modelrank.cli.choices import Catalogue, plain
from modelrank.cli.consoles import err, out
from modelrank.cli.options import Models, Seed, Zoo

zoo_app = typer.Typer(help="The model zoo.", no_args_is_help=True)


@zoo_app.command("list")
def zoo_list(
    zoo: Zoo = None,
    models: Models = None,
    source: Optional[Catalogue] = typer.Option(
        None,
        "--source",
        case_sensitive=False,
        help="List what a library offers instead of the "
        "zoo: timm (pretrained), tv (torchvision), hf (cached here).",
    ),
    pattern: str = typer.Option("*", "--pattern", help="Shell-style filter of --source's names."),
) -> None:
    """List the zoo's backbones (or a library's) and whether their weights are usable offline."""
    from modelrank.cli.render import print_zoo
    from modelrank.errors import ModelrankError
    from modelrank.zoo import load_zoo, select

    if source is None:
        print_zoo(out, select(load_zoo(zoo), models))
        return
    from modelrank.model_specs import catalogue

    entries = catalogue(plain(source), pattern)
    if not entries:
        raise ModelrankError(f"no {plain(source)} backbone matches {pattern!r}")
    print_zoo(out, entries)
    out.print(
        f"{len(entries)} {plain(source)} backbones; use a name as --models {entries[0].name}",
        highlight=False,
        soft_wrap=True,
    )


@zoo_app.command("build")
def zoo_build(
    name: str = typer.Argument("fmnist", help="Which trained zoo (fmnist)."),
    seed: Seed = 0,
    root: Optional[str] = typer.Option(
        None, "--root", help="Where (default: $MODELRANK_CACHE/zoos)."
    ),
) -> None:
    """Pre-train a zoo of small convnets here and write its zoo file (for --zoo)."""
    from modelrank.cli.render import job_progress
    from modelrank.trained_zoo import build_zoo

    with job_progress(err) as (on_progress, _):
        path = build_zoo(name, seed=seed, root=root, on_progress=on_progress)
    out.print(str(path), highlight=False, markup=False, soft_wrap=True)
