"""Probe throughput against a bare forward pass, in the same process.

The bare baseline does what any user would do without modelrank: transform the images, stack
them into batches, call the model. The probe does the same plus forward hooks on every probed
layer (global-average pooling each one), the head's input/output capture and the float32
copies, with the cache off. Runs alternate (bare, probe, bare, probe, ...) so that load from
elsewhere hits both alike; the medians are compared.

    python benchmarks/bench_probe.py [--model efficientnet_lite0] [--images 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from modelrank.backbone import make_transform
from modelrank.data import load_target
from modelrank.loaders import build_backbone
from modelrank.probe import probe
from modelrank.zoo import load_zoo


def bare(bb, data, batch_size):
    t = make_transform(bb.preprocess)
    with torch.inference_mode():
        for b0 in range(0, len(data), batch_size):
            x = torch.stack([t(data.images[i]) for i in range(b0, min(len(data), b0 + batch_size))])
            bb.model(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    bb = build_backbone(load_zoo()[args.model])
    data = load_target("digits", split="all", per_class=args.images // 10)
    bare(bb, data, args.batch_size)  # warm-up
    tb, tp = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        bare(bb, data, args.batch_size)
        tb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        probe(bb, data, batch_size=args.batch_size, use_cache=False)
        tp.append(time.perf_counter() - t0)
    mb, mp = statistics.median(tb), statistics.median(tp)
    n = len(data)
    print(
        f"model {args.model}, {n} images, {len(bb.layers)} probed layers, batch {args.batch_size}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"bare forward : {mb:7.2f} s  ({n / mb:6.1f} img/s)   runs {[round(t, 2) for t in tb]}")
    print(f"probe        : {mp:7.2f} s  ({n / mp:6.1f} img/s)   runs {[round(t, 2) for t in tp]}")
    print(f"probe throughput / bare throughput = {mb / mp:.3f}  (target >= 0.90)")


if __name__ == "__main__":
    main()
