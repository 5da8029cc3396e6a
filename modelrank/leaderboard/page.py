"""A leaderboard as one self-contained HTML page: sortable tables, figures inlined as PNG, its
style sheet and sorting script in the page."""

from __future__ import annotations

import base64
import html
import math

import numpy as np

from modelrank.leaderboard.board import Leaderboard, TargetBoard, TauTable, scatter_points
from modelrank.leaderboard.cells import (
    has_verdicts,
    runs_note,
    target_cells,
    target_header,
    tau_cells,
    tau_header,
)
from modelrank.util import plot_style as style

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
        parts.append(_html_table(tau_header(tt), [tau_cells(tt, r) for r in tt.rows], "tau"))
        if any(r["n_datasets"] < len(tt.datasets) for r in tt.rows):
            parts.append(
                '<p class="note">† mean over fewer datasets (the score is missing on some).</p>'
            )
        if any(r.get("interval") for r in tt.rows):
            parts.append(
                '<p class="note">[low, high]: 95 % interval over half-samples of the '
                "scored images.</p>"
            )
        if has_verdicts(tt):
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
            target_header(compact), [target_cells(compact, r) for r in t.rows], "ranking", classes
        )
    )
    if len(compact.metrics) < len(t.metrics):
        out.append(
            f'<details><summary>All {len(t.metrics)} scores</summary><div class="wide">'
            + _html_table(
                target_header(t), [target_cells(t, r) for r in t.rows], "ranking", classes
            )
            + "</div></details>"
        )
    if t.runs:
        out.append(
            f'<p class="note">Raw score values (ranked by the higher-is-better score; '
            f"the first row, highlighted, is the recommended backbone; click a column to "
            f"sort); {e(runs_note(t))}.</p>"
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
    if t.protocols and any(scatter_points(t, m, t.protocols[0])[0] for m in t.metrics):
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
    metrics = [m for m in t.metrics if scatter_points(t, m, protocol)[0]]
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig = style.figure(3.6 * ncol, 3.0 * nrow)
    for i, m in enumerate(metrics):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        x, y = scatter_points(t, m, protocol)
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
