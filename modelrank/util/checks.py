"""Checks of option values shared by the public functions; each raises a
:class:`~modelrank.errors.ParameterError` that names the parameter."""

from __future__ import annotations

from typing import Any

from modelrank.errors import ParameterError


def check_whole_number(parameter: str, value: Any, *, least: int) -> None:
    """Refuse ``value`` unless it is an int (not a bool) of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ParameterError(
            parameter, f"must be a whole number of at least {least}, got {value!r}"
        )
