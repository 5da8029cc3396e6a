"""A prior from transfer history: how each backbone fine-tuned on *other* targets (issue 32).

A backbone's history prior on a target is the mean, over the other targets of a history that hold
at least :data:`MIN_BACKBONES` of the pool's backbones, of its standardised accuracy there
(z-score over the backbones the target holds, so an easy and a hard target weigh alike). Fewer
than :data:`MIN_TARGETS` such targets make it unavailable, with the reason; a backbone no such
target holds has no prior and is listed as absent, never imputed. The target being ranked never
informs its own prior: every history target named like it, or listed by the caller as holding the
same images (``same_images``), is left out and listed.

A history is ``{target: {backbone: accuracy %}}``: the packaged published tables
(:func:`published_history`), or any table of past fine-tunes. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Backbones of the pool a history target must hold to count (a z-score over fewer says little).
MIN_BACKBONES = 3
#: Other targets the prior needs (one target's ranking is not a history).
MIN_TARGETS = 2


@dataclass(frozen=True)
class HistoryPrior:
    """The prior of :func:`history_prior`.

    Attributes:
        target: the target it is for.
        prior: {backbone: mean standardised accuracy over ``used``} (higher is better); empty
            when unavailable.
        used: the history targets it averages over.
        excluded: history targets left out as the target itself (by name or same images).
        absent: backbones of the pool that no used target holds (no prior, not imputed).
        unavailable: why there is no prior (None when there is one).
    """

    target: str
    prior: dict[str, float]
    used: tuple[str, ...]
    excluded: tuple[str, ...]
    absent: tuple[str, ...]
    unavailable: str | None = None


def standardised(accuracies: Mapping[str, float]) -> dict[str, float]:
    """{backbone: (accuracy − mean) / SD} over the given backbones (population SD); {} when
    they all have the same accuracy (such a target ranks nothing)."""
    values = np.asarray(list(accuracies.values()), dtype=np.float64)
    sd = float(values.std()) if values.size else 0.0
    if not math.isfinite(sd) or sd == 0.0:
        return {}
    mean = float(values.mean())
    return {m: (float(a) - mean) / sd for m, a in accuracies.items()}


def _base(name: str) -> str:
    from modelrank.data.class_subsets import base_name

    return base_name(name).lower()


def history_prior(history: Mapping[str, Mapping[str, float]], target: str, pool: Sequence[str],
                  *, same_images: Iterable[str] = ()) -> HistoryPrior:
    """The history prior of every backbone of ``pool`` on ``target`` (see the module docstring).

    Args:
        history: {history target: {backbone: accuracy %}}.
        target: the target being ranked; history targets with its name (case-insensitive, class
            subsets included: ``cifar10[0-4]`` is ``cifar10``'s images) are left out.
        pool: the backbones to rank.
        same_images: further history targets that hold the target's images under another name.
    """
    same = {_base(target)} | {_base(n) for n in same_images}
    excluded = tuple(t for t in history if _base(t) in same)
    pool_set = set(pool)
    used, columns = [], []
    for t, accs in history.items():
        if t in excluded:
            continue
        held = {m: float(a) for m, a in accs.items() if m in pool_set and math.isfinite(float(a))}
        if len(held) < MIN_BACKBONES:
            continue
        z = standardised(held)
        if z:
            used.append(t)
            columns.append(z)
    if len(used) < MIN_TARGETS:
        why = (f"a history prior needs at least {MIN_TARGETS} other targets holding at least "
               f"{MIN_BACKBONES} of these backbones; the history has {len(used)}"
               + (f" (left out as {target} itself: {', '.join(excluded)})" if excluded else ""))
        return HistoryPrior(target, {}, tuple(used), excluded, tuple(pool), why)
    prior = {}
    for m in pool:
        vals = [col[m] for col in columns if m in col]
        if vals:
            prior[m] = float(np.mean(vals))
    absent = tuple(m for m in pool if m not in prior)
    return HistoryPrior(target, prior, tuple(used), excluded, absent)


def published_history(group: str = "group1_supervised") -> dict[str, dict[str, float]]:
    """The packaged published fine-tuning table ``group`` (``group1_supervised``: 11 ImageNet
    models on 11 targets; ``group2_selfsupervised``) as a history."""
    import json
    from importlib import resources

    doc = json.loads((resources.files("modelrank") / "published" / "ground_truth_sfda.json")
                     .read_text())
    if group not in doc or group.startswith("_"):
        from modelrank.errors import ConfigError

        tables = ", ".join(g for g in doc if not g.startswith("_"))
        raise ConfigError(f"no published table {group!r}; the packaged ones are {tables}")
    return {t: {m: float(a) for m, a in accs.items()} for t, accs in doc[group].items()}
