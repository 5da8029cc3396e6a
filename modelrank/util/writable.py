"""Can a file or directory be written where the user asked? Checked before any work is done.
And writing a file so that a killed process leaves the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

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


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` a temporary file beside ``path`` (same suffix: torch.save wants one), then
    rename it onto ``path``; on any failure the temporary file is removed and the error raised."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
