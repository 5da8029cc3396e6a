"""Where modelrank keeps what it computes (torch-free, so every layer may import it)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$MODELRANK_CACHE or the platform's user cache dir + /embeddings."""
    env = os.environ.get("MODELRANK_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("modelrank")) / "embeddings"
