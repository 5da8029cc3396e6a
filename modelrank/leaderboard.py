"""Leaderboards rendered from the results store only (Markdown, CSV, JSON, self-contained HTML).

Two views, the way the transferability papers' tables read:

* per target: backbones ranked by one score (higher is better), every other score (raw value)
  beside it, and the best stored accuracy per evaluation protocol (percent);
* across targets: per suite, rows = scores, columns = datasets + mean, cells = weighted τ
  between the score and the accuracy (mean over the datasets that have a value).

:func:`build` reads a :class:`~modelrank.store.Store` into a :class:`Leaderboard`
(plain data); :func:`render` turns that into text and touches nothing else.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from modelrank import plot_style as style
from modelrank.errors import ConfigError, ParameterError

FORMATS = ("md", "csv", "json", "html")
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
    chosen = list(known) if not datasets else _dedupe(datasets)
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


def _dedupe(items: Iterable[str]) -> list[str]:
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
    from modelrank.correlation import shared_ranks

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
    from modelrank.topology.omega import omega_curve

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
        x, y = _points(board, m, protocol)
        if len(x) >= 3:
            from modelrank.correlation import weighted_tau

            v = weighted_tau(x, y)
            out[m] = {
                "value": v if math.isfinite(v) else None,
                "source": "computed",
                "protocol": protocol,
            }
    return out


def _points(board: TargetBoard, metric: str, protocol: str) -> tuple[list[float], list[float]]:
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


# --------------------------------------------------------------------------- text formats


def format_for(fmt: str | None, output: str | None) -> str:
    """The format to write: ``fmt`` when given, else the one ``output``'s suffix names
    (.md/.markdown, .csv, .json, .html/.htm), else ``md`` when there is no output file."""
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix) or "md"
        if fmt not in FORMATS:
            raise ParameterError(
                "fmt",
                f"is needed: the format cannot be told from {output!r} "
                f"(give one of {', '.join(FORMATS)})",
            )
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ParameterError("fmt", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def render(board: Leaderboard, fmt: str) -> str:
    """The leaderboard as ``md``, ``csv``, ``json`` or ``html`` text."""
    fn = {"md": to_markdown, "csv": to_csv, "json": to_json, "html": to_html}.get(fmt)
    if fn is None:
        raise ParameterError("fmt", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fn(board)


def _num(v: float | None, spec: str) -> str:
    return "" if v is None else format(v, spec)


def _target_header(t: TargetBoard) -> list[str]:
    return ["rank", "model"] + t.metrics + [f"{p} acc (%)" for p in t.protocols]


def _target_cells(t: TargetBoard, r: dict[str, Any]) -> list[str]:
    model = r["model"] + (f" ({r['control']})" if r.get("control") else "")
    cells = ["" if r["rank"] is None else str(r["rank"]), model]
    for m in t.metrics:
        cells.append("n/a" if m in r["unavailable"] else _num(r["raw"].get(m), ".4g"))
    cells += [_num(r["accuracy"].get(p), ".2f") for p in t.protocols]
    return cells


def _has_verdicts(tt: TauTable) -> bool:
    return tt.baseline is not None and any(r.get("verdict") for r in tt.rows)


def _tau_header(tt: TauTable) -> list[str]:
    head = ["score"] + tt.datasets + ["mean"]
    if _has_verdicts(tt):
        head.append(f"beats the best static baseline ({tt.baseline[0]}, {tt.baseline[1]:.3f})?")
    return head


def _tau_cells(tt: TauTable, r: dict[str, Any]) -> list[str]:
    def with_interval(v: float | None, iv: tuple[float, float] | None) -> str:
        return _num(v, ".3f") + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv and v is not None else "")

    mean = with_interval(r["mean"], r.get("mean_interval"))
    if r["mean"] is not None and r["n_datasets"] < len(tt.datasets):
        mean += "†"
    cells = (
        [r["score"]]
        + [with_interval(r["weighted_tau"][d], r.get("interval", {}).get(d)) for d in tt.datasets]
        + [mean]
    )
    if _has_verdicts(tt):
        cells.append(r.get("verdict") or "")
    return cells


def _runs_note(t: TargetBoard) -> str:
    parts = [
        f"run {r['run_id']} ({r['split']}, "
        f"{'all' if r['per_class'] is None else r['per_class']} per class)"
        for r in t.runs
    ]
    return "scores from " + "; ".join(parts) if parts else ""


def _direction_note(t: TargetBoard) -> str:
    """ " (ranked by X, higher is better)" from the score registry, or "" for an unknown score."""
    if t.ranked_by is None:
        return ""
    from modelrank.errors import MetricError
    from modelrank.metrics import get_metric

    try:
        higher = get_metric(t.ranked_by).higher_is_better
    except MetricError:
        return f" (ranked by {t.ranked_by})"
    return f" (ranked by {t.ranked_by}, {'higher' if higher else 'lower'} is better)"


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    from modelrank.markdown import table

    return table(header, body, empty="—")


def to_markdown(board: Leaderboard) -> str:
    out = ["# modelrank leaderboard", ""]
    if not board.targets:
        out += ["No results in the database yet.", ""]
    for t in board.targets:
        out += _md_target(t)
    out += ["## Across targets: weighted τ of each score against accuracy", ""]
    if not board.correlations:
        out += ["No rank correlations stored yet (they come from `modelrank benchmark`).", ""]
    for tt in board.correlations:
        out += [
            f"Suite `{tt.title}`; rows sorted by mean weighted τ"
            + (
                "; [95 % interval] where the suite computed one."
                if any(r.get("interval") for r in tt.rows)
                else "."
            )
            + (
                " A score beats the best static baseline only when its mean's interval lies "
                "above the baseline's mean."
                if _has_verdicts(tt)
                else ""
            ),
            "",
        ]
        out += _md_table(_tau_header(tt), [_tau_cells(tt, r) for r in tt.rows]) + [""]
        if any(r["n_datasets"] < len(tt.datasets) for r in tt.rows):
            out += ["† mean over fewer datasets (the score is missing on some).", ""]
    return "\n".join(out)


def _md_target(t: TargetBoard) -> list[str]:
    title = (
        f"## {t.dataset}"
        + (f" — ranked by {t.ranked_by}" if t.ranked_by else "")
        + (f" — {t.recipe}" if t.recipe else "")
    )
    out = [title, ""]
    if not t.rows:
        return out + ["No scores or accuracies stored for this target.", ""]
    if t.ranked_by is not None and not any(t.ranked_by in r["scores"] for r in t.rows):
        out += [f"No {t.ranked_by} scores on this target; backbones listed by name.", ""]
    out += _md_table(_target_header(t), [_target_cells(t, r) for r in t.rows]) + [""]
    notes = [
        f"- {r['model']}: {m} n/a ({why})" for r in t.rows for m, why in r["unavailable"].items()
    ]
    if t.runs:
        out += [f"Raw score values{_direction_note(t)}; {_runs_note(t)}.", ""]
    return out + (notes + [""] if notes else [])


def to_csv(board: Leaderboard) -> str:
    """Two blocks separated by one empty line: the per-target rows (header ``dataset,recipe,
    ranked_by,rank,model,<scores…>,<protocol> acc (%)…``; recipe empty when a target has one),
    then the τ rows (``suite,score,<datasets…>,mean,
    n_datasets,mean_low,mean_high,verdict``: the mean's 95 % interval and the verdict against the
    best static baseline where the benchmark stored them; the suite is written "SUITE (against
    GT)" for a second ground truth).
    Unavailable / missing cells are empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    metrics = _dedupe(m for t in board.targets for m in t.metrics)
    protocols = _dedupe(p for t in board.targets for p in t.protocols)
    w.writerow(
        ["dataset", "recipe", "ranked_by", "rank", "model"]
        + metrics
        + [f"{p} acc (%)" for p in protocols]
    )
    for t in board.targets:
        for r in t.rows:
            w.writerow(
                [
                    t.dataset,
                    t.recipe,
                    t.ranked_by or "",
                    "" if r["rank"] is None else r["rank"],
                    r["model"],
                ]
                + [_repr(r["raw"].get(m)) for m in metrics]
                + [_repr(r["accuracy"].get(p)) for p in protocols]
            )
    buf.write("\n")
    datasets = _dedupe(d for tt in board.correlations for d in tt.datasets)
    w.writerow(
        ["suite", "score"] + datasets + ["mean", "n_datasets", "mean_low", "mean_high", "verdict"]
    )
    for tt in board.correlations:
        for r in tt.rows:
            iv = r.get("mean_interval") or (None, None)
            w.writerow(
                [tt.title, r["score"]]
                + [_repr(r["weighted_tau"].get(d)) for d in datasets]
                + [
                    _repr(r["mean"]),
                    r["n_datasets"],
                    _repr(iv[0]),
                    _repr(iv[1]),
                    r.get("verdict") or "",
                ]
            )
    return buf.getvalue()


def _repr(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def to_json(board: Leaderboard) -> str:
    return json.dumps(board.to_dict(), indent=1, allow_nan=False)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;
 color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8rem 0;font-variant-numeric:tabular-nums;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th{background:#f3f3f3;position:sticky;top:0;z-index:1;cursor:pointer}
th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
td.model,th.model{text-align:left}
tr:nth-child(even) td{background:#fafafa}
tr.best td{background:#e6f4ea;font-weight:600}
tr.control td{color:#777;font-style:italic}
td small{display:block;color:#666;font-size:.8em}
.note{color:#666;font-size:.9rem}.empty{color:#a33;font-style:italic}
.wide{overflow-x:auto;max-width:100%}
details{margin:.4rem 0}summary{cursor:pointer;color:#245}
figure{margin:1rem 0}img{max-width:100%;height:auto}
"""

#: Click a column header to sort its table (numbers as numbers, "—"/"n/a" last); inline, so the
#: page stays one offline file.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(t=>{
 t.querySelectorAll("thead th").forEach((th,i)=>th.addEventListener("click",()=>{
  const asc=th.dataset.dir!=="asc";
  t.querySelectorAll("thead th").forEach(h=>delete h.dataset.dir);
  th.dataset.dir=asc?"asc":"desc";
  const key=r=>{const v=r.children[i].textContent.trim(),n=parseFloat(v);return isNaN(n)?null:n;};
  const rows=[...t.tBodies[0].rows];
  rows.sort((a,b)=>{const x=key(a),y=key(b);
   if(x===null||y===null)return (x===null)-(y===null);return asc?x-y:y-x;});
  rows.forEach(r=>t.tBodies[0].appendChild(r));}));});
"""

#: Scores a target's HTML table shows beside the one it is ranked by (those stored, in this
#: order, up to :data:`HTML_SCORES_SHOWN` in all); every score is in the "all scores" table
#: behind a toggle, so that a page with 30 scores still fits 1280 px.
HTML_PREFERRED_SCORES = (
    "knn",
    "linear",
    "logme",
    "nleep",
    "sfda",
    "ncti",
    "betti-cubical",
    "hscore",
    "leep",
    "gbc",
)
HTML_SCORES_SHOWN = 6


def to_html(board: Leaderboard) -> str:
    """One self-contained page: inline CSS, plots as inline base64 PNGs, no external reference."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>modelrank leaderboard</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>modelrank leaderboard</h1>",
        f'<p class="note">From the results database <code>{e(board.database)}</code>.</p>',
    ]
    links = [
        f'<a href="#{_anchor(t.dataset + (" " + t.recipe if t.recipe else ""))}">'
        f"{e(t.dataset + (' (' + t.recipe + ')' if t.recipe else ''))}</a>"
        for t in board.targets
    ]
    links.append('<a href="#across-targets">across targets</a>')
    parts.append('<nav class="note">Targets: ' + " · ".join(links) + "</nav>")
    if not board.targets:
        parts.append('<p class="empty">No results in the database yet.</p>')
    for t in board.targets:
        parts += _html_target(t)
    parts.append(
        '<h2 id="across-targets">Across targets: weighted τ of each score against accuracy</h2>'
    )
    if not board.correlations:
        parts.append(
            '<p class="empty">No rank correlations stored yet '
            "(they come from <code>modelrank benchmark</code>).</p>"
        )
    for tt in board.correlations:
        parts.append(f"<h3>Suite {e(tt.title)}</h3>")
        parts.append(_html_table(_tau_header(tt), [_tau_cells(tt, r) for r in tt.rows], "tau"))
        if any(r["n_datasets"] < len(tt.datasets) for r in tt.rows):
            parts.append(
                '<p class="note">† mean over fewer datasets (the score is missing on some).</p>'
            )
        if any(r.get("interval") for r in tt.rows):
            parts.append(
                '<p class="note">[low, high]: 95 % interval over half-samples of the '
                "scored images.</p>"
            )
        if _has_verdicts(tt):
            parts.append(
                '<p class="note">A score beats the best static baseline only when its '
                "mean's interval lies above the baseline's mean.</p>"
            )
        parts.append(_figure(_plot_tau_bars(tt), f"Mean weighted τ per score, suite {tt.title}"))
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def _html_cell(v: str, kind: str) -> str:
    text = html.escape(v) or "—"
    if kind == "tau" and " [" in text:  # the interval on its own line, smaller
        value, iv = text.split(" [", 1)
        text = f"{value}<small>[{iv}</small>"
    return text


def _html_table(
    header: list[str], body: list[list[str]], kind: str, row_classes: list[str] | None = None
) -> str:
    e = html.escape
    cls = [' class="model"' if h in ("model", "score") else "" for h in header]
    head = (
        "<thead><tr>"
        + "".join(f"<th{c}>{e(h)}</th>" for h, c in zip(header, cls))
        + "</tr></thead>"
    )
    rows = []
    for i, row in enumerate(body):
        rc = row_classes[i] if row_classes else ""
        rows.append(
            (f'<tr class="{rc}">' if rc else "<tr>")
            + "".join(f"<td{c}>{_html_cell(v, kind)}</td>" for v, c in zip(row, cls))
            + "</tr>"
        )
    return f'<table class="{kind} sortable">{head}<tbody>{"".join(rows)}</tbody></table>'


def _shown_metrics(t: TargetBoard) -> list[str]:
    """The scores of ``t``'s compact table: the one it is ranked by, then the preferred ones."""
    shown = [m for m in t.metrics[:1]]
    for m in HTML_PREFERRED_SCORES + tuple(t.metrics):
        if len(shown) >= HTML_SCORES_SHOWN:
            break
        if m in t.metrics and m not in shown:
            shown.append(m)
    return shown


def _html_target(t: TargetBoard) -> list[str]:
    e = html.escape
    title = (
        e(t.dataset)
        + (f" — ranked by {e(t.ranked_by)}" if t.ranked_by else "")
        + (f" — {e(t.recipe)}" if t.recipe else "")
    )
    out = [f'<h2 id="{_anchor(t.dataset + (" " + t.recipe if t.recipe else ""))}">{title}</h2>']
    if not t.rows:
        return out + ['<p class="empty">No scores or accuracies stored for this target.</p>']
    if t.ranked_by is not None and not any(t.ranked_by in r["scores"] for r in t.rows):
        out.append(
            f'<p class="empty">No {e(t.ranked_by)} scores on this target; '
            "backbones listed by name.</p>"
        )
    classes = [
        " ".join(
            c
            for c in ("best" if r["rank"] == 1 else "", "control" if r.get("control") else "")
            if c
        )
        for r in t.rows
    ]
    compact = TargetBoard(t.dataset, t.ranked_by, _shown_metrics(t), t.protocols, t.rows)
    out.append(
        _html_table(
            _target_header(compact), [_target_cells(compact, r) for r in t.rows], "ranking", classes
        )
    )
    if len(compact.metrics) < len(t.metrics):
        out.append(
            f'<details><summary>All {len(t.metrics)} scores</summary><div class="wide">'
            + _html_table(
                _target_header(t), [_target_cells(t, r) for r in t.rows], "ranking", classes
            )
            + "</div></details>"
        )
    if t.runs:
        out.append(
            f'<p class="note">Raw score values (ranked by the higher-is-better score; '
            f"the first row, highlighted, is the recommended backbone; click a column to "
            f"sort); {e(_runs_note(t))}.</p>"
        )
    notes = [
        f"{r['model']}: {m} n/a ({why})" for r in t.rows for m, why in r["unavailable"].items()
    ]
    if notes:
        out.append(
            f"<details><summary>{len(notes)} unavailable scores and why</summary>"
            '<ul class="note">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul></details>"
        )
    if t.omega:
        out.append(_figure(_plot_omega(t), f"Ω over normalised depth on {t.dataset}"))
    else:
        out.append('<p class="empty">No Betti arrays or Ω stored for this target.</p>')
    if t.protocols and any(_points(t, m, t.protocols[0])[0] for m in t.metrics):
        out.append(
            _figure(_plot_scatter(t), f"Scores against {t.protocols[0]} accuracy on {t.dataset}")
        )
    else:
        out.append(
            '<p class="empty">No accuracies stored for this target, so no score-vs-accuracy '
            "plot.</p>"
        )
    return out


def _anchor(dataset: str) -> str:
    """A fragment id for a target's section (letters, digits, ``-`` and ``_`` only)."""
    return "target-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in dataset)


def _figure(png: bytes, caption: str) -> str:
    e = html.escape
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
        f'<figcaption class="note">{e(caption)}</figcaption></figure>'
    )


def _plot_omega(t: TargetBoard) -> bytes:
    """Ω(layer) against depth normalised to [0, 1] (first probe layer 0, last 1), one line per model."""
    fig = style.figure(7.0, 3.8)
    ax = fig.add_subplot()
    for model, omega in sorted(t.omega.items()):
        x = np.linspace(0.0, 1.0, len(omega)) if len(omega) > 1 else np.zeros(1)
        ax.plot(x, omega, marker="o", markersize=3, label=model)
    ax.set_xlabel("normalised depth")
    ax.set_ylabel("Ω (mean b0+b1+b2)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_title(f"{t.dataset}: topological complexity over depth")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return style.png_bytes(fig)


def _plot_scatter(t: TargetBoard) -> bytes:
    """One panel per score: score (higher is better) against accuracy, τ in each panel's title."""
    protocol = t.protocols[0]
    metrics = [m for m in t.metrics if _points(t, m, protocol)[0]]
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig = style.figure(3.6 * ncol, 3.0 * nrow)
    for i, m in enumerate(metrics):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        x, y = _points(t, m, protocol)
        ax.scatter(x, y, s=18)
        for r in t.rows:
            if m in r["scores"] and protocol in r["accuracy"]:
                ax.annotate(
                    r["model"],
                    (r["scores"][m], r["accuracy"][protocol]),
                    fontsize=6,
                    xytext=(2, 2),
                    textcoords="offset points",
                )
        tau = t.tau.get(m, {}).get("value")
        ax.set_title(f"{m}: τw = {'n/a' if tau is None else format(tau, '.3f')}", fontsize=10)
        ax.set_xlabel(f"{_score_label(t, m)} (higher is better)", fontsize=8)
        ax.set_ylabel(f"{protocol} acc (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{t.dataset}: score vs {protocol} accuracy")
    return style.png_bytes(fig)


def _score_label(t: TargetBoard, metric: str) -> str:
    """``metric``, or ``−metric`` when its score is the negated raw value (lower-is-better)."""
    pairs = [(r["raw"][metric], r["scores"][metric]) for r in t.rows if metric in r["scores"]]
    negated = any(raw != 0 for raw, _ in pairs) and all(sc == -raw for raw, sc in pairs)
    return f"\u2212{metric}" if negated else metric


def _plot_tau_bars(tt: TauTable) -> bytes:
    """Horizontal bars of the mean weighted τ per score (scores without a mean are left out)."""
    rows = [r for r in tt.rows if r["mean"] is not None]
    fig = style.figure(7.0, 0.8 + 0.32 * max(len(rows), 1))
    ax = fig.add_subplot()
    names = [r["score"] for r in rows][::-1]
    means = [r["mean"] for r in rows][::-1]
    bars = ax.barh(
        names, means, color=[style.POSITIVE if v >= 0 else style.NEGATIVE for v in means]
    )
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in means], padding=3, fontsize=8)
    ax.axvline(0.0, color=style.REFERENCE, linewidth=0.8)
    ax.set_xlim(-1.1, 1.1)
    ax.set_xlabel(f"mean weighted τ over the datasets with a value (of {len(tt.datasets)})")
    ax.set_title(f"suite {tt.title}")
    ax.grid(axis="x", alpha=0.3)
    return style.png_bytes(fig)
