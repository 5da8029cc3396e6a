"""An answer rather than a table: which backbone to take, by how much, and how sure that is.

:func:`recommend` takes a :class:`~modelrank.ranking.Ranking` and says: the backbone first under
the primary score, its margin over the runner-up, the share of half-samples of the scored
images (half of each class, without replacement; the primary score recomputed on them by the
scoring units from the embeddings they hold: ``rank(..., stability=N)``) in which it stays first,
and the share of the other computed
scores that also put it first. Ties at the top count as 1/k for each of the k tied backbones,
so two indistinguishable backbones share the first place half-and-half.

When several backbones share the first place under the primary score, the answer names all of
them and breaks the tie by one stated rule, :data:`TIE_RULE`: the tied backbone with the best
mean rank among the tied under the other computed scores; when those do not separate them either,
it says so and takes the first in zoo order.

The answer is *clear* when the leader stays first in at least :data:`CLEAR_STABILITY` of the
half-samples, *inconclusive* otherwise; then it names the *plausible winners*, the fewest
backbones that together take :data:`PLAUSIBLE_MASS` of the first places. The threshold was chosen
on the `fmnist-zoo` suite and reported on `fmnist-imagenet` (``benchmarks/bench_advice_rule.py``,
``benchmarks/results/advice_rule.md``: how often a clear pick was the best backbone after
fine-tuning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from modelrank.correlation import shared_ranks
from modelrank.errors import MetricError

if TYPE_CHECKING:
    from modelrank.ranking_result import Ranking

#: Half-samples behind the stability of ``modelrank score``'s recommendation.
DEFAULT_REPLICATES = 50
#: How a tie for the first place is broken (said in the answer).
TIE_RULE = "the best mean rank among the tied under the other computed scores"
#: The least share of half-samples in which the leader stays first for a *clear* pick, chosen
#: as pre-registered on the `fmnist-zoo` suite, where k-NN's clear picks among 3 or 5 backbones
#: were the best after fine-tuning in 47 of 59 cases, its other picks in 547 of 1,141
#: (``benchmarks/results/advice_rule.md``).
CLEAR_STABILITY = 0.95
#: The share of the half-samples' first places the plausible winners take together.
PLAUSIBLE_MASS = 0.9


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
        shares: ((backbone, share of the half-samples' first places), ...), largest first
            (empty when the stability was not computed).
        plausible: the plausible winners: the fewest backbones of ``shares`` that together take
            :data:`PLAUSIBLE_MASS` of the first places (empty when not computed).
        conclusive: True for a clear pick (``stability`` at least :data:`CLEAR_STABILITY`),
            False for an inconclusive one, None when the stability was not computed.
        per_class: images per class scored (None: all), for the advice to score more.
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
    shares: tuple[tuple[str, float], ...] = ()
    plausible: tuple[str, ...] = ()
    conclusive: bool | None = None
    per_class: int | None = None

    def line(self) -> str:
        """One line for a terminal or a log."""
        if self.conclusive is False:
            return self._inconclusive_line()
        if len(self.tied) > 1:
            out = (
                f"Tied first by {self.score}: {', '.join(self.tied)}. Recommended: "
                f"{self.model}, by {self.tie_break}"
            )
        else:
            out = f"Recommended: {self.model} (by {self.score}"
            if self.runner_up is not None:
                out += f", {self.margin:.4g} ahead of {self.runner_up}"
            out += ")"
        if self.stability is not None:
            out += (
                f"; a clear pick: first in {100 * self.stability:.0f} % of {self.replicates} "
                "half-samples of the images"
            )
        return out + self._agreement_text() + "."

    def _agreement_text(self) -> str:
        if self.agreement is None:
            return ""
        out = f"; {self.agree_first} of {self.n_other} other scores also put it first"
        if self.agree_first and self.agreement * self.n_other < self.agree_first - 1e-9:
            out += " (tied with others there)"
        return out

    def _inconclusive_line(self) -> str:
        share = dict(self.shares)
        names = list(self.plausible)
        lo, hi = (100 * min(share[m] for m in names), 100 * max(share[m] for m in names))
        spread = f"{lo:.0f} %" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f} %"
        who = (
            f"{', '.join(names[:-1])} and {names[-1]} each come"
            if len(names) > 1
            else f"{names[0]} comes"
        )
        out = (
            f"Inconclusive by {self.score}: {who} first in {spread} of {self.replicates} "
            f"half-samples of the images (a clear pick needs {100 * CLEAR_STABILITY:.0f} %); "
            f"on all of them {self.model} leads"
        )
        if len(self.tied) > 1:
            others = ", ".join(m for m in self.tied if m != self.model)
            out += f" (tied with {others}; taken by {self.tie_break})"
        elif self.runner_up is not None:
            out += f", {self.margin:.4g} ahead of {self.runner_up}"
        more = (
            f"score more images per class to separate them (now {self.per_class}; e.g. "
            f"--per-class {2 * self.per_class})"
            if self.per_class is not None
            else "every image was scored: only more images of the target can separate them"
        )
        return out + self._agreement_text() + f"; {more}."


def break_tie(ranking: "Ranking", tied: list[str]) -> tuple[str, str]:
    """(the backbone, the reason in words) that :data:`TIE_RULE` takes among ``tied``: the best
    mean rank among them under each other computed score that has all of them."""
    rows = {r.model: r for r in ranking.rows}
    others = [
        m
        for m in ranking.metrics
        if m != ranking.primary and all(m in rows[t].scores for t in tied)
    ]
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
        return winners[0], (
            f"{TIE_RULE} ({names}), which still ties {', '.join(winners)}; then zoo order"
        )
    return winners[0], f"{TIE_RULE} ({names}: mean rank {best:.3g} of {len(tied)})"


def _first_share(scores: dict[str, float], model: str) -> float:
    """1/k when ``model`` is among the k backbones tied for the highest score, else 0."""
    if model not in scores:
        return 0.0
    top = max(scores.values())
    tied = [m for m, v in scores.items() if v == top]
    return 1.0 / len(tied) if model in tied else 0.0


def plausible_winners(shares: dict[str, float], *, mass: float = PLAUSIBLE_MASS) -> tuple[str, ...]:
    """The fewest backbones whose shares of the first places (``{backbone: share}``, summing to
    1) add up to ``mass``, largest share first; a backbone tied with the last one taken is
    taken too (the order between them is not evidence)."""
    ordered = sorted(shares.items(), key=lambda kv: -kv[1])
    out, total = [], 0.0
    for name, share in ordered:
        if total >= mass - 1e-12 and (not out or share < shares[out[-1]]):
            break
        if share <= 0.0 and out:
            break
        out.append(name)
        total += share
    return tuple(out)


def first_place_shares(tables, score: str, models) -> dict[str, float] | None:
    """{model: mean over replicate tables of its share of the first place under ``score``}
    for each of ``models``, in one pass over the tables (a table's tied leaders share its first
    place, 1/k each; its other models and those it lacks get 0); None for no tables."""
    if not tables:
        return None
    per_table: dict[str, list[float]] = {m: [] for m in models}
    for table in tables:
        scores = {m: v for m, v in table.get(score, {}).items() if m in per_table}
        top = max(scores.values()) if scores else None
        tied = [m for m, v in scores.items() if v == top]
        for m, shares in per_table.items():
            shares.append(1.0 / len(tied) if m in tied else 0.0)
    # np.mean of each list, as the shares were always averaged (the sum's rounding decides
    # which near-equal shares tie for the plausible winners)
    return {m: float(np.mean(v)) for m, v in per_table.items()}


def is_clear(stability: float, *, threshold: float = CLEAR_STABILITY) -> bool:
    """The advice's rule: a pick whose leader is first in at least ``threshold`` of the
    half-samples is clear (the study of the rule varies ``threshold``)."""
    return stability >= threshold - 1e-12


def first_place_share(tables, score: str, model: str) -> float | None:
    """Mean over replicate tables ({score: {model: value}}, as
    :func:`~modelrank.benchmark_stats.bootstrap_scores` returns) of ``model``'s share of the
    first place under ``score``; None for no tables."""
    shares = [_first_share(t.get(score, {}), model) for t in tables]
    return float(np.mean(shares)) if shares else None


def recommend(ranking: "Ranking") -> Recommendation:
    """The recommendation for ``ranking`` (see the module docstring), its stability from the
    half-samples the scoring units computed (``ranking.half_samples``: ``rank(...,
    stability=N)``; none when it has none). Nothing is built, probed or read again.

    Raises MetricError (with the reasons) when no backbone has the primary score.
    """
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
    stability, shares, plausible = None, {}, ()
    tables = ranking.half_samples
    if tables and len(have) > 1:
        shares = first_place_shares(tables, primary, [r.model for r in have])
        stability = shares[best]
        plausible = plausible_winners(shares)
    others = [
        m for m in ranking.metrics if m != primary and sum(m in r.scores for r in ranking.rows) > 1
    ]
    agreement, agree_first = None, 0
    if others:
        agreeing = [
            _first_share({r.model: r.scores[m] for r in ranking.rows if m in r.scores}, best)
            for m in others
        ]
        agreement, agree_first = float(np.mean(agreeing)), sum(x > 0 for x in agreeing)
    if stability is not None and not np.isfinite(stability):
        raise MetricError("the recommendation's stability is not a number")
    per_class = ranking.recipe.get("data", {}).get("per_class")
    return Recommendation(
        best,
        primary,
        None if runner is None else runner.model,
        margin,
        stability,
        len(tables) if stability is not None else 0,
        agreement,
        len(others),
        tuple(tied) if len(tied) > 1 else (),
        tie_break,
        agree_first,
        tuple(sorted(shares.items(), key=lambda kv: -kv[1])),
        plausible,
        None if stability is None else is_clear(stability),
        per_class,
    )
