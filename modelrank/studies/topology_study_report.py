"""The topology study as Markdown, CSV and a figure (:mod:`.topology_study` computes it)."""

from __future__ import annotations

import csv
import io
import math
from typing import Sequence

import numpy as np

from modelrank.studies import topology_variants as tv
from modelrank.studies.topology_study import (
    FAITHFUL,
    FUSED_WITH,
    SuiteVariants,
    best_variant,
    fusion,
    held_out,
    partial_spearman,
)
from modelrank.util import plot_style as style
from modelrank.util.markdown import table

FACTORS = ("source", "depth", "statistic", "pooling")


def _f(v: float | None, d: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{d}f}"


def _iv(iv) -> str:
    if not iv or not all(math.isfinite(x) for x in iv):
        return ""
    return f" [{iv[0]:.2f}, {iv[1]:.2f}]"


def _factor_levels(variant: str) -> dict[str, str]:
    parts = variant.split("/")
    return {
        "source": "/".join(parts[:-3]),
        "depth": parts[-3],
        "statistic": parts[-2],
        "pooling": parts[-1],
    }


def factor_means(study: SuiteVariants) -> dict[str, dict[str, float]]:
    """{factor: {level: mean over the variants with that level of their mean tau}}."""
    out: dict[str, dict[str, list[float]]] = {f: {} for f in FACTORS}
    for v in tv.variant_names():
        m = study.mean(v)
        if not math.isfinite(m):
            continue
        for f, level in _factor_levels(v).items():
            out[f].setdefault(level, []).append(m)
    return {f: {lv: float(np.mean(x)) for lv, x in d.items()} for f, d in out.items()}


def _partial(study: SuiteVariants, variant: str) -> float:
    vals = []
    for t in study.targets:
        a, k = study.scores[t].get(variant, {}), study.established.get("knn", {}).get(t, {})
        models = [m for m in study.pool if m in a and m in k and m in study.accuracies[t]]
        if len(models) >= 4:
            vals.append(
                partial_spearman(
                    [a[m] for m in models],
                    [study.accuracies[t][m] for m in models],
                    [k[m] for m in models],
                )
            )
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def render_markdown(studies: Sequence[SuiteVariants]) -> str:
    """The study's tables: held-out choice both ways, the established scores, factor means,
    each suite's best variants, fusion, partial correlation and cost."""
    lines = []
    names = tv.variant_names()
    for st in studies:
        if st.columns_per_class is not None:
            lines += [
                f"**Deviation on `{st.suite}`:** the cubical columns (and their half-samples) "
                f"saw {st.columns_per_class} images per class of the score split, fewer than "
                "the suite's scored images, because every column of every image costs too "
                "much at this resolution (see Cost); the variant list is unchanged.",
                "",
            ]
    pairs = [(a, b) for a in studies for b in studies if a is not b]
    rows = []
    for a, b in pairs:
        h = held_out(a, b)
        d = h["difference_held_out"]
        rows.append(
            [
                a.suite,
                b.suite,
                f"`{h['variant']}`",
                _f(h["mean_chosen"]),
                _f(h["mean_held_out"]) + _iv(h["interval_held_out"]),
                _f(h["faithful_held_out"]) + _iv(h["faithful_interval"]),
                "–" if d is None else _f(d[0]) + _iv(d[1:]),
                h["verdict"],
            ]
        )
    lines += ["## Held out: chosen on one suite, reported on the other", ""]
    lines += table(
        [
            "chosen on",
            "reported on",
            "variant",
            "mean τ where chosen",
            "mean τ held out [95 %]",
            "faithful θ held out [95 %]",
            "difference (paired) [95 %]",
            "verdict",
        ],
        rows,
    )
    lines += [
        "",
        "## The established scores beside them (headline ground truth, mean τ [95 %])",
        "",
    ]
    scores = sorted({k for s in studies for k in s.compared})
    lines += table(
        ["score"] + [s.suite for s in studies],
        [
            [k]
            + [
                (_f(s.compared[k]["mean"]) + _iv(s.compared[k]["interval"]))
                if k in s.compared
                else "—"
                for s in studies
            ]
            for k in scores
        ],
    )
    lines += ["", "## Which factor matters: mean over all variants with each level", ""]
    for f in FACTORS:
        means = [factor_means(s)[f] for s in studies]
        levels = list(dict.fromkeys(lv for m in means for lv in m))
        lines += table(
            [f] + [s.suite for s in studies],
            [[f"`{lv}`"] + [_f(m.get(lv)) for m in means] for lv in levels],
        ) + [""]
    for s in studies:
        order = sorted((v for v in names if math.isfinite(s.mean(v))), key=lambda v: -s.mean(v))
        rank = order.index(FAITHFUL) + 1 if FAITHFUL in order else None
        lines += [
            f"## {s.suite}: the ten best of {len(order)} defined variants (faithful θ: "
            f"rank {rank if rank else 'undefined'})",
            "",
        ]
        shown = order[:10] + ([FAITHFUL] if FAITHFUL not in order[:10] else [])
        lines += table(
            ["variant"] + list(s.targets) + ["mean [95 %]"],
            [
                [f"`{v}`"]
                + [_f(s.tau[v].get(t)) for t in s.targets]
                + [_f(s.mean(v)) + _iv(s.intervals.get(v))]
                for v in shown
            ],
        )
        lines.append("")
    rows = []
    for a, b in pairs:
        v = best_variant(a)
        cells = []
        for k in FUSED_WITH:
            alone = b.compared.get(k, {}).get("mean", float("nan"))
            cells += [_f(alone)] + [
                _f(_mean(fusion(b, v, b.established[k], how=h))) for h in ("rank", "z")
            ]
        rows.append([b.suite, f"`{v}`"] + cells + [_f(_partial(b, v))])
    lines += [
        "## Does topology add anything? (held-out variant, on the suite it was not chosen on)",
        "",
    ]
    lines += table(
        ["suite", "variant"]
        + [c for k in FUSED_WITH for c in (f"{k} alone", f"rank avg with {k}", f"z-sum with {k}")]
        + ["partial Spearman with accuracy given knn"],
        rows,
    )
    lines += [
        "",
        "## Cost (wall seconds per image and backbone, this machine; a truncated "
        "network reuses its full-depth network's pass and costs nothing of its own)",
        "",
    ]
    lines += table(
        ["suite", "cubical columns (all 22 sources, one pass)", "Rips sources"],
        [
            [
                s.suite,
                _f(s.seconds_per_image.get("cubical columns"), 4),
                _f(s.seconds_per_image.get("rips"), 4),
            ]
            for s in studies
        ],
    )
    return "\n".join(lines) + "\n"


def _mean(col: dict[str, float]) -> float:
    vals = [v for v in col.values() if math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def to_csv(studies: Sequence[SuiteVariants]) -> str:
    """Every variant of every suite: suite, variant, the four factors, tau per target, mean,
    interval."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["suite", "variant", *FACTORS, "target", "weighted_tau", "mean", "low", "high"])
    for s in studies:
        for v in tv.variant_names():
            lv = _factor_levels(v)
            lo, hi = s.intervals.get(v, (float("nan"), float("nan")))
            for t in s.targets:
                w.writerow(
                    [
                        s.suite,
                        v,
                        *(lv[f] for f in FACTORS),
                        t,
                        repr(s.tau[v].get(t)),
                        repr(s.mean(v)),
                        repr(lo),
                        repr(hi),
                    ]
                )
    return buf.getvalue()


def plot_transfer(studies: Sequence[SuiteVariants], path: str) -> None:
    """Mean tau of every variant on the first suite against the second: does a good variant on
    one suite stay good on the other? The faithful θ and each suite's choice are marked."""
    a, b = studies[0], studies[1]
    names = tv.variant_names()
    x = np.array([a.mean(v) for v in names])
    y = np.array([b.mean(v) for v in names])
    ok = np.isfinite(x) & np.isfinite(y)
    fig = style.figure(6, 6)
    ax = fig.subplots()
    ax.scatter(
        x[ok], y[ok], s=8, alpha=0.4, color=style.BACKGROUND, label="pre-registered variants"
    )
    for v, mark, lab in [
        (FAITHFUL, "*", "faithful θ"),
        (best_variant(a), "s", f"best on {a.suite}"),
        (best_variant(b), "D", f"best on {b.suite}"),
    ]:
        ax.scatter([a.mean(v)], [b.mean(v)], s=90, marker=mark, label=lab)
    ax.axhline(0, color=style.REFERENCE, lw=0.8)
    ax.axvline(0, color=style.REFERENCE, lw=0.8)
    ax.set_xlabel(f"mean weighted τ on {a.suite}")
    ax.set_ylabel(f"mean weighted τ on {b.suite}")
    ax.legend(fontsize=style.LEGEND)
    style.save(fig, path)
