"""Benchmark: linear-time cubical Betti numbers vs CubicalRipser, and the cost of the cubical score.

Run from the repository root:

    python benchmarks/bench_betti.py                # 3-6 minutes on 2 cores (cripser dominates)
    python benchmarks/bench_betti.py --no-cripser   # seconds

1. Three seeded 56x56x256 (W, H, C) post-ReLU volumes, about half exact zeros each:
   - "channels independent, spatial sigma=1": each channel's (W, H) map is smoothed Gaussian
     noise, channels independent — the model of a conv feature-map stack, where neighbouring
     channels are unrelated filters (the headline case);
   - "white noise": ReLU of i.i.d. Gaussian noise, the roughest case;
   - "isotropic sigma=1.5": smoothed along all three axes, the smoothest case.
   For each: ``betti_at(vol, 0.0)`` (best and median of repeats) and one
   ``cripser.computePH(vol, maxdim=2)`` in the same process, the ratio of the cripser time to the
   median fast time, and a check that the Betti numbers agree (birth <= 0 < death). CubicalRipser's
   cost depends strongly on how rough the volume is, the fast path's hardly at all, so the ratio
   is reported per volume. Exits non-zero on any disagreement, or if the headline ratio is < 500.
2. The cubical score's cost for one ResNet-50 image over its 19 probed layers, with the real
   activation shapes (C, H, W): conv1, bn1 (both signed) and relu 64x112x112, then 3 blocks of
   256x56x56, 4 of 512x28x28, 6 of 1024x14x14 and 3 of 2048x7x7 (post-ReLU); synthetic float32
   activations (channels independent, spatial sigma=1), layout "whc", eta = 0.

No torch needed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from scipy import ndimage

from modelrank.topology.cubical import betti_at, betti_counts, betti_from_diagrams, cubical_diagrams

RESNET50_LAYERS: list[tuple[str, tuple[int, int, int], bool]] = (
    [("conv1", (64, 112, 112), False), ("bn1", (64, 112, 112), False)]
    + [("relu", (64, 112, 112), True)]
    + [(f"layer1.{i}", (256, 56, 56), True) for i in range(3)]
    + [(f"layer2.{i}", (512, 28, 28), True) for i in range(4)]
    + [(f"layer3.{i}", (1024, 14, 14), True) for i in range(6)]
    + [(f"layer4.{i}", (2048, 7, 7), True) for i in range(3)]
)


def field(
    shape: tuple[int, ...], sigma: tuple[float, ...], rng: np.random.Generator, relu: bool
) -> np.ndarray:
    """Gaussian noise (float32) smoothed with per-axis ``sigma``, optionally through a ReLU."""
    v = rng.standard_normal(shape).astype(np.float32)
    if any(sigma):
        v = ndimage.gaussian_filter(v, sigma)
    return np.maximum(v, 0.0) if relu else v


# (name, sigma per (W, H, C) axis, headline?)
VOLUMES = [
    ("channels independent, spatial sigma=1", (1.0, 1.0, 0.0), True),
    ("white noise", (0.0, 0.0, 0.0), False),
    ("isotropic sigma=1.5", (1.5, 1.5, 1.5), False),
]


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=7, help="repeats of the fast path")
    ap.add_argument("--no-cripser", action="store_true", help="skip the CubicalRipser timings")
    args = ap.parse_args(argv)
    ok = True

    print("56x56x256 (W, H, C) post-ReLU volumes, eta = 0")
    for name, sigma, headline in VOLUMES:
        rng = np.random.default_rng(args.seed)
        vol = field((56, 56, 256), sigma, rng, relu=True)
        times = [timed(lambda: betti_at(vol, 0.0), 1)[0] for _ in range(args.repeats)]  # noqa: B023 (called at once)
        b_fast = betti_at(vol, 0.0)
        t_fast = statistics.median(times)
        print(
            f"\n[{name}]  {np.mean(vol == 0):.1%} exact zeros{'  (headline)' if headline else ''}"
        )
        print(
            f"  betti_at(vol, 0.0)           = {b_fast}  median {t_fast * 1e3:6.1f} ms, "
            f"best {min(times) * 1e3:6.1f} ms ({args.repeats} runs)"
        )
        if args.no_cripser:
            continue
        t = time.perf_counter()
        dgms = cubical_diagrams(vol, maxdim=2, backend="cripser")
        t_crip = time.perf_counter() - t
        b_crip = betti_from_diagrams(dgms, 0.0)
        ratio = t_crip / t_fast
        print(f"  cripser.computePH(maxdim=2)  = {b_crip}  {t_crip:8.2f} s (1 run)")
        print(
            f"  speed-up {ratio:,.0f}x (vs median)  {'>= 500x' if ratio >= 500 else '< 500x'}"
            f"  agree: {b_crip == b_fast}"
        )
        if b_crip != b_fast:
            print(f"MISMATCH on {name!r}", file=sys.stderr)
            ok = False
        if headline and ratio < 500:
            print(f"headline speed-up below 500x on {name!r}", file=sys.stderr)
            ok = False

    # --- one ResNet-50 image, all 19 probed layers ---------------------------------------
    rng = np.random.default_rng(args.seed)
    acts = [(n, field(s, (0.0, 1.0, 1.0), rng, r)[None]) for n, s, r in RESNET50_LAYERS]
    per_layer = []
    for name, a in acts:
        t, b = timed(lambda a=a: betti_counts(a, 0.0, layout="whc"), 3)
        per_layer.append((name, a.shape[1:], t, tuple(int(v) for v in b[0])))
    total = sum(t for _, _, t, _ in per_layer)
    print("\nResNet-50, one image, layout 'whc', eta=0 (median of 3 per layer):")
    for name, shape, t, b in per_layer:
        print(f"  {name:9s} {'x'.join(map(str, shape)):>12s}  {t * 1e3:7.1f} ms  betti={b}")
    n_vox = sum(int(np.prod(s)) for _, s, _, _ in per_layer)
    print(
        f"  total: {total * 1e3:.0f} ms per image over 19 layers ({n_vox / 1e6:.1f} M voxels, "
        f"{total / n_vox * 1e9:.1f} ns/voxel); 1,000 images: {total * 1000 / 60:.1f} min"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
