"""The answer rather than the table: :func:`pick_backbone` ranks, then recommends one backbone
(:mod:`modelrank.recommendation`) with the history prior beside it when one is given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from modelrank.data import TargetData, load_target
from modelrank.errors import ParameterError
from modelrank.history_advice import advise_from_history
from modelrank.history_sources import History, load_history
from modelrank.progress import OnProgress
from modelrank.ranking import rank
from modelrank.ranking_result import Ranking
from modelrank.recommendation import DEFAULT_REPLICATES, recommend
from modelrank.score_options import ScoreOptions
from modelrank.util.checks import check_whole_number
from modelrank.zoo import ZooEntry

if TYPE_CHECKING:
    from modelrank.execution import Executor


class Pick(str):
    """The backbone :func:`pick_backbone` chose: its name (a ``str``, usable wherever the name
    is) with the answer behind it.

    Attributes:
        recommendation: :class:`~modelrank.recommendation.Recommendation` — the margin over
            the runner-up, the share of half-samples of the images in which it stays first,
            whether that makes a clear pick (``conclusive``) and the plausible winners.
        ranking: the full :class:`Ranking` it was chosen from.
        history: :class:`~modelrank.history_advice.HistoryAdvice` when a history was given
            (the history prior beside the scores, and what the answer rests on), else None.
    """

    recommendation: Any
    ranking: Ranking
    history: Any

    def __new__(cls, recommendation, ranking: Ranking, history: Any = None) -> "Pick":
        obj = super().__new__(cls, recommendation.model)
        obj.recommendation, obj.ranking, obj.history = recommendation, ranking, history
        return obj

    @property
    def evidence(self) -> str:
        """What the answer rests on, in words (the target's scores; with a history, the prior
        is beside them: :mod:`modelrank.history_advice`)."""
        return "the target's scores" if self.history is None else self.history.evidence

    @property
    def margin(self) -> float | None:
        return self.recommendation.margin

    @property
    def stability(self) -> float | None:
        return self.recommendation.stability

    @property
    def conclusive(self) -> bool | None:
        """True for a clear pick, False for an inconclusive one (the half-sample rule of
        :mod:`modelrank.recommendation`), None when no stability was computed."""
        return self.recommendation.conclusive

    @property
    def plausible(self) -> tuple[str, ...]:
        """The plausible winners: the fewest backbones that together come first in
        :data:`~modelrank.recommendation.PLAUSIBLE_MASS` of the half-samples (this one alone
        for a pick no half-sample disputes; empty when no stability was computed)."""
        return self.recommendation.plausible

    @property
    def tied(self) -> tuple[str, ...]:
        """The backbones sharing the first place with this one (empty when there is no tie);
        :attr:`recommendation`'s ``tie_break`` says how this one was taken among them."""
        return self.recommendation.tied

    def __repr__(self) -> str:
        return (
            f"Pick({str(self)!r}, stability={self.stability!r}, margin={self.margin!r}, "
            f"conclusive={self.conclusive!r}, plausible={self.plausible!r})"
        )


def pick_backbone(
    dataset: str | TargetData = "digits",
    *,
    candidates: str | Iterable[str] | None = None,
    metric: str = "knn",
    stability: int | None = None,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    split: str = "train",
    per_class: int | None = None,
    seed: int = 0,
    device: str | None = None,
    options: ScoreOptions | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    history: str | Path | History | None = None,
) -> Pick:
    """The backbone ``metric`` ranks first among ``candidates`` on ``dataset``, as a
    :class:`Pick`: the name, how far ahead and how stable the choice is, and the ranking.

    Args:
        candidates: comma list of zoo names and tags (default: the ``offline`` tag).
        metric: the registered score that chooses.
        stability: half-samples of the scored images behind the choice's stability, computed by
            the scoring units from the embeddings they hold (default
            :data:`~modelrank.recommendation.DEFAULT_REPLICATES`; 0: none).
        zoo, split, per_class, seed, device, options, executor, on_progress: as for
            :func:`rank`.
        history: past fine-tunes (a source of :func:`~modelrank.history_sources.load_history`:
            ``"published"``, ``"db"``, a file; or a loaded
            :class:`~modelrank.history_sources.History`): the pick's ``history`` gives the
            history prior beside the scores, which still make the pick (the held-out study of
            :mod:`modelrank.history_advice` found no fusion better than the prior alone).

    Raises MetricError saying why when no backbone has the score.
    """
    stability = DEFAULT_REPLICATES if stability is None else stability
    check_whole_number("stability", stability, least=0)  # refused before the work
    past = load_history(str(history)) if isinstance(history, (str, Path)) else history
    if past is not None and not isinstance(past, History):
        raise ParameterError(
            "history", f"must be a source name or a History, got {type(past).__name__}"
        )
    data = (
        dataset
        if isinstance(dataset, TargetData)
        else load_target(dataset, split=split, per_class=per_class, seed=seed)
    )
    ranking = rank(
        data,
        zoo=zoo,
        models=candidates,
        metrics=[metric],
        seed=seed,
        device=device,
        options=options,
        executor=executor,
        on_progress=on_progress,
        stability=stability,
    )
    ranking.best()  # the reasons, when no backbone has the score
    rec = recommend(ranking)
    advice = None
    if past is not None:
        advice = advise_from_history(
            past, data.name, [r.model for r in ranking.rows], score_pick=rec.model
        )
    return Pick(rec, ranking, advice)
