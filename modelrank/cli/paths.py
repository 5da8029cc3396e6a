"""Output paths named on the command line, checked before any work is done."""

from __future__ import annotations

import os
from pathlib import Path

from modelrank.errors import ConfigError

#: --zoo's help, the same in every command.
ZOO_HELP = ("Zoo file (default: zoo.yaml, shipped with the package), a packaged zoo by name "
            "(fmnist-imagenet, offline, ...) or trained:NAME. Each entry: source "
            "(timm | torchvision | hf | file), id, weights, preprocess, layers, imagenet_top1, "
            "tags, truncate, seed; zoo.yaml's header explains them.")
from modelrank.writable import can_create_under, existing_ancestor


def _writable_parent(path: Path, option: str) -> None:
    parent = existing_ancestor(path)
    if not can_create_under(parent):
        raise ConfigError(f"{option} {str(path)!r} cannot be written: {str(parent)!r} is not a "
                          "writable directory")


def output_file(path: str | os.PathLike | None, suffixes: tuple[str, ...], option: str
                ) -> Path | None:
    """``path`` as a Path after checking its suffix and that it can be written; None stays None."""
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {str(p)!r} is a directory; give a file name")
    if p.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} must end in {', '.join(suffixes)}, got {p.name!r}")
    _writable_parent(p, option)
    return p


def plot_file(path: str | os.PathLike | None, default_name: str, option: str = "--plot"
              ) -> Path | None:
    """Where a plot goes: ``path`` itself, or ``path/default_name`` when ``path`` is a directory
    (or ends in a slash); must be .png, .pdf or .svg and writable."""
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if p.is_dir() or str(path).endswith(os.sep):
        p = p / default_name
    return output_file(p, (".png", ".pdf", ".svg"), option)
