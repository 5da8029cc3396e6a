"""Every score against every static baseline of a suite, paired over the same joint resamples.

The benchmark report judges each score against the best static baseline only, which on a suite
of three or more targets is the leave-one-target-out prior: a user with one new target and no
fine-tuning history does not have it. This prints, for the headline ground truth, each score's
paired difference of mean weighted τ from each baseline (``benchmark_report.paired_differences``: the
same images' half-samples and fine-tuning seed resamples for both), so the question "does it beat
what I can know without the target?" has its own answer. Reads the suite's cache (run the suite's
benchmark first; from a full cache this takes seconds):

    python benchmarks/bench_paired_baselines.py --suite fmnist-zoo --scores knn,logme,etran-full
"""

from __future__ import annotations

import argparse
import math
import sys


def main(argv: list[str] | None = None) -> int:
    from modelrank.benchmark import load_suite, run_benchmark
    from modelrank.benchmark_report import paired_differences, whole_pool_baselines

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True)
    ap.add_argument("--scores", default=None, help="comma list (default: every score)")
    args = ap.parse_args(argv)
    res = run_benchmark(load_suite(args.suite))
    label = "headline"
    # as the report's best baseline: only baselines known for the whole pool on every target
    # (ImageNet top-1 of a pool of truncated networks is known for 3 of 9)
    whole = whole_pool_baselines(res, label)
    partial = [b for b in res.baselines if b in res.tables[label]["tau"] and b not in whole]
    baselines = [b for b in whole if math.isfinite(res.mean(b, label))]
    scores = (
        [s.strip() for s in args.scores.split(",")]
        if args.scores
        else [s for s in res.scores if s not in res.baselines]
    )
    diffs = {b: paired_differences(res, label, b) for b in baselines}
    print(
        f"`{res.suite}`, headline ground truth, mean weighted τ over "
        f"{', '.join(res.included(label))}; each cell: τ(score) − τ(baseline) [95 % paired "
        "interval], **bold** where the interval lies above 0"
        + (
            f"; left out, known for part of the pool only: {', '.join(sorted(partial))}"
            if partial
            else ""
        )
        + "\n"
    )
    print(
        "| score | mean τ | "
        + " | ".join(f"− {b} ({res.mean(b, label):.3f})" for b in baselines)
        + " |"
    )
    print("|---|---|" + "---|" * len(baselines))
    for s in scores:
        cells = []
        for b in baselines:
            d = diffs[b].get(s)
            if d is None or not math.isfinite(d[1]):
                cells.append("–" if d is None else f"{d[0]:+.3f} (no interval)")
                continue
            text = f"{d[0]:+.3f} [{d[1]:+.2f}, {d[2]:+.2f}]"
            cells.append(f"**{text}**" if d[1] > 0 else text)
        mean = res.mean(s, label)
        print(f"| {s} | {mean:.3f} | " if math.isfinite(mean) else f"| {s} | – | ", end="")
        print(" | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
