"""How well a ground truth could rank itself: the split-half noise ceiling (docs/methods.md,
"How far a ground truth can be trusted").

Fine-tune every backbone with S ≥ 4 seeds. Split the seeds into two halves; the backbones' mean
accuracy over one half and over the other are two independent measurements of the same ground
truth, and their rank correlation (weighted τ, as for the scores, and Kendall's τ-b) says how
well a second measurement would rank the first. Averaged over every balanced split, it is the
ceiling no score can be expected to beat: a score's τ of 0.4 against a ground truth whose
ceiling is 0.4 is as good as a re-run of the ground truth itself.

The halves hold S/2 seeds each, so the S-seed mean the tables use is more reliable than either
half; :func:`spearman_brown` gives the usual approximate correction (exact for Pearson's r of
parallel measurements, approximate for rank correlations), reported beside the ceiling, never
instead of it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from modelrank.correlation import weighted_tau

#: Below this split-half weighted τ a ground truth is "too noisy to rank": reported apart and
#: kept out of headline means.
RANKABLE = 0.5
#: Fewest seeds for a ceiling (two per half).
MIN_SEEDS = 4


@dataclass(frozen=True)
class NoiseCeiling:
    """The split-half reliability of one target's ground truth.

    Attributes:
        weighted_tau: mean over balanced splits of the weighted τ between the halves' mean
            accuracies (NaN when it cannot be measured; ``reason`` says why).
        kendall: the same with Kendall's τ-b.
        spearman_brown: ``weighted_tau`` corrected to the reliability of the S-seed mean.
        seeds: S, the seeds every backbone has.
        splits: how many balanced splits were averaged.
        backbones: how many backbones were ranked.
        reason: why the ceiling is NaN ("" when it is measured).
    """

    weighted_tau: float
    kendall: float
    spearman_brown: float
    seeds: int
    splits: int
    backbones: int
    reason: str = ""
    per_split: tuple[float, ...] = field(default=(), repr=False)

    @property
    def rankable(self) -> bool:
        """Whether the ground truth can rank its backbones (``weighted_tau`` ≥ :data:`RANKABLE`)."""
        return math.isfinite(self.weighted_tau) and self.weighted_tau >= RANKABLE

    def fraction(self, tau: float) -> float:
        """A score's τ as a fraction of this ceiling (NaN when either is not finite or the
        ceiling is not positive)."""
        if not (math.isfinite(tau) and math.isfinite(self.weighted_tau)) or self.weighted_tau <= 0:
            return float("nan")
        return tau / self.weighted_tau


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """Reliability of a measurement ``factor`` times longer than one of reliability ``r``:
    ``factor·r / (1 + (factor − 1)·r)``. NaN for a non-finite ``r``; a negative ``r`` is
    returned as it is (the formula has no meaning there)."""
    if not math.isfinite(r):
        return float("nan")
    if r <= 0:
        return r
    return factor * r / (1 + (factor - 1) * r)


def balanced_splits(seeds: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every split of ``range(seeds)`` into halves of ⌊S/2⌋ and ⌈S/2⌉, each unordered pair once
    (for even S the half holding seed 0 comes first)."""
    idx = range(seeds)
    half = seeds // 2
    out = []
    for a in itertools.combinations(idx, half):
        if seeds % 2 == 0 and 0 not in a:
            continue  # the mirror of a split already listed
        b = tuple(i for i in idx if i not in a)
        out.append((a, b))
    return out


def noise_ceiling(per_seed: Mapping[str, Sequence[float]]) -> NoiseCeiling:
    """The split-half ceiling of one target's ground truth.

    Args:
        per_seed: {backbone: [accuracy of seed 1, …, seed S]}, the seeds in the same order for
            every backbone (the i-th entries come from the same seed).

    Returns a :class:`NoiseCeiling`; NaN with a reason when fewer than 3 backbones, fewer than
    :data:`MIN_SEEDS` seeds or unequal numbers of seeds.
    """
    models = sorted(per_seed)
    counts = {len(per_seed[m]) for m in models}

    def unmeasured(reason: str, seeds: int = 0) -> NoiseCeiling:
        nan = float("nan")
        return NoiseCeiling(nan, nan, nan, seeds, 0, len(models), reason)

    if len(models) < 3:
        return unmeasured(f"{len(models)} backbones; a ranking needs 3")
    if len(counts) != 1:
        return unmeasured(f"backbones have different numbers of seeds ({sorted(counts)})")
    seeds = counts.pop()
    if seeds < MIN_SEEDS:
        return unmeasured(
            f"{seeds} seed{'s' if seeds != 1 else ''}; a ceiling needs {MIN_SEEDS}", seeds
        )
    acc = np.array([per_seed[m] for m in models], float)  # (backbones, seeds)
    wt, kt = [], []
    for a, b in balanced_splits(seeds):
        x, y = acc[:, list(a)].mean(axis=1), acc[:, list(b)].mean(axis=1)
        wt.append(weighted_tau(x, y))
        kt.append(
            float(stats.kendalltau(x, y).statistic)
            if np.ptp(x) > 0 and np.ptp(y) > 0
            else float("nan")
        )
    w = float(np.mean(wt))  # NaN when a half is constant: the ranking is undefined there
    return NoiseCeiling(
        w,
        float(np.mean(kt)),
        spearman_brown(w),
        seeds,
        len(wt),
        len(models),
        "" if math.isfinite(w) else "a half-mean is constant across backbones",
        tuple(wt),
    )


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"0-3"`` (a range, both ends included) or ``"0,1,5"``; a ValueError saying
    what is wrong otherwise (distinct whole numbers ≥ 0)."""
    text = text.strip()
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(x) for x in text.split("-"))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(
            f"must be a range like 0-3 or a comma list like 0,1,2,3, got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"must be distinct whole numbers ≥ 0, got {text!r}")
    return seeds


def describe(ceiling: NoiseCeiling) -> str:
    """One line for a user: the ceiling and what it means for ranking these backbones."""
    if not math.isfinite(ceiling.weighted_tau):
        return f"noise ceiling not measured: {ceiling.reason}"
    head = (
        f"noise ceiling {ceiling.weighted_tau:.2f} (split-half weighted τ over "
        f"{ceiling.splits} splits of {ceiling.seeds} seeds; Kendall {ceiling.kendall:.2f})"
    )
    if ceiling.rankable:
        return f"{head}: this ground truth can rank these backbones"
    return (
        f"{head}: too noisy to rank: a second measurement would order these backbones "
        "differently; their differences are within the seed noise"
    )
