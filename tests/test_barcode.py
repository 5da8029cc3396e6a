"""Loss-landscape barcodes and the TO-score (issue 9, docs/methods.md §3).

Truths are analytic (critical points of closed-form functions, hand-worked elder rule), published
(docs/methods.md's camel bars), or from an independent implementation (gudhi's persistence, a torch
nn.Sequential forward pass) — never outputs of this code.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors
from typer.testing import CliRunner

from modelrank.errors import ConfigError, MetricError, ModelrankError
from modelrank.topology.barcode import Bar, function_barcode, minimax_barcode, to_score


def camel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2


def knn_edges_independent(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetrised k-NN graph (k others per point) built with scikit-learn."""
    idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)
    rows = np.repeat(np.arange(len(points)), k + 1)
    cols = idx.ravel()
    keep = rows != cols
    pairs = {(min(a, b), max(a, b)) for a, b in zip(rows[keep].tolist(), cols[keep].tolist())}
    arr = np.array(sorted(pairs))
    return arr[:, 0], arr[:, 1]


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- function barcode


def test_camel_two_finite_bars_match_analytic_and_published_values():
    # Critical points of the camel function lie on y = -x/2 with x^4 - 4.2 x^2 + 3.5 = 0:
    # the larger root is the pair of local minima, the smaller the pair of saddles.
    r_min, r_sad = (4.2 + math.sqrt(4.2**2 - 14)) / 2, (4.2 - math.sqrt(4.2**2 - 14)) / 2
    x_min, x_sad = math.sqrt(r_min), math.sqrt(r_sad)
    f_min = float(camel(np.array(x_min), np.array(-x_min / 2)))
    f_sad = float(camel(np.array(x_sad), np.array(-x_sad / 2)))
    assert f_min == pytest.approx(0.2986, abs=1e-3) and f_sad == pytest.approx(0.8773, abs=1e-3)

    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 2, size=(100_000, 2))
    vals = camel(pts[:, 0], pts[:, 1])
    bars = function_barcode(pts, vals, k=6)

    # Sampling makes spurious graph minima whose bars are shorter than the largest change of f across
    # one graph edge; only bars longer than that are features of f.
    ei, ej = knn_edges_independent(pts, 6)
    noise_floor = float(np.abs(vals[ei] - vals[ej]).max())
    assert (
        noise_floor < 0.5
    )  # the real bars (~0.58) must stand above it for the test to mean anything
    significant = [b for b in bars if b.is_finite and b.length > noise_floor]
    assert len(significant) == 2
    for bar in significant:
        assert bar.birth == pytest.approx(0.2988, abs=0.02) and bar.birth == pytest.approx(
            f_min, abs=0.02
        )
        assert bar.death == pytest.approx(0.8773, abs=0.02) and bar.death == pytest.approx(
            f_sad, abs=0.02
        )
        assert (
            abs(abs(bar.location[0]) - x_min) < 0.05
            and abs(bar.location[1] + bar.location[0] / 2) < 0.05
        )
        assert 1000 < bar.basin_size < 50_000
    assert {np.sign(b.location[0]) for b in significant} == {-1.0, 1.0}

    infinite = [b for b in bars if not b.is_finite]
    assert len(infinite) == 1
    assert infinite[0].birth == pytest.approx(0.0, abs=0.01)
    assert np.hypot(*infinite[0].location) < 0.1
    assert infinite[0].basin_size == 100_000


def test_smooth_1d_function_gives_its_analytic_bar():
    # f = cos x + 0.1 x on [0.5, 12]: f' = 0.1 - sin x; minima at pi - asin(0.1) + 2 pi k,
    # maxima at asin(0.1) + 2 pi k. Two minima inside, separated by the maximum at asin(0.1) + 2 pi.
    def f(x):
        return np.cos(x) + 0.1 * x

    x = np.linspace(0.5, 12.0, 200_001)
    bars = function_barcode(x[:, None], f(x), k=2)  # k = 2 on a 1-D grid: the path graph
    x1, x2, xs = (
        math.pi - math.asin(0.1),
        3 * math.pi - math.asin(0.1),
        math.asin(0.1) + 2 * math.pi,
    )
    assert len(bars) == 2
    finite = [b for b in bars if b.is_finite]
    infinite = [b for b in bars if not b.is_finite]
    assert len(finite) == 1 and len(infinite) == 1
    assert infinite[0].birth == pytest.approx(f(x1), abs=1e-7)
    assert finite[0].birth == pytest.approx(f(x2), abs=1e-7)
    assert finite[0].death == pytest.approx(f(xs), abs=1e-7)
    assert finite[0].location[0] == pytest.approx(x2, abs=1e-3)
    assert infinite[0].location[0] == pytest.approx(x1, abs=1e-3)
    # The dying minimum's basin: the samples of its sublevel component at the saddle value, from xs
    # to the point right of x2 where f climbs back to f(xs) (found by root bracketing).
    from scipy.optimize import brentq

    x_right = brentq(lambda t: f(t) - f(xs), x2, 12.0)
    step = x[1] - x[0]
    assert finite[0].basin_size == pytest.approx((x_right - xs) / step, abs=3)


def test_hand_built_piecewise_linear_function():
    # Knots (x, f): 0:7, 1:1(min A), 2:5, 3:0(min B), 4:4, 5:2(min C), 6:6, 7:3(min D), 8:8.
    # Sweeping up: C joins B at 4, A joins B at 5, D joins B at 6; B never dies.
    knots_x = np.arange(9.0)
    knots_f = np.array([7, 1, 5, 0, 4, 2, 6, 3, 8], dtype=float)
    x = np.linspace(0, 8, 801)
    bars = function_barcode(x, np.interp(x, knots_x, knots_f), k=2)
    got = sorted(
        (round(b.birth, 9), round(b.death, 9), round(float(b.location[0]), 9)) for b in bars
    )
    assert got == [(0.0, math.inf, 3.0), (1.0, 5.0, 1.0), (2.0, 4.0, 5.0), (3.0, 6.0, 7.0)]
    assert to_score(bars) == pytest.approx(2 + 4 + 3)
    assert to_score(bars, normalise=True) == pytest.approx(9 / 6)  # values involved: 0 .. 6


def test_random_cloud_matches_gudhi_lower_star_persistence():
    gudhi = pytest.importorskip("gudhi")
    rng = np.random.default_rng(3)
    pts = rng.uniform(-1, 1, size=(400, 2))
    vals = np.sin(3 * pts[:, 0]) * np.cos(2 * pts[:, 1]) + 0.3 * rng.standard_normal(400)
    ei, ej = knn_edges_independent(pts, 5)
    st = gudhi.SimplexTree()
    for i, v in enumerate(vals):
        st.insert([i], filtration=float(v))
    for a, b in zip(ei.tolist(), ej.tolist()):
        st.insert([a, b], filtration=float(max(vals[a], vals[b])))
    st.compute_persistence(persistence_dim_max=False)
    ref = sorted((b, d) for b, d in st.persistence_intervals_in_dimension(0) if d - b > 0)
    ours = sorted((b.birth, b.death) for b in function_barcode(pts, vals, k=5))
    assert len(ours) == len(ref)
    np.testing.assert_allclose(np.array(ours), np.array(ref), rtol=0, atol=1e-12)


def test_function_barcode_rejects_bad_input():
    with pytest.raises(MetricError):
        function_barcode(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(MetricError):
        function_barcode(np.zeros((5, 2)), np.array([0, 1, np.nan, 2, 3.0]))


# ---------------------------------------------------------------- minimax barcode and TO-score


def test_minimax_barcode_on_hand_built_graph():
    # Minima values 0, 1, 2, 3. Direct saddles: 0-1: 5, 0-2: 3, 1-2: 4, 0-3: 10, 1-3: 6, 2-3: 7.
    # By hand: at 3 minimum 2 joins 0; at 4 minimum 1 joins {0, 2} (via 2, below its direct 5);
    # at 6 minimum 3 joins through 1 (direct route to 0 costs 10).
    values = np.array([0.0, 1.0, 2.0, 3.0])
    s = np.full((4, 4), np.nan)
    for (i, j), w in {(0, 1): 5, (0, 2): 3, (1, 2): 4, (0, 3): 10, (1, 3): 6, (2, 3): 7}.items():
        s[i, j] = s[j, i] = w
    np.fill_diagonal(s, values)
    bars = {b.index: b for b in minimax_barcode(values, s)}
    assert (bars[0].birth, bars[0].death, bars[0].basin_size) == (0.0, math.inf, 4)
    assert (bars[1].birth, bars[1].death, bars[1].basin_size) == (1.0, 4.0, 1)
    assert (bars[2].birth, bars[2].death, bars[2].basin_size) == (2.0, 3.0, 1)
    assert (bars[3].birth, bars[3].death, bars[3].basin_size) == (3.0, 6.0, 1)
    assert to_score(list(bars.values())) == pytest.approx(3 + 1 + 3)
    assert to_score(list(bars.values()), normalise=True) == pytest.approx(7 / 6)
    assert to_score(list(bars.values()), normalise=True, loss_range=14.0) == pytest.approx(0.5)


def test_minimax_barcode_basin_size_counts_merged_minima():
    # 1 and 2 meet at 1.5 (2 dies, basin {2}); {1, 2} meets 0 at 2.5: 1 dies with basin size 2.
    values = np.array([0.0, 1.0, 1.2])
    s = np.array([[0, 2.5, 9], [2.5, 1, 1.5], [9, 1.5, 1.2]])
    bars = {b.index: b for b in minimax_barcode(values, s)}
    assert (bars[2].death, bars[2].basin_size) == (1.5, 1)
    assert (bars[1].death, bars[1].basin_size) == (2.5, 2)
    assert bars[0].basin_size == 3


def test_minimax_barcode_validates_and_handles_degenerate_input():
    with pytest.raises(MetricError):
        minimax_barcode(np.array([0.0, 1.0]), np.array([[0, 2.0], [3.0, 1]]))  # not symmetric
    with pytest.raises(MetricError):
        minimax_barcode(np.array([0.0, 1.0]), np.zeros((3, 3)))
    bars = minimax_barcode(np.array([0.5]), np.array([[0.5]]))
    assert len(bars) == 1 and not bars[0].is_finite
    assert to_score(bars) == 0.0 and to_score(bars, normalise=True) == 0.0
    assert to_score([Bar(1.0, 2.0, 0, None, 1), Bar(0.0, math.inf, 1, None, 2)]) == 1.0


# ---------------------------------------------------------------- loss barcode of a network


def _sequential_losses(
    thetas: torch.Tensor, x: torch.Tensor, y: torch.Tensor, sizes: list[int]
) -> np.ndarray:
    """Mean cross-entropy with nn.Linear layers filled from the documented flat layout."""
    out = []
    for theta in thetas:
        layers, offset = [], 0
        for a, b in zip(sizes[:-1], sizes[1:]):
            lin = torch.nn.Linear(a, b).double()
            with torch.no_grad():
                lin.weight.copy_(theta[offset : offset + a * b].view(b, a))
                lin.bias.copy_(theta[offset + a * b : offset + a * b + b])
            offset += a * b + b
            layers += [lin, torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers[:-1])
        with torch.no_grad():
            out.append(float(torch.nn.functional.cross_entropy(net(x), y)))
    return np.array(out)


def test_optimised_path_is_bounded_by_endpoints_and_straight_line(one_thread):
    from modelrank.studies.loss_barcode import FlatMLP, load_dataset, optimise_path, train_minimum

    x_np, y_np = load_dataset("moons", n_samples=120, seed=1)
    x, y = torch.as_tensor(x_np), torch.as_tensor(y_np)
    net = FlatMLP(2, 1, 6, 2)
    loss_fn = lambda th: net.losses(th, x, y)  # noqa: E731
    a = train_minimum(loss_fn, net.init(11), steps=300)
    b = train_minimum(loss_fn, net.init(12), steps=300)
    points, resample = 5, 3
    res = optimise_path(loss_fn, a, b, points=points, steps=60, resample=resample)

    t = torch.linspace(0, 1, (points + 1) * resample + 1, dtype=torch.float64).view(-1, 1)
    straight = _sequential_losses(a + t * (b - a), x, y, [2, 6, 2])
    ends = _sequential_losses(torch.stack([a, b]), x, y, [2, 6, 2])
    assert res.straight_max == pytest.approx(straight.max(), rel=1e-9)
    assert res.max_loss >= ends.max() - 1e-12
    assert res.max_loss <= straight.max() + 1e-12
    # the reported maximum is the maximum of the reported polyline, re-evaluated independently
    poly = res.polyline
    s = torch.arange(resample, dtype=torch.float64).view(1, -1, 1) / resample
    dense = (poly[:-1].unsqueeze(1) + s * (poly[1:] - poly[:-1]).unsqueeze(1)).reshape(
        -1, poly.shape[1]
    )
    dense = torch.cat([dense, poly[-1:]])
    assert res.max_loss == pytest.approx(_sequential_losses(dense, x, y, [2, 6, 2]).max(), rel=1e-9)
    assert torch.equal(poly[0], a) and torch.equal(poly[-1], b)


def test_loss_barcode_runs_and_is_deterministic():
    from modelrank.studies.loss_barcode import loss_barcode

    kwargs = dict(
        data="moons",
        arch="1x4",
        minima=3,
        seed=5,
        steps=150,
        path_points=4,
        path_steps=20,
        n_samples=80,
    )
    first, second = loss_barcode(**kwargs), loss_barcode(**kwargs)
    assert np.array_equal(first.minima_losses, second.minima_losses)
    assert np.array_equal(first.saddles, second.saddles)
    assert first.to_score_raw == second.to_score_raw
    m = first.minima_losses
    off = ~np.eye(3, dtype=bool)
    assert np.all(first.saddles[off] >= np.maximum.outer(m, m)[off] - 1e-12)
    assert np.all(first.saddles[off] <= first.straight_max[off] + 1e-12)
    assert len(first.bars) == 3 and sum(not b.is_finite for b in first.bars) == 1
    assert next(b for b in first.bars if not b.is_finite).birth == pytest.approx(m.min())
    assert first.to_score_raw >= 0 and first.to_score_normalised >= 0
    json.dumps(first.to_dict())
    other = loss_barcode(**dict(kwargs, seed=6))
    assert not np.array_equal(other.minima_losses, first.minima_losses)


def test_loss_barcode_rejects_bad_configuration():
    from modelrank.studies.loss_barcode import load_dataset, loss_barcode, parse_arch

    assert parse_arch("2x16") == (2, 16) and parse_arch(" 3X8 ") == (3, 8)
    for bad in ("2by16", "x16", "0x8", "2x0", ""):
        with pytest.raises(ConfigError):
            parse_arch(bad)
    with pytest.raises(ConfigError):
        load_dataset("mnist")
    with pytest.raises(ConfigError):
        loss_barcode(data="moons", arch="1x4", minima=1)
    x, y = load_dataset("digits")
    assert (
        x.shape == (1797, 64)
        and set(np.unique(y)) == set(range(10))
        and 0 <= x.min()
        and x.max() <= 1
    )


def test_d1_data_set_when_available():
    pointclouds = pytest.importorskip("modelrank.topology.pointclouds")
    if not hasattr(pointclouds, "d1"):
        pytest.skip("modelrank.topology.pointclouds.d1 not written yet")
    from modelrank.studies.loss_barcode import load_dataset

    x, y = load_dataset("d1", n_samples=400)
    assert x.ndim == 2 and x.shape[1] == 2 and x.shape[0] == y.shape[0] > 100
    assert set(np.unique(y)) == {0, 1}


# ---------------------------------------------------------------- command line


def test_cli_barcode_prints_to_score_and_writes_outputs(tmp_path):
    from modelrank.cli.study import study_app

    png, out = tmp_path / "bars.png", tmp_path / "result.json"
    args = [
        "barcode",
        "--dataset",
        "circles",
        "--arch",
        "1x4",
        "--minima",
        "3",
        "--steps",
        "100",
        "--path-points",
        "3",
        "--path-steps",
        "10",
        "--plot",
        str(png),
        "--output",
        str(out),
    ]
    result = CliRunner().invoke(study_app, args)
    assert result.exit_code == 0, result.output
    assert "TO-score (raw" in result.output and "TO-score (normalised" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(out.read_text())
    assert len(saved["bars"]) == 3 and saved["to_score_raw"] >= 0


@pytest.mark.parametrize(
    "args",
    [["barcode", "--arch", "wide"], ["barcode", "--arch", "0x4"], ["barcode", "--minima", "1"]],
)
def test_cli_bad_option_fails_with_one_line_message(args):
    from modelrank.cli.study import study_app

    result = CliRunner().invoke(study_app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, ModelrankError)
    message = str(result.exception)
    assert message and "\n" not in message


def test_main_cli_reports_bad_study_option_on_one_line(capsys):
    cli = pytest.importorskip("modelrank.cli")
    if not hasattr(cli, "main"):
        pytest.skip("main CLI not written yet")
    code = cli.main(["study", "barcode", "--arch", "wide"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "--arch 'wide' is not HIDDENxWIDTH" in err and len(err.splitlines()) == 1
