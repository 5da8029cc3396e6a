"""Cubical Betti numbers of activation volumes (docs/methods.md §1).

The complex is the **V-construction** on a 2-D or 3-D grid of values: every array element
(pixel / voxel) is a vertex, edges join 4-neighbours (2-D) / 6-neighbours (3-D), squares and cubes
are 2x2 and 2x2x2 blocks of elements, and every cell gets the largest value of its vertices. The
sublevel complex at a threshold ``eta`` is then the full cubical complex spanned by the binary set
``X = {x <= eta}``. This is what CubicalRipser's ``cripser.computePH(vol)`` filters.

Fast path (:func:`betti_at`, exact, linear in the number of voxels):

- ``b0`` = number of 6-connected (2-D: 4-connected) components of ``X``;
- ``b2`` = number of 26-connected components of the complement that do not reach the outside of
  the box (3-D only; ``b2 = 0`` in 2-D). Counting the complement components that touch the border
  of the unpadded box is the same as padding one layer of background and dropping the outer one
  (computed as 6-components of the complement merged through their diagonal contacts, which is
  cheaper than a 26-connected labelling; see ``_n_voids``);
- ``chi = #vertices - #edges + #squares - #cubes``, each count an AND of shifted copies of ``X``;
- ``b1 = b0 + b2 - chi``.

Connected components come from ``cc3d`` (connected-components-3d, LGPL-3.0, the optional extra
``modelrank[fast]``) when it is installed, about 3x faster than ``scipy.ndimage.label`` on
activation volumes, and from scipy otherwise; :data:`LABELLER` says which, and setting it to
``"scipy"`` forces scipy (the per-channel layout, a stack of unlinked planes, always uses scipy).
Both give the same numbers (the tests run both). cc3d labels the
complement's 26-components directly; scipy goes through 6-components and their diagonal contacts.

Full persistence (:func:`cubical_diagrams`) is only for curves over many thresholds and for checks;
it goes through CubicalRipser (GPL-3.0, optional extra ``modelrank[gpl]``) or gudhi (MIT).

Pure numpy / scipy (and cc3d): this module never imports torch.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

try:
    import cc3d
except ImportError:  # the optional extra modelrank[fast]
    cc3d = None  # type: ignore[assignment]

#: Which library labels connected components: "cc3d" when installed, else "scipy". Set it to
#: "scipy" (or MODELRANK_BETTI_LABELLER=scipy) to force scipy; the numbers do not change.
LABELLER = (
    "cc3d"
    if cc3d is not None and os.environ.get("MODELRANK_BETTI_LABELLER") != "scipy"
    else "scipy"
)

__all__ = [
    "LAYOUTS",
    "betti_at",
    "betti_counts",
    "betti_curve",
    "betti_from_diagrams",
    "cubical_diagrams",
    "euler_characteristic",
]

# Face connectivity (the edges of the V-construction).
_FG2 = ndimage.generate_binary_structure(2, 1)  # 4-neighbours
_FG3 = ndimage.generate_binary_structure(3, 1)  # 6-neighbours
# Per-channel layout: a (C, H, W) stack labelled as C independent 2-D maps (no link along C).
_FG_PLANES = np.zeros((3, 3, 3), dtype=bool)
_FG_PLANES[1] = _FG2

#: Volume layouts accepted by :func:`betti_counts`.
LAYOUTS = ("whc", "channel-mean", "per-channel")

_CRIPSER_MISSING = (
    "cubical persistence with backend='cripser' needs CubicalRipser, which is GPL-3.0 and "
    "therefore an optional extra: pip install modelrank[gpl]  (or use backend='gudhi')"
)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def check_eta(eta: float) -> float:
    """``eta`` as a finite float, or ValueError (shared with the torch engine)."""
    try:
        e = float(eta)
    except (TypeError, ValueError):
        raise ValueError(f"eta must be a real number, got {eta!r}") from None
    if np.isnan(e):
        raise ValueError("eta must not be NaN")
    return e


def _check_values(a: np.ndarray, what: str = "volume") -> None:
    """Reject NaN (and complex / object data); +-inf are allowed (never / always in the set)."""
    kind = a.dtype.kind
    if kind in "fc":
        if kind == "c":
            raise ValueError(f"{what} must be real-valued, got dtype {a.dtype}")
        # One reduction, no temporary: max() propagates NaN.
        if a.size and np.isnan(a.max()):
            raise ValueError(f"{what} contains NaN; filtration values must be numbers")
    elif kind not in "biu":
        raise ValueError(f"{what} must be a numeric array, got dtype {a.dtype}")


def check_volume_shape(shape: tuple[int, ...], what: str = "volume") -> None:
    """One 2-D or 3-D volume, not empty (the rule of both engines)."""
    if len(shape) not in (2, 3):
        raise ValueError(f"{what} must be a 2-D or 3-D array, got shape {shape}")
    if 0 in shape:
        raise ValueError(f"{what} is empty (shape {shape})")


def check_batch_shape(shape: tuple[int, ...], layout: str) -> None:
    """A batch of activations (N, C, H, W), (N, T, D) or (N, D) with a known layout and no empty
    axis except N (the rule of both engines)."""
    if len(shape) not in (2, 3, 4):
        raise ValueError(f"acts must be (N, C, H, W), (N, T, D) or (N, D); got shape {shape}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if shape[0] and 0 in shape[1:]:
        raise ValueError(f"acts has an empty axis (shape {shape})")


def _as_volume(volume: np.ndarray, what: str = "volume") -> np.ndarray:
    a = np.asarray(volume)
    check_volume_shape(a.shape, what)
    _check_values(a, what)
    return a


# --------------------------------------------------------------------------------------------
# fast exact Betti numbers of one binary set
# --------------------------------------------------------------------------------------------


def _sublevel(a: np.ndarray, eta: float) -> np.ndarray:
    """C-contiguous bool array ``a <= eta`` with the longest axis of ``a`` moved last.

    Betti numbers do not depend on the order of the axes, and ``ndimage.label`` works line by
    line along the last axis, so long lines make it faster (up to 2x on (2048, 7, 7) maps).
    cc3d is faster without the move (by a quarter on ResNet-50's activations), so it is skipped
    there.
    """
    ax = int(np.argmax(a.shape))
    if a.shape[ax] > a.shape[-1] and not _use_cc3d():
        a = np.moveaxis(a, ax, -1)
    return np.less_equal(a, eta, order="C")


def _scratch(x: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """An int32 label buffer of ``x.shape``: ``labels`` if it fits, a new one otherwise."""
    if labels is None or labels.shape != x.shape:
        return np.empty(x.shape, dtype=np.int32)
    return labels


def _count(a: np.ndarray) -> int:
    return int(np.count_nonzero(a))


def _euler_3d(x: np.ndarray) -> int:
    """chi of the V-complex of a 3-D bool array: V - E + F - C by AND-ing shifted views."""
    ex = x[1:] & x[:-1]  # edges along axis 0
    ey = x[:, 1:] & x[:, :-1]  # axis 1
    ez = x[:, :, 1:] & x[:, :, :-1]  # axis 2
    n_edges = _count(ex) + _count(ey) + _count(ez)
    del ez
    fxy = ex[:, 1:] & ex[:, :-1]  # squares in the (0, 1) plane
    n_faces = _count(fxy)
    n_faces += _count(ex[:, :, 1:] & ex[:, :, :-1])  # (0, 2) plane
    del ex
    n_faces += _count(ey[:, :, 1:] & ey[:, :, :-1])  # (1, 2) plane
    del ey
    n_cubes = _count(fxy[:, :, 1:] & fxy[:, :, :-1])
    return _count(x) - n_edges + n_faces - n_cubes


def _euler_2d(x: np.ndarray) -> int:
    """chi of the V-complex of a 2-D bool array: V - E + F."""
    ex = x[1:] & x[:-1]
    ey = x[:, 1:] & x[:, :-1]
    n_faces = _count(ex[:, 1:] & ex[:, :-1])
    return _count(x) - _count(ex) - _count(ey) + n_faces


def _euler_planes(x: np.ndarray) -> int:
    """Sum over the first axis of the 2-D chi of each (H, W) plane of a (C, H, W) bool array."""
    ex = x[:, 1:] & x[:, :-1]
    ey = x[:, :, 1:] & x[:, :, :-1]
    n_faces = _count(ex[:, :, 1:] & ex[:, :, :-1])
    return _count(x) - _count(ex) - _count(ey) + n_faces


def euler_characteristic(mask: np.ndarray) -> int:
    """Euler characteristic of the V-construction cubical complex spanned by a binary set.

    Args:
        mask: 2-D or 3-D bool array (True = vertex present).

    Returns:
        ``#vertices - #edges + #squares - #cubes`` of the full complex on ``mask``.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim == 3:
        return _euler_3d(m)
    if m.ndim == 2:
        return _euler_2d(m)
    raise ValueError(f"mask must be 2-D or 3-D, got shape {m.shape}")


# Offsets to the 20 edge- and vertex-neighbours of a voxel (26-neighbours minus the 6 faces).
_DIAGONAL_OFFSETS = np.array(
    [
        (a, b, c)
        for a in (-1, 0, 1)
        for b in (-1, 0, 1)
        for c in (-1, 0, 1)
        if abs(a) + abs(b) + abs(c) >= 2
    ],
    dtype=np.int64,
)


def _touching_border(labels: np.ndarray, n: int) -> np.ndarray:
    """(n + 1,) bool: which labels occur on a face of the box (label 0 is marked too)."""
    touching = np.zeros(n + 1, dtype=bool)
    for axis in range(labels.ndim):
        touching[np.take(labels, 0, axis=axis)] = True
        touching[np.take(labels, -1, axis=axis)] = True
    touching[0] = True
    return touching


def _n_voids(x: np.ndarray, labels: np.ndarray) -> int:
    """b2 of the V-complex on a 3-D bool array: 26-components of the complement off the border.

    Equivalent to labelling the complement with 26-connectivity, but cheaper: the complement is
    labelled with 6-connectivity (half the cost in scipy), and only the 6-components that do not
    touch the border (usually few and small) are then merged through their edge/vertex
    neighbours, with the border-touching ones glued to one "outside" node. Every voxel of such a
    component lies off the border, so all its 26 neighbours are inside the array.

    Args:
        x: 3-D bool array, the sublevel set.
        labels: C-contiguous int32 scratch array of ``x.shape`` (overwritten).
    """
    n = ndimage.label(~x, structure=_FG3, output=labels)
    if n == 0:
        return 0
    touching = _touching_border(labels, n)
    if touching.all():
        return 0
    flat = labels.reshape(-1)
    idx = np.flatnonzero((~touching)[flat])  # voxels of the inner 6-components
    src = flat[idx]
    steps = _DIAGONAL_OFFSETS @ (np.asarray(labels.strides, dtype=np.int64) // labels.itemsize)
    rows, cols = [], []
    for step in steps:
        nb = flat[idx + step]
        keep = (nb != 0) & (nb != src)
        rows.append(src[keep])
        cols.append(nb[keep])
    border = np.flatnonzero(touching[1:]) + 1
    rows.append(np.zeros(border.size, dtype=flat.dtype))  # node 0 = the outside
    cols.append(border)
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n + 1, n + 1))
    n_groups = connected_components(graph, directed=False)[0]
    return int(n_groups) - 1


def _n_voids_cc3d(x: np.ndarray) -> int:
    """b2 of the V-complex on a 3-D bool array: 26-components of the complement off the border."""
    if 1 in x.shape:
        # every voxel lies on the border, so nothing is enclosed (and cc3d 4.1 raises on
        # 26-connectivity with a length-1 axis)
        return 0
    labels, n = cc3d.connected_components(~x, connectivity=26, return_N=True)
    if n == 0:
        return 0
    return n + 1 - int(np.count_nonzero(_touching_border(labels, n)))


def _use_cc3d() -> bool:
    return LABELLER == "cc3d" and cc3d is not None


def _betti_mask_3d(x: np.ndarray, labels: np.ndarray | None = None) -> tuple[int, int, int]:
    if _use_cc3d():
        b0 = int(cc3d.connected_components(x, connectivity=6, return_N=True)[1])
        if b0 == 0:
            return 0, 0, 0
        b2 = _n_voids_cc3d(x)
        return b0, b0 + b2 - _euler_3d(x), b2
    labels = _scratch(x, labels)
    b0 = ndimage.label(x, structure=_FG3, output=labels)
    if b0 == 0:
        return 0, 0, 0
    b2 = _n_voids(x, labels)
    chi = _euler_3d(x)
    return b0, b0 + b2 - chi, b2


def _betti_mask_2d(x: np.ndarray, labels: np.ndarray | None = None) -> tuple[int, int, int]:
    if _use_cc3d():
        b0 = int(cc3d.connected_components(x, connectivity=4, return_N=True)[1])
    else:
        b0 = ndimage.label(x, structure=_FG2, output=_scratch(x, labels))
    if b0 == 0:
        return 0, 0, 0
    return b0, b0 - _euler_2d(x), 0


def _betti_mask(x: np.ndarray, labels: np.ndarray | None = None) -> tuple[int, int, int]:
    return _betti_mask_3d(x, labels) if x.ndim == 3 else _betti_mask_2d(x, labels)


def betti_at(volume: np.ndarray, eta: float = 0.0) -> tuple[int, int, int]:
    """Betti numbers of the sublevel set ``{x <= eta}`` of a 2-D or 3-D array, exactly.

    V-construction cubical complex (see the module docstring), computed in linear time from
    connected components and the Euler characteristic. Equals the Betti numbers read from
    CubicalRipser's diagrams with ``birth <= eta < death``.

    Args:
        volume: (H, W) or (D, H, W) array of filtration values (any real dtype; ``+-inf`` allowed).
            For one image's activation (C, H, W) the faithful (W, H, C) volume has the same Betti
            numbers as the (C, H, W) array itself: permuting axes is a symmetry of the grid.
        eta: threshold; a voxel is in the set when its value is ``<= eta``.

    Returns:
        ``(b0, b1, b2)`` as Python ints; ``b2`` is 0 for 2-D input.

    Raises:
        ValueError: NaN in ``volume`` or ``eta``, empty input, or not 2-D / 3-D.
    """
    a = _as_volume(volume)
    return _betti_mask(_sublevel(a, check_eta(eta)))


# --------------------------------------------------------------------------------------------
# batches of activations
# --------------------------------------------------------------------------------------------


def _betti_rows(x: np.ndarray) -> np.ndarray:
    """(N, D) bool rows, each a 1 x D map: b0 = number of runs of True, b1 = b2 = 0."""
    out = np.zeros((x.shape[0], 3), dtype=np.int64)
    out[:, 0] = x[:, 0].astype(np.int64) + np.count_nonzero(x[:, 1:] & ~x[:, :-1], axis=1)
    return out


def betti_counts(acts: np.ndarray, eta: float = 0.0, layout: str = "whc") -> np.ndarray:
    """Cubical Betti numbers of every item of one layer's batch of activations.

    Args:
        acts: one of
            - (N, C, H, W) convolutional feature maps, reduced according to ``layout``:
                - ``"whc"`` (faithful, docs/methods.md §1): each image's (W, H, C) volume, the channel
                  axis as a third spatial axis. Transposing (C, H, W) to (W, H, C) only renames
                  axes, which does not change any Betti number, so the transpose is never
                  materialised (internally the longest axis is put last, for speed).
                - ``"channel-mean"``: the 2-D (H, W) mean over channels (computed in float64).
                - ``"per-channel"``: each of the C channels as its own 2-D (H, W) map; the returned
                  numbers are **sums over channels** of each map's (b0, b1) (b2 = 0). This is the
                  same as the 3-D stack with no adjacency along the channel axis.
            - (N, T, D) token sequences (transformers): each item is a T x D 2-D map (tokens x
              features; ``layout`` is ignored).
            - (N, D) vectors with no spatial grid: each row is a 1 x D 2-D map, i.e. a 1-D
              signal; b0 = number of maximal runs of consecutive coordinates ``<= eta`` and
              b1 = b2 = 0 (a single row has no squares). ``layout`` is ignored.
        eta: sublevel threshold (``x <= eta`` is in the set).
        layout: see above; only used for 4-D input.

    Returns:
        (N, 3) int64 array of (b0, b1, b2) per item.

    Raises:
        ValueError: NaN values, an unknown layout, or an array that is not 2-D, 3-D or 4-D.
    """
    a = np.asarray(acts)
    e = check_eta(eta)
    check_batch_shape(a.shape, layout)
    if a.shape[0] == 0:
        return np.zeros((0, 3), dtype=np.int64)
    _check_values(a, "acts")

    if a.ndim == 2:
        return _betti_rows(a <= e)

    n = a.shape[0]
    out = np.zeros((n, 3), dtype=np.int64)
    labels = None  # scratch buffer, reused while the shape stays the same
    if a.ndim == 3:  # (N, T, D): T x D maps
        for i in range(n):
            x = _sublevel(a[i], e)
            labels = _scratch(x, labels)
            out[i] = _betti_mask_2d(x, labels)
        return out

    if layout == "whc":
        for i in range(n):
            x = _sublevel(a[i], e)
            labels = _scratch(x, labels)
            out[i] = _betti_mask_3d(x, labels)
    elif layout == "channel-mean":
        for i in range(n):
            x = _sublevel(a[i].mean(axis=0, dtype=np.float64), e)
            labels = _scratch(x, labels)
            out[i] = _betti_mask_2d(x, labels)
    else:  # per-channel (the channel axis must stay first: it is the axis without links)
        labels = np.empty(a.shape[1:], dtype=np.int32)
        for i in range(n):
            x = a[i] <= e
            b0 = ndimage.label(x, structure=_FG_PLANES, output=labels)
            out[i, 0] = b0
            out[i, 1] = b0 - _euler_planes(x) if b0 else 0
    return out


# --------------------------------------------------------------------------------------------
# full persistence (curves and checks)
# --------------------------------------------------------------------------------------------


def cubical_diagrams(
    volume: np.ndarray,
    maxdim: int | None = None,
    backend: str = "cripser",
    construction: str = "V",
) -> list[np.ndarray]:
    """Sublevel persistence diagrams of a cubical complex on a 1-D, 2-D or 3-D array.

    Args:
        volume: array of filtration values (float64 is used; NaN raises ValueError).
        maxdim: highest homology degree; default ``volume.ndim - 1``.
        backend: ``"cripser"`` (CubicalRipser, GPL-3.0, imported lazily; install with
            ``pip install modelrank[gpl]``) or ``"gudhi"`` (MIT).
        construction: ``"V"`` (default, what :func:`betti_at` computes: the array's elements
            are vertices) or ``"T"`` (the elements are the top-dimensional cells, lower cells take
            the minimum of their cofaces; gudhi's classic ``CubicalComplex(top_dimensional_cells=)``
            and ``cripser.computePH(..., top_dim=True)``). The two give different diagrams in
            general (T joins diagonal neighbours), so only ``"V"`` is comparable to
            :func:`betti_at`. gudhi builds the V-construction from ``CubicalComplex(vertices=)``;
            no conversion is needed.

    Returns:
        ``maxdim + 1`` float64 arrays of shape (m_k, 2) with rows (birth, death), degree k at
        index k; essential classes have death ``np.inf`` (CubicalRipser's DBL_MAX is converted).
        Zero-length bars may or may not be listed depending on the backend; they never count in
        :func:`betti_from_diagrams`.
    """
    a = np.asarray(volume)
    if a.ndim not in (1, 2, 3):
        raise ValueError(f"volume must be a 1-D, 2-D or 3-D array, got shape {a.shape}")
    if a.size == 0:
        raise ValueError("volume is empty")
    _check_values(a)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if maxdim is None:
        maxdim = a.ndim - 1
    maxdim = int(maxdim)
    if maxdim < 0:
        raise ValueError(f"maxdim must be >= 0, got {maxdim}")
    if construction not in ("V", "T"):
        raise ValueError(f"construction must be 'V' or 'T', got {construction!r}")

    if backend == "cripser":
        try:
            import cripser
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(_CRIPSER_MISSING) from exc
        arr = a
        if a.ndim == 2 and 1 in a.shape:
            # cripser 0.0.37 drops the edges of a 2-D array with a length-1 axis (a (1, n) row
            # comes out as n separate components); the same data as a (1, 1, n)-like 3-D array
            # is handled correctly, and its diagrams are those of the 2-D complex.
            arr = a[None]
        ph = np.asarray(
            cripser.computePH(arr, maxdim=maxdim, top_dim=(construction == "T")),
            dtype=np.float64,
        )
        dims = ph[:, 0].astype(np.int64) if len(ph) else np.zeros(0, dtype=np.int64)
        bars = ph[:, 1:3].copy() if len(ph) else np.zeros((0, 2))
        bars[bars[:, 1] >= np.finfo(np.float64).max, 1] = np.inf
        return [bars[dims == k] for k in range(maxdim + 1)]

    if backend == "gudhi":
        import gudhi

        if construction == "V":
            cc = gudhi.CubicalComplex(vertices=a)
        else:
            cc = gudhi.CubicalComplex(top_dimensional_cells=a)
        cc.compute_persistence(homology_coeff_field=2)
        out = []
        for k in range(maxdim + 1):
            iv = np.asarray(cc.persistence_intervals_in_dimension(k), dtype=np.float64)
            out.append(iv.reshape(-1, 2))
        return out

    raise ValueError(f"unknown backend {backend!r}; choose 'cripser' or 'gudhi'")


def betti_from_diagrams(diagrams: Sequence[np.ndarray], eta: float) -> tuple[int, ...]:
    """Betti numbers at ``eta`` from persistence diagrams: ``#{birth <= eta < death}`` per degree.

    Args:
        diagrams: one (m_k, 2) array of (birth, death) per degree k (death may be ``inf``).
        eta: threshold.

    Returns:
        Tuple of ints, one per degree in ``diagrams``.
    """
    e = check_eta(eta)
    out = []
    for d in diagrams:
        d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
        out.append(int(np.count_nonzero((d[:, 0] <= e) & (e < d[:, 1]))))
    return tuple(out)


def betti_curve(volume: np.ndarray, etas: Sequence[float] | np.ndarray) -> np.ndarray:
    """Betti numbers of ``{x <= eta}`` for each threshold, with the fast path.

    Args:
        volume: 2-D or 3-D array of filtration values.
        etas: (T,) thresholds, any order.

    Returns:
        (T, 3) int64 array; row t is ``betti_at(volume, etas[t])``.
    """
    a = _as_volume(volume)
    etas = np.asarray(etas, dtype=np.float64).ravel()
    out = np.zeros((etas.size, 3), dtype=np.int64)
    labels = None
    for t, e in enumerate(etas):
        x = _sublevel(a, check_eta(e))
        labels = _scratch(x, labels)
        out[t] = _betti_mask(x, labels)
    return out
