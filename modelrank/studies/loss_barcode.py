"""Loss-landscape barcode and TO-score of a small fully connected network (docs/methods.md §3).

Procedure (Barannikov et al., arXiv 2012.15834), with the choices made here:

1. Data: a small offline data set (`load_dataset`), used whole as one full batch; the loss is the
   mean cross-entropy on it (nats), with no regularisation unless ``weight_decay`` > 0 (then
   ``+ weight_decay / 2 · ||θ||²`` is part of the loss whose landscape is studied).
2. Minima: N networks trained from different seeded initialisations (PyTorch's default uniform
   ±1/sqrt(fan_in) for weights and biases; minimum i uses seed ``seed * 10007 + i``) with full-batch
   Adam for ``steps`` steps. float64 throughout, so a run is deterministic on CPU.
3. Paths: for every pair, a polyline of ``path_points`` interior points, started on the straight
   line, is improved by a nudged-elastic-band-style iteration: each interior point moves along the
   negative loss gradient with its component along the path tangent (central difference) removed,
   with Adam step sizes; instead of spring forces the points are then redistributed to equal arc
   length along the polyline (the string-method form of the elastic band: the stiff-spring limit,
   with no spring constant to tune). Every ``eval_every`` iterations the polyline is evaluated on
   ``resample`` equally spaced points per segment, endpoints included; the polyline with the lowest
   maximum is kept, the straight line being the first candidate.
4. saddle(i, j) = that lowest maximum (an upper bound on the true minimax loss between the two
   minima); `modelrank.topology.barcode.minimax_barcode` turns minima losses and saddles into bars,
   and the TO-score sums the finite bar lengths (raw, in nats; normalised by the barcode's loss range,
   unit-free).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from modelrank.errors import ConfigError
from modelrank.progress import OnProgress, tell
from modelrank.studies.architecture import parse_arch
from modelrank.topology.barcode import Bar, loss_range_of, minimax_barcode, to_score
from modelrank.util import plot_style as style

__all__ = [
    "DATASETS",
    "parse_arch",
    "load_dataset",
    "FlatMLP",
    "train_minimum",
    "PathResult",
    "optimise_path",
    "LossBarcode",
    "loss_barcode",
]

DATASETS = ("digits", "moons", "circles", "d1")
_DTYPE = torch.float64


def load_dataset(
    name: str, n_samples: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small classification data set that needs no download.

    Args:
        name: "digits" (sklearn 8x8 digits, 1797 x 64, pixels scaled to [0, 1], 10 classes),
            "moons" (noise 0.2) or "circles" (noise 0.1, factor 0.5), 2-D, 2 classes, 400 samples by
            default; "d1" (Naitzat et al.'s D-I set, 2-D, 2 classes, about 1000 generated points of
            which those in the class margin are dropped; needs `modelrank.topology.pointclouds.d1`).
        n_samples: subsample / generate this many (default: digits all, synthetic 400).
        seed: seeds the generator and the subsample.

    Returns:
        X (n, d) float64 and y (n,) int64 labels 0..C−1.

    Raises:
        ConfigError: unknown name, unavailable D-I set, or n_samples < 2.
    """
    key = str(name).strip().lower()
    if key not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if n_samples is not None and int(n_samples) < 2:
        raise ConfigError(f"n_samples must be at least 2, got {n_samples}")
    if key == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x = x / 16.0
        if n_samples is not None and n_samples < len(y):
            keep = np.sort(
                np.random.default_rng(seed).choice(len(y), size=int(n_samples), replace=False)
            )
            x, y = x[keep], y[keep]
    elif key in ("moons", "circles"):
        from sklearn.datasets import make_circles, make_moons

        n = 400 if n_samples is None else int(n_samples)
        if key == "moons":
            x, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
        else:
            x, y = make_circles(n_samples=n, noise=0.1, factor=0.5, random_state=seed)
    else:
        x, y = _load_d1(n_samples, seed)
    y = np.unique(np.asarray(y), return_inverse=True)[1]
    return np.asarray(x, dtype=np.float64), y.astype(np.int64)


def _load_d1(n_samples: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Naitzat D-I set from `modelrank.topology.pointclouds.d1`, expected to return (X, y)."""
    try:
        from modelrank.topology.pointclouds import d1  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ConfigError(
            "data set 'd1' needs modelrank.topology.pointclouds.d1, not available"
        ) from exc
    try:
        out = d1(n=1000 if n_samples is None else int(n_samples), seed=seed)
    except TypeError:  # a generator with another signature: take its defaults
        out = d1()
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ConfigError("modelrank.topology.pointclouds.d1 did not return (points, labels)")
    return np.asarray(out[0]), np.asarray(out[1])


class FlatMLP:
    """Fully connected ReLU network whose parameters live in one flat vector.

    Layout per layer: weight (out, in) row-major, then bias (out,). Evaluating a stack of P parameter
    vectors at once is what makes path optimisation cheap.

    Args:
        d_in: input features; depth, width: hidden layers and their width; n_classes: outputs.
    """

    def __init__(self, d_in: int, depth: int, width: int, n_classes: int) -> None:
        sizes = [d_in] + [width] * depth + [n_classes]
        self.shapes = [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
        self.n_params = sum(o * i + o for o, i in self.shapes)

    def init(self, seed: int) -> torch.Tensor:
        """Initial parameters (n_params,): PyTorch's default Linear init, U(±1/sqrt(fan_in))."""
        gen = torch.Generator().manual_seed(int(seed))
        parts = []
        for out, inp in self.shapes:
            bound = 1.0 / np.sqrt(inp)
            parts.append((torch.rand(out * inp + out, generator=gen, dtype=_DTYPE) * 2 - 1) * bound)
        return torch.cat(parts)

    def logits(self, thetas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """thetas (P, n_params), x (N, d_in) -> logits (P, N, n_classes)."""
        p = thetas.shape[0]
        h = x.unsqueeze(0)
        offset = 0
        for layer, (out, inp) in enumerate(self.shapes):
            w = thetas[:, offset : offset + out * inp].reshape(p, out, inp)
            offset += out * inp
            b = thetas[:, offset : offset + out]
            offset += out
            h = torch.matmul(h, w.transpose(1, 2)) + b.unsqueeze(1)
            if layer < len(self.shapes) - 1:
                h = torch.relu(h)
        return h

    def losses(
        self, thetas: torch.Tensor, x: torch.Tensor, y: torch.Tensor, weight_decay: float = 0.0
    ) -> torch.Tensor:
        """Mean cross-entropy (nats) of each parameter vector: (P, n_params) -> (P,)."""
        logp = torch.log_softmax(self.logits(thetas, x), dim=-1)
        nll = (
            -logp.gather(-1, y.view(1, -1, 1).expand(thetas.shape[0], -1, 1))
            .squeeze(-1)
            .mean(dim=1)
        )
        if weight_decay:
            nll = nll + 0.5 * weight_decay * (thetas * thetas).sum(dim=1)
        return nll


LossFn = Callable[[torch.Tensor], torch.Tensor]


def train_minimum(
    loss_fn: LossFn, theta0: torch.Tensor, steps: int, lr: float = 1e-2
) -> torch.Tensor:
    """Full-batch Adam from ``theta0`` (n_params,) for ``steps`` steps; returns the final (n_params,)."""
    theta = theta0.detach().clone().unsqueeze(0).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=lr)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss_fn(theta).sum().backward()
        opt.step()
    return theta.detach().squeeze(0)


@dataclass
class PathResult:
    """Best path found between two minima.

    Attributes:
        max_loss: maximum loss along the densely resampled best polyline (nats) — the saddle estimate.
        straight_max: maximum loss along the straight segment on the same resampling grid (nats).
        polyline: (path_points + 2, n_params) best polyline, endpoints included.
        dense_losses: ((path_points + 1) * resample + 1,) losses along the best polyline.
    """

    max_loss: float
    straight_max: float
    polyline: torch.Tensor
    dense_losses: np.ndarray


def _dense(polyline: torch.Tensor, resample: int) -> torch.Tensor:
    """Points at fractions 0, 1/r, …, (r−1)/r of every segment, plus the last vertex: (S*r + 1, n)."""
    s = torch.arange(resample, dtype=polyline.dtype) / resample
    start, step = polyline[:-1], polyline[1:] - polyline[:-1]
    pts = start.unsqueeze(1) + s.view(1, -1, 1) * step.unsqueeze(1)
    return torch.cat([pts.reshape(-1, polyline.shape[1]), polyline[-1:]])


def _equal_arc_length(polyline: torch.Tensor) -> torch.Tensor:
    """The interior points moved to equal arc length along the polyline: (K, n) -> (K − 2, n)."""
    seg = (polyline[1:] - polyline[:-1]).norm(dim=1)
    cum = torch.cat([seg.new_zeros(1), torch.cumsum(seg, 0)])
    if cum[-1] <= 0:
        return polyline[1:-1].clone()
    targets = torch.linspace(0, 1, polyline.shape[0], dtype=polyline.dtype)[1:-1] * cum[-1]
    idx = torch.clamp(torch.searchsorted(cum, targets, right=True) - 1, 0, seg.numel() - 1)
    frac = ((targets - cum[idx]) / torch.clamp(seg[idx], min=1e-300)).unsqueeze(1)
    return polyline[idx] + frac * (polyline[idx + 1] - polyline[idx])


def _batched(loss_fn: LossFn, thetas: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([loss_fn(thetas[i : i + chunk]) for i in range(0, thetas.shape[0], chunk)])


def optimise_path(
    loss_fn: LossFn,
    theta_a: torch.Tensor,
    theta_b: torch.Tensor,
    points: int = 8,
    steps: int = 200,
    lr: float = 3e-2,
    resample: int = 4,
    eval_every: int = 10,
) -> PathResult:
    """Lower the maximum loss of a path between two parameter vectors (nudged elastic band style).

    Args:
        loss_fn: (P, n_params) -> (P,) differentiable losses.
        theta_a, theta_b: (n_params,) fixed endpoints.
        points: interior points of the polyline (≥ 1).
        steps: band iterations (0 keeps the straight line).
        lr: Adam step size for the interior points (parameter units).
        resample: evaluation points per segment (≥ 1) for the path maximum.
        eval_every: iterations between evaluations of the path maximum.

    Returns:
        `PathResult`; ``max_loss`` ≤ ``straight_max`` and ≥ both endpoint losses by construction.
    """
    if points < 1 or resample < 1 or steps < 0:
        raise ConfigError("path needs at least 1 interior point, resample ≥ 1 and steps ≥ 0")
    a, b = theta_a.detach().view(1, -1), theta_b.detach().view(1, -1)
    t = torch.linspace(0, 1, points + 2, dtype=a.dtype)[1:-1].view(-1, 1)
    inner = (a + t * (b - a)).requires_grad_(True)
    opt = torch.optim.Adam([inner], lr=lr)

    def evaluate() -> tuple[float, torch.Tensor, torch.Tensor]:
        poly = torch.cat([a, inner.detach(), b])
        dense = _batched(loss_fn, _dense(poly, resample))
        return float(dense.max()), poly.clone(), dense

    best_max, best_poly, best_dense = evaluate()
    straight_max = best_max
    for it in range(1, int(steps) + 1):
        opt.zero_grad()
        (grad,) = torch.autograd.grad(loss_fn(inner).sum(), inner)
        with torch.no_grad():
            full = torch.cat([a, inner, b])
            tangent = full[2:] - full[:-2]
            tangent = tangent / torch.clamp(tangent.norm(dim=1, keepdim=True), min=1e-300)
            inner.grad = grad - (grad * tangent).sum(dim=1, keepdim=True) * tangent
        opt.step()
        with torch.no_grad():
            inner.copy_(_equal_arc_length(torch.cat([a, inner, b])))
        if it % eval_every == 0 or it == steps:
            m, poly, dense = evaluate()
            if m < best_max:
                best_max, best_poly, best_dense = m, poly, dense
    return PathResult(best_max, straight_max, best_poly, best_dense.numpy())


@dataclass
class LossBarcode:
    """Result of `loss_barcode`. Losses in nats (mean cross-entropy on the full data set).

    Attributes:
        config: the arguments that produced it.
        minima_losses: (N,) loss at each trained minimum.
        saddles: (N, N) max loss along the best path found (diagonal = the minimum's loss).
        straight_max: (N, N) max loss along the straight segment (same grid).
        bars: `minimax_barcode(minima_losses, saddles)`.
        to_score_raw: sum of finite bar lengths (nats).
        to_score_normalised: to_score_raw / loss_range (unit-free).
        loss_range: highest finite death (or birth) − lowest birth (nats).
        train_accuracy: (N,) accuracy of each minimum on the data set.
    """

    config: dict
    minima_losses: np.ndarray
    saddles: np.ndarray
    straight_max: np.ndarray
    bars: list[Bar]
    to_score_raw: float
    to_score_normalised: float
    loss_range: float
    train_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict:
        """JSON-ready summary (infinite deaths as None)."""
        return {
            "config": self.config,
            "minima_losses": self.minima_losses.tolist(),
            "train_accuracy": self.train_accuracy.tolist(),
            "saddles": self.saddles.tolist(),
            "straight_line_max": self.straight_max.tolist(),
            "bars": [
                {
                    "minimum": b.index,
                    "birth": b.birth,
                    "death": b.death if b.is_finite else None,
                    "length": b.length if b.is_finite else None,
                    "basin_size": b.basin_size,
                }
                for b in self.bars
            ],
            "to_score_raw": self.to_score_raw,
            "to_score_normalised_by_loss_range": self.to_score_normalised,
            "loss_range": self.loss_range,
        }


def loss_barcode(
    data: str = "moons",
    arch: str = "1x16",
    minima: int = 5,
    seed: int = 0,
    steps: int = 2000,
    lr: float = 1e-2,
    path_points: int = 8,
    path_steps: int = 200,
    path_lr: float = 3e-2,
    resample: int = 4,
    weight_decay: float = 0.0,
    n_samples: int | None = None,
    data_seed: int = 0,
    on_progress: OnProgress | None = None,
    threads: int | None = 1,
) -> LossBarcode:
    """Train ``minima`` networks, join every pair by an optimised path, return the barcode and TO-score.

    Args:
        data: data set name (`load_dataset`); arch: "HxW", H hidden layers of width W
        (:func:`~modelrank.studies.architecture.parse_arch`).
        minima: number of minima N ≥ 2 (N(N−1)/2 paths are optimised).
        seed: seeds the initialisations (minimum i: ``seed * 10007 + i``).
        steps, lr: full-batch Adam training of each minimum.
        path_points, path_steps, path_lr, resample: `optimise_path` settings.
        weight_decay: L2 coefficient added to the loss (0: plain cross-entropy).
        n_samples, data_seed: `load_dataset` settings (the data stay fixed across ``seed``).
        on_progress: told ("minima", i, minima) after each minimum and ("paths", i, pairs)
            after each path (:mod:`modelrank.progress`).
        threads: torch intra-op threads during the run (restored afterwards); the matrices are tiny,
            so 1 is fastest and avoids thrashing shared cores. None leaves torch's setting alone.

    Raises:
        ConfigError: bad data set, architecture or counts.
    """
    depth, width = parse_arch(arch)
    if int(minima) < 2:
        raise ConfigError(f"need at least 2 minima, got {minima}")
    if int(steps) < 0 or int(path_steps) < 0:
        raise ConfigError("steps and path steps must be non-negative")
    if int(path_points) < 1 or int(resample) < 1:
        raise ConfigError("path points and resample must be at least 1")
    x_np, y_np = load_dataset(data, n_samples=n_samples, seed=data_seed)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    try:
        return _run(
            x_np,
            y_np,
            depth,
            width,
            dict(
                data=data,
                arch=arch,
                minima=int(minima),
                seed=seed,
                steps=steps,
                lr=lr,
                path_points=path_points,
                path_steps=path_steps,
                path_lr=path_lr,
                resample=resample,
                weight_decay=weight_decay,
                data_seed=data_seed,
            ),
            on_progress,
        )
    finally:
        torch.set_num_threads(previous_threads)


def _run(
    x_np: np.ndarray,
    y_np: np.ndarray,
    depth: int,
    width: int,
    cfg: dict,
    on_progress: OnProgress | None,
) -> LossBarcode:
    """Body of `loss_barcode` once the inputs are validated; ``cfg`` holds its settings."""
    minima, seed, steps, lr = cfg["minima"], cfg["seed"], cfg["steps"], cfg["lr"]
    weight_decay = cfg["weight_decay"]
    x, y = torch.as_tensor(x_np, dtype=_DTYPE), torch.as_tensor(y_np)
    net = FlatMLP(x.shape[1], depth, width, int(y_np.max()) + 1)

    def loss_fn(thetas: torch.Tensor) -> torch.Tensor:
        return net.losses(thetas, x, y, weight_decay)

    thetas = []
    for i in range(int(minima)):
        thetas.append(train_minimum(loss_fn, net.init(seed * 10007 + i), steps, lr))
        tell(on_progress, "minima", i + 1, int(minima))
    stack = torch.stack(thetas)
    with torch.no_grad():
        losses = loss_fn(stack).numpy()
        acc = (net.logits(stack, x).argmax(-1) == y.view(1, -1)).double().mean(1).numpy()
    m = len(thetas)
    pairs, paths_done = m * (m - 1) // 2, 0
    saddles, straight = np.diag(losses).astype(np.float64), np.diag(losses).astype(np.float64)
    for i in range(m):
        for j in range(i + 1, m):
            res = optimise_path(
                loss_fn,
                thetas[i],
                thetas[j],
                cfg["path_points"],
                cfg["path_steps"],
                cfg["path_lr"],
                cfg["resample"],
            )
            saddles[i, j] = saddles[j, i] = res.max_loss
            straight[i, j] = straight[j, i] = res.straight_max
            paths_done += 1
            tell(on_progress, "paths", paths_done, pairs)
    bars = minimax_barcode(losses, saddles)
    config = dict(cfg, arch=f"{depth}x{width}", n_samples=int(x.shape[0]), n_params=net.n_params)
    rng = loss_range_of(bars)
    return LossBarcode(
        config=config,
        minima_losses=losses,
        saddles=saddles,
        straight_max=straight,
        bars=bars,
        to_score_raw=to_score(bars),
        to_score_normalised=to_score(bars, normalise=True) if rng > 0 else 0.0,
        loss_range=rng,
        train_accuracy=acc,
    )


def plot_barcode(bars: list[Bar], path, title: str = "Loss barcode") -> None:
    """The bars as horizontal segments (loss on x, one row per minimum, by birth); an infinite
    bar runs to the right edge and is marked ∞."""
    finite_ends = [b.death for b in bars if b.is_finite] + [b.birth for b in bars]
    lo, hi = min(finite_ends), max(finite_ends)
    right = hi + 0.15 * (hi - lo if hi > lo else max(abs(hi), 1e-3))
    fig = style.figure(6, 0.45 * len(bars) + 1.4)
    ax = fig.subplots()
    by_birth = sorted(bars, key=lambda b: b.birth)
    for row, b in enumerate(by_birth):
        end = b.death if b.is_finite else right
        shade = style.colour(0) if b.is_finite else style.colour(3)
        ax.plot([b.birth, end], [row, row], lw=4, color=shade, solid_capstyle="butt")
        if not b.is_finite:
            ax.annotate("∞", (right, row), xytext=(4, -4), textcoords="offset points", color=shade)
    ax.set_yticks(range(len(bars)), [f"min {b.index}" for b in by_birth])
    ax.set_xlabel("loss (nats)")
    ax.set_title(title)
    ax.invert_yaxis()
    style.save(fig, path)
