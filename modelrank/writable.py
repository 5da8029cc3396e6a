"""Can a file or directory be written where the user asked? Checked before any work is done."""

from __future__ import annotations

import os
from pathlib import Path

from modelrank.errors import ConfigError


def existing_ancestor(path: Path) -> Path:
    """The nearest directory above ``path`` that exists (``path``'s parent, or further up): where
    a file at ``path`` would be created, with the directories in between."""
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def can_create_under(parent: Path) -> bool:
    """Whether files (and directories) can be created in the existing directory ``parent``."""
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)


def check_writable_dir(path: Path, what: str) -> None:
    """Create ``path`` if needed; a one-line ConfigError if it is a file or cannot be written."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what} {str(path)!r} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {str(path)!r} is not writable")
