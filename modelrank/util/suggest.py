"""Near-miss suggestions for names a user typed: "did you mean …?".

Names are compared after folding case and treating ``-``, ``_`` and spaces alike, so
``efficientnet-lite0`` finds ``efficientnet_lite0`` and ``LogME`` finds ``logme``.
"""

from __future__ import annotations

import difflib
from typing import Iterable


def fold(name: str) -> str:
    """``name`` in the form names are compared in: lower case, ``-`` / space as ``_``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def unique_fold_match(name: str, choices: Iterable[str]) -> str | None:
    """The one choice equal to ``name`` once folded (:func:`fold`), else None (none or several)."""
    hits = [c for c in choices if fold(c) == fold(name)]
    return hits[0] if len(hits) == 1 else None


def close_matches(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` choices closest to ``name`` (difflib's ratio ≥ 0.6 on folded names), best
    first; a choice equal to ``name`` once folded comes first."""
    choices = list(dict.fromkeys(choices))
    by_fold: dict[str, str] = {}
    for c in choices:
        by_fold.setdefault(fold(c), c)
    exact = unique_fold_match(name, choices)
    found = difflib.get_close_matches(fold(name), list(by_fold), n=n, cutoff=0.6)
    out = ([exact] if exact else []) + [by_fold[f] for f in found]
    return list(dict.fromkeys(out))[:n]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'a' or 'b'?)"`` for the close matches of ``name``, or ``""``."""
    found = close_matches(name, choices)
    if not found:
        return ""
    quoted = [repr(f) for f in found]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" (did you mean {text}?)"
