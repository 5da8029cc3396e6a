"""Cubical Betti numbers of activation batches in torch, on the device the activations are on.

The same complex, layouts, validation and numbers as :mod:`modelrank.topology.cubical` (the
V-construction, docs/methods.md §1), computed with tensor operations only, so on a GPU the
activations never leave the device and only the (N, 3) counts come back:

- ``chi = #vertices - #edges + #squares - #cubes``, each count a sum of ANDs of shifted views of
  the sublevel mask ``X = {x <= eta}``;
- ``b0`` = number of face-connected components of ``X``, and ``b2`` = number of 26-connected
  components of the complement that do not touch the box's faces, both from **one** data-parallel
  union-find over the whole batch: every voxel starts as its own tree, and each round (1) compresses
  every path by pointer jumping (``parent = parent[parent]`` until nothing changes), then (2) hooks,
  for every pair of neighbours in the same set (both in ``X`` along a face, both outside ``X``
  along any of the 13 directions of the 26-neighbourhood), the larger of the two roots onto the
  smaller (``scatter_reduce(amin)``), and drops the pairs already inside one tree. Rounds repeat
  until no pair is left. A parent is
  never larger than its voxel, so the forest has no cycles; the result does not depend on how many
  rounds it took, so it is exact however the data are shaped;
- ``b1 = b0 + b2 - chi``.

Items of a batch never share a neighbour pair, so one labelling serves the whole batch; batches
are split into groups of at most ``max_voxels`` voxels to bound memory: at its peak a labelling
holds about 300-350 bytes a voxel (the int64 ends of every joined neighbour pair, their roots and
the parent array; measured on the CPU with ReLU and white-noise stacks of 4 M voxels).

torch is imported when a function is called, not when this module is imported, so the rest of
:mod:`modelrank.topology` (and the import of this module) stays torch-free.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from modelrank.topology.cubical import check_batch_shape, check_eta, check_volume_shape

if TYPE_CHECKING:
    import torch

__all__ = ["betti_at", "betti_counts", "betti_of_masks", "euler_characteristics"]

#: Default bound on the voxels labelled at once (about 6 GB at the peak of ~350 bytes a voxel).
MAX_VOXELS = 1 << 24

_FACE_2D = ((1, 0), (0, 1))
_FACE_3D = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
# One of each pair of opposite directions of the 26-neighbourhood (13 in all).
_ALL_3D = tuple(d for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0))
_DIAGONAL_3D = tuple(d for d in _ALL_3D if sum(map(abs, d)) >= 2)


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------------------------
# input checks (the numpy engine's rules and messages)
# --------------------------------------------------------------------------------------------


def _check_values(t: "torch.Tensor", what: str) -> None:
    torch = _torch()
    if t.is_complex():
        raise ValueError(f"{what} must be real-valued, got dtype {t.dtype}")
    if t.dtype.is_floating_point:
        if t.numel() and bool(torch.isnan(t.max())):
            raise ValueError(f"{what} contains NaN; filtration values must be numbers")
    elif t.dtype not in (
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint16,
        torch.uint32,
        torch.uint64,
    ):
        raise ValueError(f"{what} must be a numeric array, got dtype {t.dtype}")


def _sublevel(t: "torch.Tensor", eta: float) -> "torch.Tensor":
    """``t <= eta`` compared in the dtype numpy would use for the same array and Python float:
    floats in their own precision, integers and booleans in float64."""
    torch = _torch()
    if not t.dtype.is_floating_point:
        t = t.to(torch.float64)
    return t <= eta


# --------------------------------------------------------------------------------------------
# the counts
# --------------------------------------------------------------------------------------------


def _pair(
    shape: tuple[int, ...], step: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Index tuples (u, v) over a (N, *grid) tensor such that v is u moved by ``step`` on the grid."""
    su, sv = [slice(None)], [slice(None)]
    for d in step:
        if d == 0:
            su.append(slice(None))
            sv.append(slice(None))
        elif d > 0:
            su.append(slice(None, -1))
            sv.append(slice(1, None))
        else:
            su.append(slice(1, None))
            sv.append(slice(None, -1))
    return tuple(su), tuple(sv)


def euler_characteristics(masks: "torch.Tensor") -> "torch.Tensor":
    """(N,) int64 Euler characteristic of each item's V-complex; ``masks`` is (N, A, B) or
    (N, A, B, C) bool."""
    torch = _torch()
    grid = masks.ndim - 1
    dims = tuple(range(1, masks.ndim))
    chi = masks.sum(dims, dtype=torch.int64)
    # cells of dimension k = ANDs over k distinct axes of the shifts along them
    for k in range(1, grid + 1):
        for axes in itertools.combinations(range(grid), k):
            cell = masks
            for ax in axes:
                step = tuple(int(a == ax) for a in range(grid))
                u, v = _pair(cell.shape, step)
                cell = cell[u] & cell[v]
            chi += (-1) ** k * cell.sum(dims, dtype=torch.int64)
    return chi


def _compress(parent: "torch.Tensor") -> "torch.Tensor":
    """Pointer jumping until every voxel points at its root."""
    torch = _torch()
    while True:
        up = parent[parent]
        if torch.equal(up, parent):
            return parent
        parent = up


def _roots(masks: "torch.Tensor", inside: tuple, outside: tuple) -> "torch.Tensor":
    """Flat int64 root of every voxel: components of ``masks`` along the ``inside`` steps and of
    its complement along the ``outside`` steps, labelled together (the sets never touch)."""
    torch = _torch()
    shape = masks.shape
    index = torch.arange(masks.numel(), device=masks.device, dtype=torch.int64)
    strides = torch.empty(shape, dtype=torch.bool).stride()  # of a contiguous (N, *grid)
    ends_u, ends_v = [], []  # the two ends (flat indices) of every pair of joined neighbours
    join = torch.empty(shape, dtype=torch.bool, device=masks.device)
    for steps, inner in ((inside, True), (outside, False)):
        for step in steps:
            u, v = _pair(shape, step)
            if any(s == 0 for s in masks[u].shape):
                continue
            # the pairs' u-ends marked in a full-size mask, so that one flat nonzero finds them
            # (much faster than selecting through a strided view) and v = u + the step's offset
            join.zero_()
            join[u] = (masks[u] & masks[v]) if inner else ~(masks[u] | masks[v])
            at = torch.nonzero(join.view(-1)).squeeze(1)
            ends_u.append(at)
            ends_v.append(at + sum(d * st for d, st in zip(step, strides[1:])))
    del join
    parent = index.clone()
    if not ends_u:
        return parent
    eu, ev = torch.cat(ends_u), torch.cat(ends_v)
    del ends_u, ends_v
    ru, rv = eu, ev  # every voxel is its own root at the start
    while True:
        # Hook the larger root of every pair whose ends are in different trees onto the
        # smaller one (the roots are read before any hook of this round, so no link is lost),
        # then compress. Pairs already inside one tree are dropped: they never act again.
        apart = ru != rv
        eu, ev, ru, rv = eu[apart], ev[apart], ru[apart], rv[apart]
        if eu.numel() == 0:
            return parent
        parent.scatter_reduce_(0, torch.maximum(ru, rv), torch.minimum(ru, rv), reduce="amin")
        parent = _compress(parent)
        ru, rv = parent[eu], parent[ev]


def _faces(shape: tuple[int, ...], device) -> "torch.Tensor":
    """(N, *grid) bool, True on the faces of each item's box."""
    torch = _torch()
    face = torch.zeros(shape, dtype=torch.bool, device=device)
    for ax in range(1, len(shape)):
        face.narrow(ax, 0, 1).fill_(True)
        face.narrow(ax, shape[ax] - 1, 1).fill_(True)
    return face


def _betti_group(masks: "torch.Tensor") -> "torch.Tensor":
    torch = _torch()
    n, grid = masks.shape[0], masks.ndim - 1
    three_d = grid == 3
    parent = _roots(masks, _FACE_3D if three_d else _FACE_2D, _ALL_3D if three_d else ())
    is_root = (parent == torch.arange(parent.numel(), device=parent.device)).view(masks.shape)
    out = torch.zeros((n, 3), dtype=torch.int64, device=masks.device)
    dims = tuple(range(1, masks.ndim))
    out[:, 0] = (is_root & masks).sum(dims, dtype=torch.int64)
    if three_d:
        outside = ~masks
        touched = torch.zeros(parent.numel(), dtype=torch.bool, device=masks.device)
        touched[parent.view(masks.shape)[_faces(masks.shape, masks.device) & outside]] = True
        inner = is_root & outside & ~touched.view(masks.shape)
        out[:, 2] = inner.sum(dims, dtype=torch.int64)
    out[:, 1] = out[:, 0] + out[:, 2] - euler_characteristics(masks)
    return out


def betti_of_masks(masks: "torch.Tensor", *, max_voxels: int = MAX_VOXELS) -> "torch.Tensor":
    """Betti numbers of the V-complex spanned by each item of a batch of binary sets.

    Args:
        masks: (N, A, B) 2-D or (N, A, B, C) 3-D bool tensor, on any device.
        max_voxels: items are labelled in groups of at most this many voxels (at least one item).

    Returns:
        (N, 3) int64 tensor of (b0, b1, b2) on ``masks``' device; b2 = 0 for 2-D items.
    """
    torch = _torch()
    if masks.ndim not in (3, 4):
        raise ValueError(f"masks must be (N, A, B) or (N, A, B, C), got shape {tuple(masks.shape)}")
    masks = masks.to(torch.bool).contiguous()
    n = masks.shape[0]
    per_item = max(1, masks[0].numel() if n else 1)
    step = max(1, int(max_voxels) // per_item)
    parts = [_betti_group(masks[i : i + step]) for i in range(0, n, step)]
    if not parts:
        return torch.zeros((0, 3), dtype=torch.int64, device=masks.device)
    return torch.cat(parts)


def _runs(x: "torch.Tensor") -> "torch.Tensor":
    """(N, D) bool rows, each a 1 x D map: b0 = number of runs of True."""
    torch = _torch()
    out = torch.zeros((x.shape[0], 3), dtype=torch.int64, device=x.device)
    out[:, 0] = x[:, 0].to(torch.int64) + (x[:, 1:] & ~x[:, :-1]).sum(1, dtype=torch.int64)
    return out


def _channel_mean(t: "torch.Tensor") -> "torch.Tensor":
    """(N, H, W) float64 mean over the channels of (N, C, H, W), rounded as numpy rounds
    ``a.mean(axis=0, dtype=float64)`` for one (C, H, W) item: channels added one at a time, in
    order, then divided by C (a tree reduction would differ in the last bits, and a pixel whose
    mean ties ``eta`` could then change sides)."""
    torch = _torch()
    acc = t[:, 0].to(torch.float64).clone()
    for c in range(1, t.shape[1]):
        acc += t[:, c]
    return acc / t.shape[1]


def betti_counts(
    acts: "torch.Tensor", eta: float = 0.0, layout: str = "whc", *, max_voxels: int = MAX_VOXELS
) -> "torch.Tensor":
    """Cubical Betti numbers of every item of one layer's batch, on the tensor's device.

    The torch twin of :func:`modelrank.topology.cubical.betti_counts`: the same shapes, layouts
    (``"whc"``, ``"channel-mean"``, ``"per-channel"``; (N, T, D) tokens as T x D maps; (N, D)
    vectors as 1 x D maps), errors and numbers.

    Args:
        acts: (N, C, H, W), (N, T, D) or (N, D) tensor of any real dtype, on any device.
        eta: sublevel threshold (``x <= eta`` is in the set).
        layout: volume layout of 4-D input (see the numpy engine).
        max_voxels: bound on the voxels labelled at once (memory: about 350 bytes a voxel).

    Returns:
        (N, 3) int64 tensor of (b0, b1, b2) per item, on ``acts``' device.

    Raises:
        ValueError: NaN values, an unknown layout, or a tensor that is not 2-D, 3-D or 4-D.
    """
    torch = _torch()
    if not isinstance(acts, torch.Tensor):
        raise TypeError(f"acts must be a torch.Tensor, got {type(acts).__name__}")
    e = check_eta(eta)
    check_batch_shape(tuple(acts.shape), layout)
    if acts.shape[0] == 0:
        return torch.zeros((0, 3), dtype=torch.int64, device=acts.device)
    _check_values(acts, "acts")
    with torch.inference_mode():
        if acts.ndim == 2:
            return _runs(_sublevel(acts, e))
        if acts.ndim == 3:
            return betti_of_masks(_sublevel(acts, e), max_voxels=max_voxels)
        if layout == "whc":
            return betti_of_masks(_sublevel(acts, e), max_voxels=max_voxels)
        if layout == "channel-mean":
            return betti_of_masks(_sublevel(_channel_mean(acts), e), max_voxels=max_voxels)
        n, c = acts.shape[:2]  # per-channel: C independent 2-D maps per item, summed
        planes = betti_of_masks(
            _sublevel(acts, e).reshape(n * c, *acts.shape[2:]), max_voxels=max_voxels
        )
        return planes.view(n, c, 3).sum(1)


def betti_at(volume, eta: float = 0.0) -> tuple[int, int, int]:
    """Betti numbers of ``{x <= eta}`` of one 2-D or 3-D array or tensor (the torch twin of
    :func:`modelrank.topology.cubical.betti_at`; a numpy array is computed on the CPU).

    Returns:
        ``(b0, b1, b2)`` as Python ints.
    """
    torch = _torch()
    t = volume if isinstance(volume, torch.Tensor) else torch.from_numpy(np.asarray(volume))
    check_volume_shape(tuple(t.shape))
    _check_values(t, "volume")
    e = check_eta(eta)
    with torch.inference_mode():
        b = betti_of_masks(_sublevel(t, e)[None])[0]
    b0, b1, b2 = (int(v) for v in b.tolist())
    return b0, b1, b2
