"""A prior from transfer history: how each backbone fine-tuned on *other* targets (issue 32).

A backbone's history prior on a target is the mean, over the other targets of a history that hold
at least :data:`MIN_BACKBONES` of the pool's backbones, of its standardised accuracy there
(z-score over the backbones the target holds, so an easy and a hard target weigh alike). Fewer
than :data:`MIN_TARGETS` such targets make it unavailable, with the reason; a backbone no such
target holds has no prior and is listed as absent, never imputed.

The target being ranked never informs its own prior: a history target that is the same *task* is
left out and listed: the same data set with the same classes by name (case-insensitive; a class
subset compared by the classes it keeps, named groups expanded), or one the caller found to hold
the same test images and labels under another name (``same_images``, e.g. by
:func:`modelrank.history_sources.content_digest`). Another class subset of the same data set is
another task: it stays, listed as ``overlapping`` (it shares images with the target).

A history is ``{target: {backbone: accuracy %}}``: the packaged published tables
(:func:`published_history`), or any table of past fine-tunes. The fusion rules of the history
study (``benchmarks/results/history_fusion.md``) are here too: :func:`rank_average`,
:func:`z_sum`, :func:`weighted_z`. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from modelrank.correlation import weighted_tau
from modelrank.data.class_subsets import CLASS_GROUPS, split_target
from modelrank.errors import ConfigError, ModelrankError

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
        overlapping: used targets that are other class subsets of the target's data set.
        absent: backbones of the pool that no used target holds (no prior, not imputed).
        unavailable: why there is no prior (None when there is one).
    """

    target: str
    prior: dict[str, float]
    used: tuple[str, ...]
    excluded: tuple[str, ...]
    absent: tuple[str, ...]
    unavailable: str | None = None
    overlapping: tuple[str, ...] = ()


def standardised(accuracies: Mapping[str, float]) -> dict[str, float]:
    """{backbone: (accuracy − mean) / SD} over the given backbones (population SD); {} when
    they all have the same accuracy (such a target ranks nothing)."""
    values = np.asarray(list(accuracies.values()), dtype=np.float64)
    sd = float(values.std()) if values.size else 0.0
    if not math.isfinite(sd) or sd == 0.0:
        return {}
    mean = float(values.mean())
    return {m: (float(a) - mean) / sd for m, a in accuracies.items()}


def task_key(name: str) -> tuple[str, frozenset[str] | None]:
    """(data set, the classes kept or None for all) of a target name, lower-cased, named class
    groups expanded: two names with the same key are the same task."""
    try:
        base, items = split_target(name)
    except ModelrankError:
        return name.lower(), None
    if items is None:
        return base.lower(), None
    groups = {g.lower(): cs for g, cs in CLASS_GROUPS.get(base.lower(), {}).items()}
    classes: set[str] = set()
    for item in items:
        classes.update(c.lower() for c in groups.get(item.lower(), (item,)))
    return base.lower(), frozenset(classes)


def history_prior(
    history: Mapping[str, Mapping[str, float]],
    target: str,
    pool: Sequence[str],
    *,
    same_images: Iterable[str] = (),
) -> HistoryPrior:
    """The history prior of every backbone of ``pool`` on ``target`` (see the module docstring).

    Args:
        history: {history target: {backbone: accuracy %}}.
        target: the target being ranked; history targets that are the same task by name are
            left out (:func:`task_key`).
        pool: the backbones to rank.
        same_images: further history targets that hold the target's test images and labels
            under another name.
    """
    own = task_key(target)
    named_same = set(same_images)
    excluded = tuple(t for t in history if task_key(t) == own or t in named_same)
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
        why = (
            f"a history prior needs at least {MIN_TARGETS} other targets holding at least "
            f"{MIN_BACKBONES} of these backbones; the history has {len(used)}"
            + (f" (left out as {target} itself: {', '.join(excluded)})" if excluded else "")
        )
        return HistoryPrior(
            target, {}, tuple(used), excluded, tuple(pool), why, _overlapping(used, own)
        )
    prior = {}
    for m in pool:
        vals = [col[m] for col in columns if m in col]
        if vals:
            prior[m] = float(np.mean(vals))
    absent = tuple(m for m in pool if m not in prior)
    return HistoryPrior(target, prior, tuple(used), excluded, absent, None, _overlapping(used, own))


def _overlapping(used: Sequence[str], own: tuple[str, frozenset[str] | None]) -> tuple[str, ...]:
    return tuple(t for t in used if task_key(t)[0] == own[0])


def history_tau(
    accuracies: Mapping[str, Mapping[str, float]], pool: Sequence[str]
) -> dict[str, float]:
    """{target: weighted τ of its history prior (from every other target of ``accuracies``)
    against its own accuracies} over the backbones of ``pool`` it has; targets where the prior
    is unavailable are left out. Needs no images: how well the history alone ranks each target."""
    out = {}
    for t, col in accuracies.items():
        p = history_prior(accuracies, t, pool)
        if p.unavailable is None:
            out[t] = weighted_tau(p.prior, {m: a for m, a in col.items() if m in p.prior})
    return out


def published_history(group: str = "group1_supervised") -> dict[str, dict[str, float]]:
    """The packaged published fine-tuning table ``group`` (``group1_supervised``: 11 ImageNet
    models on 11 targets; ``group2_selfsupervised``) as a history."""
    import json
    from importlib import resources

    doc = json.loads(
        (resources.files("modelrank") / "published" / "ground_truth_sfda.json").read_text()
    )
    if group not in doc or group.startswith("_"):
        tables = ", ".join(g for g in doc if not g.startswith("_"))
        raise ConfigError(f"no published table {group!r}; the packaged ones are {tables}")
    return {t: {m: float(a) for m, a in accs.items()} for t, accs in doc[group].items()}


def _common(a: Mapping[str, float], b: Mapping[str, float]) -> list[str]:
    return [m for m in a if m in b and math.isfinite(a[m]) and math.isfinite(b[m])]


def rank_average(prior: Mapping[str, float], scores: Mapping[str, float]) -> dict[str, float]:
    """{backbone: mean of its rank under ``prior`` and under ``scores``} (rank 1 = lowest, ties
    share their mean rank; higher is better) over the backbones both give a finite value."""
    from scipy.stats import rankdata

    common = _common(prior, scores)
    if not common:
        return {}
    rp = rankdata([prior[m] for m in common])
    rs = rankdata([scores[m] for m in common])
    return {m: float((a + b) / 2) for m, a, b in zip(common, rp, rs)}


def weighted_z(
    prior: Mapping[str, float], scores: Mapping[str, float], weight: float
) -> dict[str, float]:
    """{backbone: weight · z(prior) + (1 − weight) · z(scores)}, each standardised over the
    backbones both give a finite value; {} when either is constant there (it ranks nothing and
    cannot be standardised) or fewer than 2 backbones are common."""
    common = _common(prior, scores)
    zp = standardised({m: prior[m] for m in common})
    zs = standardised({m: scores[m] for m in common})
    if len(common) < 2 or not zp or not zs:
        return {}
    return {m: weight * zp[m] + (1.0 - weight) * zs[m] for m in common}


def z_sum(prior: Mapping[str, float], scores: Mapping[str, float]) -> dict[str, float]:
    """{backbone: z(prior) + z(scores)}: :func:`weighted_z` with equal weights, times 2."""
    return {m: 2.0 * v for m, v in weighted_z(prior, scores, 0.5).items()}
