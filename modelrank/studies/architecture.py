"""``--arch`` of the studies: one meaning everywhere, ``"HxW"`` = H hidden layers of W units."""

from __future__ import annotations

import re

from modelrank.errors import ParameterError

_ARCH = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_arch(spec: str) -> tuple[int, int]:
    """``"HxW"`` (e.g. ``"2x16"``) as (hidden layers H, width W), both at least 1. The output
    layer is not counted: Naitzat et al.'s depth-10 width-15 networks are ``"9x15"``.

    Raises:
        ParameterError: anything else (naming ``arch``).
    """
    match = _ARCH.match(str(spec))
    if not match:
        raise ParameterError(
            "arch", f"{spec!r} is not HIDDENxWIDTH, e.g. '2x16' (2 hidden layers of 16 units)"
        )
    hidden, width = int(match.group(1)), int(match.group(2))
    if hidden < 1 or width < 1:
        raise ParameterError("arch", f"{spec!r} needs at least 1 hidden layer of at least 1 unit")
    return hidden, width
