"""``modelrank leaderboard``: render the results database as Markdown, CSV, JSON or HTML."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from modelrank.cli.choices import Format, plain
from modelrank.cli.options import Datasets, Db, Output, comma_list


def leaderboard(
    dataset: Datasets = None,
    metric: Optional[str] = typer.Option(
        None, "--metric", help="Score each target is ranked by (default: its latest primary)."
    ),
    fmt: Optional[Format] = typer.Option(
        None,
        "--format",
        "-f",
        case_sensitive=False,
        help="md, csv, json or html (default: from --output's suffix, else md).",
    ),
    output: Output = None,
    db: Db = None,
) -> None:
    """Backbones ranked per target, and each score's weighted τ across targets.

    Per target, the backbones ranked by a score beside every other score and their accuracy;
    across targets, each score's weighted τ per dataset and its mean. Reads only the store."""
    from modelrank.cli.paths import write_text
    from modelrank.leaderboard import build, format_for, render
    from modelrank.store import Store

    fmt = format_for(plain(fmt), output)
    names = [n for d in (dataset or []) for n in comma_list(d)]
    with Store(db, create=False, read_only=True) as store:
        text = render(build(store, datasets=names or None, metric=metric), fmt)
    if output:
        write_text(output, text)
        typer.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
