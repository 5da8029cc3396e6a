"""What the transfer history adds to a recommendation, and what the advice rests on.

With a history (:mod:`modelrank.history_sources`), :func:`advise_from_history` computes the
history prior of the scored backbones on the target (:func:`modelrank.history.history_prior`)
and says in words which evidence the recommendation rests on and how sure the history is.

Whether the prior and the target's scores are fused into one ranker was decided by a held-out,
pre-registered study (``benchmarks/results/history_fusion.md``): no fusion beat the prior alone
on the suite it was not chosen on, so none is the default. The recommendation rests on the
target's scores, and the prior is shown beside them with that result (:data:`STUDY_RESULT`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from modelrank.history import HistoryPrior
from modelrank.history_sources import History, prior_for

#: Why the prior is shown beside the scores and not fused with them (the held-out study).
STUDY_RESULT = (
    "in a held-out study (benchmarks/results/history_fusion.md) no fusion of the prior with a "
    "score beat the prior alone on the suite it was not chosen on (mean weighted tau 0.52 "
    "against 0.83), and the prior alone (0.83 on both suites) ranked better than every score "
    "(0.70 at best), when the history held tasks like the new one"
)


@dataclass(frozen=True)
class HistoryAdvice:
    """The history's part of an answer.

    Attributes:
        source: where the history was read from, in words.
        prior: the history prior (``prior.unavailable`` says why when there is none).
        leader: the backbone with the highest prior (None when unavailable).
        runner_up, margin: the second backbone and the leader's lead over it, in standard
            deviations of accuracy (None for fewer than 2 backbones with a prior).
        first_on: on how many of the history targets used the leader had the best accuracy
            among the scored backbones that target holds.
        score_pick: the backbone the target's scores recommend (None: no score pick).
    """

    source: str
    prior: HistoryPrior
    leader: str | None
    runner_up: str | None
    margin: float | None
    first_on: int
    score_pick: str | None

    @property
    def evidence(self) -> str:
        """What the recommendation rests on, in words: the target's scores, with the history
        prior beside them or without one."""
        if self.prior.unavailable is not None or self.leader is None:
            return "the target's scores (no history prior)"
        return "the target's scores, the history prior beside them"

    def lines(self) -> list[str]:
        """The advice's history lines, for a terminal or a log."""
        p = self.prior
        if p.unavailable is not None or self.leader is None:
            return [
                f"No history prior from {self.source}: {p.unavailable or 'no backbone has one'}."
            ]
        n = len(p.used)
        head = (
            f"History ({self.source}, {n} other targets): {self.leader} is first by the prior "
            f"(best on {self.first_on} of {n} targets"
        )
        if self.runner_up is not None and self.margin is not None:
            head += f"; {self.margin:.2f} SD of accuracy ahead of {self.runner_up}"
        head += ")."
        out = [head]
        if self.score_pick is not None:
            agree = (
                "The history and the target's scores agree."
                if self.score_pick == self.leader
                else f"The target's scores pick {self.score_pick} instead."
            )
            out.append(
                agree + " The recommendation rests on the target's scores; the history "
                f"prior is shown beside them, not fused with them: {STUDY_RESULT}."
            )
        if p.overlapping:
            out.append(
                f"Targets sharing images with this one, used as other tasks: "
                f"{', '.join(p.overlapping)}."
            )
        if p.excluded:
            out.append(f"Left out as this target itself: {', '.join(p.excluded)}.")
        if p.absent:
            out.append(f"No history for: {', '.join(p.absent)} (not imputed).")
        return out


def advise_from_history(
    history: History, target: str, pool: Sequence[str], *, score_pick: str | None
) -> HistoryAdvice:
    """The history's advice on ``target`` for the backbones ``pool``
    (:func:`modelrank.history_sources.prior_for`: the target itself left out by name and by its
    test images); ``score_pick``: the backbone the target's scores recommend."""
    return history_advice(
        prior_for(history, target, pool),
        history.accuracies,
        source=history.source,
        score_pick=score_pick,
    )


def history_advice(
    prior: HistoryPrior,
    history: Mapping[str, Mapping[str, float]],
    *,
    source: str,
    score_pick: str | None,
) -> HistoryAdvice:
    """The :class:`HistoryAdvice` of ``prior`` (computed from ``history``, whose used targets
    say on how many the leader was best)."""
    ranked = sorted(prior.prior.items(), key=lambda kv: -kv[1])
    if not ranked:
        return HistoryAdvice(source, prior, None, None, None, 0, score_pick)
    leader = ranked[0][0]
    runner = ranked[1][0] if len(ranked) > 1 else None
    margin = ranked[0][1] - ranked[1][1] if runner is not None else None
    pool = set(prior.prior)
    first_on = 0
    for t in prior.used:
        held = {m: a for m, a in history[t].items() if m in pool and math.isfinite(a)}
        if held and leader in held and held[leader] >= max(held.values()):
            first_on += 1
    return HistoryAdvice(source, prior, leader, runner, margin, first_on, score_pick)


def prior_table(advice: HistoryAdvice, models: Sequence[str]) -> list[tuple[str, str, str]]:
    """(backbone, its prior, its rank by the prior) for each of ``models`` ("–" without one)."""
    ranked = sorted(advice.prior.prior.items(), key=lambda kv: -kv[1])
    rank = {m: i + 1 for i, (m, _) in enumerate(ranked)}
    return [
        (
            m,
            f"{advice.prior.prior[m]:+.2f}" if m in advice.prior.prior else "–",
            str(rank[m]) if m in rank else "–",
        )
        for m in models
    ]
