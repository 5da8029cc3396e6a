"""One way to attempt a data-set download: a 30-second socket timeout (an offline machine
fails fast instead of hanging), and any network failure turned into a one-line
:class:`~modelrank.errors.DatasetUnavailableError` that says what is missing and what to do."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

from modelrank.errors import DatasetUnavailableError

#: Seconds a download may wait on the network before it is taken for offline.
SOCKET_TIMEOUT_S = 30


@contextmanager
def download_attempt(*, missing: str, remedy: str) -> Iterator[None]:
    """Run the body (a download) under :data:`SOCKET_TIMEOUT_S`; on failure raise
    ``"<missing> and could not be downloaded (<why>); are you offline? <remedy>"``."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(SOCKET_TIMEOUT_S)
    try:
        yield
    except Exception as exc:  # network errors come in many types (URLError, HTTPError, OSError)
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetUnavailableError(
            f"{missing} and could not be downloaded ({why}); are you offline? {remedy}"
        ) from None
    finally:
        socket.setdefaulttimeout(old)
