"""A benchmark result as Markdown: accuracies with their seed spread, then per ground truth the
weighted tau (with 95 % bootstrap intervals), Kendall tau and rel@1 of every score, the static
baselines beside them, and whether each score beats the best baseline outside its interval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from modelrank.benchmark_stats import paired_mean_difference
from modelrank.util.markdown import table

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


def whole_pool_baselines(res: "BenchmarkResult", label: str) -> list[str]:
    """The static baselines (in ``res.baselines`` order) correlated against ground truth
    ``label`` over the whole pool on every target — the only ones a score is judged against."""
    records = res.tables[label]["records"]
    return [
        b
        for b in res.baselines
        if any(r["score"] == b for r in records)
        and all(r["n"] >= len(res.pool) for r in records if r["score"] == b)
    ]


def best_baseline(res: "BenchmarkResult", label: str) -> tuple[str | None, float]:
    """(name, mean weighted tau over the included targets) of the static baseline with the
    highest such mean, among those known for the whole pool on every target (ImageNet top-1 of
    a pool of truncated networks, known for 3 of them, would otherwise win with a tau over 3
    backbones)."""
    best: tuple[str | None, float] = (None, float("-inf"))
    for b in whole_pool_baselines(res, label):
        m = res.mean(b, label)
        if math.isfinite(m) and m > best[1]:
            best = (b, m)
    return best if best[0] is not None else (None, float("nan"))


def paired(res: "BenchmarkResult", label: str) -> dict[str, tuple[float, float, float, int]]:
    """Every score's paired difference from the best static baseline
    (:func:`paired_differences`); {} without a baseline or replicates."""
    name, _ = best_baseline(res, label)
    return {} if name is None else paired_differences(res, label, name)


def verdict(
    res: "BenchmarkResult",
    label: str,
    score: str,
    diffs: dict[str, tuple[float, float, float, int]] | None = None,
) -> str:
    """ "baseline", "beats" (the paired interval of τ(score) − τ(best static baseline) lies above
    0), "does not beat", "no interval" or "no baseline"."""
    if score in res.baselines:
        return "baseline"
    name, _ = best_baseline(res, label)
    if name is None:
        return "no baseline"
    d = (diffs if diffs is not None else paired(res, label)).get(score)
    if d is None or not math.isfinite(d[1]):
        return "no interval"
    return "beats" if d[1] > 0 else "does not beat"


def _target_head(res: "BenchmarkResult", label: str) -> list[str]:
    noisy = set(res.too_noisy(label))
    return [t + (" (too noisy)" if t in noisy else "") for t in res.targets]


def _ceiling_row(res: "BenchmarkResult", label: str, extra: int) -> list[str] | None:
    ceil = res.ceilings.get(label, {})
    if not ceil:
        return None
    cells = [_fmt(ceil[t].weighted_tau) if t in ceil else "–" for t in res.targets]
    return ["*noise ceiling (split-half)*"] + cells + [_fmt(res.mean_ceiling(label))] + [""] * extra


def _table(
    res: "BenchmarkResult", label: str, field: str, title: str, with_intervals: bool
) -> list[str]:
    recs = {(r["score"], r["dataset"]): r for r in res.tables[label]["records"]}
    pool = len(res.pool) or max((r["n"] for r in recs.values()), default=0)
    head = ["score"] + _target_head(res, label) + ["mean"]
    diffs = paired(res, label) if with_intervals else {}
    if with_intervals:
        name, best = best_baseline(res, label)
        head += [
            f"− {name} (paired)" if name else "− best baseline (paired)",
            f"beats the best static baseline ({name}, {_fmt(best)})?"
            if name
            else "beats the best static baseline?",
        ]
    rows = []
    ceiling = _ceiling_row(res, label, 2 if with_intervals else 0)
    if field == "weighted_tau" and ceiling is not None:
        rows.append(ceiling)
    ivs = res.intervals.get(label, {}) if with_intervals else {}
    keep = set(res.included(label))
    for s in res.scores:
        cells = [recs.get((s, t)) for t in res.targets]
        if not any(cells):
            continue
        row = [s + (" (baseline)" if s in res.baselines else "")]
        for t, r in zip(res.targets, cells):
            row.append("–" if r is None else _cell(r[field], ivs.get(s, {}).get(t), r["n"], pool))
        mean = _mean([r[field] for t, r in zip(res.targets, cells) if r is not None and t in keep])
        row.append(_cell(mean, ivs.get(s, {}).get("mean"), None, pool))
        if with_intervals:
            d = diffs.get(s)
            row.append("–" if d is None else _cell(d[0], d[1:], None, pool))
            row.append(verdict(res, label, s, diffs))
        rows.append(row)
    return [f"### {title}", ""] + table(head, rows) + [""]


def _fraction_table(res: "BenchmarkResult", label: str) -> list[str]:
    """Each score's weighted tau as a fraction of its target's ceiling (and the mean tau over the
    mean ceiling of the included targets)."""
    ceil = res.ceilings.get(label, {})
    if not any(math.isfinite(c.weighted_tau) for c in ceil.values()):
        return []
    tau = res.tables[label]["tau"]
    mean_ceiling = res.mean_ceiling(label)
    rows = []
    for s in res.scores:
        col = tau.get(s)
        if not col:
            continue
        cells = [
            _fmt(ceil[t].fraction(col[t]), 2) if t in ceil and t in col else "–"
            for t in res.targets
        ]
        m = res.mean(s, label)
        frac = m / mean_ceiling if math.isfinite(m) and mean_ceiling > 0 else float("nan")
        rows.append([s] + cells + [_fmt(frac, 2)])
    return (
        [f"### Weighted tau as a fraction of the noise ceiling ({label})", ""]
        + table(["score"] + _target_head(res, label) + ["mean τ / mean ceiling"], rows)
        + [""]
    )


def _ceiling_lines(res: "BenchmarkResult", label: str) -> list[str]:
    ceil = res.ceilings.get(label, {})
    if not ceil:
        return []
    lines = [
        f"Noise ceiling of {label} (split-half weighted τ over every balanced split of the "
        "seeds; Kendall τ-b and the Spearman–Brown estimate for the mean of all seeds "
        "beside it; docs/methods.md):",
        "",
    ]
    for t in res.targets:
        c = ceil.get(t)
        if c is None:
            continue
        if not math.isfinite(c.weighted_tau):
            lines.append(f"- {t}: not measured ({c.reason})")
            continue
        state = (
            "can rank"
            if c.rankable
            else "**ground truth too noisy to rank**: kept out of the means, shown apart"
        )
        lines.append(
            f"- {t}: {c.weighted_tau:.2f} (Kendall {c.kendall:.2f}; Spearman–Brown "
            f"{c.spearman_brown:.2f}; {c.seeds} seeds, {c.splits} splits) — {state}"
        )
    return lines + [""]


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
        lines.append(
            f"Seed spread ({label}; ± is half the range over seeds; a pair of backbones "
            "is *within the spread* when their seed ranges overlap), headline pool:"
        )
        lines.append("")
        for t in res.targets:
            if t in sp:
                s = sp[t]
                lines.append(
                    f"- {t}: mean ± {_fmt(s['mean_half_range'], 2)} points; "
                    f"{s['pairs_within']} of {s['pairs']} backbone pairs within it"
                )
        lines.append("")
    return lines


def render_markdown(
    res: "BenchmarkResult", published: dict[str, dict[str, float]] | None = None
) -> str:
    """The whole report (see the module docstring)."""
    lines: list[str] = []
    labels = list(res.tables) or ["headline"]
    if res.ground_truths:
        lines += [
            f"Pool: {len(res.pool)} backbones ({', '.join(res.pool)})"
            + (f"; controls kept out of it: {', '.join(res.controls)}" if res.controls else "")
            + ".",
            "",
        ]
        lines.append("Ground truths:")
        lines += [f"- {lb}: {gt.description}" for lb, gt in res.ground_truths.items()]
        lines += [
            "",
            f"Scores computed at {res.score_resolution()}; each τ table names the "
            "resolution of its scores and of its ground truth.",
            "",
        ]
        if res.bootstrap:
            b = res.bootstrap
            lines += [
                f"Intervals: 95 % intervals over {b['replicates']} joint resamples: "
                f"each pairs a half-sample of the scored images (half of each class, "
                f"without replacement, seed {b['seed']}; see modelrank/benchmark_stats.py "
                "for why not with replacement; every score recomputed from the cached "
                "embeddings) with a resample of each backbone's ground-truth seeds "
                "(fine-tuning or linear-probe; with replacement), so an interval carries "
                "both noises. Each interval is the "
                "replicates' spread placed around its printed value (their median moved "
                "onto it), so it contains it. A score *beats* the best static baseline "
                "when the interval of its paired difference, mean τ(score) − mean "
                "τ(baseline) over the same resamples, lies above 0 (a static baseline "
                "counts only where it is known for every backbone of the pool). Means are "
                "over the targets whose ground truth can rank (ceiling ≥ 0.5, or not "
                "measured)."
                + (
                    f" No intervals for {', '.join(b['skipped'])} (too slow to recompute "
                    f"{b['replicates']} times here)."
                    if b.get("skipped")
                    else ""
                ),
                "",
            ]
        for lb in labels:
            lines += [f"## Ground truth: {lb}", "", "Test accuracy, %:", ""]
            lines += _accuracy_table(res, lb)
            lines += _ceiling_lines(res, lb)
            at = (
                f" (scores at {res.score_resolution()}, ground truth at "
                f"{res.ground_truths[lb].resolution})"
            )
            lines += _table(
                res,
                lb,
                "weighted_tau",
                f"Weighted Kendall tau (scipy.stats.weightedtau) against {lb}{at}",
                bool(res.intervals.get(lb)),
            )
            lines += _fraction_table(res, lb)
            lines += _table(res, lb, "kendall_tau", f"Kendall tau-b against {lb}", False)
            lines += _table(res, lb, "rel_at_1", f"rel@1 against {lb}", False)
        if res.control_tau:
            lines += [
                "## With the controls in the pool",
                "",
                f"Weighted tau against the {res.control_truth or 'headline'} ground truth "
                f"when the pool also holds "
                f"{', '.join(res.controls)} (telling random from pretrained weights is easy; "
                "this is not the headline number).",
                "",
            ]
            lines += table(
                ["score"] + res.targets + ["mean"],
                [
                    [s]
                    + [_fmt(col.get(t)) for t in res.targets]
                    + [_fmt(_mean(list(col.values())))]
                    for s in res.scores
                    if (col := res.control_tau.get(s))
                ],
            ) + [""]
    else:
        lines += _plain(res)
    if res.history_tau:
        lines += _history_lines(res)
    if published:
        scores = sorted({s for col in published.values() for s in col})
        lines += [
            "Published weighted tau (SFDA paper) for comparison"
            + (
                ", with the history prior's (computed here from the published accuracies)"
                if res.history_tau
                else ""
            )
            + ":",
            "",
        ]
        rows = [[s] + [_fmt(published[c].get(s)) for c in published] for s in scores]
        if res.history_tau:
            rows.append(
                [HISTORY_ROW]
                + [
                    _fmt(_history_mean(res) if c == "mean" else res.history_tau.get(c))
                    for c in published
                ]
            )
        lines += table(["score"] + list(published), rows)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


#: The history prior's row in a report.
HISTORY_ROW = "history prior"


def _history_mean(res: "BenchmarkResult") -> float:
    return _mean(list(res.history_tau.values()))


def _history_lines(res: "BenchmarkResult") -> list[str]:
    """The history prior's weighted τ on every target of a published ground truth."""
    targets = list(res.history_tau)
    return (
        [
            "### History prior against the published accuracies (needs no images)",
            "",
            "Each backbone's mean standardised published accuracy on the other targets "
            "(modelrank.history; the target itself left out), correlated with its accuracy on "
            "the target: what a table of past fine-tunes predicts before any image is seen. "
            "No interval: the published accuracies carry no seeds to resample.",
            "",
        ]
        + table(
            ["score"] + targets + ["mean"],
            [
                [HISTORY_ROW]
                + [_fmt(res.history_tau[t]) for t in targets]
                + [_fmt(_history_mean(res))]
            ],
        )
        + [""]
    )


def _plain(res: "BenchmarkResult") -> list[str]:
    return table(
        ["score"] + res.targets + ["mean"],
        [
            [s] + [_fmt(res.tau.get(s, {}).get(t)) for t in res.targets] + [_fmt(res.mean(s))]
            for s in res.scores
        ],
    ) + [""]


def summary_rows(res: "BenchmarkResult") -> list[dict[str, Any]]:
    """One row per ground truth × score: its mean weighted tau over the included targets (those
    with a value), the mean's 95 % joint interval, and the paired verdict against the best
    static baseline (:func:`verdict`), with that baseline's name and mean tau; the rows the
    results database keeps (``Store.record_tau_summaries``)."""
    rows = []
    for lb, tab in res.tables.items():
        base, base_tau = best_baseline(res, lb)
        diffs = paired(res, lb)
        keep = set(res.included(lb))
        for s in res.scores + [b for b in res.baselines if b not in res.scores]:
            vals = [
                v
                for t, v in tab["tau"].get(s, {}).items()
                if t in keep and v is not None and math.isfinite(v)
            ]
            if not vals:
                continue
            iv = res.intervals.get(lb, {}).get(s, {}).get("mean")
            ok = iv is not None and math.isfinite(iv[0])
            rows.append(
                {
                    "ground_truth": lb,
                    "score": s,
                    "n_datasets": len(vals),
                    "mean_tau": float(np.mean(vals)),
                    "tau_low": iv[0] if ok else None,
                    "tau_high": iv[1] if ok else None,
                    "verdict": verdict(res, lb, s, diffs),
                    "baseline": base,
                    "baseline_tau": base_tau,
                }
            )
    return rows


def paired_differences(
    res: "BenchmarkResult", label: str, baseline: str
) -> dict[str, tuple[float, float, float, int]]:
    """{score: (mean τ(score) − mean τ(baseline), low, high, replicates)}: the difference over the
    targets included in the mean where both have a point, its 95 % interval from the same
    joint resamples (paired), placed around the point. Scores without replicates are absent."""
    reps = res.replicates.get(label, {})
    point = res.tables[label]["tau"]
    base_reps, base_point = reps.get(baseline), point.get(baseline, {})
    if base_reps is None:
        return {}
    out = {}
    for s, cols in reps.items():
        if s == baseline:
            continue
        d = paired_mean_difference(
            point.get(s, {}), cols, base_point, base_reps, res.included(label)
        )
        if d is not None:
            out[s] = d
    return out
