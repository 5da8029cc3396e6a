"""The one look of every modelrank figure: size unit, resolution, layout and colours.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot, so no global state and
no backend to choose); :func:`save` writes them to a file and :func:`png_bytes` to memory (the
HTML leaderboard embeds them).
"""

from __future__ import annotations

import io
from pathlib import Path

#: Dots per inch of every saved figure.
DPI = 110
#: Points of a positive and a negative value (bars, scatter points).
POSITIVE, NEGATIVE = "#3b7dd8", "#d8633b"
#: Background marks (the many variants behind a chosen one) and reference lines.
BACKGROUND, REFERENCE = "0.4", "0.8"
#: Font sizes: panel text and ticks, legends.
SMALL, LEGEND = 7, 7


def figure(width: float, height: float):
    """A new figure of ``width`` x ``height`` inches with constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def colour(i: int) -> str:
    """The ``i``-th colour of the default cycle (one per line of a panel)."""
    return f"C{i % 10}"


def save(fig, path: str | Path) -> None:
    """Write ``fig`` to ``path`` (format from its suffix), creating its directory."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata=_no_software(path))


def png_bytes(fig) -> bytes:
    """``fig`` as PNG bytes (no software tag, so equal figures give equal bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _no_software(path: str | Path) -> dict | None:
    return {"Software": None} if str(path).lower().endswith(".png") else None
