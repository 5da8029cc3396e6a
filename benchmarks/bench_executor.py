"""Wall-clock of the Ray executor over the local executor on the same jobs, in one process.

Two jobs, each run by both executors with the embedding cache and the journal off and every
fine-tuning run log fresh, so that both do all the work:

- score: the 8 backbones of the packaged offline pool on digits (8 units of backbone x target);
- finetune: 4 of them under a small grid (2 learning rates + the retrain = 12 units).

The local executor runs the units one after another in this process with ``--threads`` torch
and BLAS threads (default: every core); the Ray executor starts a local Ray instance with ``--workers``
CPUs, one single-threaded task per CPU. Ray's time includes starting the instance and its
workers (what a user pays per command); the start-up alone is printed too. Runs alternate
(local, ray, local, ray, ...) and medians are compared.

    python benchmarks/bench_executor.py [--per-class 10] [--steps 20] [--repeats 2] [--threads 2]
                                        [--jobs score,finetune]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace

import torch
from threadpoolctl import threadpool_limits


def score_job(executor, per_class: int, cache: str):
    import modelrank
    from modelrank.benchmark import zoo_path
    from modelrank.ranking import ScoreOptions

    r = modelrank.rank(
        "digits",
        zoo=zoo_path("offline"),
        models="all",
        per_class=per_class,
        metrics="logme,knn,leep",
        executor=executor,
        options=ScoreOptions(use_cache=False, cache_dir=cache),
    )
    assert len(r.rows) == 8 and not r.failed, r.failed
    return {row.model: row.raw["logme"] for row in r.rows}


def finetune_job(executor, per_class: int, steps: int, cache: str):
    from modelrank.benchmark import zoo_path
    from modelrank.finetuning import CPU_BUDGET, evaluate

    os.environ["MODELRANK_CACHE"] = cache  # a fresh run log: every run computed
    res = evaluate(
        "digits",
        zoo=zoo_path("offline"),
        models="lite0,lite1,lite0-random,lite1-random",
        budget=replace(CPU_BUDGET, steps=steps),
        per_class=per_class,
        executor=executor,
    ).results
    assert len(res) == 4 and all(r.runs_computed == 3 for r in res)
    return {r.model: r.accuracy for r in res}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--jobs", default="score,finetune", help="comma list of score, finetune")
    args = ap.parse_args()
    os.environ.setdefault("MODELRANK_OFFLINE", "1")

    from modelrank.execution import LocalExecutor
    from modelrank.execution.ray_executor import RayExecutor

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy's BLAS too, as --threads does
    jobs = {
        "score (8 units)": lambda ex, c: score_job(ex, args.per_class, c),
        "finetune (12 units)": lambda ex, c: finetune_job(ex, args.per_class, args.steps, c),
    }
    jobs = {k: v for k, v in jobs.items() if k.split()[0] in args.jobs.split(",")}
    times: dict[tuple[str, str], list[float]] = {}
    startup: list[float] = []
    answers: dict[tuple[str, str], object] = {}
    for rep in range(args.repeats):
        for kind in ("local", "ray"):
            for job, fn in jobs.items():
                with tempfile.TemporaryDirectory() as cache:
                    t0 = time.perf_counter()
                    if kind == "local":
                        ex = LocalExecutor()
                    else:
                        ex = RayExecutor(workers=args.workers)
                        ex.resources()  # starts the instance
                        startup.append(time.perf_counter() - t0)
                    with ex:
                        answers[(kind, job)] = fn(ex, cache)
                    times.setdefault((kind, job), []).append(time.perf_counter() - t0)
                    print(
                        f"repeat {rep + 1}: {kind:5s} {job:20s} {times[(kind, job)][-1]:7.1f} s",
                        flush=True,
                    )
    print(
        f"\n{os.cpu_count()} cores; local: {args.threads} torch threads; ray: {args.workers} "
        f"workers x 1 thread; {args.per_class} images per class; medians of {args.repeats}"
    )
    print(f"Ray start-up (instance + connection): {statistics.median(startup):.1f} s\n")
    print("| job | local s | ray s | ray / local | largest difference of the results |")
    print("|---|---|---|---|---|")
    for job in jobs:
        lo, ra = statistics.median(times[("local", job)]), statistics.median(times[("ray", job)])
        a, b = answers[("local", job)], answers[("ray", job)]
        if job.startswith("score"):
            diff = max(abs(a[m] - b[m]) / max(abs(a[m]), 1e-12) for m in a)
            what = f"{diff:.1e} relative (LogME)"
        else:
            diff = max(abs(a[m] - b[m]) for m in a)
            what = f"{diff:.2f} accuracy points"
        print(f"| {job} | {lo:.1f} | {ra:.1f} | {ra / lo:.2f} | {what} |")
    if args.threads != 1:
        print(
            "\nLocal units ran with a different number of threads than Ray's; float sums then "
            "differ in the last bits, and short fine-tuning runs amplify that. With --threads 1 "
            "both executors give identical numbers."
        )


if __name__ == "__main__":
    main()
