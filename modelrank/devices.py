"""Which torch device a job runs on: "auto" decided here, the user's device checked here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrank.errors import ConfigError

if TYPE_CHECKING:
    import torch


def resolve_device(device: str | None) -> "torch.device":
    """ "auto"/None -> cuda when available else cpu; otherwise torch.device(device), refused in
    one line when it is unknown, unsupported or absent here."""
    import torch  # this module stays importable without paying for torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported; use cpu, cuda, cuda:N or auto")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but this machine has no usable CUDA GPU")
    return dev
