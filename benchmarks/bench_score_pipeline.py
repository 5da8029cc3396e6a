"""Benchmark: what the cubical score costs in end-to-end scoring, per Betti engine and device.

Run from the repository root:

    python benchmarks/bench_score_pipeline.py --output benchmarks/results/score_pipeline.md

1. End-to-end scoring of the ``group1`` architectures of the packaged zoo, built with seeded
   random weights (the cost does not depend on the weights, so nothing is downloaded), at 224 px
   on 256 digits images, cache off, in this one process. For each architecture and device, in
   this order (each arm after a one-batch warm-up of its own kind):
   - ``probe``: the forward pass with the probe's pooled layers, features and logits;
   - ``knn,logme``: the probe plus those two scores;
   - ``knn,logme,betti-cubical`` once per Betti engine: ``numpy`` (host counting beside the
     forward pass; with cc3d when installed, and again with scipy's labelling) and ``torch``
     (tensor ops on the backbone's device). On the CPU the torch engine is far slower than
     numpy, so its arm runs on ``--torch-cpu-images`` images only (images/s stay comparable).
   The ratio printed is images/s of ``knn,logme`` over images/s of the arm with topology: how
   many times longer scoring takes with ``betti-cubical``. Every arm also checks that its Betti
   counts equal the first engine's.
2. Voxels per second of each engine on the three 56x56x256 volumes of ``bench_betti.py``
   (median of ``--repeats``), with the ratio of each engine to numpy (scipy labelling).

CUDA rows appear when a GPU is present (``--devices cpu,cuda``; default: every device here).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_betti import VOLUMES, field  # noqa: E402

from modelrank.data import load_target  # noqa: E402
from modelrank.loaders import build_backbone  # noqa: E402
from modelrank.metrics import get_metric  # noqa: E402
from modelrank.probe import CubicalBettiReducer, probe  # noqa: E402
from modelrank.scoring import metric_inputs  # noqa: E402
from modelrank.topology import cubical, cubical_torch  # noqa: E402
from modelrank.zoo import load_zoo, select  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _subset(data, n: int):
    """The first ``n`` images taken round-robin over the classes (so every class keeps two
    images as long as ``n`` >= 2 x classes, as k-NN and LogME need)."""
    labels = np.asarray(data.labels)
    rank = np.zeros(len(labels), dtype=np.int64)
    for k in np.unique(labels):
        at = np.flatnonzero(labels == k)
        rank[at] = np.arange(at.size)
    keep = np.lexsort((np.arange(len(labels)), rank))[:n]
    return dataclasses.replace(data, images=[data.images[i] for i in keep], labels=labels[keep])


class _Labeller:
    """Context: the numpy engine's labelling library for the duration of one arm."""

    def __init__(self, name: str):
        self.name, self.saved = name, cubical.LABELLER

    def __enter__(self):
        cubical.LABELLER = self.name

    def __exit__(self, *exc):
        cubical.LABELLER = self.saved


def _score(bb, data, device: str, metrics: list[str], engine: str | None, batch_size: int):
    """Seconds to probe ``data`` and compute ``metrics`` (cache off), and the Betti counts."""
    specs = [get_metric(m) for m in metrics]
    reducer = CubicalBettiReducer(0.0, "whc", engine) if engine else None
    _sync(device)
    t = time.perf_counter()
    emb = probe(bb, data, cubical=reducer, batch_size=batch_size, device=device, use_cache=False)
    inputs = metric_inputs(emb, bb.entry, bb.param_count)
    for spec in specs:
        spec.compute(inputs)
    _sync(device)
    return time.perf_counter() - t, emb.cubical


def _arms(device: str) -> list[tuple[str, str | None, str | None]]:
    """(label, Betti engine, numpy labeller) of every arm with topology on ``device``."""
    numpy_arms = [("numpy (cc3d)", "numpy", "cc3d")] if cubical.cc3d is not None else []
    numpy_arms.append(("numpy (scipy)", "numpy", "scipy"))
    return numpy_arms + [("torch", "torch", None)]


def pipeline(
    models: list, data, devices: list[str], batch_size: int, torch_cpu_images: int, lines: list[str]
) -> bool:
    ok = True
    lines += [
        "| architecture | device | arm | images | images/s | × time of knn,logme |",
        "|---|---|---|---:|---:|---:|",
    ]
    worst: dict[tuple[str, str], float] = {}
    for entry in models:
        rand = dataclasses.replace(entry, weights="random", seed=0)
        for device in devices:
            bb = build_backbone(rand, device=device)
            warm = _subset(data, batch_size)
            _score(bb, warm, device, [], None, batch_size)
            t_probe, _ = _score(bb, data, device, [], None, batch_size)
            t_base, _ = _score(bb, data, device, ["knn", "logme"], None, batch_size)
            n = len(data)
            rows = [("probe", n, n / t_probe, None), ("knn,logme", n, n / t_base, 1.0)]
            first = None
            for label, engine, labeller in _arms(device):
                sub = data
                if engine == "torch" and device == "cpu":
                    sub = _subset(data, torch_cpu_images)
                with _Labeller(labeller or cubical.LABELLER):
                    _score(
                        bb,
                        _subset(sub, min(len(sub), batch_size)),
                        device,
                        ["betti-cubical"],
                        engine,
                        batch_size,
                    )
                    t, counts = _score(
                        bb, sub, device, ["knn", "logme", "betti-cubical"], engine, batch_size
                    )
                if first is None:
                    first = counts
                elif not np.array_equal(counts, first[: len(counts)]):
                    print(
                        f"MISMATCH: {entry.name} on {device}: {label} counts differ",
                        file=sys.stderr,
                    )
                    ok = False
                rate = len(sub) / t
                ratio = (n / t_base) / rate
                rows.append((f"knn,logme,betti-cubical, {label}", len(sub), rate, ratio))
                key = (device, label)
                worst[key] = max(worst.get(key, 0.0), ratio)
            for arm, k, rate, ratio in rows:
                line = (
                    f"| {entry.name} | {device} | {arm} | {k} | {rate:.1f} | "
                    f"{'' if ratio is None else f'{ratio:.2f}'} |"
                )
                lines.append(line)
                print(line, flush=True)
            del bb
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
    lines += [
        "",
        "Largest time ratio over the architectures, per device and engine:",
        "",
        "| device | engine | max × time of knn,logme |",
        "|---|---|---:|",
    ]
    lines += [f"| {d} | {e} | {r:.2f} |" for (d, e), r in worst.items()]
    return ok


def voxels(devices: list[str], repeats: int, seed: int, lines: list[str]) -> bool:
    ok = True
    lines += [
        "",
        "## Voxels per second on the 56x56x256 volumes of bench_betti.py",
        "",
        "| volume | engine | device | median ms | M voxels/s | × numpy (scipy) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for name, sigma, _ in VOLUMES:
        vol = field((56, 56, 256), sigma, np.random.default_rng(seed), relu=True)
        want = cubical.betti_at(vol, 0.0)
        engines: list[tuple[str, str, object]] = []
        if cubical.cc3d is not None:
            engines.append(("numpy (cc3d)", "cpu", "cc3d"))
        engines.insert(0, ("numpy (scipy)", "cpu", "scipy"))
        engines += [("torch", d, None) for d in devices]
        base = None
        for label, device, labeller in engines:
            if labeller is not None:

                def fn(labeller=labeller):
                    with _Labeller(labeller):
                        return cubical.betti_at(vol, 0.0)  # noqa: B023 (called at once)
            else:
                tv = torch.from_numpy(vol).to(device)

                def fn(tv=tv, device=device):
                    out = cubical_torch.betti_at(tv, 0.0)
                    _sync(device)
                    return out

            got = fn()
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            if tuple(got) != tuple(want):
                print(
                    f"MISMATCH on {name}: {label} on {device} gives {got}, want {want}",
                    file=sys.stderr,
                )
                ok = False
            med = statistics.median(times)
            base = med if base is None else base
            line = (
                f"| {name} | {label} | {device} | {med * 1e3:.1f} | {vol.size / med / 1e6:.1f} "
                f"| {base / med:.2f} |"
            )
            lines.append(line)
            print(line, flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="group1", help="zoo names or tags (default group1)")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--devices", default=None, help="comma list; default cpu, plus cuda if present")
    ap.add_argument(
        "--torch-cpu-images",
        type=int,
        default=32,
        help="images for the torch engine's arm on the CPU (it is slow there)",
    )
    ap.add_argument("--repeats", type=int, default=5, help="repeats of each volume timing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--output", default=None, help="write the tables to this Markdown file")
    args = ap.parse_args(argv)
    devices = (
        args.devices.split(",")
        if args.devices
        else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    )
    data = load_target("digits", split="all", per_class=-(-args.images // 10))
    data = _subset(data, args.images)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    lines = [
        "# Scoring with and without the cubical score, per Betti engine",
        "",
        f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, GPU: {gpu}; "
        f"torch {torch.__version__}, cc3d {'installed' if cubical.cc3d else 'absent'}. "
        f"{len(data)} digits images at each network's 224 px preprocessing, batch "
        f"{args.batch_size}, random weights (seed 0), cache off.",
        "",
        "    python benchmarks/bench_score_pipeline.py " + " ".join(argv or sys.argv[1:]),
        "",
    ]
    ok = True
    if not args.skip_pipeline:
        models = select(load_zoo(), args.models)
        ok &= pipeline(models, data, devices, args.batch_size, args.torch_cpu_images, lines)
    ok &= voxels(devices, args.repeats, args.seed, lines)
    if args.output:
        Path(args.output).write_text("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
