"""The torch Betti engine against the numpy engine: every layout, dtype and error, batching, the
probe's engine choice, and (where a GPU is present) the same checks on CUDA.

The numpy engine is the truth here because it is itself held to CubicalRipser and gudhi in
``test_topology_cubical.py``, which also runs the torch engine on the same random arrays and
hand-built shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from modelrank.topology import cubical_torch
from modelrank.topology.cubical import betti_counts

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def _acts(kind: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "relu":  # plateaus of exact zeros, smooth in space, channels independent
        sigma = (0,) * (len(shape) - 2) + (1.0, 1.0)
        return np.maximum(ndimage.gaussian_filter(rng.standard_normal(shape), sigma), 0)
    if kind == "ints":  # heavy ties at and around the thresholds
        return rng.integers(-2, 3, shape).astype(np.float64)
    return rng.standard_normal(shape)


DTYPES = {
    "float64": np.float64,
    "float32": np.float32,
    "float16": np.float16,
    "int32": np.int32,
    "int8": np.int8,
}


@pytest.mark.parametrize("layout", ["whc", "channel-mean", "per-channel"])
@pytest.mark.parametrize("kind", ["relu", "ints", "normal"])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_every_layout_and_dtype_equals_the_numpy_engine(layout, kind, dtype):
    a = _acts(kind, (5, 6, 9, 8), seed=len(layout) + len(kind) + len(dtype)).astype(DTYPES[dtype])
    for eta in (0.0, 0.1, -0.3, 1.0):  # 0.1 is not representable: the comparison dtype matters
        want = betti_counts(a, eta, layout=layout)
        got = cubical_torch.betti_counts(torch.from_numpy(a), eta, layout)
        assert got.dtype == torch.int64 and got.device.type == "cpu"
        np.testing.assert_array_equal(got.numpy(), want, err_msg=f"eta={eta}")


def test_tokens_and_vectors_equal_the_numpy_engine():
    rng = np.random.default_rng(4)
    for shape in [(4, 7, 13), (3, 1, 9), (6, 11), (2, 1)]:
        a = np.round(rng.standard_normal(shape), 1)  # ties at eta = 0.0 and 0.2
        for eta in (0.0, 0.2):
            np.testing.assert_array_equal(
                cubical_torch.betti_counts(torch.from_numpy(a), eta).numpy(), betti_counts(a, eta)
            )


def test_thousands_of_random_volumes_with_ties_equal_the_numpy_engine():
    """Random 3-D (W, H, C) stacks, rough and smooth, many with length-1 axes."""
    rng = np.random.default_rng(7)
    n_checked = 0
    for trial in range(60):
        shape = (int(rng.integers(1, 40)),) + tuple(int(s) for s in rng.integers(1, 9, 3))
        a = _acts(["relu", "ints", "normal"][trial % 3], shape, seed=trial)
        for layout in ("whc", "per-channel"):
            want = betti_counts(a, 0.0, layout=layout)
            got = cubical_torch.betti_counts(torch.from_numpy(a), 0.0, layout).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"{shape} {layout}")
            n_checked += shape[0]
    assert n_checked > 1000


def test_groups_of_few_voxels_give_the_same_counts():
    a = torch.from_numpy(_acts("relu", (7, 4, 6, 6), seed=1))
    whole = cubical_torch.betti_counts(a, 0.0)
    for max_voxels in (1, 144, 1000):
        assert torch.equal(cubical_torch.betti_counts(a, 0.0, max_voxels=max_voxels), whole)


def test_hand_counted_batch():
    """A batch mixing a hollow cube (1, 0, 1), a solid block (1, 0, 0) and an empty set."""
    hollow = np.ones((7, 7, 7))
    hollow[1:6, 1:6, 1:6] = 0.0
    hollow[2:5, 2:5, 2:5] = 1.0
    batch = torch.from_numpy(np.stack([hollow, np.zeros((7, 7, 7)), np.ones((7, 7, 7))]))
    assert cubical_torch.betti_counts(batch, 0.0).tolist() == [[1, 0, 1], [1, 0, 0], [0, 0, 0]]
    # Euler characteristic by hand: a 2x2 block of pixels is a square (V=4, E=4, F=1).
    m = torch.zeros((1, 3, 3), dtype=torch.bool)
    m[0, :2, :2] = True
    assert cubical_torch.euler_characteristics(m).tolist() == [1]


def test_errors_are_those_of_the_numpy_engine():
    good = torch.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match="unknown layout"):
        cubical_torch.betti_counts(good, layout="nope")
    with pytest.raises(ValueError, match="must be"):
        cubical_torch.betti_counts(torch.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(ValueError, match="empty axis"):
        cubical_torch.betti_counts(torch.zeros((2, 0, 3)))
    bad = good.clone()
    bad[1, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        cubical_torch.betti_counts(bad)
    with pytest.raises(ValueError, match="eta must not be NaN"):
        cubical_torch.betti_counts(good, float("nan"))
    with pytest.raises(ValueError, match="real-valued"):
        cubical_torch.betti_counts(torch.zeros((2, 3, 3), dtype=torch.complex64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        cubical_torch.betti_counts(np.zeros((2, 3, 3)))
    assert cubical_torch.betti_counts(torch.zeros((0, 2, 3, 3))).shape == (0, 3)
    inf = torch.full((1, 3, 3), float("inf"))
    inf[0, 1, 1] = -float("inf")  # infinities are allowed, as in the numpy engine
    assert cubical_torch.betti_counts(inf, 0.0).tolist() == [[1, 0, 0]]


# --------------------------------------------------------------------------------------------
# the probe's engine choice
# --------------------------------------------------------------------------------------------


def test_auto_counts_on_the_device_only_for_cuda():
    from modelrank.probe import CubicalBettiReducer

    auto = CubicalBettiReducer()
    assert auto.engine_on(torch.device("cpu")) == "numpy"
    assert auto.engine_on(torch.device("cuda", 0)) == "torch"
    assert CubicalBettiReducer(engine="torch").engine_on(torch.device("cpu")) == "torch"
    assert CubicalBettiReducer(engine="numpy").engine_on(torch.device("cuda", 0)) == "numpy"
    # the engine is not in the cache key: both engines give the same counts
    assert CubicalBettiReducer(engine="torch").key == CubicalBettiReducer(engine="numpy").key


def test_unknown_engine_or_layout_is_refused_before_any_work():
    from modelrank.errors import ConfigError
    from modelrank.probe import CubicalBettiReducer

    with pytest.raises(ConfigError, match="betti_engine must be one of auto, numpy, torch"):
        CubicalBettiReducer(engine="cupy")
    with pytest.raises(ConfigError, match="layout must be one of"):
        CubicalBettiReducer(layout="xyz")


def _tiny_backbone():
    from modelrank.loaders import build_backbone
    from modelrank.zoo import parse_entry

    return build_backbone(
        parse_entry(
            "r18",
            dict(
                source="torchvision",
                id="resnet18",
                weights="random",
                preprocess={"size": 48, "resize": 48},
            ),
        )
    )


def _probe_both(device: str, tmp_path):
    from modelrank.data import load_target
    from modelrank.probe import CubicalBettiReducer, probe

    bb = _tiny_backbone()
    data = load_target("digits", per_class=2)
    out = {}
    for engine in ("numpy", "torch"):
        out[engine] = probe(
            bb,
            data,
            cubical=CubicalBettiReducer(0.0, "whc", engine),
            device=device,
            batch_size=7,
            cache_dir=tmp_path / engine,
        )
    return out


def test_the_probe_gives_the_same_counts_with_either_engine(tmp_path):
    out = _probe_both("cpu", tmp_path)
    np.testing.assert_array_equal(out["torch"].cubical, out["numpy"].cubical)
    assert out["torch"].cubical.shape[1] == len(out["torch"].layer_names)
    assert {e: out[e].meta["betti_engine"] for e in out} == {"numpy": "numpy", "torch": "torch"}


# --------------------------------------------------------------------------------------------
# CUDA (skipped without a GPU)
# --------------------------------------------------------------------------------------------


@CUDA
def test_cuda_equals_the_numpy_engine_on_random_volumes_with_ties():
    rng = np.random.default_rng(11)
    for trial in range(200):
        shape = (int(rng.integers(1, 12)),) + tuple(int(s) for s in rng.integers(1, 12, 3))
        a = _acts(["relu", "ints", "normal"][trial % 3], shape, seed=trial).astype(np.float32)
        t = torch.from_numpy(a).cuda()
        for layout in ("whc", "channel-mean", "per-channel"):
            got = cubical_torch.betti_counts(t, 0.0, layout)
            assert got.device.type == "cuda"
            np.testing.assert_array_equal(got.cpu().numpy(), betti_counts(a, 0.0, layout=layout))


@CUDA
def test_cuda_probe_counts_on_the_device_and_equals_the_numpy_engine(tmp_path):
    out = _probe_both("cuda", tmp_path)
    np.testing.assert_array_equal(out["torch"].cubical, out["numpy"].cubical)
    assert out["torch"].meta["device"].startswith("cuda")
