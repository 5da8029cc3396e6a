"""Rips Betti numbers: the Naitzat recipe and Euclidean Vietoris–Rips.

Truth: the known topology of the sampled shapes, the Betti numbers docs/methods.md §2 documents for
D-I/D-II/D-III, hand-derived graph facts, and agreement between independent libraries (ripser.py,
gudhi, giotto-ph, scipy's cdist for brute force).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from modelrank.topology import pointclouds as pc
from modelrank.topology.rips import (
    default_scale,
    knn_graph,
    maxmin_subsample,
    naitzat_betti,
    rips_betti_at,
    rips_diagrams,
)

# ------------------------------------------------------------------------------------------
# the recipe's mechanics, by hand
# ------------------------------------------------------------------------------------------


def test_k_counts_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])  # gaps 1, 2, 4, 8: no ties
    # k = 1: only the point itself -> no edges.
    assert knn_graph(x, 1).nnz == 0
    assert naitzat_betti(x, k=1, maxdim=0) == (5,)
    # k = 2: each point plus its single nearest other: 0-1, 1-0, 3-1, 7-3, 15-7 -> a path.
    a = knn_graph(x, 2).toarray()
    want = np.zeros((5, 5), int)
    for i, j in [(0, 1), (2, 1), (3, 2), (4, 3)]:
        want[i, j] = want[j, i] = 1
    assert np.array_equal(a, want)
    assert naitzat_betti(x, k=2, maxdim=1) == (1, 0)


def _regular_polygon(n: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / n
    return np.c_[np.cos(t), np.sin(t)]


@pytest.mark.parametrize("backend", ["auto", "gudhi", "ripser"])
@pytest.mark.parametrize(
    "n, want",
    [
        # k = 3 joins each vertex of a regular n-gon to its two neighbours: the cycle C_n. At hop
        # scale 2 the complex is the clique complex of Cay(Z_n, {±1, ±2}), whose homotopy type is
        # known (Adamaszek, "Clique complexes and graph powers", 2013): S^1 for 2/n < 1/3, a
        # 2-sphere for 2/n = 1/3, contractible (the complete graph K_5) for n = 5.
        (8, (1, 1, 0)),
        (7, (1, 1, 0)),
        (6, (1, 0, 1)),
        (5, (1, 0, 0)),
    ],
)
def test_hop_scale_two_on_cycle_graphs(n, want, backend):
    assert naitzat_betti(_regular_polygon(n), k=3, maxdim=2, backend=backend) == want


def test_divisor_and_duplicates():
    x = pc.circle(400, noise=0.01, seed=3)
    assert naitzat_betti(x, divisor=2) == naitzat_betti(x[::2])
    dup = np.concatenate([x[:200], x[:200], x[:50]])
    assert naitzat_betti(dup) == naitzat_betti(x[:200])


def test_no_spurious_zero_row():
    # A cloud far from the origin: the released code's extra all-zero row would add a component.
    x = pc.circle(300, noise=0.01, seed=1) + 100.0
    assert naitzat_betti(x, maxdim=0) == (1,)


# ------------------------------------------------------------------------------------------
# the recipe recovers known topology
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cloud, k, maxdim, want",
    [
        ("circle", lambda: pc.circle(300, noise=0.02, seed=0), 14, 1, (1, 1)),
        ("linked circles", lambda: pc.linked_circles(400, noise=0.02, seed=0), 14, 1, (2, 2)),
        ("torus", lambda: pc.torus(1000, seed=0), 20, 2, (1, 2, 1)),
        ("sphere (lattice)", lambda: pc.sphere(400, seed=0, sampling="lattice"), 14, 2, (1, 0, 1)),
        ("sphere (random)", lambda: pc.sphere(500, seed=0), 25, 2, (1, 0, 1)),
    ],
)
def test_naitzat_recovers_shapes(name, cloud, k, maxdim, want):
    x = cloud()
    assert naitzat_betti(x, k=k, maxdim=maxdim) == want
    assert naitzat_betti(x, k=k, maxdim=maxdim, backend="gudhi") == want


def test_naitzat_backends_agree_on_a_dense_high_dimensional_cloud():
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((200, 8)) @ rng.standard_normal((8, 256)), 0)
    got = {b: naitzat_betti(x, maxdim=2, backend=b) for b in ("auto", "gudhi", "ripser")}
    assert len(set(got.values())) == 1, got


def test_shape_ground_truth_constants():
    assert pc.SHAPE_BETTI == {
        "circle": (1, 1),
        "linked_circles": (2, 2),
        "torus": (1, 2, 1),
        "sphere": (1, 0, 1),
    }
    # docs/methods.md §2.
    assert pc.NAITZAT_BETTI == {
        "d1": {0: (9, 0), 1: (1, 9)},
        "d2": {0: (9, 9), 1: (9, 9)},
        "d3": {0: (9, 0, 9), 1: (18, 0, 18)},
    }


@pytest.mark.parametrize(
    "make, maxdim, want_a, want_b",
    [
        (lambda: pc.d1(seed=0), 1, (9, 0), (1, 9)),
        (lambda: pc.d1(2500, seed=7), 1, (9, 0), (1, 9)),
        (lambda: pc.d2(seed=0), 1, (9, 9), (9, 9)),
        (lambda: pc.d2(250, seed=4), 1, (9, 9), (9, 9)),
        (lambda: pc.d3(seed=0), 2, (9, 0, 9), (18, 0, 18)),
    ],
)
def test_naitzat_datasets_input_layer(make, maxdim, want_a, want_b):
    """The faithful recipe (k = 14) on the generated clouds gives docs/methods.md's numbers."""
    x, y = make()
    assert set(np.unique(y)) == {0, 1}
    assert naitzat_betti(x[y == 0], k=14, maxdim=maxdim) == want_a
    assert naitzat_betti(x[y == 1], k=14, maxdim=maxdim) == want_b


def test_generators_are_seeded_and_shaped():
    a, ya = pc.d2(50, seed=1)
    b, yb = pc.d2(50, seed=1)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert a.shape == (18 * 50, 3) and np.count_nonzero(ya == 0) == 9 * 50
    x, y = pc.d3(40, seed=2)
    assert x.shape == (27 * 40, 3) and np.count_nonzero(y == 1) == 18 * 40
    x, y = pc.d1(1000, seed=0)
    assert x.shape[1] == 2 and x.shape[0] == y.shape[0] < 1000
    assert not np.array_equal(pc.torus(50, seed=0), pc.torus(50, seed=1))
    assert pc.linked_circles(10).shape == (10, 3)
    assert pc.circle(5, noise=0.1).shape == (5, 2)
    with pytest.raises(ValueError):
        pc.sphere(10, sampling="grid")
    with pytest.raises(ValueError):
        pc.circle(0)


def test_naitzat_input_errors():
    with pytest.raises(ValueError, match="NaN"):
        naitzat_betti(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="maxdim"):
        naitzat_betti(np.zeros((3, 2)), maxdim=7)
    with pytest.raises(ValueError, match="backend"):
        naitzat_betti(np.random.default_rng(0).random((10, 2)), backend="eirene")
    with pytest.raises(ValueError, match="divisor"):
        naitzat_betti(np.zeros((3, 2)), divisor=0)
    assert naitzat_betti(np.zeros((4, 3)), maxdim=2) == (1, 0, 0)  # one distinct point


# ------------------------------------------------------------------------------------------
# Euclidean Vietoris–Rips
# ------------------------------------------------------------------------------------------


def test_default_scale_brute_force():
    x = np.random.default_rng(0).random((60, 3))
    d = np.sort(cdist(x, x), axis=1)  # column 0 is the point itself
    assert default_scale(x, k=5, quantile=0.9) == pytest.approx(2 * np.quantile(d[:, 5], 0.9))
    assert default_scale(3 * x) == pytest.approx(3 * default_scale(x))


def test_rips_circle_at_default_scale_all_backends():
    x = pc.circle(200, noise=0.03, seed=0)
    s = default_scale(x)
    for backend in ("ripser", "gudhi", "giotto"):
        assert rips_betti_at(x, s, maxdim=1, backend=backend) == (1, 1), backend
    assert rips_betti_at(x, "auto", maxdim=1) == (1, 1)


def test_rips_torus_at_default_scale_two_libraries():
    x = pc.torus(600, seed=0)
    s = default_scale(x)
    assert rips_betti_at(x, s, maxdim=2, backend="ripser") == (1, 2, 1)
    assert rips_betti_at(x, s, maxdim=2, backend="gudhi") == (1, 2, 1)


def test_rips_diagrams_agree_between_libraries():
    x = pc.circle(80, noise=0.1, seed=2)
    ref = rips_diagrams(x, maxdim=1, backend="gudhi")  # float64
    for backend in ("ripser", "giotto"):  # float32 inside
        got = rips_diagrams(x, maxdim=1, backend=backend)
        for k in range(2):
            a = np.sort(ref[k], axis=0)
            b = np.sort(got[k], axis=0)
            assert a.shape == b.shape
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    # threshold: classes alive at the scale are reported with death inf
    s = float(np.median(ref[0][np.isfinite(ref[0][:, 1]), 1]))
    cut = rips_diagrams(x, maxdim=1, scale=s, backend="gudhi")
    assert np.all(cut[0][:, 0] <= s)
    n_alive = np.count_nonzero(ref[0][:, 1] > s)
    assert np.count_nonzero(np.isinf(cut[0][:, 1])) == n_alive


def test_rips_diagrams_landmarks():
    x = pc.torus(400, seed=1)
    idx = maxmin_subsample(x, 100, seed=3)
    a = rips_diagrams(x, maxdim=1, n_landmarks=100, seed=3, scale=1.5)
    b = rips_diagrams(x[idx], maxdim=1, scale=1.5)
    for k in range(2):
        np.testing.assert_array_equal(np.sort(a[k], axis=0), np.sort(b[k], axis=0))


def test_rips_input_errors():
    with pytest.raises(ValueError, match="backend"):
        rips_diagrams(np.zeros((3, 2)), backend="dionysus")
    with pytest.raises(ValueError, match="scale"):
        rips_diagrams(np.zeros((3, 2)), scale="big")
    with pytest.raises(ValueError, match="2-D"):
        rips_diagrams(np.zeros((2, 2, 2)))


# ------------------------------------------------------------------------------------------
# max–min landmarks
# ------------------------------------------------------------------------------------------


def test_maxmin_is_greedy_farthest_point():
    x = np.random.default_rng(4).standard_normal((300, 5))
    idx = maxmin_subsample(x, 40, seed=9)
    assert idx.shape == (40,) and len(set(idx.tolist())) == 40
    assert idx[0] == np.random.default_rng(9).integers(300)
    d = cdist(x, x)
    radii = []
    for t in range(1, 40):
        to_set = d[:, idx[:t]].min(axis=1)
        assert to_set[idx[t]] == pytest.approx(to_set.max())  # the farthest remaining point
        radii.append(to_set.max())
    assert np.all(np.diff(radii) <= 1e-12)  # covering radius never grows
    assert np.array_equal(idx, maxmin_subsample(x, 40, seed=9))


def test_maxmin_edge_cases():
    x = np.random.default_rng(5).random((12, 2))
    all_idx = maxmin_subsample(x, 50)
    assert sorted(all_idx.tolist()) == list(range(12))
    dup = np.concatenate([x, x])
    idx = maxmin_subsample(dup, 12, seed=0)
    assert len(np.unique(dup[idx], axis=0)) == 12  # distinct points before any duplicate
    with pytest.raises(ValueError):
        maxmin_subsample(x, 0)
