"""The history prior fused with a score of the target, chosen on one suite, judged on the other.

Pre-registration (``benchmarks/results/history_fusion.md``, written 2026-12-06 14:08 UTC with an
amendment at 15:03 UTC, both before any fusion was computed), repeated here:

The history prior of a target t is each backbone's mean standardised accuracy over the suite's
other targets (:func:`modelrank.history.history_prior`: at least 2 targets holding at least 3 of
the pool's backbones; a target that is the same task as t is left out; another class subset of
the same data set stays, listed as overlapping). For each score s in {knn, logme, gbc, linear,
ncti} three fusions are formed (:mod:`modelrank.history`):

1. ``rank-avg``: the mean of a backbone's rank under the prior and under s;
2. ``z-sum``: z(prior) + z(s), each standardised over the pool on t;
3. ``fitted``: w·z(prior) + (1 − w)·z(s), w in {0, 0.1, …, 1} chosen to maximise the mean
   weighted τ over the other targets t′ of the suite (ties: the smallest w), where the prior of
   each t′ is computed from the history without t as well, so t's accuracies never choose its
   own weight; undefined where that leaves t′ fewer than 2 targets. ``fitted-loose`` (the prior
   of t′ from every target but t′) is printed as a diagnostic and never chosen.

Also the prior alone and each score alone. A fusion must be defined on every target of the suite
it is chosen on; the chosen one has the highest mean weighted τ there. It is reported on the
other suite with its 95 % interval and its paired differences from the prior alone and from its
score alone, over the joint resamples of the benchmark (replicate r: the r-th half-sample of the
scored images with the r-th resample of the fine-tuning seeds), every fusion recomputed in each
replicate (the prior from the resampled accuracies, w fitted again). The fused ranker becomes the
default only if both paired intervals lie above 0 on the suite it was not chosen on.

Reads the suites' caches (run both benchmarks first). The linear probe, which the suites'
bootstraps skip, gets its half-sample replicates here, journaled (3–6 minutes per suite from
an empty journal with one BLAS thread, as below; seconds after):

    OMP_NUM_THREADS=1 python benchmarks/bench_history_fusion.py \
        > benchmarks/results/history_fusion_tables.md
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence

import numpy as np

SCORES = ("knn", "logme", "gbc", "linear", "ncti")
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
PRIOR = "prior"
RULES = ("rank-avg", "z-sum", "fitted")
DIAGNOSTIC = "fitted-loose"


def variant(rule: str, score: str) -> str:
    return f"{rule}(prior, {score})"


def _tau(
    values: Mapping[str, float], acc: Mapping[str, float], pool: Sequence[str] | None = None
) -> float:
    """Weighted τ of ``values`` against ``acc``; with ``pool`` (the point estimate's backbones)
    NaN when one of them has no value (never a τ over a smaller pool)."""
    from modelrank.correlation import weighted_tau

    if pool is not None:
        if not pool or not all(m in values and math.isfinite(values[m]) for m in pool):
            return float("nan")
        values = {m: values[m] for m in pool}
    return weighted_tau(values, acc) if values else float("nan")


def _prior(
    acc: Mapping[str, Mapping[str, float]],
    target: str,
    pool: Sequence[str],
    without: str | None = None,
) -> dict[str, float]:
    from modelrank.history import history_prior

    history = {t: col for t, col in acc.items() if t != without}
    return history_prior(history, target, pool).prior


def _fit_weight(
    acc, scores, pool, targets, held_out: str, score: str, strict: bool
) -> float | None:
    """The w of ``fitted`` for ``held_out`` (None when an inner prior is unavailable)."""
    from modelrank.history import weighted_z

    inner = {}
    for t in targets:
        if t == held_out:
            continue
        p = _prior(acc, t, pool, without=held_out if strict else None)
        if not p or score not in scores.get(t, {}):
            return None
        inner[t] = p
    best, best_w = -math.inf, None
    for w in WEIGHTS:
        taus = [_tau(weighted_z(p, scores[t][score], w), acc[t]) for t, p in inner.items()]
        taus = [v for v in taus if math.isfinite(v)]
        if len(taus) < len(inner):
            continue
        m = float(np.mean(taus))
        if m > best + 1e-12:
            best, best_w = m, w
    return best_w


def evaluate(
    acc: Mapping[str, Mapping[str, float]],
    scores: Mapping[str, Mapping[str, Mapping[str, float]]],
    pool: Sequence[str],
    targets: Sequence[str],
    pools: dict[tuple[str, str], list[str]] | None = None,
) -> tuple[
    dict[str, dict[str, float]],
    dict[tuple[str, str], list[str]],
    dict[tuple[str, str], float | None],
]:
    """{variant: {target: weighted τ}} of the prior, every score and every fusion on ``acc``.

    ``pools``: each (variant, target)'s backbones at the point estimate (replicates are NaN when
    one lacks a value); None computes the point estimate and returns its pools. Also returns
    the fitted weights {(variant, target): w}."""
    from modelrank.history import rank_average, weighted_z, z_sum

    point = pools is None
    pools = {} if pools is None else pools
    out: dict[str, dict[str, float]] = {}
    weights: dict[tuple[str, str], float | None] = {}

    def put(name: str, t: str, values: Mapping[str, float]) -> None:
        key = (name, t)
        if point:
            pools[key] = sorted(m for m, v in values.items() if m in acc[t] and math.isfinite(v))
        out.setdefault(name, {})[t] = _tau(values, acc[t], pools.get(key, []))

    for t in targets:
        prior = _prior(acc, t, pool)
        if prior:
            put(PRIOR, t, prior)
        for s in SCORES:
            sc = scores.get(t, {}).get(s)
            if sc is None:
                continue
            put(s, t, sc)
            if not prior:
                continue
            put(variant("rank-avg", s), t, rank_average(prior, sc))
            put(variant("z-sum", s), t, z_sum(prior, sc))
            for rule, strict in (("fitted", True), (DIAGNOSTIC, False)):
                w = _fit_weight(acc, scores, pool, targets, t, s, strict)
                weights[(variant(rule, s), t)] = w
                if w is not None:
                    put(variant(rule, s), t, weighted_z(prior, sc, w))
    return out, pools, weights


def study(name: str, *, linear_replicates: bool = True) -> dict:
    """Point estimates, replicates and fitted weights of every variant on suite ``name``."""
    from modelrank.benchmark import half_sample_tables, load_suite, run_benchmark
    from modelrank.benchmark_stats import resample_seeds

    suite = load_suite(name)
    res = run_benchmark(suite)
    gt = res.ground_truths["headline"]
    pool, targets = res.pool, res.included()
    acc = {t: {m: a for m, a in gt.accuracies[t].items() if m in pool} for t in res.targets}
    scores = {t: {s: res.score_column(s, t) for s in SCORES} for t in res.targets}
    point, pools, weights = evaluate(acc, scores, pool, targets)

    tables = {t: [dict(tab) for tab in reps] for t, reps in res.image_replicates.items()}
    if linear_replicates:
        extra = half_sample_tables(suite, res, ["linear"])
        for t, reps in extra.items():
            for tab, more in zip(tables[t], reps):
                tab.update(more)
    per_seed = {t: {m: v for m, v in col.items() if m in pool} for t, col in gt.per_seed.items()}
    B, seed = int(res.bootstrap["replicates"]), int(res.bootstrap["seed"])
    reps: dict[str, dict[str, np.ndarray]] = {}
    fitted_w: dict[tuple[str, str], list] = {}
    for r in range(B):
        acc_r = resample_seeds(per_seed, np.random.default_rng([seed, r, 1]))
        scores_r = {t: tables[t][r] for t in tables}
        taus, _, w_r = evaluate(acc_r, scores_r, pool, targets, pools)
        for v, cols in taus.items():
            for t, value in cols.items():
                reps.setdefault(v, {}).setdefault(t, np.full(B, np.nan))[r] = value
        for k, w in w_r.items():
            fitted_w.setdefault(k, []).append(w)
    # the pairing is the benchmark's own: a score alone reproduces its replicates exactly
    for s in SCORES:
        mine, theirs = reps.get(s, {}), res.replicates["headline"].get(s, {})
        for t in theirs:
            assert np.allclose(mine[t], theirs[t], equal_nan=True), (name, s, t)
    return {
        "suite": name,
        "targets": targets,
        "point": point,
        "reps": reps,
        "weights": weights,
        "replicate_weights": fitted_w,
        "pool": pool,
        "res": res,
    }


def summary(st: dict, v: str) -> tuple[float, float, float, bool]:
    """(mean τ, low, high, defined on every target) of variant ``v``."""
    from modelrank.benchmark_stats import mean_over_targets, pivot_interval

    pt = st["point"].get(v, {})
    defined = all(math.isfinite(pt.get(t, float("nan"))) for t in st["targets"])
    mean, reps = mean_over_targets(pt, st["reps"].get(v, {}), st["targets"])
    lo, hi = pivot_interval(mean, reps)[:2] if reps is not None else (float("nan"), float("nan"))
    return mean, lo, hi, defined


def paired(st: dict, a: str, b: str) -> tuple[float, float, float]:
    """(mean τ(a) − mean τ(b), 95 % paired interval) over the targets both are defined on."""
    from modelrank.benchmark_stats import paired_mean_difference

    pt, reps = st["point"], st["reps"]
    d = paired_mean_difference(
        pt.get(a, {}), reps.get(a, {}), pt.get(b, {}), reps.get(b, {}), st["targets"]
    )
    return (float("nan"),) * 3 if d is None else d[:3]


def _f(v: float, fmt: str = "{:.3f}") -> str:
    return fmt.format(v) if math.isfinite(v) else "–"


def _ival(lo: float, hi: float, sign: bool = False) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "(no interval)"
    f = "{:+.2f}" if sign else "{:.2f}"
    return f"[{f.format(lo)}, {f.format(hi)}]"


def variants() -> list[str]:
    out = [PRIOR, *SCORES]
    for rule in (*RULES, DIAGNOSTIC):
        out += [variant(rule, s) for s in SCORES]
    return out


def table(st: dict) -> list[str]:
    res = st["res"]
    head = (
        f"### `{st['suite']}`: every variant\n\nMean weighted τ over "
        f"{', '.join(st['targets'])} with its 95 % interval (images' half-samples and "
        f"fine-tuning seeds resampled together, {res.bootstrap['replicates']} replicates); "
        "per-target τ; the fitted weight w of the prior per target. *(diagnostic)*: never "
        "chosen.\n"
    )
    lines = [
        head,
        "| variant | mean τ | 95 % | defined on all | "
        + " | ".join(st["targets"])
        + " | w per target |",
        "|---|---|---|---|" + "---|" * len(st["targets"]) + "---|",
    ]
    for v in variants():
        if v not in st["point"]:
            lines.append(f"| {v} | – | | no | " + " | ".join("–" for _ in st["targets"]) + " | |")
            continue
        mean, lo, hi, defined = summary(st, v)
        per = [_f(st["point"][v].get(t, float("nan"))) for t in st["targets"]]
        ws = [st["weights"].get((v, t)) for t in st["targets"]]
        wtxt = (
            " / ".join("–" if w is None else f"{w:.1f}" for w in ws)
            if (v, st["targets"][0]) in st["weights"]
            else ""
        )
        name = f"{v} *(diagnostic)*" if v.startswith(DIAGNOSTIC) else v
        lines.append(
            f"| {name} | {_f(mean)} | {_ival(lo, hi)} | {'yes' if defined else 'no'} | "
            + " | ".join(per)
            + f" | {wtxt} |"
        )
    return lines


def choose(st: dict) -> str | None:
    """The fusion with the highest mean τ among those defined on every target (diagnostics and
    the single-evidence rows excluded)."""
    best, best_v = -math.inf, None
    for rule in RULES:
        for s in SCORES:
            v = variant(rule, s)
            if v not in st["point"]:
                continue
            mean, _, _, defined = summary(st, v)
            if defined and math.isfinite(mean) and mean > best:
                best, best_v = mean, v
    return best_v


def held_out(chosen_on: dict, report_on: dict) -> list[str]:
    v = choose(chosen_on)
    lines = [f"### Chosen on `{chosen_on['suite']}`, reported on `{report_on['suite']}`\n"]
    if v is None:
        return lines + ["No fusion is defined on every target of the choosing suite.\n"]
    score = v.split(", ")[1].rstrip(")")
    cm = summary(chosen_on, v)[0]
    mean, lo, hi, defined = summary(report_on, v)
    lines.append(
        f"Chosen: **{v}** (mean τ {cm:.3f} on `{chosen_on['suite']}`). On "
        f"`{report_on['suite']}`: mean τ {_f(mean)} {_ival(lo, hi)}"
        + ("" if defined else " (not defined on every target)")
        + ".\n"
    )
    lines += [
        "| against | its mean τ | difference | 95 % paired | above 0 |",
        "|---|---|---|---|---|",
    ]
    verdicts = []
    for other in (PRIOR, score):
        om = summary(report_on, other)[0]
        d, dlo, dhi = paired(report_on, v, other)
        above = math.isfinite(dlo) and dlo > 0
        verdicts.append(above)
        lines.append(
            f"| {other} alone | {_f(om)} | {_f(d, '{:+.3f}')} | {_ival(dlo, dhi, True)} | "
            f"{'yes' if above else 'no'} |"
        )
    lines.append(
        "\nBy the pre-registered rule the fused ranker "
        + (
            "**becomes** the default."
            if all(verdicts)
            else "does **not** become the default (both paired intervals must lie above 0)."
        )
    )
    return lines + [""]


def prior_against_scores(st: dict) -> list[str]:
    """The prior alone against each score alone, paired (reported, not chosen)."""
    lines = [
        f"### `{st['suite']}`: the history prior alone against each score alone\n",
        "| score | its mean τ | prior − score | 95 % paired |",
        "|---|---|---|---|",
    ]
    for s in SCORES:
        d, lo, hi = paired(st, PRIOR, s)
        lines.append(
            f"| {s} | {_f(summary(st, s)[0])} | {_f(d, '{:+.3f}')} | {_ival(lo, hi, True)} |"
        )
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--suites",
        default="fmnist-zoo,fmnist-imagenet",
        help="the suite chosen on first, then the one reported on",
    )
    ap.add_argument(
        "--no-linear-replicates",
        action="store_true",
        help="skip the linear probe's half-samples (its fusions get no interval)",
    )
    args = ap.parse_args(argv)
    a, b = (
        study(n, linear_replicates=not args.no_linear_replicates) for n in args.suites.split(",")
    )
    out = ["## Held-out results (`python benchmarks/bench_history_fusion.py`)\n"]
    out += held_out(a, b) + held_out(b, a)
    out += prior_against_scores(a) + prior_against_scores(b)
    out += table(a) + [""] + table(b) + [""]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
