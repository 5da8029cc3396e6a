"""The leaderboard as plain data (:class:`Leaderboard`), read from the results store by
:func:`build`: per target the ranked backbones with their scores and accuracies, per suite the
τ tables."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from modelrank.correlation import shared_ranks, weighted_tau
from modelrank.errors import ConfigError
from modelrank.topology.omega import omega_curve

#: Protocols whose accuracy the scatter plots use first, in this order; otherwise the first by name.
PREFERRED_PROTOCOLS = (
    "finetune",
    "fine-tune",
    "fine_tune",
    "linear",
    "linear-probe",
    "linear_probe",
)


@dataclass
class TargetBoard:
    """One target's table.

    ``rows``: dicts {rank (int or None when ``ranked_by`` is missing), model, raw {metric: value},
    scores {metric: higher-is-better value}, unavailable {metric: reason}, accuracy {protocol: %},
    control (a control backbone: "random weights" or "truncated after LAYER"; None otherwise)}.
    ``omega``: {model: per-layer Ω over the probe layers (length L, shallow to deep)}.
    ``tau``: {metric: {"value": weighted τ of score vs accuracy, "source": "stored" | "computed",
    "protocol": the accuracy's protocol}}.
    ``recipe``: what the scores of this table saw (split, images per class, resolution, η,
    layout, modelrank version) when the target has results of several such recipes, which get a
    table each, never one column; "" when it has one.
    """

    dataset: str
    ranked_by: str | None
    metrics: list[str]
    protocols: list[str]
    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)
    omega: dict[str, list[float]] = field(default_factory=dict)
    tau: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipe: str = ""  # what the scores saw, when the target has tables of several recipes


@dataclass
class TauTable:
    """One suite's cross-target table against one ground truth: ``rows`` are {score,
    weighted_tau {dataset: τ or None}, interval {dataset: (low, high)} (95 %, where stored),
    mean (over the datasets with a value, or None), n_datasets, and where the benchmark stored
    its summary of this very table: mean_interval (low, high) or None, verdict ("beats", "does
    not beat", "no interval", "baseline")}; sorted by mean, best first. ``baseline``: (name, mean
    τ) of the best static baseline the verdicts are against, or None."""

    suite: str
    datasets: list[str]
    rows: list[dict[str, Any]]
    ground_truth: str = "headline"
    baseline: tuple[str, float] | None = None

    @property
    def title(self) -> str:
        return (
            self.suite
            if self.ground_truth == "headline"
            else f"{self.suite} (against {self.ground_truth})"
        )


@dataclass
class Leaderboard:
    database: str
    targets: list[TargetBoard]
    correlations: list[TauTable]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- reading the store


def build(store, datasets: Sequence[str] | None = None, metric: str | None = None) -> Leaderboard:
    """Read everything the leaderboard shows from ``store``.

    Args:
        store: an open :class:`modelrank.store.Store`.
        datasets: targets to show (default: every dataset in the store); unknown names raise
            :class:`ConfigError`. Also restricts the cross-target columns.
        metric: the score each target is ranked by (default: the primary score of the latest
            ranking on that target); a name with no stored value anywhere raises ConfigError.
    """
    known = store.datasets()
    chosen = list(known) if not datasets else dedupe(datasets)
    unknown = [d for d in chosen if d not in known]
    if unknown:
        have = ", ".join(known) if known else "none yet"
        raise ConfigError(
            f"no results for dataset {unknown[0]!r} in {store.path} (datasets there: {have})"
        )
    all_scores = store.scores()
    if metric is not None and metric not in {s["metric"] for s in all_scores}:
        have = ", ".join(sorted({s["metric"] for s in all_scores})) or "none yet"
        raise ConfigError(f"no {metric!r} scores in {store.path} (scores there: {have})")
    corr = store.correlations()
    targets = [
        t
        for ds in chosen
        for t in _targets(store, ds, metric, [c for c in corr if c["dataset"] == ds])
    ]
    return Leaderboard(
        str(store.path),
        targets,
        _tau_tables(corr, chosen if datasets else None, store.tau_summaries()),
    )


def dedupe(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for it in items:
        if it not in out:
            out.append(it)
    return out


#: What makes two stored values comparable: the parts of the recipe of the runs behind them.
RECIPE_FIELDS = ("split", "per class", "resolution", "η", "layout", "modelrank")


def _recipe_key(rec: dict[str, Any]) -> tuple:
    """(split, images per class, resolution, η, layout, modelrank version) of one stored value."""
    recipe, info = rec["recipe"], rec["info"]
    data = recipe.get("data", {}) if isinstance(recipe.get("data"), dict) else {}
    per_class = data.get("per_class", rec["per_class"])
    return (
        rec["split"],
        per_class,
        info.get("image_size"),
        recipe.get("eta"),
        recipe.get("layout"),
        (recipe.get("versions") or {}).get("modelrank"),
    )


def _recipe_label(key: tuple) -> str:
    split, per_class, size, eta, layout, version = key
    parts = [f"{split or '?'} split", f"{'all' if per_class is None else per_class} per class"]
    if size is not None:
        parts.append(f"{size} px")
    if eta is not None:
        parts.append(f"η={eta:g}, {layout}")
    if version:
        parts.append(f"modelrank {version}")
    return ", ".join(parts)


def _targets(store, dataset: str, metric: str | None, corr: list[dict]) -> list[TargetBoard]:
    """One table per recipe of the values stored on ``dataset`` (the latest recipe first), each
    holding the latest value of each backbone × score under that recipe."""
    history = store.score_history(dataset)
    groups: dict[tuple, dict[tuple[str, str], dict]] = {}
    last: dict[tuple, int] = {}
    for rec in history:
        key = _recipe_key(rec)
        groups.setdefault(key, {})[(rec["model"], rec["metric"])] = rec
        last[key] = rec["run_id"]
    # what every table of the target shows beside its scores, read once
    shared = {
        "accs": store.accuracies(dataset=dataset),
        "infos": store.model_infos(dataset),
        "primary": store.primary_metric(dataset),
        "omega": _omegas(store, dataset),
    }
    if not groups:
        return [_target(dataset, metric, corr, [], "", shared)]
    keys = sorted(groups, key=lambda k: -last[k])
    return [
        _target(
            dataset,
            metric,
            corr,
            list(groups[k].values()),
            _recipe_label(k) if len(keys) > 1 else "",
            shared,
        )
        for k in keys
    ]


def _target(
    dataset: str,
    metric: str | None,
    corr: list[dict],
    scores: list[dict],
    recipe: str,
    shared: dict[str, Any],
) -> TargetBoard:
    accs = shared["accs"]
    metrics = sorted({s["metric"] for s in scores})
    ranked_by = metric if metric is not None else shared["primary"]
    if ranked_by not in metrics:
        ranked_by = metric if metric is not None else (metrics[0] if metrics else None)
    if ranked_by in metrics:
        metrics.remove(ranked_by)
        metrics.insert(0, ranked_by)
    protocols = sorted({a["protocol"] for a in accs}, key=_protocol_order)
    by_model: dict[str, dict[str, Any]] = {}

    def entry(model: str) -> dict[str, Any]:
        return by_model.setdefault(
            model,
            {
                "rank": None,
                "model": model,
                "raw": {},
                "scores": {},
                "unavailable": {},
                "accuracy": {},
                "control": None,
            },
        )

    for s in scores:
        e = entry(s["model"])
        if s["unavailable"] is not None or s["score"] is None:
            e["unavailable"][s["metric"]] = s["unavailable"] or "no value"
        else:
            e["raw"][s["metric"]] = s["raw"] if s["raw"] is not None else s["score"]
            e["scores"][s["metric"]] = s["score"]
    for a in accs:
        entry(a["model"])["accuracy"][a["protocol"]] = a["accuracy"]
    for model, info in shared["infos"].items():
        if model in by_model:
            by_model[model]["control"] = control_kind(info)
    rows = sorted(
        by_model.values(),
        key=lambda e: (ranked_by not in e["scores"], -e["scores"].get(ranked_by, 0.0), e["model"]),
    )

    for e, rank in zip(rows, shared_ranks([r["scores"].get(ranked_by) for r in rows])):
        e["rank"] = rank  # equal values share a rank
    runs = sorted({(s["run_id"], s["split"], s["per_class"]) for s in scores})
    board = TargetBoard(
        dataset,
        ranked_by,
        metrics,
        protocols,
        rows,
        runs=[{"run_id": r, "split": sp, "per_class": pc} for r, sp, pc in runs],
        recipe=recipe,
    )
    board.omega = dict(shared["omega"])
    board.tau = _scatter_taus(board, corr)
    return board


def control_kind(info: dict[str, Any]) -> str | None:
    """What makes a backbone a control, from the info its ranking recorded: "random weights"
    (no pre-training), "truncated after LAYER" (a pre-trained network cut short); else None."""
    if info.get("weights") == "random":
        return "random weights"
    if info.get("truncate"):
        return f"truncated after {info['truncate']}"
    return None


def _protocol_order(p: str) -> tuple[int, str]:
    return (
        PREFERRED_PROTOCOLS.index(p) if p in PREFERRED_PROTOCOLS else len(PREFERRED_PROTOCOLS),
        p,
    )


def omega_from_arrays(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """Per-layer topological complexity Ω, shape (L,), from stored Betti arrays.

    Ω(layer) = mean over classes of (mean over the class's images of b0 + b1 + b2). Uses
    ``cubical_betti`` (n, L, 3) with ``labels`` (n,), else ``betti_per_class_mean`` (K, L, 3).
    """
    try:
        if "cubical_betti" in arrays and "labels" in arrays:
            return omega_curve(arrays["cubical_betti"], np.asarray(arrays["labels"]))
        if "betti_per_class_mean" in arrays:
            return omega_curve(arrays["betti_per_class_mean"])
    except ValueError:  # arrays of the wrong shape: no curve to draw
        return None
    return None


def _omegas(store, dataset: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for t in store.topology(dataset=dataset):
        omega = None
        if t["arrays_sha256"] is not None:
            arrays = store.betti_arrays(t["model"], dataset)
            omega = None if arrays is None else omega_from_arrays(arrays)
        if omega is None and t["omega"]:
            omega = np.asarray(t["omega"], dtype=np.float64)
        if omega is not None and len(omega) and np.all(np.isfinite(omega)):
            out[t["model"]] = [float(x) for x in omega]
    return out


def _scatter_taus(board: TargetBoard, corr: list[dict]) -> dict[str, dict[str, Any]]:
    """Weighted τ for each score-vs-accuracy scatter: the latest stored correlation of that score
    on this dataset if any, else scipy's weighted τ of the plotted points (≥ 3 backbones)."""
    if not board.protocols:
        return {}
    protocol = board.protocols[0]
    stored = {
        c["score"]: c
        for c in sorted(corr, key=lambda c: c["run_id"])
        if c.get("ground_truth", "headline") == "headline"
    }
    out: dict[str, dict[str, Any]] = {}
    for m in board.metrics:
        c = stored.get(m)
        if c is not None and c["weighted_tau"] is not None:
            out[m] = {
                "value": c["weighted_tau"],
                "source": "stored",
                "suite": c["suite"],
                "protocol": protocol,
            }
            continue
        x, y = scatter_points(board, m, protocol)
        if len(x) >= 3:
            v = weighted_tau(x, y)
            out[m] = {
                "value": v if math.isfinite(v) else None,
                "source": "computed",
                "protocol": protocol,
            }
    return out


def scatter_points(
    board: TargetBoard, metric: str, protocol: str
) -> tuple[list[float], list[float]]:
    pts = [
        (r["scores"][metric], r["accuracy"][protocol])
        for r in board.rows
        if metric in r["scores"] and protocol in r["accuracy"]
    ]
    return [p[0] for p in pts], [p[1] for p in pts]


def _tau_tables(
    corr: list[dict], only: list[str] | None, summaries: list[dict] | None = None
) -> list[TauTable]:
    """The cross-target tables; a stored summary (mean interval, verdict) is attached to a row
    only when it comes from the run of all that row's correlations and covers the same number
    of datasets (a filtered or mixed table has a different mean)."""
    by_key = {(r["suite"], r["ground_truth"], r["score"]): r for r in summaries or []}
    tables = []
    groups = sorted(
        {(c["suite"], c.get("ground_truth", "headline")) for c in corr},
        key=lambda g: (g[0], g[1] != "headline", g[1]),
    )
    for suite, gt in groups:
        rows_s = [
            c
            for c in corr
            if c["suite"] == suite
            and c.get("ground_truth", "headline") == gt
            and (only is None or c["dataset"] in only)
        ]
        if not rows_s:
            continue
        datasets = sorted({c["dataset"] for c in rows_s})
        rows, baseline = [], None
        for score in sorted({c["score"] for c in rows_s}):
            taus: dict[str, float | None] = {d: None for d in datasets}
            intervals: dict[str, tuple[float, float]] = {}
            runs = set()
            for c in rows_s:
                if c["score"] == score:
                    taus[c["dataset"]] = c["weighted_tau"]
                    runs.add(c.get("run_id"))
                    if c.get("tau_low") is not None and c.get("tau_high") is not None:
                        intervals[c["dataset"]] = (c["tau_low"], c["tau_high"])
            vals = [v for v in taus.values() if v is not None]
            row = {
                "score": score,
                "weighted_tau": taus,
                "interval": intervals,
                "mean": float(np.mean(vals)) if vals else None,
                "n_datasets": len(vals),
                "mean_interval": None,
                "verdict": None,
            }
            summ = by_key.get((suite, gt, score))
            if summ and runs == {summ["run_id"]} and summ["n_datasets"] == len(vals):
                if summ["tau_low"] is not None and summ["tau_high"] is not None:
                    row["mean_interval"] = (summ["tau_low"], summ["tau_high"])
                row["verdict"] = summ["verdict"]
                if summ["baseline"] is not None and summ["baseline_tau"] is not None:
                    baseline = (summ["baseline"], summ["baseline_tau"])
            rows.append(row)
        rows.sort(key=lambda r: (r["mean"] is None, -(r["mean"] or 0.0), r["score"]))
        tables.append(TauTable(suite, datasets, rows, gt, baseline))
    return tables
