"""The cells every rendering of a leaderboard shares: headers, formatted values, the notes under
a table."""

from __future__ import annotations

from typing import Any

from modelrank.errors import MetricError
from modelrank.leaderboard.board import TargetBoard, TauTable
from modelrank.metrics import get_metric


def num(v: float | None, spec: str) -> str:
    return "" if v is None else format(v, spec)


def target_header(t: TargetBoard) -> list[str]:
    return ["rank", "model"] + t.metrics + [f"{p} acc (%)" for p in t.protocols]


def target_cells(t: TargetBoard, r: dict[str, Any]) -> list[str]:
    model = r["model"] + (f" ({r['control']})" if r.get("control") else "")
    cells = ["" if r["rank"] is None else str(r["rank"]), model]
    for m in t.metrics:
        cells.append("n/a" if m in r["unavailable"] else num(r["raw"].get(m), ".4g"))
    cells += [num(r["accuracy"].get(p), ".2f") for p in t.protocols]
    return cells


def has_verdicts(tt: TauTable) -> bool:
    return tt.baseline is not None and any(r.get("verdict") for r in tt.rows)


def tau_header(tt: TauTable) -> list[str]:
    head = ["score"] + tt.datasets + ["mean"]
    if has_verdicts(tt):
        head.append(f"beats the best static baseline ({tt.baseline[0]}, {tt.baseline[1]:.3f})?")
    return head


def tau_cells(tt: TauTable, r: dict[str, Any]) -> list[str]:
    def with_interval(v: float | None, iv: tuple[float, float] | None) -> str:
        return num(v, ".3f") + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv and v is not None else "")

    mean = with_interval(r["mean"], r.get("mean_interval"))
    if r["mean"] is not None and r["n_datasets"] < len(tt.datasets):
        mean += "†"
    cells = (
        [r["score"]]
        + [with_interval(r["weighted_tau"][d], r.get("interval", {}).get(d)) for d in tt.datasets]
        + [mean]
    )
    if has_verdicts(tt):
        cells.append(r.get("verdict") or "")
    return cells


def runs_note(t: TargetBoard) -> str:
    parts = [
        f"run {r['run_id']} ({r['split']}, "
        f"{'all' if r['per_class'] is None else r['per_class']} per class)"
        for r in t.runs
    ]
    return "scores from " + "; ".join(parts) if parts else ""


def direction_note(t: TargetBoard) -> str:
    """ " (ranked by X, higher is better)" from the score registry, or "" for an unknown score."""
    if t.ranked_by is None:
        return ""

    try:
        higher = get_metric(t.ranked_by).higher_is_better
    except MetricError:
        return f" (ranked by {t.ranked_by})"
    return f" (ranked by {t.ranked_by}, {'higher' if higher else 'lower'} is better)"
