"""Synthetic point clouds with known topology, for tests and topology studies.

Simple shapes return ``X`` (n, d) float64; the Naitzat data sets (docs/methods.md §2; Naitzat,
Zhitnikov & Lim, JMLR 2020) return ``(X, y)`` with ``y`` int64 class labels, 0 = class a and
1 = class b. Every generator takes a ``seed`` and is deterministic given its arguments. ``noise``
is the standard deviation of isotropic Gaussian jitter added to every coordinate after sampling;
the documented Betti numbers hold for noise well below the gaps and thicknesses of the shape.

Ground truth is in :data:`SHAPE_BETTI` and :data:`NAITZAT_BETTI`.

About D-III: the paper describes each unit as a thick sphere shell (class a) around a small
sphere, inside an outer shell (both class b), with β = (9, 0, 9) / (18, 0, 18). A *solid* small
ball would give class b β = (18, 0, 9); the documented (18, 0, 18) requires the small sphere to be
hollow, which is what the authors' released generator draws (points on a sphere surface of
radius 0.5). We therefore sample the small sphere as a thin hollow shell, so the generated cloud
has exactly the documented numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NAITZAT_BETTI",
    "SHAPE_BETTI",
    "circle",
    "d1",
    "d2",
    "d3",
    "linked_circles",
    "sphere",
    "torus",
]

#: Betti numbers (b0, b1[, b2]) of the simple shapes.
SHAPE_BETTI: dict[str, tuple[int, ...]] = {
    "circle": (1, 1),
    "linked_circles": (2, 2),
    "torus": (1, 2, 1),
    "sphere": (1, 0, 1),
}

#: Betti numbers of each class of the Naitzat data sets: {name: {label: betti}}.
NAITZAT_BETTI: dict[str, dict[int, tuple[int, ...]]] = {
    "d1": {0: (9, 0), 1: (1, 9)},
    "d2": {0: (9, 9), 1: (9, 9)},
    "d3": {0: (9, 0, 9), 1: (18, 0, 18)},
}

# Unit centres of D-II / D-III: the origin and the 8 corners of a cube of half-side `spacing`.
_CORNERS = np.array(
    [[0, 0, 0]] + [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)],
    dtype=np.float64,
)


def _check_n(n: int, what: str = "n") -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _jitter(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if noise > 0:
        x = x + rng.normal(scale=noise, size=x.shape)
    return x


def _unit_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) independent uniform directions."""
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fibonacci_directions(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) quasi-uniform directions: a Fibonacci (golden-angle) lattice, randomly rotated.

    Near-uniform spacing makes k-NN graphs regular, which the hop-metric Rips recipe needs at
    small k; i.i.d. uniform points need a larger k for the same result.
    """
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    rho = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    v = np.c_[rho * np.cos(phi), rho * np.sin(phi), z]
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return v @ (q * np.sign(np.diag(r)))


def _directions(n: int, rng: np.random.Generator, sampling: str) -> np.ndarray:
    if sampling == "random":
        return _unit_vectors(n, rng)
    if sampling == "lattice":
        return _fibonacci_directions(n, rng)
    raise ValueError(f"sampling must be 'random' or 'lattice', got {sampling!r}")


# --------------------------------------------------------------------------------------------
# simple shapes
# --------------------------------------------------------------------------------------------


def circle(n: int = 200, radius: float = 1.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """(n, 2) points at uniformly random angles on a circle centred at 0. β = (1, 1)."""
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = radius * np.c_[np.cos(t), np.sin(t)]
    return _jitter(x, noise, rng)


def linked_circles(
    n: int = 400, radius: float = 1.0, noise: float = 0.0, seed: int = 0
) -> np.ndarray:
    """(n, 3) points on two interlinked circles (a Hopf link). β = (2, 2).

    Rows ``[0, n//2)`` lie on the circle of ``radius`` in the xy-plane centred at 0; the others on
    the circle in the xz-plane centred at (radius, 0, 0). The two circles are ``radius`` apart at
    their closest.
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    n1 = n // 2
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = np.zeros((n, 3))
    x[:n1, 0] = radius * np.cos(t[:n1])
    x[:n1, 1] = radius * np.sin(t[:n1])
    x[n1:, 0] = radius + radius * np.cos(t[n1:])
    x[n1:, 2] = radius * np.sin(t[n1:])
    return _jitter(x, noise, rng)


def torus(
    n: int = 1000, R: float = 2.0, r: float = 1.0, noise: float = 0.0, seed: int = 0
) -> np.ndarray:
    """(n, 3) points uniform (by area) on a torus of major radius R and tube radius r < R.

    β = (1, 2, 1). The tube angle is drawn by rejection so the density is uniform on the surface.
    """
    n = _check_n(n)
    if not 0 < r < R:
        raise ValueError(f"need 0 < r < R, got R={R}, r={r}")
    rng = np.random.default_rng(seed)
    phi = np.empty(0)
    while phi.size < n:
        cand = rng.uniform(0.0, 2 * np.pi, 2 * n)
        keep = rng.uniform(0.0, R + r, 2 * n) < R + r * np.cos(cand)
        phi = np.r_[phi, cand[keep]]
    phi = phi[:n]
    theta = rng.uniform(0.0, 2 * np.pi, n)
    ring = R + r * np.cos(phi)
    x = np.c_[ring * np.cos(theta), ring * np.sin(theta), r * np.sin(phi)]
    return _jitter(x, noise, rng)


def sphere(
    n: int = 500,
    radius: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
    sampling: str = "random",
) -> np.ndarray:
    """(n, 3) points on the 2-sphere of ``radius`` centred at 0. β = (1, 0, 1).

    ``sampling="random"``: i.i.d. uniform; ``"lattice"``: a randomly rotated Fibonacci lattice
    (quasi-uniform, as in Naitzat et al.'s released generator).
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    return _jitter(radius * _directions(n, rng, sampling), noise, rng)


# --------------------------------------------------------------------------------------------
# Naitzat data sets
# --------------------------------------------------------------------------------------------


def d1(
    n: int = 4000,
    noise: float = 0.0,
    seed: int = 0,
    disk_radius: float = 0.14,
    ring_radius: float = 0.65,
    margin: float = 0.05,
    sampling: str = "lattice",
) -> tuple[np.ndarray, np.ndarray]:
    """D-I: nine disks inside the square [-1, 1]^2.

    About ``n`` points are placed in the square: with ``sampling="lattice"`` (default, as the
    released generator) on a square grid of ``round(sqrt(n))**2`` points jittered by Gaussian
    noise of 0.1 grid spacing (the jitter also breaks k-NN ties); with ``"random"`` i.i.d.
    uniform, which makes the faithful recipe at k = 14 see spurious small loops in class b (use
    k >= 20 there). Class a (y = 0) = points inside one of nine
    disks of ``disk_radius`` (one at the centre, eight evenly spaced on a circle of
    ``ring_radius``); class b (y = 1) = points farther than ``disk_radius + margin`` from every
    disk centre; points in the margin are dropped, so the classes are separated by a gap (as in
    the released generator). With the defaults about 14 % of the points are class a, 74 % class b.

    Ground truth: β(a) = (9, 0) (nine disks), β(b) = (1, 9) (the square with nine holes).

    Returns:
        X (m, 2) float64, y (m,) int64 in {0, 1}; m < n (margin points are dropped).
    """
    n = _check_n(n)
    if not (0 < disk_radius and disk_radius + margin + ring_radius < 1):
        raise ValueError("the disks (with margin) must fit inside the square [-1, 1]^2")
    ang = 2 * np.pi * np.arange(8) / 8
    centres = np.r_[np.zeros((1, 2)), ring_radius * np.c_[np.cos(ang), np.sin(ang)]]
    gap = np.linalg.norm(centres[1] - centres[2])
    if gap <= 2 * (disk_radius + margin) or ring_radius <= 2 * (disk_radius + margin):
        raise ValueError("disks (with margin) overlap; reduce disk_radius or margin")
    rng = np.random.default_rng(seed)
    if sampling == "lattice":
        m = max(2, int(round(np.sqrt(n))))
        h = 2.0 / m
        g = -1.0 + h * (np.arange(m) + 0.5)
        pts = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
        pts = pts + rng.normal(scale=0.1 * h, size=pts.shape)
    elif sampling == "random":
        pts = rng.uniform(-1.0, 1.0, (n, 2))
    else:
        raise ValueError(f"sampling must be 'random' or 'lattice', got {sampling!r}")
    dmin = np.min(np.linalg.norm(pts[:, None, :] - centres[None], axis=2), axis=1)
    inside = dmin < disk_radius
    outside = dmin > disk_radius + margin
    keep = inside | outside
    x = pts[keep]
    y = np.where(inside[keep], 0, 1).astype(np.int64)
    return _jitter(x, noise, rng), y


def _solid_torus(n: int, R: float, tube: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) points uniform in the solid torus around the unit circle of radius R (xy-plane)."""
    out = np.empty((0, 3))
    while out.shape[0] < n:
        c = rng.uniform(-1, 1, (4 * n, 3)) * np.array([R + tube, R + tube, tube])
        rad = np.hypot(c[:, 0], c[:, 1])
        ok = (rad - R) ** 2 + c[:, 2] ** 2 <= tube**2
        out = np.r_[out, c[ok]]
    return out[:n]


def d2(
    n_per_ring: int = 400,
    noise: float = 0.0,
    seed: int = 0,
    radius: float = 1.0,
    tube: float = 0.2,
    spacing: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """D-II: nine pairs of interlinked thick rings in R^3.

    Each pair: a solid torus (ring of ``radius``, tube radius ``tube``) in the xy-plane (class a,
    y = 0) linked with one in the xz-plane shifted by (radius, 0, 0) (class b, y = 1); the two ring
    cores are ``radius`` apart at their closest, so the tubes leave a gap of
    ``radius - 2 * tube``. Pairs sit at the origin and at the 8 corners (±spacing)^3.

    Ground truth: β(a) = β(b) = (9, 9) (nine solid tori each).

    Returns:
        X (18 * n_per_ring, 3), y (18 * n_per_ring,) int64.
    """
    n = _check_n(n_per_ring, "n_per_ring")
    if not 0 < tube < radius / 2:
        raise ValueError("need 0 < tube < radius / 2 so the linked rings do not touch")
    if spacing <= 2 * radius + 2 * tube:
        raise ValueError("spacing too small: neighbouring pairs would overlap")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in _CORNERS * spacing:
        a = _solid_torus(n, radius, tube, rng)
        b = _solid_torus(n, radius, tube, rng)[:, [0, 2, 1]]  # xz-plane
        b[:, 0] += radius
        xs += [a + c, b + c]
        ys += [np.zeros(n, np.int64), np.ones(n, np.int64)]
    return _jitter(np.concatenate(xs), noise, rng), np.concatenate(ys)


def _shell(
    n: int, r_in: float, r_out: float, rng: np.random.Generator, sampling: str
) -> np.ndarray:
    """(n, 3) points in the solid shell r_in <= |x| <= r_out, radius drawn uniform by volume."""
    u = rng.uniform(0.0, 1.0, n)
    r = np.cbrt(r_in**3 + u * (r_out**3 - r_in**3))
    return r[:, None] * _directions(n, rng, sampling)


def d3(
    n_per_shell: int = 300,
    noise: float = 0.0,
    seed: int = 0,
    radii: tuple[float, float, float] = (0.5, 1.0, 2.0),
    thickness: float = 0.1,
    spacing: float = 3.0,
    sampling: str = "lattice",
) -> tuple[np.ndarray, np.ndarray]:
    """D-III: nine units of nested sphere shells in R^3.

    Each unit: a thick shell of radius ``radii[1]`` (class a, y = 0) between a small hollow
    sphere of radius ``radii[0]`` and an outer shell of radius ``radii[2]`` (both class b, y = 1).
    Each shell is the solid region r <= |x - centre| <= r + thickness (the small one:
    r - thickness / 2 .. r) with ``n_per_shell`` points (equal counts per shell, as in the
    released generator). Units sit at the origin and at the 8 corners (±spacing)^3. See the
    module docstring for why the small sphere is hollow.

    ``sampling="lattice"`` (default) places the directions on a randomly rotated Fibonacci lattice
    per shell (radius still random within the thickness): the released generator also used
    Fibonacci spheres, and on such near-uniform samples the faithful recipe with k = 14 recovers
    the ground truth; ``"random"`` draws i.i.d. uniform points in each shell, which needs a larger
    k. Either way the outer shells are the most sparsely sampled, and their k-NN radius must stay
    below the gaps around them: about ``spacing * sqrt(3) - 2 * (radii[2] + thickness)`` (1.0 at
    the default spacing 3) to the outer shell of the next unit, and 1.5 to the small sphere. With
    k = 14 that takes ~300 points per shell at spacing 3, or ~120 at spacing 4.

    Ground truth: β(a) = (9, 0, 9), β(b) = (18, 0, 18).

    Returns:
        X (27 * n_per_shell, 3), y (27 * n_per_shell,) int64.
    """
    n = _check_n(n_per_shell, "n_per_shell")
    r0, r1, r2 = radii
    if not (0 < thickness / 2 < r0 < r1 and r1 + thickness < r2):
        raise ValueError(
            "need 0 < thickness/2 < radii[0] < radii[1] and radii[1] + thickness < radii[2]"
        )
    if spacing * np.sqrt(3) <= 2 * (r2 + thickness):
        raise ValueError("spacing too small: neighbouring units would overlap")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in _CORNERS * spacing:
        xs += [
            _shell(n, r1, r1 + thickness, rng, sampling) + c,
            _shell(n, r0 - thickness / 2, r0, rng, sampling) + c,
            _shell(n, r2, r2 + thickness, rng, sampling) + c,
        ]
        ys += [np.zeros(n, np.int64), np.ones(2 * n, np.int64)]
    return _jitter(np.concatenate(xs), noise, rng), np.concatenate(ys)
