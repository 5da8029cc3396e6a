"""Benchmark suites: how well each score predicts fine-tuned accuracy, per target and on average.

A suite (``modelrank/suites/<name>.yaml``) names a zoo and its models, the targets, the split
and sampling the scores see, the scores, and where ground truth comes from: the published
fine-tune accuracies (SFDA paper's tables) or fine-tuning here (cached run log). The result is a
table: rows = scores (priors included), columns = targets, cells = weighted Kendall tau, plus the
mean over targets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from modelrank.correlation import correlate
from modelrank.errors import ConfigError, DatasetUnavailableError, MetricError

if TYPE_CHECKING:
    from modelrank.execution import Executor


@dataclass
class Suite:
    """A parsed suite file (see the module docstring)."""

    name: str
    zoo: str | None
    models: str
    targets: list[str]
    score_split: dict[str, str]
    per_class: dict[str, int] | None
    metrics: Any
    ground_truth: dict[str, Any]
    published: dict[str, dict[str, float]] = field(default_factory=dict)

    def split_for(self, target: str) -> str:
        return self.score_split.get(target, self.score_split.get("default", "train"))

    def per_class_for(self, target: str) -> int | None:
        return (self.per_class or {}).get(target)


def suite_names() -> list[str]:
    return sorted(p.name[:-5] for p in (resources.files("modelrank") / "suites").iterdir()
                  if p.name.endswith(".yaml"))


def zoo_path(name: str | None) -> str | None:
    """A packaged zoo by short name ("offline", "sfda-group2"), a path, or None (default zoo)."""
    if name in (None, "packaged"):
        return None
    packaged = resources.files("modelrank") / "zoos" / f"{name}.yaml"
    return str(packaged) if packaged.is_file() else name


def load_suite(name_or_path: str) -> Suite:
    """Parse a packaged suite by name, or a suite file by path."""
    p = Path(name_or_path)
    if not p.is_file():
        packaged = resources.files("modelrank") / "suites" / f"{name_or_path}.yaml"
        if not packaged.is_file():
            raise ConfigError(f"unknown suite {name_or_path!r}; known: {', '.join(suite_names())}")
        p = Path(str(packaged))
    from modelrank.zoo import read_yaml

    doc = read_yaml(p, "suite file")
    if not isinstance(doc, dict):
        raise ConfigError(f"suite file {str(p)!r} must be a mapping (name, targets, "
                          f"ground_truth, ...), got {type(doc).__name__}")
    try:
        split = doc.get("score_split", "train")
        return Suite(
            name=doc["name"], zoo=doc.get("zoo"), models=str(doc.get("models", "all")),
            targets=list(doc["targets"]),
            score_split=split if isinstance(split, dict) else {"default": split},
            per_class=doc.get("per_class"), metrics=doc.get("metrics", "all"),
            ground_truth=doc["ground_truth"], published=doc.get("published_weighted_tau") or {},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"suite file {str(p)!r} is missing a field or malformed: {exc}") from None


def published_accuracies(group: str, names: dict[str, str]) -> dict[str, dict[str, float]]:
    """{target: {model: accuracy %}} from the shipped SFDA tables."""
    doc = json.loads((resources.files("modelrank") / "published" / "ground_truth_sfda.json").read_text())
    return {names.get(t, t): accs for t, accs in doc[group].items()}


@dataclass
class BenchmarkResult:
    """Weighted tau per score per target (+ mean), the full correlation records, rankings."""

    suite: str
    targets: list[str]
    scores: list[str]
    tau: dict[str, dict[str, float]]
    records: list[dict[str, Any]]
    accuracies: dict[str, dict[str, float]]
    rankings: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def mean(self, score: str) -> float:
        vals = [v for v in self.tau.get(score, {}).values() if math.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def to_markdown(self, published: dict[str, dict[str, float]] | None = None) -> str:
        head = ["score"] + self.targets + ["mean"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s in self.scores:
            cells = [s] + [_fmt(self.tau.get(s, {}).get(t)) for t in self.targets] + [_fmt(self.mean(s))]
            lines.append("| " + " | ".join(cells) + " |")
        if published:
            lines += ["", "Published weighted tau (SFDA paper) for comparison:", "",
                      "| score | " + " | ".join(published) + " |", "|---|" + "---|" * len(published)]
            scores = sorted({s for col in published.values() for s in col})
            for s in scores:
                lines.append(f"| {s} | " + " | ".join(_fmt(published[c].get(s)) for c in published) + " |")
        return "\n".join(lines) + "\n"


def _fmt(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.3f}"


def ground_truth(suite: Suite, device: str | None = None,
                 on_run: Callable[[str, int, int], None] | None = None,
                 executor: "Executor | None" = None,
                 on_fail: Callable[[str, str, str], None] | None = None,
                 cache_dir: str | Path | None = None,
                 ) -> dict[str, dict[str, float]]:
    """{target: {model: test accuracy %}} from the published tables or by fine-tuning here
    (every target's runs as one job on ``executor``; failed backbones have no accuracy)."""
    gt = suite.ground_truth
    if gt["kind"] == "published":
        return published_accuracies(gt["group"], gt.get("names", {}))
    if gt["kind"] != "finetune":
        raise ConfigError(f"suite {suite.name}: ground_truth kind must be published or finetune")
    from modelrank.finetuning import FinetuneConfig, evaluate_targets

    b = gt.get("budget", {})
    if not isinstance(b, dict):
        raise ConfigError(f"suite {suite.name}: ground_truth budget must be a mapping, got {b!r}")
    try:
        cfg = FinetuneConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in b.items()})
    except TypeError as exc:
        raise ConfigError(f"suite {suite.name}: ground_truth budget: {exc}") from None
    per_class = gt.get("per_class") or {}
    res = evaluate_targets([(t, per_class.get(t)) for t in suite.targets], zoo=zoo_path(suite.zoo),
                           models=suite.models, protocol=gt.get("protocol", "full"), budget=cfg,
                           device=device, on_run=on_run, executor=executor, on_fail=on_fail,
                           cache_dir=cache_dir)
    return {target: {r.model: r.accuracy for r in rs} for target, rs in res.items()}


def run_benchmark(suite: Suite, metrics: Any = None, device: str | None = None,
                  on_progress: Callable[[str, int, int], None] | None = None,
                  on_run: Callable[[str, int, int], None] | None = None,
                  on_skip: Callable[[str, str], None] | None = None,
                  executor: "Executor | None" = None,
                  cache_dir: str | Path | None = None) -> BenchmarkResult:
    """Score the suite's pool on each target, correlate with ground truth, tabulate weighted tau.

    Ground truth and scores each run as one job on ``executor`` (default: this process). A
    backbone whose fine-tuning or scoring failed is left out of that target's correlation and
    listed in ``failed``; targets that cannot be loaded here are listed in ``skipped``.
    ``cache_dir``: embeddings, the journal and the run logs (default ``$MODELRANK_CACHE``).
    """
    from modelrank.data import load_target
    from modelrank.ranking import rank_targets, resolve_metrics

    specs = resolve_metrics(metrics if metrics is not None else suite.metrics)
    skipped: list[str] = []
    failures: list[str] = []

    def failed(model: str, target: str, why: str) -> None:
        failures.append(f"{model} on {target}: {why}")
        if on_skip:
            on_skip(f"{model} on {target}", f"failed: {why}")

    accs = ground_truth(suite, device=device, on_run=on_run, executor=executor, on_fail=failed,
                        cache_dir=cache_dir)
    data = []
    for target in suite.targets:
        try:
            data.append(load_target(target, split=suite.split_for(target),
                                    per_class=suite.per_class_for(target)))
        except DatasetUnavailableError as exc:
            skipped.append(f"{target}: {exc}")
            if on_skip:
                on_skip(target, str(exc))
    ranked = rank_targets(data, zoo=zoo_path(suite.zoo), models=suite.models,
                          metrics=[s.name for s in specs], device=device,
                          on_progress=on_progress, on_skip=on_skip, executor=executor,
                          cache_dir=cache_dir)
    tau: dict[str, dict[str, float]] = {}
    records, rankings = [], {}
    for d, r in zip(data, ranked):
        target = d.name
        rankings[target] = r
        for model, why in r.failed:
            failed(model, target, why)
        for s in specs:
            scores = {row.model: row.scores[s.name] for row in r.rows if s.name in row.scores}
            try:
                c = correlate(scores, accs.get(target, {}))
            except MetricError:
                continue
            tau.setdefault(s.name, {})[target] = c["weighted_tau"]
            records.append({"dataset": target, "score": s.name, **c})
    return BenchmarkResult(suite.name, [t for t in suite.targets if t in rankings],
                           [s.name for s in specs], tau, records, accs, rankings, skipped,
                           failures)
