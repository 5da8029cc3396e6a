"""Driver-side journal of finished units of work, so that a re-run does only what is missing.

One pickle file per unit under ``<embedding cache>/units/<key[:2]>/<key>.pkl``, written
atomically (temporary file + rename) by the driver when a unit's result arrives, so a killed
driver leaves either a whole entry or none. Keys are digests of everything that determines the
result (code version included), so a stale entry is never read. The files are this user's own
cache; like torch checkpoints they are pickles and must not come from strangers.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

from modelrank.util.writable import write_atomically

_DAMAGED = object()


class Journal:
    """Finished units by key; ``root=None`` disables it (nothing read, nothing written)."""

    def __init__(self, root: str | Path | None):
        self.root = None if root is None else Path(root)

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str, expect: type | None = None) -> Any | None:
        """The stored result for ``key``, or None when there is none.

        An entry that cannot be read back (cut short, garbage, written by other code) or that
        is not an ``expect`` instance is deleted and None returned, so the unit runs again."""
        if self.root is None:
            return None
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            with p.open("rb") as f:
                value = pickle.load(f)
        except Exception:  # any damage: unpickling garbage raises all kinds of errors
            value = _DAMAGED
        if value is _DAMAGED or (expect is not None and not isinstance(value, expect)):
            p.unlink(missing_ok=True)
            return None
        return _with_new_fields(value)

    def put(self, key: str, value: Any) -> None:
        if self.root is None:
            return
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            p, lambda tmp: tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        )


def _with_new_fields(value: Any) -> Any:
    """A dataclass result journaled before one of its fields existed, with that field's default
    (the key says what the unit computed, so the field was not asked of it: a scoring unit's
    half-samples, for one); anything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name in vars(value):
                continue
            if f.default is not dataclasses.MISSING:
                object.__setattr__(value, f.name, f.default)  # frozen ones too
            elif f.default_factory is not dataclasses.MISSING:
                object.__setattr__(value, f.name, f.default_factory())
    return value
