"""Leaderboards rendered from the results store only (Markdown, CSV, JSON, self-contained HTML).

Two views, the way the transferability papers' tables read:

* per target: backbones ranked by one score (higher is better), every other score (raw value)
  beside it, and the best stored accuracy per evaluation protocol (percent);
* across targets: per suite, rows = scores, columns = datasets + mean, cells = weighted τ
  between the score and the accuracy (mean over the datasets that have a value).

:func:`build` reads a :class:`~modelrank.store.Store` into a :class:`Leaderboard`
(plain data); :func:`render` turns that into text and touches nothing else.

The package: :mod:`~modelrank.leaderboard.board` (the data), :mod:`~modelrank.leaderboard.cells`
(shared cells), :mod:`~modelrank.leaderboard.tables` (Markdown, CSV, JSON) and
:mod:`~modelrank.leaderboard.page` (HTML).
"""

from __future__ import annotations

from pathlib import Path

from modelrank.errors import ParameterError
from modelrank.leaderboard.board import (
    PREFERRED_PROTOCOLS,
    Leaderboard,
    TargetBoard,
    TauTable,
    build,
    control_kind,
    omega_from_arrays,
)
from modelrank.leaderboard.page import to_html
from modelrank.leaderboard.tables import to_csv, to_json, to_markdown

__all__ = [
    "FORMATS",
    "PREFERRED_PROTOCOLS",
    "Leaderboard",
    "TargetBoard",
    "TauTable",
    "build",
    "control_kind",
    "format_for",
    "omega_from_arrays",
    "render",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
]

FORMATS = ("md", "csv", "json", "html")


# --------------------------------------------------------------------------- text formats


def format_for(fmt: str | None, output: str | None) -> str:
    """The format to write: ``fmt`` when given, else the one ``output``'s suffix names
    (.md/.markdown, .csv, .json, .html/.htm), else ``md`` when there is no output file."""
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix) or "md"
        if fmt not in FORMATS:
            raise ParameterError(
                "fmt",
                f"is needed: the format cannot be told from {output!r} "
                f"(give one of {', '.join(FORMATS)})",
            )
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ParameterError("fmt", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def render(board: Leaderboard, fmt: str) -> str:
    """The leaderboard as ``md``, ``csv``, ``json`` or ``html`` text."""
    fn = {"md": to_markdown, "csv": to_csv, "json": to_json, "html": to_html}.get(fmt)
    if fn is None:
        raise ParameterError("fmt", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fn(board)
