"""0-dimensional sublevel-set barcodes of functions: sampled on a point cloud, or on a graph of minima.

Both barcodes follow docs/methods.md §3 (Barannikov et al., arXiv 1912.00043 and 2012.15834): sweep the
function's value upward; every local minimum starts a bar when the sweep reaches it; when two sublevel
components meet, the one whose minimum is higher dies at the current value (the elder rule); the global
minimum's bar never dies.

Implementation (both barcodes): an edge (i, j) of the graph enters the filtration at
``max(f_i, f_j)`` (for the minima graph: at the saddle value of the path joining them). Processing the
edges in that order with a union–find (Kruskal) is the same as the vertex sweep: an edge entering at a
vertex's own value that meets a lower component kills the vertex's singleton at once (a zero-length bar,
i.e. the vertex is no minimum), and every other merge kills the component with the higher minimum. Ties
in value are broken by sample index, so "lower" is always a strict total order. Only the edges of a
minimum spanning forest can merge components, so scipy's compiled spanning-forest routine chooses them
and the Python union–find loop runs over at most n − 1 edges.

This module uses numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree

from modelrank.errors import MetricError

__all__ = ["Bar", "function_barcode", "minimax_barcode", "to_score", "loss_range_of"]


@dataclass(frozen=True)
class Bar:
    """One bar [birth, death) of a 0-dimensional sublevel barcode.

    Attributes:
        birth: the minimum's value (units of the function, e.g. loss in nats).
        death: value at which its component merges into one with a lower minimum; ``np.inf`` for the
            surviving minimum of each connected component of the graph (normally only the global one).
        index: index of the minimum among the samples (or among the minima for `minimax_barcode`).
        location: coordinates of the minimum, shape (d,), or ``None`` when none were given.
        basin_size: number of vertices (samples, or minima) in the minimum's component when it dies;
            for an infinite bar, the size of its connected component (n when the graph is connected).
            When three or more components meet at exactly the same value, the ones merged first at
            that value are counted in the basin of one that dies later at the same value.
    """

    birth: float
    death: float
    index: int
    location: np.ndarray | None
    basin_size: int

    @property
    def length(self) -> float:
        """death − birth (``inf`` for an infinite bar)."""
        return float(self.death - self.birth)

    @property
    def is_finite(self) -> bool:
        return bool(np.isfinite(self.death))


def _order_ranks(values: np.ndarray) -> np.ndarray:
    """Rank of every value in the strict total order (value, index): shape (n,), ints 0..n−1."""
    order = np.lexsort((np.arange(values.size), values))
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[order] = np.arange(values.size)
    return ranks


def _elder_sweep(
    values: np.ndarray,
    ranks: np.ndarray,
    edge_i: np.ndarray,
    edge_j: np.ndarray,
    edge_value: np.ndarray,
    edge_key: np.ndarray,
    points: np.ndarray | None,
    min_persistence: float,
) -> list[Bar]:
    """Union–find over edges sorted by ``edge_key``; the elder rule decides who dies.

    Args:
        values: (n,) vertex values (births).
        ranks: (n,) strict-order ranks of the vertices (tie-break of equal values).
        edge_i, edge_j: (e,) endpoints of the candidate merging edges.
        edge_value: (e,) value at which each edge enters (the death value if it merges).
        edge_key: (e,) sort key, monotone in edge_value, with ties resolved consistently.
        points: (n, d) coordinates, or None.
        min_persistence: finite bars of length ≤ this are dropped.
    """
    n = values.size
    parent = list(range(n))
    size = [1] * n
    root_min = list(range(n))  # vertex holding the component's minimum (lowest rank)
    rank_list = ranks.tolist()
    bars: list[Bar] = []

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:  # path compression
            parent[a], a = root, parent[a]
        return root

    order = np.argsort(edge_key, kind="stable")
    for i, j, w in zip(edge_i[order].tolist(), edge_j[order].tolist(), edge_value[order].tolist()):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        mi, mj = root_min[ri], root_min[rj]
        if rank_list[mi] < rank_list[mj]:  # rj's minimum is younger (higher): it dies
            dying, survivor, m_dying, m_survivor = rj, ri, mj, mi
        else:
            dying, survivor, m_dying, m_survivor = ri, rj, mi, mj
        if w - values[m_dying] > min_persistence:
            loc = None if points is None else points[m_dying].copy()
            bars.append(Bar(float(values[m_dying]), float(w), int(m_dying), loc, int(size[dying])))
        if size[survivor] < size[dying]:  # union by size, keep the survivor's minimum
            survivor, dying = dying, survivor
        parent[dying] = survivor
        size[survivor] += size[dying]
        root_min[survivor] = m_survivor

    for r in range(n):
        if parent[r] == r:
            m = root_min[r]
            loc = None if points is None else points[m].copy()
            bars.append(Bar(float(values[m]), float(np.inf), int(m), loc, int(size[r])))
    bars.sort(key=lambda b: (b.birth, b.index))
    return bars


def _knn_edges(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Undirected edges of the symmetrised k-NN graph (i ~ j if either is among the other's k)."""
    n = points.shape[0]
    k_eff = min(k, n - 1)
    tree = cKDTree(points)
    _, idx = tree.query(points, k=k_eff + 1)  # column 0 is (normally) the point itself
    rows = np.repeat(np.arange(n), k_eff + 1)
    cols = idx.reshape(-1)
    keep = rows != cols
    a, b = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    pairs = np.unique(a * np.int64(n) + b)
    return pairs // n, pairs % n


def function_barcode(
    points: np.ndarray, values: np.ndarray, k: int = 6, min_persistence: float = 0.0
) -> list[Bar]:
    """0-dimensional sublevel persistence of a function sampled on a point cloud.

    The graph joins every sample to its ``k`` nearest other samples (Euclidean; the sample itself is
    *not* counted in k) and is symmetrised: i ~ j when either is among the other's k nearest. A sample
    with no lower neighbour starts a minimum; where components meet, the one with the higher minimum
    dies at the current value (elder rule). 100,000 samples in 2-D take about a second.

    Args:
        points: (n, d) sample coordinates.
        values: (n,) function values at the samples (any units; bars carry the same units).
        k: neighbours per sample, excluding the sample itself (docs/methods.md's camel check uses 6).
        min_persistence: finite bars with death − birth ≤ this are dropped; the default 0 drops only
            the zero-length bars that tied values produce.

    Returns:
        Bars sorted by birth. One infinite bar per connected component of the k-NN graph (one when
        the graph is connected, which it is for reasonable k and sampling); ``location`` holds the
        minimum's coordinates, ``basin_size`` the number of samples in its component at death.

    Raises:
        MetricError: shapes disagree, non-finite values, fewer than 2 samples or k < 1.
    """
    pts = np.asarray(points, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or vals.ndim != 1 or pts.shape[0] != vals.shape[0]:
        raise MetricError(
            f"function_barcode needs points (n, d) and values (n,); got {pts.shape} and {vals.shape}"
        )
    if pts.shape[0] < 2:
        raise MetricError("function_barcode needs at least 2 samples")
    if int(k) < 1:
        raise MetricError(f"k must be at least 1, got {k}")
    if not (np.all(np.isfinite(vals)) and np.all(np.isfinite(pts))):
        raise MetricError("function_barcode needs finite points and values")
    n = vals.size
    ranks = _order_ranks(vals)
    ei, ej = _knn_edges(pts, int(k))
    # Edge enters at the later (higher-ranked) endpoint. Keep only a spanning forest of the
    # filtration (weights = 1 + rank so that none is zero, which scipy would treat as absent).
    later = np.maximum(ranks[ei], ranks[ej])
    graph = coo_matrix(((later + 1).astype(np.float64), (ei, ej)), shape=(n, n)).tocsr()
    forest = minimum_spanning_tree(graph).tocoo()
    fi, fj = forest.row.astype(np.int64), forest.col.astype(np.int64)
    key = np.maximum(ranks[fi], ranks[fj])
    top = np.where(ranks[fi] > ranks[fj], fi, fj)
    return _elder_sweep(vals, ranks, fi, fj, vals[top], key, pts, float(min_persistence))


def minimax_barcode(minima_values: np.ndarray, saddle: np.ndarray) -> list[Bar]:
    """Barcode of a set of minima joined pairwise by paths of known maximum value.

    Each minimum's bar is [its value, the lowest value at which it can be joined to a lower minimum],
    joining allowed through other minima (a minimax path): the elder rule on the complete graph whose
    edge (i, j) enters at ``saddle[i, j]``. The lowest minimum's bar is infinite.

    Args:
        minima_values: (m,) values at the minima (e.g. training loss in nats).
        saddle: (m, m) symmetric; ``saddle[i, j]`` is the maximum value along the best path found from
            minimum i to minimum j. Values below ``max(minima_values[i], minima_values[j])`` cannot
            happen for a path with those endpoints and are raised to it. ``np.inf`` marks an unknown
            pair (no edge); the diagonal is ignored.

    Returns:
        m bars sorted by birth (``index`` = position in ``minima_values``, ``location`` None,
        ``basin_size`` = number of minima in its component when it dies, m for the infinite bar).
        Bars of zero length are kept: every input is taken to be a genuine minimum.

    Raises:
        MetricError: shapes disagree, saddle not symmetric, or NaN values.
    """
    vals = np.asarray(minima_values, dtype=np.float64).reshape(-1)
    sad = np.asarray(saddle, dtype=np.float64)
    m = vals.size
    if m == 0:
        raise MetricError("minimax_barcode needs at least one minimum")
    if sad.shape != (m, m):
        raise MetricError(f"saddle must be ({m}, {m}) for {m} minima, got {sad.shape}")
    if np.isnan(vals).any() or np.isnan(sad).any() or not np.all(np.isfinite(vals)):
        raise MetricError("minimax_barcode needs finite minima values and no NaN saddles")
    if not np.allclose(sad, sad.T, rtol=1e-9, atol=1e-12, equal_nan=False):
        raise MetricError("saddle matrix must be symmetric")
    ranks = _order_ranks(vals)
    iu, ju = np.triu_indices(m, k=1)
    w = np.maximum(sad[iu, ju], np.maximum(vals[iu], vals[ju]))
    known = np.isfinite(w)
    iu, ju, w = iu[known], ju[known], w[known]
    # Sort by entry value; among equal values the edge whose later endpoint is lower goes first.
    key = np.lexsort((np.maximum(ranks[iu], ranks[ju]), w))
    key_rank = np.empty(key.size, dtype=np.int64)
    key_rank[key] = np.arange(key.size)
    return _elder_sweep(vals, ranks, iu, ju, w, key_rank, None, min_persistence=-np.inf)


def loss_range_of(bars: list[Bar]) -> float:
    """max − min of the values a barcode involves: births and finite deaths (function units)."""
    if not bars:
        return 0.0
    ends = [b.birth for b in bars] + [b.death for b in bars if b.is_finite]
    return float(max(ends) - min(ends))


def to_score(bars: list[Bar], normalise: bool = False, loss_range: float | None = None) -> float:
    """TO-score (topological obstructions score): the sum of the finite bar lengths.

    Args:
        bars: a barcode (infinite bars are ignored).
        normalise: divide by the loss range, making the score unit-free.
        loss_range: the range to divide by; default `loss_range_of(bars)`, i.e. the highest finite
            death (or birth) minus the lowest birth.

    Returns:
        Raw: in the function's units (≥ 0). Normalised: unit-free (≥ 0; it can exceed 1 when several
        bars overlap). 0 when there are no finite bars.

    Raises:
        MetricError: normalisation asked for with a non-positive loss range while finite bars exist.
    """
    raw = float(sum(b.length for b in bars if b.is_finite))
    if not normalise:
        return raw
    rng = loss_range_of(bars) if loss_range is None else float(loss_range)
    if raw == 0.0:
        return 0.0
    if not rng > 0:
        raise MetricError(f"cannot normalise the TO-score by a loss range of {rng}")
    return raw / rng
