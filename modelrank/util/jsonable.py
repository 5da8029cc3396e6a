"""The one JSON encoder hook of modelrank: what ``json.dumps(..., default=jsonable)`` does with
values the standard encoder refuses (numpy arrays and scalars, sets); anything else as its str."""

from __future__ import annotations

from typing import Any

import numpy as np


def jsonable(o: Any) -> Any:
    """A JSON-encodable stand-in for ``o``: lists for arrays and sets, Python scalars for numpy
    scalars (bool included), ``str(o)`` otherwise."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)
