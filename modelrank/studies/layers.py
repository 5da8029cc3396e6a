"""Betti numbers of each class at every layer of trained fully connected networks (docs/methods.md §2).

Reproduces the experiment of Naitzat, Zhitnikov & Lim (JMLR 2020): train small fully connected
networks on D-I, D-II or D-III to 100 % training accuracy, then follow the topology of each class
through the layers with the faithful Rips recipe. The choices, all recorded in
:attr:`LayersResult.config`:

Architecture ``"HxW"`` (e.g. ``"9x15"``, the paper's depth-10 width-15 networks)
    ``H`` hidden layers of width ``W``, each followed by the activation, then one output layer
    of width 2 (logits, no activation): depth ``L = H + 1`` weight (``Linear``) layers. ``"9x15"``
    is the released code's ``10_by_15``. ``--arch`` means hidden layers in every study
    (:func:`~modelrank.studies.architecture.parse_arch`); the result records both ``arch`` and
    ``depth``.
Activations
    ``relu``, ``leaky_relu`` (negative slope 0.2, TensorFlow's default, which the released code
    used) and ``tanh``.
Initialisation
    Glorot-uniform weights and zero biases (the default of the released code's
    ``tf.layers.dense``); network ``i`` of a run uses the torch seed ``seed * 10007 + i``.
Training
    The whole data set as one batch, mean softmax cross-entropy, Adam (β = 0.9, 0.999, ε = 1e-8)
    with learning rate ``lr · 0.5 ** (step / 2500)`` (halved every 2,500 steps; the released code's
    non-staircase ``tf.train.exponential_decay``); ``lr`` defaults to 0.01 for D-I and D-II and
    0.005 for D-III, where 0.01 rarely reaches 100 % (:data:`DEFAULT_LR`). Training accuracy is
    read from every step's forward pass and checked every ``check_every`` steps; a network stops
    at the first check where it classifies every training point correctly (``check_every = 1``:
    as soon as it does; the released code checked every 1,000 steps, so its networks trained on
    past 100 %). A
    network that is not at 100 % after ``max_steps`` steps is discarded and counted
    (:attr:`LayersResult.n_discarded`); statistics are over the converged ones. float32; the N
    networks are trained together in one batched stack (:func:`train_networks`).
Probed layers
    Layer 0 = the input points; layer ``j`` (1 ≤ j ≤ L − 1) = the output of hidden layer ``j``
    after its activation. So a depth-L network has L probed layers. (The released code also
    analysed the output logits; ``include_output=True`` appends them as layer L.)
Classes
    The class of a point is the one the trained network assigns (its argmax prediction), as in
    the paper; for a kept network (100 % training accuracy) this equals the label.
Betti numbers
    :func:`~modelrank.topology.rips.naitzat_betti` with k = 14 on the hop metric at scale 2,
    H0..H2 for the 3-D sets D-II and D-III, H0..H1 for the 2-D D-I (``maxdim`` overrides). If a
    class has more than ``max_points`` points, the recipe's own divisor ``d = ceil(n_c /
    max_points)`` keeps every d-th of its points (in data order, the same points at every layer);
    the default data sizes stay below the default cap, so nothing is subsampled by default.
    Duplicate rows are dropped per layer by the recipe (ReLU can map many inputs to one point).
ω (topological complexity)
    ω = β0 + β1 (+ β2), **per class**: ω(M) = Σ β_k(M) is the total Betti number of one space,
    and the paper states its results for each class M_a, M_b separately. Both classes are
    reported; nothing is summed across classes.

Default data (sized so the recipe recovers the documented input Betti numbers on each of the data
seeds 0–9, and a default run finishes in minutes on 2 CPU cores):

=====  ==========================================================  ============  ================
data   generator call                                              points        input β (a / b)
=====  ==========================================================  ============  ================
d1     ``pointclouds.d1(n=1500)`` (2-D)                            ~1,330        (9,0) / (1,9)
d2     ``pointclouds.d2(n_per_ring=120)`` (3-D)                    2,160         (9,9) / (9,9)
d3     ``pointclouds.d3(n_per_shell=120, spacing=4.0)`` (3-D)      3,240         (9,0,9)/(18,0,18)
=====  ==========================================================  ============  ================

D-III keeps the generator's radii but spaces its units 4 apart (default 3): with equal points per
shell, the outer shells are the most sparsely sampled, and at spacing 3 their k-NN graphs reach
across the gap to the neighbouring units unless every shell has far more points (the
generator's default is 300 per shell, 8,100 in all).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from modelrank.errors import ConfigError, ParameterError
from modelrank.progress import OnProgress, tell
from modelrank.studies import save_report
from modelrank.studies.architecture import parse_arch
from modelrank.topology import pointclouds
from modelrank.topology.rips import naitzat_betti
from modelrank.util import plot_style as style
from modelrank.util.markdown import table

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULT_LR",
    "DEFAULT_SIZES",
    "FCNetStack",
    "LayersResult",
    "TrainedNets",
    "check_activation",
    "check_data",
    "class_betti",
    "layer_study",
    "load_points",
    "plot_layers",
    "train_networks",
]

DATASETS = ("d1", "d2", "d3")
ACTIVATIONS = ("relu", "leaky_relu", "tanh")
#: Size argument of each generator by default (d1: n, d2: n_per_ring, d3: n_per_shell).
DEFAULT_SIZES = {"d1": 1500, "d2": 120, "d3": 120}
#: Initial learning rate by data set (D-III rarely reaches 100 % at 0.01 within 16,000 steps).
DEFAULT_LR = {"d1": 0.01, "d2": 0.01, "d3": 0.005}
#: Generator keyword arguments besides size and seed.
_GENERATOR_KWARGS = {"d1": {}, "d2": {}, "d3": {"spacing": 4.0}}
#: Negative slope of leaky_relu (TensorFlow's default, used by the released code).
LEAKY_SLOPE = 0.2
#: Steps over which the learning rate halves.
HALVING_STEPS = 2500
_DTYPE = torch.float32


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def check_data(data: str) -> str:
    """The data set's key ("d1" | "d2" | "d3"); ConfigError otherwise."""
    key = str(data).strip().lower()
    if key not in DATASETS:
        raise ConfigError(f"unknown data set {data!r}; choose one of {', '.join(DATASETS)}")
    return key


def check_activation(activation: str) -> str:
    """The activation's key ("relu" | "leaky_relu" | "tanh"); ConfigError otherwise."""
    key = str(activation).strip().lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return key


def load_points(
    data: str, size: int | None = None, seed: int = 0, noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A Naitzat data set as used by this study (see the module table for the defaults).

    Args:
        data: "d1", "d2" or "d3".
        size: the generator's size argument (d1: ``n`` grid points before the margin is dropped;
            d2: ``n_per_ring``; d3: ``n_per_shell``); None = :data:`DEFAULT_SIZES`.
        seed, noise: the generator's.

    Returns:
        X (n, 2 or 3) float64 and y (n,) int64 in {0 = class a, 1 = class b}.
    """
    key = check_data(data)
    n = DEFAULT_SIZES[key] if size is None else int(size)
    if n < 1:
        raise ConfigError(f"data size must be a positive integer, got {size!r}")
    gen = getattr(pointclouds, key)
    try:
        return gen(n, noise=noise, seed=seed, **_GENERATOR_KWARGS[key])
    except ValueError as exc:
        raise ConfigError(f"data set {key}: {exc}") from None


def default_maxdim(x: np.ndarray) -> int:
    """H0..H2 for 3-D data, H0..H1 for 2-D data (the highest degree that can be non-zero)."""
    return 2 if x.shape[1] >= 3 else 1


# --------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------


class FCNetStack(torch.nn.Module):
    """``n_nets`` independent fully connected classifiers evaluated together (batched matmuls).

    Network ``i``: ``depth - 1`` hidden layers of ``width`` units, each followed by the
    activation, then a linear output layer of ``n_classes`` units. Layer ``l``'s weights are
    ``weights[l][i]`` of shape (in, out) and its biases ``biases[l][i]`` of shape (1, out).
    Stacking the networks only batches the arithmetic: each network's outputs, losses and
    gradients depend on its own parameters alone.

    Args:
        n_nets: N; d_in: input dimension; depth: Linear layers (>= 2); width: hidden units;
        activation: one of :data:`ACTIVATIONS`; n_classes: output units (2 here).
    """

    def __init__(
        self, n_nets: int, d_in: int, depth: int, width: int, activation: str, n_classes: int = 2
    ):
        super().__init__()
        self.activation = check_activation(activation)
        self.sizes = [d_in] + [width] * (depth - 1) + [n_classes]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(n_nets, a, b, dtype=_DTYPE))
            for a, b in zip(self.sizes[:-1], self.sizes[1:])
        )
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(n_nets, 1, b, dtype=_DTYPE)) for b in self.sizes[1:]
        )

    @property
    def n_nets(self) -> int:
        return int(self.weights[0].shape[0])

    def reset(self, seeds: Sequence[int]) -> None:
        """Network i: Glorot-uniform weights from ``torch.Generator().manual_seed(seeds[i])``
        (layers in order, each drawn as (out, in) like ``torch.nn.Linear``), zero biases."""
        if len(seeds) != self.n_nets:
            raise ValueError(f"need {self.n_nets} seeds, got {len(seeds)}")
        with torch.no_grad():
            for i, s in enumerate(seeds):
                gen = torch.Generator().manual_seed(int(s))
                for w, b in zip(self.weights, self.biases):
                    fan_in, fan_out = w.shape[1], w.shape[2]
                    bound = math.sqrt(6.0 / (fan_in + fan_out))
                    draw = (torch.rand((fan_out, fan_in), generator=gen) * 2 - 1) * bound
                    w[i].copy_(draw.T)
                    b[i].zero_()

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        if self.activation == "relu":
            return torch.relu(h)
        if self.activation == "leaky_relu":
            return torch.nn.functional.leaky_relu(h, LEAKY_SLOPE)
        return torch.tanh(h)

    def layer_outputs(self, x: torch.Tensor, include_output: bool = False) -> list[torch.Tensor]:
        """(n, d_in) -> [x, h_1, …, h_{L-1}] (+ logits), hidden outputs after the activation,
        each (N, n, d_l) except the input (n, d_in)."""
        outs = [x]
        h = x.unsqueeze(0).expand(self.n_nets, -1, -1)
        last = len(self.weights) - 1
        for li, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if li < last:
                h = self._act(h)
                outs.append(h)
            elif include_output:
                outs.append(h)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d_in) -> (N, n, n_classes) logits."""
        return self.layer_outputs(x, True)[-1]

    def select(self, keep: torch.Tensor) -> "FCNetStack":
        """A new stack holding copies of the networks ``keep`` (bool (N,) or int indices)."""
        idx = torch.as_tensor(keep)
        if idx.dtype == torch.bool:
            idx = torch.flatnonzero(idx)
        out = FCNetStack(
            int(idx.numel()),
            self.sizes[0],
            len(self.sizes) - 1,
            self.sizes[1],
            self.activation,
            self.sizes[-1],
        )
        with torch.no_grad():
            for dst, src in zip(
                list(out.weights) + list(out.biases), list(self.weights) + list(self.biases)
            ):
                dst.copy_(src[idx])
        return out


@dataclass
class TrainedNets:
    """Result of :func:`train_networks` for N networks.

    Attributes:
        nets: stack of the N networks; a converged one holds its parameters at the step where it
            first classified every training point, the others their last parameters.
        seeds: (N,) initialisation seeds.
        steps: (N,) updates made before convergence (or ``max_steps``).
        accuracy: (N,) training accuracy of the returned parameters.
        converged: (N,) bool, accuracy == 1.
    """

    nets: FCNetStack
    seeds: np.ndarray
    steps: np.ndarray
    accuracy: np.ndarray
    converged: np.ndarray


def train_networks(
    x: np.ndarray,
    y: np.ndarray,
    depth: int,
    width: int,
    activation: str,
    seeds: Sequence[int],
    lr: float = 0.01,
    max_steps: int = 10_000,
    check_every: int = 1,
) -> TrainedNets:
    """Train one network per seed, full batch, Adam, until 100 % training accuracy or ``max_steps``.

    Each network minimises its own mean softmax cross-entropy with Adam at learning rate
    ``lr * 0.5 ** (step / 2500)``. Before every update the step's forward pass gives each
    network's training accuracy; at every ``check_every``-th step (0, c, 2c, …) a network at
    100 % is taken out of training with the parameters that were evaluated, so ``steps`` counts
    the updates it received. ``check_every = 1`` stops at the first perfect step; larger values
    train on past it as the released code did (it checked every ``summary_freq`` = 1000 steps
    in its README example), which gives the network time to widen its margins. The networks are trained
    together as one :class:`FCNetStack` for speed; the summed loss separates and Adam acts
    elementwise, so mathematically each network follows its own trajectory. In floating point
    the batched products round differently with the number of networks in the stack, and
    training amplifies that, so a network's result depends on how many were trained beside it;
    a run is deterministic for given arguments (CPU).

    Args:
        x: (n, d) inputs; y: (n,) labels in {0, …, C−1}.
        depth, width, activation: the architecture.
        seeds: one initialisation seed per network.
        lr: initial Adam learning rate; max_steps: cap on updates.
        check_every: steps between convergence checks (>= 1).
    """
    if int(check_every) != check_every or check_every < 1:
        raise ConfigError(f"check_every must be a positive integer, got {check_every!r}")
    n_nets = len(seeds)
    n_classes = int(y.max()) + 1
    final = FCNetStack(n_nets, x.shape[1], depth, width, activation, n_classes)
    final.reset(seeds)
    xt = torch.as_tensor(x, dtype=_DTYPE)
    yt = torch.as_tensor(y, dtype=torch.long)
    steps = np.full(n_nets, int(max_steps), dtype=np.int64)
    acc_out = np.zeros(n_nets)
    converged = np.zeros(n_nets, dtype=bool)
    active = np.arange(n_nets)  # networks still training, positions in ``final``
    stack = final.select(torch.as_tensor(active))
    opt = torch.optim.Adam(stack.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    step = 0
    while True:
        logits = stack(xt)  # (A, n, C)
        acc = (logits.argmax(-1) == yt).double().mean(dim=1).numpy()
        done = (acc == 1.0) & (step % check_every == 0)
        if done.any() or step >= max_steps:
            stop = done | (step >= max_steps)
            _store(final, stack, active, stop)
            acc_out[active[stop]] = acc[stop]
            converged[active[done]] = True
            steps[active[done]] = step
            if stop.all():
                break
            keep = torch.as_tensor(np.flatnonzero(~stop))
            active = active[~stop]
            stack, opt = _compact(stack, opt, keep)
            continue  # same step: re-evaluate the remaining networks through the new stack
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 ** (step / HALVING_STEPS)
        opt.zero_grad()
        c = logits.shape[-1]
        loss = (
            torch.nn.functional.cross_entropy(
                logits.reshape(-1, c), yt.repeat(logits.shape[0]), reduction="sum"
            )
            / yt.shape[0]
        )
        loss.backward()
        opt.step()
        step += 1
    return TrainedNets(final, np.asarray(seeds, dtype=np.int64), steps, acc_out, converged)


def _store(final: FCNetStack, stack: FCNetStack, active: np.ndarray, which: np.ndarray) -> None:
    """Copy the stack's networks ``which`` into their places ``active[which]`` of ``final``."""
    src = torch.as_tensor(np.flatnonzero(which))
    dst = torch.as_tensor(active[which])
    with torch.no_grad():
        for f, s in zip(
            list(final.weights) + list(final.biases), list(stack.weights) + list(stack.biases)
        ):
            f[dst] = s[src].detach()


def _compact(stack: FCNetStack, opt: torch.optim.Adam, keep: torch.Tensor):
    """Drop finished networks from the stack and from Adam's state (moments and step count)."""
    new = stack.select(keep)
    new_opt = torch.optim.Adam(
        new.parameters(), **{k: v for k, v in opt.defaults.items() if k in ("lr", "betas", "eps")}
    )
    for p_old, p_new in zip(stack.parameters(), new.parameters()):
        st = opt.state.get(p_old)
        if st:
            new_opt.state[p_new] = {
                "step": st["step"].clone(),
                "exp_avg": st["exp_avg"][keep].clone(),
                "exp_avg_sq": st["exp_avg_sq"][keep].clone(),
            }
    return new, new_opt


# --------------------------------------------------------------------------------------------
# Betti numbers per class and layer
# --------------------------------------------------------------------------------------------


def class_betti(
    layers: Sequence[np.ndarray],
    classes: np.ndarray,
    n_classes: int = 2,
    k: int = 14,
    maxdim: int = 1,
    max_points: int | None = None,
    memo: dict | None = None,
) -> np.ndarray:
    """Faithful Naitzat Betti numbers of each class at each layer.

    Args:
        layers: L arrays (n, d_l): the same n points at each layer.
        classes: (n,) class of each point (the network's predictions).
        n_classes: number of classes K.
        k, maxdim: the recipe's parameters.
        max_points: if a class has more points, keep every d-th with d = ceil(n_c / max_points)
            (the recipe's ``divisor``).
        memo: optional dict reused across calls to skip recomputing identical clouds (keyed by
            the cloud's bytes and the parameters); useful for the input layer.

    Returns:
        (L, K, maxdim + 1) int64; a class with no point has all-zero Betti numbers.
    """
    out = np.zeros((len(layers), n_classes, maxdim + 1), dtype=np.int64)
    for c in range(n_classes):
        idx = np.flatnonzero(classes == c)
        if idx.size == 0:
            continue
        divisor = 1 if max_points is None else max(1, math.ceil(idx.size / max_points))
        for li, feats in enumerate(layers):
            cloud = np.ascontiguousarray(np.asarray(feats, dtype=np.float64)[idx])
            key = None
            if memo is not None:
                key = (cloud.shape, hashlib.sha1(cloud.tobytes()).hexdigest(), k, maxdim, divisor)
                if key in memo:
                    out[li, c] = memo[key]
                    continue
            b = naitzat_betti(cloud, k=k, divisor=divisor, maxdim=maxdim)
            out[li, c] = b
            if memo is not None:
                memo[key] = b
    return out


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------


@dataclass
class LayersResult:
    """Result of :func:`layer_study`.

    Attributes:
        config: every setting that produced it (data, sizes, architecture, training, recipe).
        layer_names: (L,) probed layers: "input", "hidden 1", …, (+ "output").
        betti: (n_converged, L, 2, K) int64 Betti numbers of the converged networks, per layer,
            class (0 = a, 1 = b) and degree (K = maxdim + 1).
        seeds: (N,) initialisation seeds of all networks trained.
        converged: (N,) bool, 100 % training accuracy reached within ``max_steps``.
        steps: (N,) updates made; train_accuracy: (N,) final training accuracy.
        class_sizes: (2,) points per class in the data (labels).
        divisors: (2,) divisor used per class (1 = no subsampling).
        input_truth: documented Betti numbers of the input classes (``NAITZAT_BETTI``).
        seconds: wall time of the study.
    """

    config: dict
    layer_names: list[str]
    betti: np.ndarray
    seeds: np.ndarray
    converged: np.ndarray
    steps: np.ndarray
    train_accuracy: np.ndarray
    class_sizes: np.ndarray
    divisors: np.ndarray
    input_truth: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_converged(self) -> int:
        return int(self.converged.sum())

    @property
    def n_discarded(self) -> int:
        return int((~self.converged).sum())

    @property
    def omega(self) -> np.ndarray:
        """(n_converged, L, 2) ω = sum of Betti numbers per network, layer and class."""
        return self.betti.sum(axis=-1)

    @property
    def mean_betti(self) -> np.ndarray:
        """(L, 2, K) mean β_k over the converged networks (NaN when none converged)."""
        if self.betti.shape[0] == 0:
            return np.full(self.betti.shape[1:], np.nan)
        return self.betti.mean(axis=0)

    @property
    def mean_omega(self) -> np.ndarray:
        """(L, 2) mean ω per layer and class over the converged networks."""
        if self.betti.shape[0] == 0:
            return np.full(self.betti.shape[1:3], np.nan)
        return self.omega.mean(axis=0)

    def title(self) -> str:
        c = self.config
        return (
            f"{c['data'].upper()}, {c['arch']} {c['activation']}: "
            f"{self.n_converged}/{len(self.seeds)} networks at 100 % training accuracy"
        )

    def to_dict(self) -> dict:
        """JSON-ready: config, per-network arrays and the means."""
        return {
            "config": self.config,
            "layer_names": self.layer_names,
            "n_networks": int(len(self.seeds)),
            "n_converged": self.n_converged,
            "n_discarded": self.n_discarded,
            "seeds": self.seeds.tolist(),
            "converged": self.converged.tolist(),
            "steps": self.steps.tolist(),
            "train_accuracy": self.train_accuracy.tolist(),
            "class_sizes": self.class_sizes.tolist(),
            "divisors": self.divisors.tolist(),
            "input_truth": {str(c): list(b) for c, b in self.input_truth.items()},
            "betti": self.betti.tolist(),
            "mean_betti": _nan_list(self.mean_betti),
            "mean_omega": _nan_list(self.mean_omega),
            "seconds": self.seconds,
        }

    def table_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and cells: layer, then per class a and b the mean β_k and ω."""
        k = self.betti.shape[-1]
        header = ["layer"]
        for cls in ("a", "b"):
            header += [f"β{j} ({cls})" for j in range(k)] + [f"ω ({cls})"]
        mb, mo = self.mean_betti, self.mean_omega
        rows = []
        for li, name in enumerate(self.layer_names):
            cells = [f"{li} {name}"]
            for c in range(2):
                cells += [_fmt(v) for v in mb[li, c]] + [_fmt(mo[li, c])]
            rows.append(cells)
        return header, rows

    def to_markdown(self) -> str:
        """A markdown table (mean over the converged networks) with a one-line heading."""
        lines = [f"**{self.title()}** (discarded: {self.n_discarded})", ""]
        lines += table(*self.table_rows())
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write as .json (everything) or .md (the table) by suffix."""
        save_report(path, self.to_dict, self.to_markdown)


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def _nan_list(a: np.ndarray) -> list:
    return np.where(np.isfinite(a), a, None).tolist()


def layer_study(
    data: str = "d1",
    arch: str = "9x15",
    activation: str = "relu",
    nets: int = 5,
    seed: int = 0,
    max_steps: int = 10_000,
    lr: float | None = None,
    check_every: int = 1,
    size: int | None = None,
    data_seed: int = 0,
    noise: float = 0.0,
    k: int = 14,
    maxdim: int | None = None,
    max_points: int | None = 2500,
    include_output: bool = False,
    threads: int | None = 1,
    on_progress: OnProgress | None = None,
) -> LayersResult:
    """Train ``nets`` networks and compute per-layer, per-class Betti numbers of the converged ones.

    Args:
        data: "d1" | "d2" | "d3"; size, data_seed, noise: :func:`load_points` (the data stay
            fixed across networks).
        arch: "HxW", H hidden layers of width W (:func:`~modelrank.studies.architecture.parse_arch`);
            activation: relu | leaky_relu | tanh.
        nets: networks trained (N >= 1), seeds ``seed * 10007 + i``.
        max_steps, lr, check_every: :func:`train_networks` (lr None = :data:`DEFAULT_LR`).
        k, maxdim: recipe parameters (maxdim None = 2 for 3-D data, 1 for D-I).
        max_points: per-class cap before the divisor subsamples (None = never).
        include_output: also probe the output logits (as the released code did).
        threads: torch intra-op threads during the run, restored afterwards (small nets: 1 is
            fastest); None leaves torch's setting alone.
        on_progress: told ("networks trained", 1, 1) once training ends, then
            ("networks counted", i, converged) after each network's Betti numbers
            (:mod:`modelrank.progress`).

    Raises:
        ConfigError: unknown data set or activation, malformed architecture, bad counts.
    """
    key = check_data(data)
    act = check_activation(activation)
    hidden, width = parse_arch(arch)
    depth = hidden + 1  # Linear layers, the output layer included
    if int(nets) != nets or nets < 1:
        raise ParameterError("nets", f"must be a positive integer, got {nets!r}")
    if int(max_steps) != max_steps or max_steps < 0:
        raise ParameterError("max_steps", f"must be a non-negative integer, got {max_steps!r}")
    if lr is None:
        lr = DEFAULT_LR[key]
    if not lr > 0:
        raise ConfigError(f"learning rate must be positive, got {lr!r}")
    if max_points is not None and max_points < k:
        raise ConfigError(f"max_points must be at least k = {k}, got {max_points}")
    x, y = load_points(key, size=size, seed=data_seed, noise=noise)
    md = default_maxdim(x) if maxdim is None else int(maxdim)
    if not 0 <= md <= 3:
        raise ConfigError(f"maxdim must be in 0..3, got {maxdim!r}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    t0 = time.perf_counter()
    try:
        seeds = [int(seed) * 10007 + i for i in range(int(nets))]
        trained = train_networks(
            x, y, depth, width, act, seeds, lr=lr, max_steps=int(max_steps), check_every=check_every
        )
        tell(on_progress, "networks trained", 1, 1)
        converged = np.flatnonzero(trained.converged)
        bettis: list[np.ndarray] = []
        memo: dict = {}
        xt = torch.as_tensor(x, dtype=_DTYPE)
        with torch.no_grad():
            outs = trained.nets.layer_outputs(xt, include_output)
            preds = trained.nets(xt).argmax(-1).numpy()  # (N, n)
        for done, i in enumerate(converged, 1):
            # layer 0 is the exact float64 input (the same for every network)
            layers = [x] + [o[i].numpy().astype(np.float64) for o in outs[1:]]
            bettis.append(
                class_betti(layers, preds[i], 2, k=k, maxdim=md, max_points=max_points, memo=memo)
            )
            tell(on_progress, "networks counted", done, len(converged))
    finally:
        torch.set_num_threads(previous)
    n_layers = depth + (1 if include_output else 0)
    names = (
        ["input"]
        + [f"hidden {j}" for j in range(1, depth)]
        + (["output"] if include_output else [])
    )
    betti = np.stack(bettis) if bettis else np.zeros((0, n_layers, 2, md + 1), np.int64)
    sizes = np.bincount(y, minlength=2)
    divisors = np.array(
        [1 if max_points is None else max(1, math.ceil(n / max_points)) for n in sizes]
    )
    config = dict(
        data=key,
        size=DEFAULT_SIZES[key] if size is None else int(size),
        data_seed=data_seed,
        noise=noise,
        generator_kwargs=_GENERATOR_KWARGS[key],
        n_points=int(x.shape[0]),
        arch=f"{hidden}x{width}",
        depth=depth,
        width=width,
        hidden_layers=depth - 1,
        activation=act,
        leaky_slope=LEAKY_SLOPE if act == "leaky_relu" else None,
        nets=int(nets),
        seed=int(seed),
        max_steps=int(max_steps),
        lr=lr,
        check_every=check_every,
        lr_halving_steps=HALVING_STEPS,
        optimizer="full-batch Adam",
        init="glorot-uniform, zero bias",
        k=k,
        maxdim=md,
        max_points=max_points,
        include_output=include_output,
        classes="network predictions",
        omega="per class: sum of the class's Betti numbers",
    )
    return LayersResult(
        config=config,
        layer_names=names,
        betti=betti,
        seeds=trained.seeds,
        converged=trained.converged,
        steps=trained.steps,
        train_accuracy=trained.accuracy,
        class_sizes=sizes.astype(np.int64),
        divisors=divisors.astype(np.int64),
        input_truth=dict(pointclouds.NAITZAT_BETTI[key]),
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------


def plot_layers(
    results: Sequence[LayersResult] | LayersResult,
    path: str | Path,
    title: str | None = None,
) -> None:
    """PNG of mean β_k and ω per layer.

    One row per distinct data set, two columns (class a, class b). Every result is drawn into
    its data set's row: ω as a thick line, β_k as thin dotted (β0) / dashed (β1) / dash-dotted
    (β2) lines, one colour per activation and architecture (e.g. ReLU vs tanh). Layers on x
    (0 = input).
    """
    res = [results] if isinstance(results, LayersResult) else list(results)
    if not res:
        raise ValueError("nothing to plot")
    datasets = list(dict.fromkeys(r.config["data"] for r in res))
    fig = style.figure(10, 3.2 * len(datasets))
    axes = fig.subplots(len(datasets), 2, squeeze=False)
    styles = [":", "--", "-."]
    kinds = list(dict.fromkeys(f"{r.config['activation']} {r.config['arch']}" for r in res))
    first_in_row: set[int] = set()
    for r in res:
        row = datasets.index(r.config["data"])
        kind = f"{r.config['activation']} {r.config['arch']}"
        colour = style.colour(kinds.index(kind))  # one colour per activation/architecture
        label = f"{kind} (n={r.n_converged})"
        show_beta = row not in first_in_row
        first_in_row.add(row)
        xs = np.arange(len(r.layer_names))
        mb, mo = r.mean_betti, r.mean_omega
        for c in range(2):
            ax = axes[row, c]
            ax.plot(xs, mo[:, c], "-o", color=colour, lw=2, ms=3, label=f"ω, {label}")
            for j in range(mb.shape[-1]):
                ax.plot(
                    xs,
                    mb[:, c, j],
                    styles[j % 3],
                    color=colour,
                    lw=1,
                    alpha=0.8,
                    label=f"β{j}" if show_beta else None,
                )
            ax.set_title(f"{r.config['data'].upper()} class {'ab'[c]}")
            ax.set_xlabel("layer (0 = input)")
            ax.set_ylabel("mean Betti number")
            ax.set_xticks(xs)
            ax.grid(alpha=0.3)
    for ax in axes.ravel():
        ax.legend(fontsize=style.LEGEND)
    if title:
        fig.suptitle(title)
    style.save(fig, path)
