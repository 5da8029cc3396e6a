"""When is the advice of ``modelrank score`` a clear pick? (issue 30, item 2)

The pre-registration is ``benchmarks/results/advice_rule.md``. For each target of a suite and
each pool size k, every k-subset of the suite's headline pool (at most ``--subsets`` of them,
drawn with seed 0 when there are more) is one user's question: the pick is the backbone the
primary score puts first on the suite's scored images, its stability the share of first places
it keeps over the half-samples of those images (``modelrank.recommendation``: ties share the
place), its plausible winners the fewest backbones taking 90 % of the first places. Each pick is
judged against the suite's headline ground truth (the mean accuracy over its seeds): right when
it is the best of the k, and by its regret (points of accuracy below the best of the k).

Run after the suites' benchmarks, whose caches it reads (embeddings, run logs; it scores and
fine-tunes what is missing, which can take long):

    python benchmarks/bench_advice_rule.py --suites fmnist-zoo,fmnist-imagenet \\
        --output benchmarks/results/advice_rule_tables.md
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
POOL_SIZES = (3, 5)
SCORES = ("knn", "logme")
REPLICATES = 50  # as `modelrank score` (recommendation.DEFAULT_REPLICATES)


def subsets(pool: list[str], k: int, limit: int, seed: int = 0) -> list[tuple[str, ...]]:
    """Every k-subset of ``pool`` when there are at most ``limit``, else ``limit`` distinct
    ones drawn with ``seed`` (each in pool order)."""
    if math.comb(len(pool), k) <= limit:
        return list(itertools.combinations(pool, k))
    rng = np.random.default_rng(seed)
    seen: set[tuple[str, ...]] = set()
    while len(seen) < limit:
        idx = sorted(rng.choice(len(pool), size=k, replace=False))
        seen.add(tuple(pool[i] for i in idx))
    return sorted(seen, key=lambda s: [pool.index(m) for m in s])


def judge_case(
    sub: tuple[str, ...],
    score: str,
    full: dict[str, float],
    tables: list[dict],
    accuracy: dict[str, float],
) -> dict:
    """One user's question: the pick among ``sub`` by ``score`` on all images (``full``), its
    half-sample stability and plausible winners (``tables``: the replicate tables of every
    backbone), and how it fared after fine-tuning (``accuracy``: mean over seeds, %)."""
    from modelrank.recommendation import first_place_shares, plausible_winners

    top = max(full[m] for m in sub)
    pick = next(m for m in sub if full[m] == top)  # a tie: zoo order, as with one score
    shares = first_place_shares(tables, score, sub)  # among the user's subset only
    plausible = plausible_winners(shares)
    best = max(accuracy[m] for m in sub)
    return {
        "pool": list(sub),
        "pick": pick,
        "stability": shares[pick],
        "plausible": list(plausible),
        "right": accuracy[pick] == best,
        "regret": best - accuracy[pick],
        "covered": any(accuracy[m] == best for m in plausible),
    }


def suite_cases(name: str, *, limit: int) -> list[dict]:
    """Every case of suite ``name`` for each score of :data:`SCORES` and pool size."""
    from modelrank.benchmark import ground_truth, load_suite, pool_and_controls, scoring_zoo
    from modelrank.data import load_target
    from modelrank.half_samples import bootstrap_target
    from modelrank.metrics import get_metric
    from modelrank.ranking import rank_targets

    suite = load_suite(name)
    truth = ground_truth(suite)
    zoo = scoring_zoo(suite)
    pool, _ = pool_and_controls(suite, zoo)
    cases = []
    for target in suite.targets:
        data = load_target(
            target, split=suite.split_for(target), per_class=suite.per_class_for(target)
        )
        ranking = rank_targets([data], zoo=zoo, models=pool, metrics=list(SCORES))[0]
        tables = bootstrap_target(
            [zoo[m] for m in pool],
            data,
            [get_metric(s) for s in SCORES],
            replicates=REPLICATES,
            seed=0,
            cache_dir=None,
        )
        acc = truth.accuracies.get(target, {})
        for score in SCORES:
            full = {r.model: r.scores[score] for r in ranking.rows if score in r.scores}
            have = [m for m in pool if m in full and m in acc]
            for k in POOL_SIZES:
                for sub in subsets(have, k, limit):
                    case = judge_case(sub, score, full, tables, acc)
                    cases.append(
                        {"suite": suite.name, "target": target, "score": score, "k": k, **case}
                    )
        print(f"{suite.name} / {target}: {len(have)} backbones", file=sys.stderr, flush=True)
    return cases


def summarise(cases: list[dict], threshold: float) -> dict:
    """Shares right and mean regrets of the clear and inconclusive picks under ``threshold``."""
    from modelrank.recommendation import is_clear

    clear = [c for c in cases if is_clear(c["stability"], threshold=threshold)]
    vague = [c for c in cases if not is_clear(c["stability"], threshold=threshold)]

    def right(cs):
        return float(np.mean([c["right"] for c in cs])) if cs else float("nan")

    def regret(cs):
        return float(np.mean([c["regret"] for c in cs])) if cs else float("nan")

    return {
        "threshold": threshold,
        "cases": len(cases),
        "clear": len(clear),
        "right_clear": right(clear),
        "right_vague": right(vague),
        "regret_clear": regret(clear),
        "regret_vague": regret(vague),
        "right_all": right(cases),
        "chance": float(np.mean([1 / c["k"] for c in cases])),
        "coverage": float(np.mean([c["covered"] for c in cases])),
        "plausible_size": float(np.mean([len(c["plausible"]) for c in cases])),
    }


def choose(rows: list[dict], *, target_right: float = 0.8) -> tuple[float, bool]:
    """The pre-registered choice: the smallest threshold whose clear picks are right at least
    ``target_right`` of the time; else the one with the most right (the smaller on a tie).
    Returns (threshold, whether it reached ``target_right``)."""
    ok = [r for r in rows if r["clear"] and r["right_clear"] >= target_right]
    if ok:
        return min(r["threshold"] for r in ok), True
    scored = [r for r in rows if r["clear"]]
    best = max(r["right_clear"] for r in scored)
    return min(r["threshold"] for r in scored if r["right_clear"] == best), False


def table(cases: list[dict]) -> list[str]:
    fmt = lambda x: "–" if not math.isfinite(x) else f"{x:.2f}"  # noqa: E731
    lines = [
        "| clear when stability ≥ | cases | clear | right, clear | right, inconclusive | "
        "regret (points), clear | regret, inconclusive |",
        "|" + "---|" * 7,
    ]
    for s in THRESHOLDS:
        r = summarise(cases, s)
        lines.append(
            f"| {s:g} | {r['cases']} | {r['clear']} ({100 * r['clear'] / r['cases']:.0f} %) "
            f"| {fmt(r['right_clear'])} | {fmt(r['right_vague'])} | "
            f"{fmt(r['regret_clear'])} | {fmt(r['regret_vague'])} |"
        )
    r = summarise(cases, 0.0)
    lines += [
        "",
        f"Every pick: right {r['right_all']:.2f} (chance {r['chance']:.2f}); the "
        f"plausible winners hold the best backbone in {100 * r['coverage']:.0f} % of the "
        f"cases, {r['plausible_size']:.1f} backbones on average.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--suites",
        default="fmnist-zoo,fmnist-imagenet",
        help="the first chooses the rule, the others report it",
    )
    ap.add_argument("--subsets", type=int, default=200)
    ap.add_argument("--output", default="benchmarks/results/advice_rule_tables.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    names = [s.strip() for s in args.suites.split(",") if s.strip()]
    cases = {n: suite_cases(n, limit=args.subsets) for n in names}
    out = Path(args.output)
    out.with_suffix(".json").write_text(json.dumps(cases, indent=0) + "\n")
    chooser = names[0]
    chosen, reached = choose(
        [summarise([c for c in cases[chooser] if c["score"] == "knn"], s) for s in THRESHOLDS]
    )
    args_given = argv if argv is not None else sys.argv[1:]
    lines = [
        f"Command: `python {shlex.join(['benchmarks/bench_advice_rule.py'] + args_given)}`"
        f" ({(time.perf_counter() - t0) / 60:.1f} min); every case in "
        f"`{out.with_suffix('.json').name}`.",
        "",
        f"**Chosen on `{chooser}` (knn, k = 3 and 5 pooled): clear when the stability is at "
        f"least {chosen:g}**"
        + (
            ""
            if reached
            else " — no threshold made clear picks right 80 % of the time; "
            "this one was right most often"
        ),
        "",
    ]
    for name in names:
        for score in SCORES:
            for k in (*POOL_SIZES, None):
                sel = [c for c in cases[name] if c["score"] == score and (k is None or c["k"] == k)]
                if not sel:
                    continue
                role = "chooses" if name == chooser and score == "knn" else "reports"
                lines += [
                    f"### `{name}`, {score}, "
                    f"{'k = ' + str(k) if k else 'k = 3 and 5 pooled'} ({role})",
                    "",
                    *table(sel),
                    "",
                ]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
