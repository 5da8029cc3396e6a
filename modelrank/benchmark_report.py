"""A benchmark result as Markdown: accuracies with their seed spread, then per ground truth the
weighted tau (with 95 % bootstrap intervals), Kendall tau and rel@1 of every score, the static
baselines beside them, and whether each score beats the best baseline outside its interval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from modelrank.markdown import table

if TYPE_CHECKING:
    from modelrank.benchmark import BenchmarkResult


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _cell(v: float | None, iv: tuple[float, float, int] | None, n: int | None, pool: int) -> str:
    out = _fmt(v)
    if iv is not None and math.isfinite(iv[0]):
        out += f" [{iv[0]:.2f}, {iv[1]:.2f}]"
    if n is not None and n < pool:
        out += f" (n={n})"
    return out


def _mean(values: list[float]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def best_baseline(res: "BenchmarkResult", label: str) -> tuple[str | None, float]:
    """(name, mean weighted tau) of the static baseline with the highest mean tau, among those
    known for the whole pool on every target (ImageNet top-1 of a pool of truncated networks,
    known for 3 of them, would otherwise win with a tau over 3 backbones)."""
    tau = res.tables[label]["tau"]
    pool = len(res.pool)
    full = {b for b in res.baselines
            if all(r["n"] >= pool for r in res.tables[label]["records"] if r["score"] == b)
            and any(r["score"] == b for r in res.tables[label]["records"])}
    best: tuple[str | None, float] = (None, float("-inf"))
    for b in sorted(full, key=res.baselines.index):
        m = _mean(list(tau.get(b, {}).values()))
        if math.isfinite(m) and m > best[1]:
            best = (b, m)
    return best if best[0] is not None else (None, float("nan"))


def verdict(res: "BenchmarkResult", label: str, score: str) -> str:
    """"baseline", "beats", "does not beat", or "no interval" for one score's mean tau."""
    if score in res.baselines:
        return "baseline"
    name, best = best_baseline(res, label)
    iv = res.intervals.get(label, {}).get(score, {}).get("mean")
    if name is None:
        return "no baseline"
    if iv is None or not math.isfinite(iv[0]):
        return "no interval"
    return "beats" if iv[0] > best else "does not beat"


def _table(res: "BenchmarkResult", label: str, field: str, title: str,
           with_intervals: bool) -> list[str]:
    recs = {(r["score"], r["dataset"]): r for r in res.tables[label]["records"]}
    pool = len(res.pool) or max((r["n"] for r in recs.values()), default=0)
    head = ["score"] + res.targets + ["mean"]
    if with_intervals:
        name, best = best_baseline(res, label)
        head.append(f"beats the best static baseline ({name}, {_fmt(best)})?" if name
                    else "beats the best static baseline?")
    rows = []
    ivs = res.intervals.get(label, {}) if with_intervals else {}
    for s in res.scores:
        cells = [recs.get((s, t)) for t in res.targets]
        if not any(cells):
            continue
        row = [s + (" (baseline)" if s in res.baselines else "")]
        for t, r in zip(res.targets, cells):
            row.append("–" if r is None else _cell(r[field], ivs.get(s, {}).get(t), r["n"], pool))
        mean = _mean([r[field] for r in cells if r is not None])
        row.append(_cell(mean, ivs.get(s, {}).get("mean"), None, pool))
        if with_intervals:
            row.append(verdict(res, label, s))
        rows.append(row)
    return [f"### {title}", ""] + table(head, rows) + [""]


def _accuracy_table(res: "BenchmarkResult", label: str) -> list[str]:
    gt = res.ground_truths[label]
    models = res.pool + res.controls
    rows = []
    for m in models:
        row = [m + (" (control)" if m in res.controls else "")]
        for t in res.targets:
            seeds = gt.per_seed.get(t, {}).get(m)
            if not seeds:
                row.append("–")
            elif len(seeds) == 1:
                row.append(f"{seeds[0]:.1f}")
            else:
                row.append(f"{np.mean(seeds):.1f} ± {np.ptp(seeds) / 2:.1f}")
        rows.append(row)
    lines = table(["model"] + res.targets, rows) + [""]
    sp = res.spread.get(label)
    if sp:
        lines.append(f"Seed spread ({label}; ± is half the range over seeds; a pair of backbones "
                     "is *within the spread* when their seed ranges overlap), headline pool:")
        lines.append("")
        for t in res.targets:
            if t in sp:
                s = sp[t]
                lines.append(f"- {t}: mean ± {_fmt(s['mean_half_range'], 2)} points; "
                             f"{s['pairs_within']} of {s['pairs']} backbone pairs within it")
        lines.append("")
    return lines


def render_markdown(res: "BenchmarkResult", published: dict[str, dict[str, float]] | None = None
                    ) -> str:
    """The whole report (see the module docstring)."""
    lines: list[str] = []
    labels = list(res.tables) or ["headline"]
    if res.ground_truths:
        lines += [f"Pool: {len(res.pool)} backbones ({', '.join(res.pool)})"
                  + (f"; controls kept out of it: {', '.join(res.controls)}" if res.controls
                     else "") + ".", ""]
        lines.append("Ground truths:")
        lines += [f"- {lb}: {gt.description}" for lb, gt in res.ground_truths.items()]
        lines.append("")
        if res.bootstrap:
            b = res.bootstrap
            lines += [f"Intervals: 95 % percentile intervals over {b['replicates']} half-samples "
                      f"of the scored images (half of each class, without replacement, seed "
                      f"{b['seed']}; see modelrank/benchmark_stats.py for why not with "
                      "replacement), every score recomputed from the cached embeddings; "
                      "accuracies held fixed. A score "
                      "*beats* the best static baseline when the lower end of its mean tau's "
                      "interval lies above that baseline's mean tau (a static baseline "
                      "counts only where it is known for every backbone of the pool)."
                      + (f" No intervals for {', '.join(b['skipped'])} (too slow to recompute "
                         f"{b['replicates']} times here)." if b.get("skipped") else ""), ""]
        for lb in labels:
            lines += [f"## Ground truth: {lb}", "", "Test accuracy, %:", ""]
            lines += _accuracy_table(res, lb)
            lines += _table(res, lb, "weighted_tau",
                            f"Weighted Kendall tau (scipy.stats.weightedtau) against {lb}",
                            bool(res.intervals.get(lb)))
            lines += _table(res, lb, "kendall_tau", f"Kendall tau-b against {lb}", False)
            lines += _table(res, lb, "rel_at_1", f"rel@1 against {lb}", False)
        if res.control_tau:
            lines += ["## With the controls in the pool", "",
                      f"Weighted tau against the {res.control_truth or 'headline'} ground truth "
                      f"when the pool also holds "
                      f"{', '.join(res.controls)} (telling random from pretrained weights is easy; "
                      "this is not the headline number).", ""]
            lines += table(["score"] + res.targets + ["mean"],
                           [[s] + [_fmt(col.get(t)) for t in res.targets]
                            + [_fmt(_mean(list(col.values())))]
                            for s in res.scores if (col := res.control_tau.get(s))]) + [""]
    else:
        lines += _plain(res)
    if published:
        scores = sorted({s for col in published.values() for s in col})
        lines += ["Published weighted tau (SFDA paper) for comparison:", ""]
        lines += table(["score"] + list(published),
                       [[s] + [_fmt(published[c].get(s)) for c in published] for s in scores])
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _plain(res: "BenchmarkResult") -> list[str]:
    return table(["score"] + res.targets + ["mean"],
                 [[s] + [_fmt(res.tau.get(s, {}).get(t)) for t in res.targets] + [_fmt(res.mean(s))]
                  for s in res.scores]) + [""]


def summary_rows(res: "BenchmarkResult") -> list[dict[str, Any]]:
    """One row per ground truth × score: its mean weighted tau over the targets (those with a
    value), the mean's 95 % half-sample interval, and the verdict against the best static
    baseline (:func:`verdict`), with that baseline's name and mean tau; the rows the results
    database keeps (``Store.record_tau_summaries``)."""
    rows = []
    for lb, tab in res.tables.items():
        base, base_tau = best_baseline(res, lb)
        for s in res.scores + [b for b in res.baselines if b not in res.scores]:
            vals = [v for v in tab["tau"].get(s, {}).values()
                    if v is not None and math.isfinite(v)]
            if not vals:
                continue
            iv = res.intervals.get(lb, {}).get(s, {}).get("mean")
            ok = iv is not None and math.isfinite(iv[0])
            rows.append({"ground_truth": lb, "score": s, "n_datasets": len(vals),
                         "mean_tau": float(np.mean(vals)),
                         "tau_low": iv[0] if ok else None, "tau_high": iv[1] if ok else None,
                         "verdict": verdict(res, lb, s), "baseline": base,
                         "baseline_tau": base_tau})
    return rows
