"""A leaderboard as Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json

from modelrank.leaderboard.board import Leaderboard, TargetBoard, dedupe
from modelrank.leaderboard.cells import (
    direction_note,
    has_verdicts,
    runs_note,
    target_cells,
    target_header,
    tau_cells,
    tau_header,
)
from modelrank.util.markdown import table


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:

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
                if has_verdicts(tt)
                else ""
            ),
            "",
        ]
        out += _md_table(tau_header(tt), [tau_cells(tt, r) for r in tt.rows]) + [""]
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
    out += _md_table(target_header(t), [target_cells(t, r) for r in t.rows]) + [""]
    notes = [
        f"- {r['model']}: {m} n/a ({why})" for r in t.rows for m, why in r["unavailable"].items()
    ]
    if t.runs:
        out += [f"Raw score values{direction_note(t)}; {runs_note(t)}.", ""]
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
    metrics = dedupe(m for t in board.targets for m in t.metrics)
    protocols = dedupe(p for t in board.targets for p in t.protocols)
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
    datasets = dedupe(d for tt in board.correlations for d in tt.datasets)
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
