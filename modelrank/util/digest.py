"""Cache and journal keys: a digest of the JSON form of everything that determines a result."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(obj: Any, length: int = 32) -> str:
    """First ``length`` hex digits of the SHA-256 of ``obj`` as sorted-key JSON (``str`` for
    anything JSON cannot hold)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[
        :length
    ]
