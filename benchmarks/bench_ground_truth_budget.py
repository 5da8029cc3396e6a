"""How reliable is a suite's fine-tuning ground truth, and what does reliability cost?

Issue 29, item 5. For two targets of a suite, every pool backbone is fine-tuned (or linear-probed)
with several seeds under each budget *cell* (protocol, training images per class, steps), and
tested on the whole test split with its per-image outcomes recorded. The split-half noise ceiling
(``modelrank/noise_ceiling.py``) is then computed for each cell against the number of seeds and
the number of test images per class (subsets of the recorded outcomes: the same images that
``test_per_class`` would choose, seed 0), beside the cost of the runs.

Every finished run is appended at once to ``<out>/records.jsonl`` (one line per backbone x target
x cell x seed), and the fine-tuning runs to ``<out>/runs/`` (the library's run logs): both are
committed as they grow, so a run stopped on one machine resumes on another where it stopped.
Runs of another protocol version (``finetuning.PROTOCOL_VERSION``) are never mixed in.

    python benchmarks/bench_ground_truth_budget.py --suite fmnist-imagenet \\
        --targets "fashion-mnist[footwear]" "fashion-mnist[upper-body]" --seeds 0-5 \\
        --cells full:100:60 linear:100 full:20:60 linear:20 full:100:150 --workers 2
    python benchmarks/bench_ground_truth_budget.py --suite fmnist-imagenet --report

A cell is ``full:<train images per class>:<steps>`` (full fine-tuning at the suite's resolution,
batch and layout, one learning rate ``--lr``, no validation search; each seed draws its own
training images, initialises the head and orders the batches), ``full:<per class>:<steps>:fixed``
(the same, every seed training on the images seed 0 draws: the seeds differ only in the head's
initialisation and the batch order) or ``linear:<train images per class>`` (logistic regression
on frozen features at the suite's fine-tuning resolution; the seed draws the training images).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
TEST_SIZES = (100, 300, None)  # test images per class; None: the whole test split


def parse_cell(text: str) -> dict:
    parts = text.split(":")
    if parts[0] == "full" and len(parts) in (3, 4) and parts[3:] in ([], ["fixed"]):
        return {
            "name": text,
            "protocol": "full",
            "per_class": int(parts[1]),
            "steps": int(parts[2]),
            "sample_seed": 0 if parts[3:] == ["fixed"] else None,
        }
    if parts[0] == "linear" and len(parts) == 2:
        return {"name": text, "protocol": "linear", "per_class": int(parts[1])}
    raise SystemExit(f"a cell is full:<per class>:<steps> or linear:<per class>, got {text!r}")


def read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
    return out


def budget_for(suite, cell: dict, seed: int, lr: float):
    from modelrank.benchmark import _budget

    base = _budget(suite, suite.ground_truth, seed)
    return replace(
        base,
        lrs=(lr,),
        ws=(0.0,),
        steps=cell.get("steps", base.steps),
        retrain=False,
        test_per_class=None,
        threads=1,
        sample_seed=cell.get("sample_seed"),
    )


def measure(args, suite, out: Path) -> None:
    from modelrank.benchmark import pool_and_controls
    from modelrank.execution import make_executor
    from modelrank.finetuning import PROTOCOL_VERSION, evaluate_targets, training_path_digest
    from modelrank.noise_ceiling import parse_seeds
    from modelrank.zoo import zoo_path

    records_path = out / "records.jsonl"
    pool, _ = pool_and_controls(suite)
    ex = make_executor("ray", workers=args.workers) if args.workers > 1 else None
    try:
        for cell in map(parse_cell, args.cells):
            for seed in parse_seeds(args.seeds):
                done = {
                    (r["target"], r["model"])
                    for r in read_records(records_path)
                    if r["cell"] == cell["name"]
                    and r["seed"] == seed
                    and r["protocol_version"] == PROTOCOL_VERSION
                }
                todo_targets = [t for t in args.targets if any((t, m) not in done for m in pool)]
                if not todo_targets:
                    continue
                cfg = budget_for(suite, cell, seed, args.lr)
                if cell["protocol"] == "linear":
                    cfg = replace(cfg, steps=1)
                t0 = time.time()
                evs = evaluate_targets(
                    [(t, cell["per_class"]) for t in todo_targets],
                    zoo=zoo_path(suite.zoo),
                    models=pool,
                    protocol=cell["protocol"],
                    budget=cfg,
                    cache_dir=(out if cell["protocol"] == "full" else None),
                    executor=ex,
                )
                wall = time.time() - t0
                fresh = sum(r.runs_computed for ev in evs for r in ev.results) or len(
                    [r for ev in evs for r in ev.results]
                )
                with records_path.open("a") as f:
                    for ev in evs:
                        for r in ev.results:
                            if (ev.dataset, r.model) in done:
                                continue
                            f.write(
                                json.dumps(
                                    {
                                        "suite": suite.name,
                                        "cell": cell["name"],
                                        "target": ev.dataset,
                                        "model": r.model,
                                        "seed": seed,
                                        "protocol": cell["protocol"],
                                        "accuracy": r.accuracy,
                                        "test_correct": r.test_correct,
                                        "protocol_version": PROTOCOL_VERSION,
                                        "training_path": training_path_digest(),
                                        "job_wall_s": round(wall, 1),
                                        "job_units": fresh,
                                        "workers": args.workers,
                                    }
                                )
                                + "\n"
                            )
                        for m, why in ev.failed + ev.skipped:
                            print(f"  {m} on {ev.dataset}: {why}", file=sys.stderr)
                print(
                    f"{cell['name']} seed {seed}: {len(todo_targets)} targets, {wall:.0f} s",
                    flush=True,
                )
    finally:
        if ex is not None:
            ex.close()


def report(args, suite, out: Path) -> str:
    from modelrank.correctness import unpack_correct
    from modelrank.data import load_target
    from modelrank.data.target import sample_per_class
    from modelrank.finetuning import PROTOCOL_VERSION, accuracy, accuracy_kind
    from modelrank.noise_ceiling import noise_ceiling

    recs = [
        r
        for r in read_records(out / "records.jsonl")
        if r["protocol_version"] == PROTOCOL_VERSION and r["suite"] == suite.name
    ]
    cells = list(dict.fromkeys(r["cell"] for r in recs))
    targets = list(dict.fromkeys(r["target"] for r in recs))
    lines = [
        "| cell | target | seeds | test / class | split-half τw | Kendall | "
        "Spearman–Brown τw (all seeds) | seed SD (points) | spread of means (points) | "
        "CPU s / run |",
        "|" + "---|" * 10,
    ]
    summary = []
    for cell in cells:
        for target in targets:
            rows = [r for r in recs if r["cell"] == cell and r["target"] == target]
            if not rows:
                continue
            test = load_target(target, split="test")
            kind, k = accuracy_kind(target), test.num_classes
            seeds = sorted({r["seed"] for r in rows})
            models = sorted({r["model"] for r in rows})
            by = {(r["model"], r["seed"]): r for r in rows}
            complete = [s for s in seeds if all((m, s) in by for m in models)]
            cost = [r["job_wall_s"] * r.get("workers", 1) / max(1, r["job_units"]) for r in rows]
            for n_seeds in sorted({s for s in (4, 6, 8, len(complete)) if 4 <= s <= len(complete)}):
                use = complete[:n_seeds]
                for per_class in TEST_SIZES:
                    idx = (
                        np.arange(len(test.labels))
                        if per_class is None
                        else sample_per_class(test.labels, per_class, 0)
                    )
                    per_seed = {}
                    for m in models:
                        accs = []
                        for s in use:
                            hits = unpack_correct(by[(m, s)]["test_correct"], len(test.labels))
                            accs.append(
                                accuracy(
                                    np.where(hits[idx], test.labels[idx], -1),
                                    test.labels[idx],
                                    kind,
                                    k,
                                )
                            )
                        per_seed[m] = accs
                    c = noise_ceiling(per_seed)
                    means = [np.mean(v) for v in per_seed.values()]
                    sd = float(np.mean([np.std(v, ddof=1) for v in per_seed.values()]))
                    size = "all" if per_class is None else str(per_class)
                    lines.append(
                        f"| {cell} | {target} | {n_seeds} | {size} | "
                        f"{c.weighted_tau:.2f} | {c.kendall:.2f} | {c.spearman_brown:.2f} | "
                        f"{sd:.2f} | {np.ptp(means):.2f} | {np.mean(cost):.0f} |"
                    )
                    summary.append(
                        {
                            "cell": cell,
                            "target": target,
                            "seeds": n_seeds,
                            "test_per_class": per_class,
                            "ceiling": c.weighted_tau,
                            "kendall": c.kendall,
                            "spearman_brown": c.spearman_brown,
                            "seed_sd": sd,
                            "spread": float(np.ptp(means)),
                            "cpu_s_per_run": float(np.mean(cost)),
                            "backbones": len(models),
                        }
                    )
    (out / f"ceilings_{suite.name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return "\n".join(lines)


def _log_session(out: Path, started: float) -> None:
    """Append what ran, where and how long to ``<out>/sessions.jsonl`` (the provenance of the
    records: a measurement may be spread over several machines and sessions)."""
    import platform

    import torch

    cpu = ""
    try:
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")
            ),
            "",
        )
    except OSError:
        pass
    rec = {
        "command": " ".join(["python", *sys.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "wall_s": round(time.time() - started, 1),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    with (out / "sessions.jsonl").open("a") as f:
        f.write(json.dumps(rec) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", required=True)
    ap.add_argument("--targets", nargs="+")
    ap.add_argument("--seeds", default="0-5")
    ap.add_argument("--cells", nargs="+", default=["full:100:60"])
    ap.add_argument("--lr", type=float, default=0.03)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out-dir", default=str(ROOT / "results" / "ground_truth_budget"))
    ap.add_argument("--report", action="store_true", help="only tabulate what is recorded")
    args = ap.parse_args()

    from modelrank.benchmark import load_suite

    suite = load_suite(args.suite)
    out = Path(args.out_dir) / suite.name
    out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        if not args.targets:
            raise SystemExit("--targets is needed to measure")
        started = time.time()
        try:
            measure(args, suite, out)
        finally:
            _log_session(out, started)
    print(report(args, suite, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
