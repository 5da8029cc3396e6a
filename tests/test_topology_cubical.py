"""Cubical Betti numbers: the linear-time path against CubicalRipser, gudhi and hand counts.

Truth in these tests never comes from modelrank: it is read from ``cripser.computePH`` diagrams
(birth <= eta < death) called directly here, from gudhi's V-construction cubical complex, or
counted by hand. The torch engine (``modelrank.topology.cubical_torch``) is held to the same truth
on the same random arrays and hand-built shapes, on the CPU.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

from modelrank.topology import cubical, cubical_torch
from modelrank.topology.cubical import (
    betti_at,
    betti_counts,
    betti_curve,
    betti_from_diagrams,
    cubical_diagrams,
)

cripser = pytest.importorskip("cripser")
gudhi = pytest.importorskip("gudhi")

DBL_MAX = np.finfo(np.float64).max


# ------------------------------------------------------------------------------------------
# independent truth
# ------------------------------------------------------------------------------------------


def cripser_bars(vol: np.ndarray) -> np.ndarray:
    """Raw (dim, birth, death) rows from CubicalRipser's V-construction, deaths as given."""
    a = np.asarray(vol, dtype=np.float64)
    if a.ndim == 2 and 1 in a.shape:
        # cripser 0.0.37 mishandles a 2-D array with a length-1 axis (it drops the edges); the
        # same grid as a 3-D array with a leading axis of length 1 is the same cubical complex.
        a = a[None]
    ph = cripser.computePH(np.ascontiguousarray(a), maxdim=2)
    return np.asarray(ph)[:, :3]


def truth_betti(bars: np.ndarray, eta: float) -> tuple[int, int, int]:
    out = []
    for k in range(3):
        b = bars[bars[:, 0] == k]
        out.append(int(np.count_nonzero((b[:, 1] <= eta) & (eta < b[:, 2]))))
    return tuple(out)


def etas_for(vol: np.ndarray) -> np.ndarray:
    """Thresholds that hit every tie exactly, fall between values, and lie outside the range."""
    vals = np.unique(vol)
    if vals.size > 12:
        vals = vals[np.linspace(0, vals.size - 1, 12).astype(int)]
    mids = (vals[1:] + vals[:-1]) / 2 if vals.size > 1 else np.zeros(0)
    return np.r_[vals, mids[:4], vol.min() - 1.0, vol.max() + 1.0]


def make_volume(kind: str, shape: tuple[int, ...], seed: int, param: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "ints":  # heavy ties
        return rng.integers(0, 2 + param % 4, shape).astype(np.float64)
    if kind == "binary":
        p = 0.2 + 0.15 * (param % 5)
        return (rng.random(shape) < p).astype(np.float64)
    if kind == "uniform":
        return rng.random(shape)
    smooth = ndimage.gaussian_filter(rng.standard_normal(shape), 0.5 + 0.5 * (param % 4))
    if kind == "smooth":
        return smooth
    if kind == "relu":  # plateaus of exact zeros, as after a ReLU
        return np.maximum(smooth, 0.0)
    if kind == "relu_ints":
        return np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)
    raise AssertionError(kind)


KINDS = ["ints", "binary", "uniform", "smooth", "relu", "relu_ints"]


def torch_betti_over(vol: np.ndarray, etas: np.ndarray) -> list[tuple[int, int, int]]:
    """The torch engine's Betti numbers of ``vol <= eta`` for every eta, as one batch."""
    import torch

    v = torch.from_numpy(np.ascontiguousarray(vol))
    e = torch.from_numpy(np.asarray(etas, dtype=vol.dtype)).view(-1, *([1] * vol.ndim))
    return [tuple(r) for r in cubical_torch.betti_of_masks(v[None] <= e).tolist()]


LABELLERS = ["scipy"] + (["cc3d"] if cubical.cc3d is not None else [])


def numpy_betti_over(vol: np.ndarray, etas: np.ndarray) -> dict[str, list]:
    """The numpy engine's Betti numbers of ``vol <= eta`` for every eta, with each labeller."""
    out, saved = {}, cubical.LABELLER
    try:
        for lab in LABELLERS:
            cubical.LABELLER = lab
            out[lab] = [betti_at(vol, eta) for eta in etas]
    finally:
        cubical.LABELLER = saved
    return out


@pytest.fixture(params=["numpy-scipy", "numpy-cc3d", "torch"])
def engine(request, monkeypatch):
    """``betti_at`` of one engine (and labeller): the hand-built shapes hold for all."""
    if request.param == "torch":
        return cubical_torch.betti_at
    lab = request.param.split("-")[1]
    if lab not in LABELLERS:
        pytest.skip("cc3d (modelrank[fast]) is not installed")
    monkeypatch.setattr(cubical, "LABELLER", lab)
    return betti_at


# ------------------------------------------------------------------------------------------
# property tests: thousands of random arrays
# ------------------------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 12)),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
    param=st.integers(0, 19),
)
def test_betti_at_equals_cripser_3d(shape, kind, seed, param):
    vol = make_volume(kind, shape, seed, param)
    bars = cripser_bars(vol)
    etas = etas_for(vol)
    want = [truth_betti(bars, eta) for eta in etas]
    for lab, got in numpy_betti_over(vol, etas).items():
        assert got == want, (lab, kind, shape)
    assert torch_betti_over(vol, etas) == want, (kind, shape)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.tuples(st.integers(1, 24), st.integers(1, 24)),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
    param=st.integers(0, 19),
)
def test_betti_at_equals_cripser_2d(shape, kind, seed, param):
    vol = make_volume(kind, shape, seed, param)
    bars = cripser_bars(vol)
    etas = etas_for(vol)
    want = [truth_betti(bars, eta) for eta in etas]
    for lab, got in numpy_betti_over(vol, etas).items():
        assert got == want, (lab, kind, shape)
    assert torch_betti_over(vol, etas) == want, (kind, shape)


@settings(max_examples=300, deadline=None)
@given(
    vol=hnp.arrays(
        np.int8,
        hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6),
        elements=st.integers(0, 3),
    )
)
def test_betti_at_equals_cripser_shrinkable(vol):
    """Small integer arrays drawn element by element, so a failure shrinks to a minimal case."""
    bars = cripser_bars(vol)
    etas = np.array([-0.5, 0, 1, 1.5, 2, 3])
    for lab, got in numpy_betti_over(vol, etas).items():
        assert got == [truth_betti(bars, e) for e in etas], lab
    assert torch_betti_over(vol.astype(np.float64), etas) == [truth_betti(bars, e) for e in etas]


@settings(max_examples=150, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_betti_at_equals_gudhi_vertex_complex(shape, kind, seed):
    """Second library: gudhi's CubicalComplex(vertices=...) is also the V-construction."""
    vol = make_volume(kind, shape, seed, seed % 20)
    cc = gudhi.CubicalComplex(vertices=vol)
    cc.compute_persistence(homology_coeff_field=2)
    dg = [np.asarray(cc.persistence_intervals_in_dimension(k)).reshape(-1, 2) for k in range(3)]
    etas = etas_for(vol)
    wants = []
    for eta in etas:
        want = tuple(int(np.count_nonzero((d[:, 0] <= eta) & (eta < d[:, 1]))) for d in dg)
        assert betti_at(vol, eta) == want
        wants.append(want)
    assert torch_betti_over(vol, etas) == wants


# ------------------------------------------------------------------------------------------
# hand-built shapes
# ------------------------------------------------------------------------------------------


def test_hollow_cube(engine):
    vol = np.ones((7, 7, 7))
    vol[1:6, 1:6, 1:6] = 0.0
    vol[2:5, 2:5, 2:5] = 1.0  # hollow: a 3x3x3 cavity inside a 5x5x5 shell
    assert engine(vol, 0.0) == (1, 0, 1)
    assert engine(vol, 1.0) == (1, 0, 0)  # everything
    assert engine(vol, -1.0) == (0, 0, 0)  # nothing
    assert truth_betti(cripser_bars(vol), 0.0) == (1, 0, 1)


def test_single_voxel_cavity_and_diagonal_leak(engine):
    vol = np.zeros((3, 3, 3))
    vol[1, 1, 1] = 1.0  # one enclosed background voxel
    assert engine(vol, 0.0) == (1, 0, 1)
    # A cavity that touches the outside only through a vertex: the complement is 26-connected,
    # so it is not enclosed; the missing corner voxel also leaves the shell without a void.
    vol = np.zeros((4, 4, 4))
    vol[1:3, 1:3, 1:3] = 1.0
    vol[0, 0, 0] = 1.0  # corner voxel gone; (0,0,0) touches the cavity voxel (1,1,1) diagonally
    want = truth_betti(cripser_bars(vol), 0.0)
    assert engine(vol, 0.0) == want
    assert want[2] == 0


@pytest.mark.parametrize(
    "holes, voids",
    [
        ([(2, 2, 2), (3, 3, 3)], 1),  # touch at a vertex: one 26-connected void
        ([(2, 2, 2), (3, 3, 2)], 1),  # touch along an edge: one void
        ([(2, 2, 2), (2, 2, 4)], 2),  # a voxel of the block between them: two voids
        ([(2, 2, 2), (3, 3, 3), (4, 4, 4), (2, 2, 5)], 2),  # a diagonal chain plus a loner
    ],
)
def test_voids_joined_through_diagonal_contacts(holes, voids, engine):
    vol = np.zeros((7, 7, 7))
    for h in holes:
        vol[h] = 1.0
    got = engine(vol, 0.0)
    assert got[2] == voids  # by hand: cavities meeting at an edge or a vertex are one void
    assert got == truth_betti(cripser_bars(vol), 0.0)


def _voxel_torus(r_in: float, r_out: float) -> np.ndarray:
    """0 on voxels whose distance to a circle of radius 7 (xy-plane) lies in [r_in, r_out]."""
    g = np.arange(-11, 12, dtype=np.float64)
    x, y, z = np.meshgrid(g, g, np.arange(-5, 6, dtype=np.float64), indexing="ij")
    d = np.hypot(np.hypot(x, y) - 7.0, z)
    return np.where((d >= r_in) & (d <= r_out), 0.0, 1.0)


def test_voxel_torus_surface(engine):
    vol = _voxel_torus(1.5, 3.2)  # a thick torus shell around a hollow core
    assert engine(vol, 0.0) == (1, 2, 1)
    assert truth_betti(cripser_bars(vol), 0.0) == (1, 2, 1)


def test_voxel_solid_torus(engine):
    vol = _voxel_torus(0.0, 2.5)
    assert engine(vol, 0.0) == (1, 1, 0)
    assert truth_betti(cripser_bars(vol), 0.0) == (1, 1, 0)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_checkerboard_2d(n, engine):
    i, j = np.indices((n, n))
    vol = ((i + j) % 2).astype(np.float64)  # 0 on the "black" squares
    # Black squares only meet diagonally; in the V-construction diagonal pixels share no edge,
    # so every black pixel is its own component and there are no loops.
    black = (n * n + 1) // 2
    assert engine(vol, 0.0) == (black, 0, 0)
    # White pixels likewise.
    assert engine(1.0 - vol, 0.0) == (n * n - black, 0, 0)
    assert engine(vol, 1.0) == (1, 0, 0)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_checkerboard_3d(n, engine):
    i, j, k = np.indices((n, n, n))
    vol = ((i + j + k) % 2).astype(np.float64)
    black = int(np.count_nonzero(vol == 0))
    # Isolated voxels; the 26-connected complement reaches the border, so no voids either.
    assert engine(vol, 0.0) == (black, 0, 0)
    assert truth_betti(cripser_bars(vol), 0.0) == (black, 0, 0)


def test_annulus_2d(engine):
    i, j = np.indices((21, 21))
    r = np.hypot(i - 10, j - 10)
    vol = np.where((r >= 4) & (r <= 7), 0.0, 1.0)
    assert engine(vol, 0.0) == (1, 1, 0)
    two = np.concatenate([vol, vol], axis=1)  # two annuli side by side
    assert engine(two, 0.0) == (2, 2, 0)


# ------------------------------------------------------------------------------------------
# batches and layouts
# ------------------------------------------------------------------------------------------


def _acts(n=3, c=4, h=6, w=7, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal((n, c, h, w)), 0).astype(np.float32)


def test_betti_counts_whc_is_the_transposed_volume():
    acts = _acts()
    got = betti_counts(acts, 0.0, layout="whc")
    assert got.shape == (3, 3) and got.dtype.kind == "i"
    for i in range(acts.shape[0]):
        vol = acts[i].transpose(2, 1, 0)  # (C, H, W) -> (W, H, C), as the paper
        assert tuple(got[i]) == truth_betti(cripser_bars(vol), 0.0)


def test_betti_counts_per_channel_sums_2d_maps():
    acts = _acts(seed=1)
    got = betti_counts(acts, 0.0, layout="per-channel")
    for i in range(acts.shape[0]):
        want = np.zeros(3, dtype=int)
        for ch in range(acts.shape[1]):
            want += truth_betti(cripser_bars(acts[i, ch]), 0.0)
        assert tuple(got[i]) == tuple(want)


def test_betti_counts_channel_mean():
    acts = _acts(seed=2) - 0.5
    got = betti_counts(acts, 0.0, layout="channel-mean")
    for i in range(acts.shape[0]):
        m = acts[i].astype(np.float64).mean(axis=0)
        assert tuple(got[i]) == truth_betti(cripser_bars(m), 0.0)


def test_betti_counts_tokens_and_vectors():
    rng = np.random.default_rng(3)
    tokens = rng.standard_normal((4, 5, 9))
    got = betti_counts(tokens, 0.2)
    for i in range(4):
        assert tuple(got[i]) == truth_betti(cripser_bars(tokens[i]), 0.2)
    vecs = rng.standard_normal((6, 11))
    got = betti_counts(vecs, 0.0)
    for i in range(6):
        runs, prev = 0, False
        for v in vecs[i]:  # count maximal runs of entries <= 0 by hand
            cur = v <= 0.0
            runs += cur and not prev
            prev = cur
        assert tuple(got[i]) == (runs, 0, 0)
        assert tuple(got[i]) == truth_betti(cripser_bars(vecs[i][None]), 0.0)


def test_betti_counts_empty_batch_and_errors():
    assert betti_counts(np.zeros((0, 2, 3, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="layout"):
        betti_counts(_acts(), layout="nope")
    with pytest.raises(ValueError, match="shape"):
        betti_counts(np.zeros((2, 2, 2, 2, 2)))
    bad = _acts()
    bad[1, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        betti_counts(bad)


# ------------------------------------------------------------------------------------------
# errors, diagrams, curves
# ------------------------------------------------------------------------------------------


def test_nan_and_bad_input_raise():
    vol = np.zeros((4, 4, 4))
    vol[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        betti_at(vol)
    with pytest.raises(ValueError, match="NaN"):
        betti_at(np.zeros((3, 3)), float("nan"))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        betti_at(np.zeros(5))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        betti_at(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        betti_at(np.zeros((0, 3)))


def test_infinities_are_allowed():
    vol = np.array([[0.0, np.inf, 0.0], [np.inf, -np.inf, np.inf]])
    finite = np.where(np.isinf(vol), np.sign(vol) * 1e9, vol)  # same order, cripser-friendly
    assert betti_at(vol, 0.0) == truth_betti(cripser_bars(finite), 0.0)


def test_cubical_diagrams_match_raw_cripser_and_gudhi():
    rng = np.random.default_rng(5)
    for shape in [(6, 7, 8), (9, 11), (1, 7), (5, 1, 4)]:
        vol = rng.integers(0, 4, shape).astype(np.float64) + rng.random(shape) * 0.5
        dc = cubical_diagrams(vol, maxdim=2, backend="cripser")
        dg = cubical_diagrams(vol, maxdim=2, backend="gudhi")
        assert len(dc) == len(dg) == 3
        for k in range(3):
            assert not np.any(dc[k] == DBL_MAX)
            a = dc[k][dc[k][:, 1] > dc[k][:, 0]]
            b = dg[k][dg[k][:, 1] > dg[k][:, 0]]
            assert np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])
        bars = cripser_bars(vol)
        for eta in etas_for(vol):
            assert betti_from_diagrams(dc, eta) == truth_betti(bars, eta)
        ess = np.count_nonzero(np.isinf(dc[0][:, 1]))
        assert ess == 1  # the grid is connected once every voxel is in


def test_cubical_diagrams_missing_cripser_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cripser", None)  # import cripser -> ImportError
    with pytest.raises(ImportError, match=r"modelrank\[gpl\]"):
        cubical_diagrams(np.zeros((3, 3)))


def test_betti_curve_matches_cripser():
    rng = np.random.default_rng(6)
    vol = np.maximum(ndimage.gaussian_filter(rng.standard_normal((10, 12, 14)), 1.0), 0)
    etas = np.r_[-1.0, 0.0, np.quantile(vol, [0.6, 0.8, 0.95]), 10.0]
    curve = betti_curve(vol, etas)
    bars = cripser_bars(vol)
    assert curve.shape == (etas.size, 3)
    for eta, row in zip(etas, curve):
        assert tuple(row) == truth_betti(bars, eta)


def test_topology_package_does_not_import_torch():
    code = (
        "import sys\n"
        "import modelrank.topology.cubical, modelrank.topology.rips\n"
        "import modelrank.topology.decay, modelrank.topology.pointclouds\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
