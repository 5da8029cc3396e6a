"""What an evaluation returns: one :class:`EvalResult` per backbone, gathered in an
:class:`Evaluation`; the labels its progress callbacks use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalResult:
    """Outcome for one backbone on one target.

    Attributes:
        model, dataset, protocol: what was evaluated ("full" or "linear").
        accuracy: test accuracy in percent.
        accuracy_kind: "top1" or "mean_per_class".
        best: the chosen hyper-parameters.
        grid: every grid run with its validation accuracy (percent).
        runs_computed: runs trained in this call (0 when everything came from the run log).
        test_correct: the per-image test outcomes behind ``accuracy``, in the test split's
            order (:func:`modelrank.correctness.pack_correct`); None where not recorded.
    """

    model: str
    dataset: str
    protocol: str
    accuracy: float
    accuracy_kind: str
    best: dict[str, float]
    grid: list[dict[str, Any]] = field(default_factory=list)
    runs_computed: int = 0
    recipe: dict[str, Any] = field(default_factory=dict)
    test_correct: str | None = None


@dataclass
class Evaluation:
    """The ground truth of one target: what :func:`evaluate` returns, shaped like
    :class:`~modelrank.ranking.Ranking`.

    Attributes:
        dataset, protocol: the target and "full" or "linear".
        results: one :class:`EvalResult` per backbone evaluated, in zoo order.
        failed: (model, reason) for backbones with a unit that failed after its retries.
        skipped: (model, reason) for backbones that could not be built here.
    """

    dataset: str
    protocol: str
    results: list[EvalResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def accuracies(self) -> dict[str, float]:
        """{model: test accuracy in percent}."""
        return {r.model: r.accuracy for r in self.results}


#: The label of a fine-tuning run's steps in progress callbacks (one bar, reused run after run).
STEPS = "steps of this run"


def runs_label(model: str) -> str:
    """The label of a backbone's fine-tuning runs in progress callbacks."""
    return f"{model} fine-tune runs"
