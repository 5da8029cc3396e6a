"""An answer rather than a table: which backbone to take, by how much, and how sure that is.

:func:`recommend` takes a :class:`~modelrank.ranking.Ranking` and says: the backbone first under
the primary score, its margin over the runner-up, the share of half-samples of the scored
images (half of each class, without replacement; the scores recomputed from the cached
embeddings, no forward pass) in which it stays first, and the share of the other computed
scores that also put it first. Ties at the top count as 1/k for each of the k tied backbones,
so two indistinguishable backbones share the first place half-and-half.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from modelrank.errors import MetricError

if TYPE_CHECKING:
    from modelrank.data import TargetData
    from modelrank.ranking import Ranking
    from modelrank.zoo import ZooEntry

#: Half-samples behind the stability of ``modelrank score``'s recommendation.
DEFAULT_REPLICATES = 50


@dataclass(frozen=True)
class Recommendation:
    """The answer of :func:`recommend`.

    Attributes:
        model: the backbone to take; score: the primary score that chose it.
        runner_up: the second backbone (None for a pool of one); margin: the difference of their
            primary scores, in the score's ranking direction (higher is better).
        stability: share of half-samples in which ``model`` stays first (None: not computed).
        replicates: half-samples behind ``stability``.
        agreement: share of the other computed scores that put ``model`` first too (None when
            there is no other score); n_other: how many other scores.
    """

    model: str
    score: str
    runner_up: str | None
    margin: float | None
    stability: float | None
    replicates: int
    agreement: float | None
    n_other: int

    def line(self) -> str:
        """One line for a terminal or a log."""
        out = f"Recommended: {self.model} (by {self.score}"
        if self.runner_up is not None:
            out += f", {self.margin:.4g} ahead of {self.runner_up}"
        out += ")"
        if self.stability is not None:
            out += (f"; first in {100 * self.stability:.0f} % of {self.replicates} half-samples "
                    "of the images")
        if self.agreement is not None:
            out += (f"; {round(self.agreement * self.n_other)} of {self.n_other} other scores "
                    "agree")
        return out + "."


def _first_share(scores: dict[str, float], model: str) -> float:
    """1/k when ``model`` is among the k backbones tied for the highest score, else 0."""
    if model not in scores:
        return 0.0
    top = max(scores.values())
    tied = [m for m, v in scores.items() if v == top]
    return 1.0 / len(tied) if model in tied else 0.0


def first_place_share(tables, score: str, model: str) -> float | None:
    """Mean over replicate tables ({score: {model: value}}, as
    :func:`~modelrank.benchmark_stats.bootstrap_scores` returns) of ``model``'s share of the
    first place under ``score``; None for no tables."""
    shares = [_first_share(t.get(score, {}), model) for t in tables]
    return float(np.mean(shares)) if shares else None


def recommend(ranking: "Ranking", data: "TargetData", entries: "list[ZooEntry]", *,
              replicates: int = DEFAULT_REPLICATES, seed: int = 0,
              cache_dir: str | Path | None = None) -> Recommendation:
    """The recommendation for ``ranking`` of ``data`` (see the module docstring).

    Args:
        entries: the zoo entries of the ranked backbones (their embeddings are read from the
            cache that scoring filled).
        replicates: half-samples for the stability; 0 skips it.
        seed: seed of the half-samples.

    Raises MetricError (with the reasons) when no backbone has the primary score.
    """
    from modelrank.benchmark import bootstrap_target
    from modelrank.metrics import get_metric

    best = ranking.best()
    primary = ranking.primary
    have = [r for r in ranking.rows if primary in r.scores]
    runner = have[1] if len(have) > 1 else None
    margin = None if runner is None else have[0].scores[primary] - runner.scores[primary]
    stability = None
    if replicates and len(have) > 1:
        chosen = [e for e in entries if e.name in {r.model for r in have}]
        tables = bootstrap_target(chosen, data, [get_metric(primary)], replicates=replicates,
                                  seed=seed, cache_dir=cache_dir,
                                  eta=ranking.recipe.get("eta") or 0.0,
                                  layout=ranking.recipe.get("layout") or "whc")
        stability = first_place_share(tables, primary, best)
    others = [m for m in ranking.metrics if m != primary
              and sum(m in r.scores for r in ranking.rows) > 1]
    agreement = None
    if others:
        agreement = float(np.mean([_first_share({r.model: r.scores[m] for r in ranking.rows
                                                 if m in r.scores}, best) for m in others]))
    if stability is not None and not np.isfinite(stability):
        raise MetricError("the recommendation's stability is not a number")
    return Recommendation(best, primary, None if runner is None else runner.model, margin,
                          stability, replicates if stability is not None else 0, agreement,
                          len(others))
