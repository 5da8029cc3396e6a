"""``modelrank leaderboard``: render the results database as Markdown, CSV, JSON or HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from modelrank.errors import ConfigError


def leaderboard(
    dataset: Optional[List[str]] = typer.Option(
        None, "--dataset", "-d", help="Only these targets (repeat or comma list; default: all)."),
    metric: Optional[str] = typer.Option(
        None, "--metric", help="Score each target is ranked by (default: its latest primary)."),
    fmt: Optional[str] = typer.Option(
        None, "--format", "-f", help="md, csv, json or html (default: from --output's suffix, else md)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to FILE instead of stdout."),
    db: Optional[str] = typer.Option(
        None, "--db", help="Results database (default: $MODELRANK_DB, else the user data dir)."),
) -> None:
    """Per target, backbones ranked by a score beside every other score and their accuracy;
    across targets, each score's weighted τ per dataset and its mean. Reads only the store."""
    from modelrank.leaderboard import FORMATS, build, render
    from modelrank.store import Store

    fmt = _resolve_format(fmt, output, FORMATS)
    names = [n.strip() for d in (dataset or []) for n in d.split(",") if n.strip()]
    with Store(db, create=False, read_only=True) as store:
        text = render(build(store, datasets=names or None, metric=metric), fmt)
    if output:
        path = Path(output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
        typer.echo(f"wrote {path}", err=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _resolve_format(fmt: str | None, output: str | None, formats: tuple[str, ...]) -> str:
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix) or "md"
        if fmt not in formats:
            raise ConfigError(f"cannot tell the format from {output!r}; pass --format "
                              f"{'|'.join(formats)}")
    fmt = fmt.lower()
    if fmt not in formats:
        raise ConfigError(f"--format must be one of {', '.join(formats)}, got {fmt!r}")
    return fmt


def register(app: typer.Typer) -> None:
    """Add the ``leaderboard`` command to ``app``."""
    app.command("leaderboard")(leaderboard)
