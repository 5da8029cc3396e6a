"""Vietoris–Rips Betti numbers of point clouds (docs/methods.md §2).

Two families:

- :func:`naitzat_betti`, the faithful recipe of Naitzat, Zhitnikov & Lim (JMLR 2020): a k-NN graph
  (k counting the point itself), its hop (shortest-path) metric, and the Vietoris–Rips (flag)
  complex at scale 2 of that metric, i.e. the clique complex of the graph "within 2 hops".
- Plain Euclidean Vietoris–Rips persistence (:func:`rips_diagrams`, :func:`rips_betti_at`) through
  ripser.py (MIT), gudhi (MIT) or giotto-ph (AGPL-3.0, optional, imported lazily), with a
  data-driven scale (:func:`default_scale`) and greedy max–min landmarks
  (:func:`maxmin_subsample`) for large clouds.

Homology is over the field Z/2 throughout (the default of ripser, giotto-ph and CubicalRipser;
gudhi is told so explicitly). Pure numpy / scipy / scikit-learn: never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

__all__ = [
    "RIPS_BACKENDS",
    "default_scale",
    "hop2_edges",
    "knn_graph",
    "maxmin_subsample",
    "naitzat_betti",
    "rips_betti_at",
    "rips_diagrams",
]

#: Back-ends of :func:`rips_diagrams`.
RIPS_BACKENDS = ("ripser", "gudhi", "giotto")

_GIOTTO_MISSING = (
    "backend='giotto' needs giotto-ph, which is AGPL-3.0 and therefore optional: "
    "pip install giotto-ph  (or use backend='ripser' or 'gudhi')"
)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _as_points(points: np.ndarray, what: str = "points") -> np.ndarray:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n, d), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} is empty")
    if x.shape[1] == 0:
        raise ValueError(f"{what} has no coordinates (shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return x


def _check_maxdim(maxdim: int, hi: int = 3) -> int:
    m = int(maxdim)
    if m != maxdim or not 0 <= m <= hi:
        raise ValueError(f"maxdim must be an integer in 0..{hi}, got {maxdim!r}")
    return m


def _unique_rows_in_order(x: np.ndarray) -> np.ndarray:
    """Drop repeated rows, keeping the first occurrence of each, in the original order."""
    _, first = np.unique(x, axis=0, return_index=True)
    if first.size == x.shape[0]:
        return x
    return x[np.sort(first)]


# --------------------------------------------------------------------------------------------
# the Naitzat recipe
# --------------------------------------------------------------------------------------------


def knn_graph(points: np.ndarray, k: int) -> sparse.csr_matrix:
    """Symmetrised k-nearest-neighbour graph, k counting the point itself.

    Every point is joined to its ``k - 1`` nearest other points (Euclidean); an edge exists when
    either end is among the other's neighbours. Ties at equal distance are broken by
    scikit-learn's search order.

    Args:
        points: (n, d) distinct points.
        k: neighbourhood size including the point itself (``k >= 2``); clipped to ``n``.

    Returns:
        (n, n) symmetric CSR adjacency matrix of 0/1 int8 entries with an empty diagonal.
    """
    from sklearn.neighbors import NearestNeighbors

    n = points.shape[0]
    kk = min(int(k), n)
    if kk < 2:
        return sparse.csr_matrix((n, n), dtype=np.int8)
    idx = NearestNeighbors(n_neighbors=kk).fit(points).kneighbors(points, return_distance=False)
    rows = np.arange(n)[:, None]
    keep = idx != rows
    # A row whose own index was not returned (only possible with exact numerical ties at
    # distance ~0) keeps its first kk-1 neighbours, so every point has exactly kk-1 others.
    no_self = keep.all(axis=1)
    keep[no_self, -1] = False
    r = np.broadcast_to(rows, idx.shape)[keep]
    c = idx[keep]
    a = sparse.csr_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))
    a = ((a + a.T) > 0).astype(np.int8)
    return a.tocsr()


def hop2_edges(adjacency: sparse.spmatrix) -> np.ndarray:
    """Edges of the graph "within 2 hops" of an undirected graph.

    Args:
        adjacency: (n, n) symmetric 0/1 sparse adjacency matrix without self-loops.

    Returns:
        (2, m) int64 array of edges (i < j) with hop distance 1 or 2.
    """
    a = sparse.csr_matrix(adjacency, dtype=np.int32)
    a.data[:] = 1
    reach = a + a @ a
    reach = sparse.triu(reach, k=1).tocoo()
    return np.vstack([reach.row, reach.col]).astype(np.int64)


def _collapsed_tree(n: int, edges: np.ndarray, max_passes: int = 20):
    """gudhi SimplexTree of the graph (all filtration values 0) after repeated edge collapse.

    Edge collapse removes dominated edges and keeps the homotopy type of the flag complex
    (Boissonnat & Pritam, "Edge collapse and persistence of flag complexes", SoCG 2020). Passes
    are repeated while one removes more than 1 % of the remaining edges (at most ``max_passes``).
    """
    import gudhi

    st = gudhi.SimplexTree()
    st.insert_batch(np.arange(n, dtype=np.int64)[None, :], np.zeros(n))
    if edges.shape[1]:
        st.insert_batch(edges, np.zeros(edges.shape[1]))
        before = st.num_simplices()
        for _ in range(max_passes):
            st.collapse_edges(nb_iterations=1)
            after = st.num_simplices()
            if before - after <= 0.01 * (before - n):
                break
            before = after
    return st


def _flag_betti_gudhi(n: int, edges: np.ndarray, maxdim: int) -> list[int]:
    """Betti numbers b0..b_maxdim of the flag complex of a graph: gudhi collapse + expansion.

    The collapsed 1-skeleton is expanded to dimension ``maxdim + 1`` so that degree ``maxdim`` is
    complete. Fast when the collapsed graph is sparse (manifold-like clouds); the expansion can
    explode on dense graphs (hubs of high-dimensional k-NN graphs).
    """
    st = _collapsed_tree(n, edges)
    st.expansion(maxdim + 1)
    # gudhi skips the top degree of the complex unless persistence_dim_max is set; it is needed
    # when the expanded complex has no simplex above degree maxdim.
    st.compute_persistence(homology_coeff_field=2, persistence_dim_max=st.dimension() <= maxdim)
    b = list(st.betti_numbers())
    return (b + [0] * (maxdim + 1))[: maxdim + 1]


def _flag_betti_ripser(n: int, edges: np.ndarray, maxdim: int) -> list[int]:
    """Betti numbers of the flag complex of a graph with ripser.py on a sparse matrix.

    All edges get length 1 and missing entries are "infinitely far", so the complex at the end of
    the filtration is the flag complex and its Betti numbers are the counts of infinite bars.
    ripser builds the clique complex implicitly, which keeps dense graphs tractable.
    """
    from ripser import ripser

    m = edges.shape[1]
    d = sparse.coo_matrix((np.ones(m), (edges[0], edges[1])), shape=(n, n)).tocsr()
    dgms = ripser(d, maxdim=maxdim, distance_matrix=True)["dgms"]
    b = [int(np.count_nonzero(np.isinf(dg[:, 1]))) for dg in dgms]
    return (b + [0] * (maxdim + 1))[: maxdim + 1]


def _flag_betti_auto(n: int, edges: np.ndarray, maxdim: int) -> list[int]:
    """Edge collapse (gudhi) then ripser.py on the collapsed graph; ripser.py alone for H0–H1 of
    dense graphs (mean degree > 100), where the collapse costs more than it saves. Measured on
    2-D/3-D manifold samples and 10- to 2048-d clouds of 500–5,000 points."""
    if maxdim <= 1 and 2 * edges.shape[1] > 100 * n:
        return _flag_betti_ripser(n, edges, maxdim)
    st = _collapsed_tree(n, edges)
    kept = np.array([s for s, _ in st.get_skeleton(1) if len(s) == 2], dtype=np.int64)
    return _flag_betti_ripser(n, kept.reshape(-1, 2).T, maxdim)


_FLAG_BACKENDS = {
    "auto": _flag_betti_auto,
    "gudhi": _flag_betti_gudhi,
    "ripser": _flag_betti_ripser,
}


def naitzat_betti(
    points: np.ndarray,
    k: int = 14,
    divisor: int = 1,
    maxdim: int = 1,
    backend: str = "auto",
) -> tuple[int, ...]:
    """Betti numbers of a point cloud by the faithful Naitzat–Zhitnikov–Lim recipe.

    Steps (docs/methods.md §2): keep every ``divisor``-th row; drop duplicate rows (the released code's
    spurious all-zero row is *not* added); symmetrised k-NN graph with k counting the point
    itself; hop-count shortest-path metric; Vietoris–Rips complex at scale 2 of that metric, i.e.
    the flag (clique) complex of the graph joining points at most 2 hops apart; its Betti numbers.

    Args:
        points: (n, d) point cloud, e.g. one class's activations at one layer.
        k: neighbourhood size including the point itself (default 14, as in the paper).
        divisor: keep rows ``0, divisor, 2*divisor, ...``.
        maxdim: highest homology degree (0..3).
        backend: how the flag complex's homology is computed; all are exact (Z/2 coefficients):
            ``"auto"`` (default): gudhi edge collapse of the 2-hop graph, then ripser.py on the
            collapsed graph (for H0–H1 of a dense 2-hop graph, ripser.py alone); ``"gudhi"``: edge
            collapse then gudhi expansion and persistence
            (fastest on manifold-like clouds, can blow up on dense graphs); ``"ripser"``:
            ripser.py on the uncollapsed sparse 2-hop graph. H0 alone (``maxdim=0``) is read from
            connected components of the k-NN graph directly.

    Returns:
        ``(b0, ..., b_maxdim)`` as Python ints.
    """
    x = _as_points(points)
    maxdim = _check_maxdim(maxdim)
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if int(divisor) != divisor or divisor < 1:
        raise ValueError(f"divisor must be a positive integer, got {divisor!r}")
    if backend not in _FLAG_BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(_FLAG_BACKENDS)}")
    x = _unique_rows_in_order(x[:: int(divisor)])
    n = x.shape[0]
    adj = knn_graph(x, int(k))
    if maxdim == 0:
        return (int(connected_components(adj, directed=False)[0]),)
    b = _FLAG_BACKENDS[backend](n, hop2_edges(adj), maxdim)
    return tuple(int(v) for v in b)


# --------------------------------------------------------------------------------------------
# Euclidean Vietoris–Rips
# --------------------------------------------------------------------------------------------


def maxmin_subsample(points: np.ndarray, m: int, seed: int = 0) -> np.ndarray:
    """Greedy max–min (farthest point) landmarks.

    The first landmark is drawn uniformly at random with ``seed``; each next one is the point whose
    Euclidean distance to the landmarks chosen so far is largest (lowest index on ties). The
    chosen set covers the cloud within twice the best possible covering radius for ``m`` points.

    Args:
        points: (n, d) cloud.
        m: number of landmarks; clipped to ``n`` (then every index is returned, in max–min order).
        seed: seeds the first landmark.

    Returns:
        (min(m, n),) int64 indices into ``points``, in the order chosen, without repeats.
        Cost O(n m d) time, O(n) extra memory.
    """
    x = _as_points(points)
    if int(m) != m or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    n = x.shape[0]
    m = min(int(m), n)
    rng = np.random.default_rng(seed)
    chosen = np.empty(m, dtype=np.int64)
    chosen[0] = rng.integers(n)
    sq = np.einsum("ij,ij->i", x, x)
    dist2 = np.full(n, np.inf)
    for t in range(1, m):
        c = chosen[t - 1]
        d2 = sq - 2.0 * (x @ x[c]) + sq[c]
        np.maximum(d2, 0.0, out=d2)
        d2[c] = 0.0
        np.minimum(dist2, d2, out=dist2)
        dist2[chosen[:t]] = -1.0  # never pick a landmark twice (duplicates have distance 0)
        chosen[t] = int(np.argmax(dist2))
    return chosen


def default_scale(points: np.ndarray, k: int = 10, quantile: float = 0.9) -> float:
    """A data-driven Vietoris–Rips scale from nearest-neighbour distances.

    ``scale = 2 * q-quantile over points of the distance to the k-th nearest other point``.
    Reasoning: a ball of radius equal to the k-NN distance holds about k sample points, so at
    twice that distance nearly every point (all but a fraction ``1 - q``) is joined to its local
    neighbourhood and sampling gaps close, while the scale stays local (it grows with the
    sampling spacing, not with the size of the cloud), so holes much wider than the local spacing
    survive. It is a heuristic, not a guarantee: check Betti curves around it on your data.

    Args:
        points: (n, d) cloud with n >= 2.
        k: which neighbour (self excluded); clipped to n - 1.
        quantile: in (0, 1].

    Returns:
        The scale (float, same units as the coordinates). 0.0 if all points coincide.
    """
    from sklearn.neighbors import NearestNeighbors

    x = _as_points(points)
    if x.shape[0] < 2:
        raise ValueError("default_scale needs at least 2 points")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    kk = min(int(k), x.shape[0] - 1)
    dist, _ = NearestNeighbors(n_neighbors=kk + 1).fit(x).kneighbors(x)
    return float(2.0 * np.quantile(dist[:, kk], quantile))


def rips_diagrams(
    points: np.ndarray,
    maxdim: int = 1,
    scale: float | str | None = None,
    n_landmarks: int | None = None,
    seed: int = 0,
    backend: str = "ripser",
    n_threads: int = 1,
) -> list[np.ndarray]:
    """Euclidean Vietoris–Rips persistence diagrams (filtration by edge length = diameter).

    Args:
        points: (n, d) cloud.
        maxdim: highest homology degree (0..3).
        scale: ``None`` = the whole filtration (expensive beyond ~2,000 points, see
            TDA_BACKENDS.md); a number = stop the filtration at that edge length (edges of length
            ``<= scale`` are included; classes still alive there get death ``inf``); ``"auto"`` =
            :func:`default_scale` of the (subsampled) cloud.
        n_landmarks: if set and smaller than n, first keep that many max–min landmarks
            (:func:`maxmin_subsample` with ``seed``).
        seed: seed of the landmark choice.
        backend: ``"ripser"`` (ripser.py, float32 distances), ``"gudhi"`` (float64) or
            ``"giotto"`` (giotto-ph, AGPL, float32, optional).
        n_threads: threads for giotto-ph.

    Returns:
        ``maxdim + 1`` float64 arrays (m_k, 2) of (birth, death), death ``inf`` for classes alive
        at the end of the filtration. Zero-length bars are omitted.
    """
    x = _as_points(points)
    maxdim = _check_maxdim(maxdim)
    if n_landmarks is not None and int(n_landmarks) < x.shape[0]:
        x = x[maxmin_subsample(x, int(n_landmarks), seed)]
    if isinstance(scale, str):
        if scale != "auto":
            raise ValueError(f"scale must be a number, None or 'auto', got {scale!r}")
        scale = default_scale(x) if x.shape[0] >= 2 else 0.0
    thresh = np.inf if scale is None else float(scale)
    if np.isnan(thresh) or thresh < 0:
        raise ValueError(f"scale must be >= 0, got {scale!r}")

    if backend == "ripser":
        from ripser import ripser

        dgms = ripser(x, maxdim=maxdim, thresh=thresh, coeff=2)["dgms"]
    elif backend == "giotto":
        try:
            from gph import ripser_parallel
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(_GIOTTO_MISSING) from exc
        dgms = ripser_parallel(x, maxdim=maxdim, thresh=thresh, coeff=2, n_threads=n_threads)[
            "dgms"
        ]
    elif backend == "gudhi":
        import gudhi

        rc = gudhi.RipsComplex(points=x, max_edge_length=thresh)
        st = rc.create_simplex_tree(max_dimension=1)
        if maxdim >= 1:
            # Filtered edge collapse keeps the persistence diagrams (Boissonnat & Pritam 2020).
            st.collapse_edges(nb_iterations=3)
            st.expansion(maxdim + 1)
        st.compute_persistence(homology_coeff_field=2, persistence_dim_max=st.dimension() <= maxdim)
        dgms = [st.persistence_intervals_in_dimension(k) for k in range(maxdim + 1)]
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(RIPS_BACKENDS)}")
    out = []
    for k in range(maxdim + 1):
        d = np.asarray(dgms[k], dtype=np.float64).reshape(-1, 2) if k < len(dgms) else None
        if d is None:
            d = np.zeros((0, 2))
        out.append(d[d[:, 1] > d[:, 0]])
    return out


def rips_betti_at(
    points: np.ndarray,
    scale: float | str,
    maxdim: int = 1,
    backend: str = "ripser",
    n_landmarks: int | None = None,
    seed: int = 0,
    n_threads: int = 1,
) -> tuple[int, ...]:
    """Betti numbers of the Euclidean Vietoris–Rips complex at one scale.

    Counts bars with ``birth <= scale < death`` in :func:`rips_diagrams` computed up to ``scale``
    (so the cost is that of the thresholded filtration). The complex at ``scale`` contains every
    edge of length ``<= scale``. ripser.py and giotto-ph compare float32 distances: an edge whose
    length is within float32 rounding of ``scale`` may fall on either side.

    Args:
        points: (n, d) cloud.
        scale: edge-length threshold (>= 0), or ``"auto"`` for :func:`default_scale` of the
            (subsampled) cloud.
        maxdim: highest degree.
        backend, n_landmarks, seed, n_threads: as in :func:`rips_diagrams`.

    Returns:
        ``(b0, ..., b_maxdim)``.
    """
    x = _as_points(points)
    if n_landmarks is not None and int(n_landmarks) < x.shape[0]:
        x = x[maxmin_subsample(x, int(n_landmarks), seed)]
    if isinstance(scale, str):
        if scale != "auto":
            raise ValueError(f"scale must be a number or 'auto', got {scale!r}")
        scale = default_scale(x) if x.shape[0] >= 2 else 0.0
    s = float(scale)
    dgms = rips_diagrams(x, maxdim=maxdim, scale=s, backend=backend, n_threads=n_threads)
    return tuple(int(np.count_nonzero((d[:, 0] <= s) & (s < d[:, 1]))) for d in dgms)
