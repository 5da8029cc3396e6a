"""CPU path: images/s of a bare forward pass, of modelrank's probe, and fine-tuning steps/s.

The settings modelrank changes (``modelrank/cpu_runtime.py``: glibc's allocator and OpenMP's
wait policy) are process-wide and partly fixed when torch is imported, so each measurement runs
in a child process of this one with the environment it needs; this process starts them
alternately (every arm once, then again, ``--repeats`` times), takes the median of each arm and
prints the ratios. Arms (all on EfficientNet-Lite0, random weights where the cost does not
depend on them):

- ``forward-naive``: bare timm forward pass, batches of 32 at 224 px, the libraries' defaults
  (modelrank not imported, so nothing is tuned);
- ``forward-tuned``: the same loop after ``import modelrank`` (its settings);
- ``forward-*`` variants: one torch thread, channels-last memory format, batch 16 / 64;
- ``probe-pooled``: ``modelrank.probe.probe`` on digits at 224 px with the cache off: image
  transforms, hooks, pooled layers, features and logits (what ``--metric knn,logme`` needs);
- ``probe-cubical``: the same plus the per-layer cubical Betti counts (``betti-cubical``),
  tuned and untuned (``MODELRANK_CPU_TUNING=off``);
- ``probe-folder``: the probe over a folder of 200 generated 500 x 375 JPEGs, with and without
  decoding the next batch in a thread (``prefetch``);
- ``finetune-naive`` / ``finetune-tuned``: steps/s of modelrank's fine-tuning loop
  (``finetuning.finetune_run``, SGD with Nesterov momentum, batch 32 at 64 px as the ``cpu``
  budget) without and with the settings; ``finetune-224-*`` the same at 224 px (the backbone's
  own resolution, as the ``published`` budget trains); ``finetune-tuned-channels-last`` with
  ``FinetuneConfig(channels_last=True)`` (different low-order bits, so not the default);
- ``readme-naive`` / ``readme-tuned`` (``--readme``): README's first command from an empty cache,
  wall-clock of the whole process.

Each arm reports its CPU time split (user, system from ``resource.getrusage``) and minor page
faults. Results: ``benchmarks/results/cpu_path.md``.

    python benchmarks/bench_cpu_path.py [--repeats 2] [--batches 6] [--per-class 20]
                                        [--steps 30] [--readme] [--output FILE.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)


# ------------------------------------------------------------------------------------------
# child side: one measurement in this process, printed as one JSON line
# ------------------------------------------------------------------------------------------


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _measure(fn) -> dict:
    u0, s0, f0 = _usage()
    t0 = time.perf_counter()
    work = fn()
    wall = time.perf_counter() - t0
    u1, s1, f1 = _usage()
    return {"wall": wall, "user": u1 - u0, "sys": s1 - s0, "minflt": f1 - f0, "work": work}


def child_forward(args) -> dict:
    if args.tuned:
        import modelrank  # noqa: F401  (applies modelrank's CPU settings)
    import timm
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model(x)  # warm-up: first-call allocations and kernel selection

        def run():
            for _ in range(args.batches):
                model(x)
            return args.batches * args.batch

        return _measure(run)


def _lite0():
    from modelrank.loaders import build_backbone
    from modelrank.zoo import load_zoo

    return build_backbone(load_zoo()["efficientnet_lite0"])


def _photo_folder(root: str, per_class: int) -> str:
    """A folder of 500 x 375 JPEGs (quality 90, smooth noise: photo-like decode cost), 4 classes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(4):
        d = os.path.join(root, f"class{c}")
        os.makedirs(d, exist_ok=True)
        for i in range(per_class):
            small = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            img = Image.fromarray(small).resize((500, 375), Image.BICUBIC)
            img.save(os.path.join(d, f"{i}.jpg"), quality=90)
    return root


def child_probe(args) -> dict:
    import modelrank  # noqa: F401
    from modelrank.data import load_target
    from modelrank.probe import CubicalBettiReducer, probe

    bb = _lite0()
    tmp = tempfile.TemporaryDirectory()
    if args.folder:
        data = load_target(_photo_folder(tmp.name, args.per_class), split="all")
    else:
        data = load_target("digits", per_class=args.per_class, seed=0)
    cub = CubicalBettiReducer() if args.cubical else None
    kw = dict(batch_size=32, use_cache=False, device="cpu", prefetch=not args.no_prefetch)
    probe(bb, data, **kw)  # warm-up (also the file system cache)
    return _measure(lambda: (probe(bb, data, cubical=cub, **kw), len(data))[1])


def child_finetune(args) -> dict:
    from dataclasses import replace

    import modelrank  # noqa: F401
    from modelrank.finetuning import CPU_BUDGET, finetune_run, load_splits
    from modelrank.loaders import build_backbone
    from modelrank.zoo import load_zoo

    entry = load_zoo()["efficientnet_lite0"]
    cfg = replace(
        CPU_BUDGET, steps=args.steps, image_size=args.size, channels_last=args.channels_last
    )
    pre = entry.preprocess or build_backbone(entry).preprocess
    pre = replace(pre, size=cfg.image_size, resize=cfg.image_size)  # as finetuning.FinetuneJob
    splits = load_splits("digits", 20, 0, cfg.val_fraction)
    stamps: list[float] = []
    usage: list[tuple[float, float, int]] = []

    def on_step(what, i, n):
        stamps.append(time.perf_counter())
        usage.append(_usage())

    finetune_run(entry, pre, splits, cfg, "grid", 0.01, 0.0, on_progress=on_step, device="cpu")
    warm = 3  # the first steps allocate; time the rest
    steps = len(stamps) - warm
    (u0, s0, f0), (u1, s1, f1) = usage[warm - 1], usage[-1]
    return {
        "wall": stamps[-1] - stamps[warm - 1],
        "user": u1 - u0,
        "sys": s1 - s0,
        "minflt": f1 - f0,
        "work": steps,
    }


def child_readme(args) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        env["MODELRANK_CACHE"] = os.path.join(tmp, "cache")
        env["MODELRANK_DB"] = os.path.join(tmp, "results.sqlite")
        cmd = [
            "modelrank",
            "score",
            "--dataset",
            "digits",
            "--models",
            "offline",
            "--per-class",
            "20",
            "--metric",
            "knn,logme,betti-cubical",
        ]
        t0 = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "user": r1.ru_utime - r0.ru_utime,
        "sys": r1.ru_stime - r0.ru_stime,
        "minflt": r1.ru_minflt - r0.ru_minflt,
        "work": 1,
        "table": out,
    }


CHILDREN = {
    "forward": child_forward,
    "probe": child_probe,
    "finetune": child_finetune,
    "readme": child_readme,
}


# ------------------------------------------------------------------------------------------
# parent side: the arms, alternated, medians and ratios
# ------------------------------------------------------------------------------------------

OFF = {"MODELRANK_CPU_TUNING": "off"}


def arms(args) -> list[tuple[str, str, list[str], dict]]:
    """(name, kind, child flags, extra environment) of every arm, in the order they run."""
    b = ["--batches", str(args.batches)]
    out = [
        ("forward-naive", "forward", b, {}),
        ("forward-tuned", "forward", b + ["--tuned"], {}),
        ("forward-tuned-1-thread", "forward", b + ["--tuned", "--threads", "1"], {}),
        ("forward-naive-1-thread", "forward", b + ["--threads", "1"], {}),
        ("forward-tuned-channels-last", "forward", b + ["--tuned", "--channels-last"], {}),
        (
            "forward-tuned-batch-16",
            "forward",
            ["--batches", str(args.batches * 2), "--tuned", "--batch", "16"],
            {},
        ),
        (
            "forward-tuned-batch-64",
            "forward",
            ["--batches", str(max(1, args.batches // 2)), "--tuned", "--batch", "64"],
            {},
        ),
        ("probe-pooled-naive", "probe", ["--per-class", str(args.per_class)], OFF),
        ("probe-pooled", "probe", ["--per-class", str(args.per_class)], {}),
        ("probe-cubical-naive", "probe", ["--per-class", str(args.per_class), "--cubical"], OFF),
        ("probe-cubical", "probe", ["--per-class", str(args.per_class), "--cubical"], {}),
        (
            "probe-folder-no-prefetch",
            "probe",
            ["--per-class", "50", "--folder", "--no-prefetch"],
            {},
        ),
        ("probe-folder", "probe", ["--per-class", "50", "--folder"], {}),
        ("finetune-naive", "finetune", ["--steps", str(args.steps)], OFF),
        ("finetune-tuned", "finetune", ["--steps", str(args.steps)], {}),
        (
            "finetune-tuned-channels-last",
            "finetune",
            ["--steps", str(args.steps), "--channels-last"],
            {},
        ),
        (
            "finetune-224-naive",
            "finetune",
            ["--steps", str(max(6, args.steps // 4)), "--size", "224"],
            OFF,
        ),
        (
            "finetune-224-tuned",
            "finetune",
            ["--steps", str(max(6, args.steps // 4)), "--size", "224"],
            {},
        ),
    ]
    if args.readme:
        out += [("readme-naive", "readme", [], OFF), ("readme-tuned", "readme", [], {})]
    return out


def run_child(kind: str, flags: list[str], extra_env: dict) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MALLOC_", "OMP_WAIT", "GOMP_", "MODELRANK_CPU"))
    }
    env.update(extra_env)
    out = subprocess.run(
        [sys.executable, HERE, "--child", kind, *flags], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"arm {kind} {flags} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=sorted(CHILDREN))
    ap.add_argument("--tuned", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--cubical", action="store_true")
    ap.add_argument("--folder", action="store_true", help="probe a folder of generated JPEGs")
    ap.add_argument("--no-prefetch", action="store_true")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--size", type=int, default=64, help="fine-tuning image size (px)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--readme", action="store_true", help="also time README's first command")
    ap.add_argument("--output", help="write the Markdown table here too")
    ap.add_argument("--arms", help="comma list: run only these arms (ratios need both sides)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return

    plan = arms(args)
    if args.arms:
        wanted = set(args.arms.split(","))
        unknown = wanted - {name for name, *_ in plan}
        if unknown:
            raise SystemExit(f"unknown arms: {', '.join(sorted(unknown))}")
        plan = [a for a in plan if a[0] in wanted]
    got: dict[str, list[dict]] = {name: [] for name, *_ in plan}
    for rep in range(args.repeats):
        for name, kind, flags, env in plan:
            r = run_child(kind, flags, env)
            got[name].append(r)
            print(
                f"[{rep + 1}/{args.repeats}] {name}: {r['work'] / r['wall']:.2f}/s "
                f"(wall {r['wall']:.2f} s, sys {r['sys']:.2f} s)",
                file=sys.stderr,
                flush=True,
            )

    def med(name, field):
        return statistics.median(r[field] for r in got[name])

    def rate(name):
        return statistics.median(r["work"] / r["wall"] for r in got[name])

    unit = {"forward": "images/s", "probe": "images/s", "finetune": "steps/s", "readme": "runs"}
    lines = [
        f"Machine: {os.cpu_count()} cores; torch threads default; median of {args.repeats} "
        "alternated runs per arm (each in a fresh process).",
        "",
        "| arm | rate | unit | wall (s) | user (s) | system (s) | system share of CPU | minor faults |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, kind, _, _ in plan:
        u, s = med(name, "user"), med(name, "sys")
        rate_s = f"{rate(name):.2f}" if kind != "readme" else "–"
        lines.append(
            f"| {name} | {rate_s} | {unit[kind]} | {med(name, 'wall'):.2f} | {u:.2f} | "
            f"{s:.2f} | {100 * s / max(u + s, 1e-9):.1f} % | {med(name, 'minflt'):.0f} |"
        )
    have = {name for name, *_ in plan}
    pairs = [
        ("forward-tuned", "forward-naive"),
        ("forward-tuned-1-thread", "forward-tuned"),
        ("forward-tuned-channels-last", "forward-tuned"),
        ("forward-tuned-batch-16", "forward-tuned"),
        ("forward-tuned-batch-64", "forward-tuned"),
        ("probe-pooled", "forward-naive"),
        ("probe-pooled", "probe-pooled-naive"),
        ("probe-cubical", "probe-cubical-naive"),
        ("probe-folder", "probe-folder-no-prefetch"),
        ("finetune-tuned", "finetune-naive"),
        ("finetune-tuned-channels-last", "finetune-naive"),
        ("finetune-224-tuned", "finetune-224-naive"),
    ]
    ratios = [(f"{a} / {b}", rate(a) / rate(b)) for a, b in pairs if a in have and b in have]
    if "readme-naive" in have and "readme-tuned" in have:
        ratios.append(
            (
                "readme-naive wall / readme-tuned wall",
                med("readme-naive", "wall") / med("readme-tuned", "wall"),
            )
        )
        same = all(
            r["table"] == got["readme-naive"][0]["table"]
            for r in got["readme-naive"] + got["readme-tuned"]
        )
        ratios.append(("README tables identical (naive vs tuned, every run)", float(same)))
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in ratios]
    text = "\n".join(lines)
    print(text)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
