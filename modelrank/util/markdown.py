"""Markdown tables: the one writer behind every report, ranking and leaderboard of modelrank."""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["table"]


def _cell(value: object, empty: str) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if text else empty


def table(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, empty: str = ""
) -> list[str]:
    """The lines of a GitHub-flavoured Markdown table: the header, its rule, one line a row.

    Args:
        header: the column names.
        rows: the cells of each row (anything; written with ``str``), as many as the header.
        empty: what an empty cell shows (e.g. "—").

    Returns:
        Lines without newlines. A ``|`` inside a cell is escaped and a newline becomes a space,
        so no cell can break the table.

    Raises:
        ValueError: a row with another number of cells than the header.
    """
    head = [_cell(h, "") for h in header]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in enumerate(rows):
        cells = [_cell(c, empty) for c in row]
        if len(cells) != len(head):
            raise ValueError(f"row {i} has {len(cells)} cells, the header {len(head)}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines
