"""Is the internet reachable? Answered once per process, in about a second when it is not.

Hub clients retry for close to a minute per file when offline; asking first lets modelrank
report a skipped backbone or an unavailable dataset at once, with a message that says why.
"""

from __future__ import annotations

import functools
import os
import socket

HF_HOST = "huggingface.co"
TORCH_HOST = "download.pytorch.org"


@functools.lru_cache(maxsize=None)
def reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    ``MODELRANK_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1`` for the Hugging Face hub) forces False.
    """
    if os.environ.get("MODELRANK_OFFLINE", "") not in ("", "0"):
        return False
    if host == HF_HOST and os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_reachable() -> bool:
    """Whether the Hugging Face hub that huggingface_hub will use answers: ``$HF_ENDPOINT`` when
    set (a mirror, a private hub, a test server), else huggingface.co. ``HF_HUB_OFFLINE=1``
    and ``MODELRANK_OFFLINE=1`` force False."""
    from urllib.parse import urlsplit

    endpoint = os.environ.get("HF_ENDPOINT", "").strip()
    if not endpoint:
        return reachable(HF_HOST)
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return False
    u = urlsplit(endpoint)
    port = u.port or (443 if u.scheme == "https" else 80)
    return reachable(u.hostname or HF_HOST, port)


def hf_offline_mode() -> None:
    """Make huggingface_hub answer from its local cache only (no retries against the network)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import huggingface_hub.constants as hf_constants

        hf_constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass
