"""Files named on the command line: checked before any work is done, written after."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from modelrank.errors import ConfigError, ModelrankError
from modelrank.util.writable import can_create_under, existing_ancestor


def command_line() -> str:
    """This process's command line as a user would type it (recorded with every result)."""
    return "modelrank " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _writable_parent(path: Path, option: str) -> None:
    """Refuse ``path`` unless its directory exists or can be made (it is made now: some
    directories, such as /proc, pass the permission check and still refuse a new entry)."""
    parent = existing_ancestor(path)
    if not can_create_under(parent):
        raise ConfigError(
            f"{option} {str(path)!r} cannot be written: {str(parent)!r} is not a writable directory"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{option} {str(path)!r} cannot be written: {exc.strerror or exc}"
        ) from None


def output_file(
    path: str | os.PathLike | None, suffixes: tuple[str, ...], option: str = "--output"
) -> Path | None:
    """``path`` as a Path after checking its suffix and that it can be written; None stays None."""
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {str(p)!r} is a directory; give a file name")
    if p.suffix.lower() not in suffixes:
        allowed = (
            (", ".join(suffixes[:-1]) + " or " + suffixes[-1]) if len(suffixes) > 1 else suffixes[0]
        )
        raise ConfigError(f"{option} must end in {allowed}, got {p.name!r}")
    _writable_parent(p, option)
    return p


def plot_file(
    path: str | os.PathLike | None, default_name: str, option: str = "--plot"
) -> Path | None:
    """Where a plot goes: ``path`` itself, or ``path/default_name`` when ``path`` is a directory
    (or ends in a slash); must be .png, .pdf or .svg and writable."""
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if p.is_dir() or str(path).endswith(os.sep):
        p = p / default_name
    return output_file(p, (".png", ".pdf", ".svg"), option)


def check_outputs(
    *, output: str | None, db: str | None, suffixes: tuple[str, ...] = (".json", ".csv", ".md")
) -> None:
    """Refuse, before any work, an --output with an unknown suffix or an unwritable directory
    and a results database that cannot be written."""
    from modelrank.store import check_writable

    output_file(output, suffixes, "--output")
    check_writable(db)


def write_text(path: str | os.PathLike, text: str, *, stored_as: int | None = None) -> None:
    """Write ``text`` to ``path`` (its directory created); a failure is one line that says
    where the result is kept (``stored_as``: its run id in the results database)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        kept = (
            ""
            if stored_as is None
            else f"; the results are stored in the results database as run {stored_as}"
        )
        raise ModelrankError(f"could not write {str(p)!r} ({exc.strerror or exc}){kept}") from None


def write_ranking(ranking, output: str, run_id: int, db: str | None) -> None:
    """Write --output after the ranking is stored; a failure says where the result is."""
    from modelrank.store import resolve_path

    try:
        ranking.save(output)
    except OSError as exc:
        raise ModelrankError(
            f"could not write {output!r} ({exc.strerror or exc}); the ranking is stored in "
            f"{resolve_path(db)} as run {run_id}: `modelrank leaderboard --db "
            f"{resolve_path(db)}` shows it"
        ) from None
