"""An answer rather than a table: which backbone to take, by how much, and how sure that is.

:func:`recommend` takes a :class:`~modelrank.ranking.Ranking` and says: the backbone first under
the primary score, its margin over the runner-up, the share of half-samples of the scored
images (half of each class, without replacement; the scores recomputed from the cached
embeddings, no forward pass) in which it stays first, and the share of the other computed
scores that also put it first. Ties at the top count as 1/k for each of the k tied backbones,
so two indistinguishable backbones share the first place half-and-half.

When several backbones share the first place under the primary score, the answer names all of
them and breaks the tie by one stated rule, :data:`TIE_RULE`: the tied backbone with the best
mean rank among the tied under the other computed scores; when those do not separate them either,
it says so and takes the first in zoo order.
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
#: How a tie for the first place is broken (said in the answer).
TIE_RULE = "the best mean rank among the tied under the other computed scores"


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
        tied: the backbones sharing the first place under ``score`` when there is a tie (empty
            otherwise); tie_break: the rule that took ``model`` among them, in words.
        agree_first: how many other scores put ``model`` first, alone or tied.
    """

    model: str
    score: str
    runner_up: str | None
    margin: float | None
    stability: float | None
    replicates: int
    agreement: float | None
    n_other: int
    tied: tuple[str, ...] = ()
    tie_break: str = ""
    agree_first: int = 0

    def line(self) -> str:
        """One line for a terminal or a log."""
        if len(self.tied) > 1:
            out = (f"Tied first by {self.score}: {', '.join(self.tied)}. Recommended: "
                   f"{self.model}, by {self.tie_break}")
        else:
            out = f"Recommended: {self.model} (by {self.score}"
            if self.runner_up is not None:
                out += f", {self.margin:.4g} ahead of {self.runner_up}"
            out += ")"
        if self.stability is not None:
            out += (f"; first in {100 * self.stability:.0f} % of {self.replicates} half-samples "
                    "of the images")
        if self.agreement is not None:
            out += f"; {self.agree_first} of {self.n_other} other scores also put it first"
            if self.agree_first and self.agreement * self.n_other < self.agree_first - 1e-9:
                out += " (tied with others there)"
        return out + "."


def break_tie(ranking: "Ranking", tied: list[str]) -> tuple[str, str]:
    """(the backbone, the reason in words) that :data:`TIE_RULE` takes among ``tied``: the best
    mean rank among them under each other computed score that has all of them."""
    from modelrank.correlation import shared_ranks

    rows = {r.model: r for r in ranking.rows}
    others = [m for m in ranking.metrics if m != ranking.primary
              and all(m in rows[t].scores for t in tied)]
    if not others:
        return tied[0], "zoo order: no other computed score has all of them"
    mean_rank = {t: 0.0 for t in tied}
    for m in others:
        for t, rk in zip(tied, shared_ranks([rows[t].scores[m] for t in tied])):
            mean_rank[t] += rk / len(others)
    best = min(mean_rank.values())
    winners = [t for t in tied if mean_rank[t] == best]
    names = ", ".join(others)
    if len(winners) == len(tied):
        return tied[0], f"zoo order: the other scores ({names}) do not separate them either"
    if len(winners) > 1:
        return winners[0], (f"{TIE_RULE} ({names}), which still ties {', '.join(winners)}; "
                            "then zoo order")
    return winners[0], f"{TIE_RULE} ({names}: mean rank {best:.3g} of {len(tied)})"


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
    tied = ranking.tied_first()
    tie_break = ""
    if len(tied) > 1:
        best, tie_break = break_tie(ranking, tied)
    have = [r for r in ranking.rows if primary in r.scores]
    have.sort(key=lambda r: r.model != best)  # the chosen one first, the others in order
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
    agreement, agree_first = None, 0
    if others:
        shares = [_first_share({r.model: r.scores[m] for r in ranking.rows if m in r.scores}, best)
                  for m in others]
        agreement, agree_first = float(np.mean(shares)), sum(x > 0 for x in shares)
    if stability is not None and not np.isfinite(stability):
        raise MetricError("the recommendation's stability is not a number")
    return Recommendation(best, primary, None if runner is None else runner.model, margin,
                          stability, replicates if stability is not None else 0, agreement,
                          len(others), tuple(tied) if len(tied) > 1 else (), tie_break,
                          agree_first)
