"""Topology studies (issue 7): Betti numbers per layer of trained networks, invariance of the
cubical score, and their commands.

Truths: the Betti numbers docs/methods.md §2 documents for the input layer of D-I/D-II/D-III
(``NAITZAT_BETTI``), an independent forward pass (plain ``torch.nn.functional.linear`` layer by
layer), and properties that hold by construction of the recipe (a truncated backbone's Ω curve is
the prefix of the whole backbone's; the same setting reached through two factors gives the same
curve).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from modelrank.errors import ConfigError
from modelrank.topology.pointclouds import NAITZAT_BETTI
from modelrank.topology.rips import naitzat_betti

# ------------------------------------------------------------------------------------------------
# layers: inputs and the input layer
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, maxdim", [("d1", 1), ("d2", 2), ("d3", 2)])
def test_study_input_layer_has_documented_betti_numbers(data, maxdim):
    """Layer 0 of the study (its own data sizes, class_betti, default recipe) = docs/methods.md §2."""
    from modelrank.studies.layers import class_betti, default_maxdim, load_points

    x, y = load_points(data)
    assert default_maxdim(x) == maxdim
    got = class_betti([x], y, n_classes=2, k=14, maxdim=maxdim, max_points=2500)
    truth = NAITZAT_BETTI[data]
    for c in (0, 1):
        want = truth[c] + (0,) * (maxdim + 1 - len(truth[c]))  # D-I: β2 is 0 in the plane
        assert tuple(got[0, c]) == want[: maxdim + 1], (data, c, got[0, c])
    # a different data seed of the same size keeps the documented numbers
    x2, y2 = load_points(data, seed=3)
    got2 = class_betti([x2], y2, n_classes=2, k=14, maxdim=maxdim)
    assert [tuple(b) for b in got2[0]] == [tuple(b) for b in got[0]]


def test_class_betti_divisor_keeps_every_dth_point_of_the_class():
    from modelrank.studies.layers import class_betti, load_points

    x, y = load_points("d2")
    got = class_betti([x], y, n_classes=2, maxdim=1, max_points=700)  # 1080 per class -> d = 2
    for c in (0, 1):
        assert tuple(got[0, c]) == naitzat_betti(x[y == c][::2], k=14, maxdim=1)


def test_parse_arch_and_bad_inputs():
    from modelrank.studies.architecture import parse_arch
    from modelrank.studies.layers import layer_study, load_points

    assert parse_arch("9x15") == (9, 15)  # hidden layers, as in every study
    assert parse_arch(" 3 X 8 ") == (3, 8) and parse_arch("1x15") == (1, 15)
    for bad in ("10by15", "0x15", "10x0", "x15", ""):
        with pytest.raises(ConfigError, match="arch"):
            parse_arch(bad)
    with pytest.raises(ConfigError, match="d4"):
        load_points("d4")
    with pytest.raises(ConfigError, match="sigmoid"):
        layer_study("d1", "3x4", "sigmoid")
    with pytest.raises(ConfigError, match="nets"):
        layer_study("d1", "3x4", "relu", nets=0)


# ------------------------------------------------------------------------------------------------
# layers: training and the per-layer arrays
# ------------------------------------------------------------------------------------------------


def _independent_layers(stack, i: int, x: np.ndarray, activation: str) -> list[np.ndarray]:
    """Network i's input and hidden outputs, recomputed with F.linear one layer at a time."""
    act = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
    }[activation]
    h = torch.as_tensor(x, dtype=torch.float32)
    outs = [x]
    with torch.no_grad():
        for w, b in list(zip(stack.weights, stack.biases))[:-1]:
            h = act(torch.nn.functional.linear(h, w[i].T, b[i, 0]))
            outs.append(h.numpy().astype(np.float64))
        w, b = stack.weights[-1], stack.biases[-1]
        logits = torch.nn.functional.linear(h, w[i].T, b[i, 0])
    return outs, logits.numpy()


def test_train_networks_stop_at_perfect_accuracy_and_are_seeded():
    from modelrank.studies.layers import load_points, train_networks

    x, y = load_points("d1")
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = train_networks(x, y, 5, 20, "relu", [0, 1, 2, 3], lr=0.02, max_steps=600)
        b = train_networks(x, y, 5, 20, "relu", [0, 1, 2, 3], lr=0.02, max_steps=600)
    finally:
        torch.set_num_threads(prev)
    assert np.array_equal(a.steps, b.steps) and np.array_equal(a.converged, b.converged)
    for wa, wb in zip(a.nets.weights, b.nets.weights):
        assert torch.equal(wa, wb)
    assert 0 < a.converged.sum() < 4, a.steps  # this setting has both outcomes
    for i in range(4):
        _, logits = _independent_layers(a.nets, i, x, "relu")
        acc = float(np.mean(logits.argmax(1) == y))
        assert acc == pytest.approx(a.accuracy[i])
        if a.converged[i]:
            assert acc == 1.0 and a.steps[i] < 600
        else:
            assert acc < 1.0 and a.steps[i] == 600


def test_tiny_layer_study_shapes_discards_and_layer_zero():
    from modelrank.studies.layers import class_betti, layer_study

    r = layer_study("d1", "4x20", "relu", nets=4, max_steps=600, lr=0.02)
    n = r.n_converged
    assert 0 < n < 4 and r.n_discarded == 4 - n
    assert r.betti.shape == (n, 5, 2, 2)  # converged nets x (input + 4 hidden) x classes x (b0, b1)
    assert r.layer_names == ["input", "hidden 1", "hidden 2", "hidden 3", "hidden 4"]
    assert r.mean_betti.shape == (5, 2, 2) and r.mean_omega.shape == (5, 2)
    assert r.omega.shape == (n, 5, 2)
    assert np.array_equal(r.omega, r.betti.sum(-1))
    # layer 0 of every kept network = the documented input Betti numbers
    assert np.all(r.betti[:, 0, 0] == NAITZAT_BETTI["d1"][0])
    assert np.all(r.betti[:, 0, 1] == NAITZAT_BETTI["d1"][1])
    assert list(r.mean_omega[0]) == [9.0, 10.0]
    # the deeper layers agree with an independent forward pass of the first kept network
    from modelrank.studies.layers import load_points, train_networks

    x, y = load_points("d1")
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t = train_networks(x, y, 5, 20, "relu", list(r.seeds), lr=0.02, max_steps=600)
    finally:
        torch.set_num_threads(prev)
    i = int(np.flatnonzero(t.converged)[0])
    layers, logits = _independent_layers(t.nets, i, x, "relu")
    want = class_betti(layers, logits.argmax(1), 2, maxdim=1, max_points=2500)
    assert np.array_equal(r.betti[0], want)
    json.dumps(r.to_dict())  # JSON-ready
    assert "| 0 input | 9 | 0 | 9 | 1 | 9 | 10 |" in r.to_markdown()


def test_layer_study_with_no_converged_network_has_empty_arrays():
    from modelrank.studies.layers import layer_study

    r = layer_study("d1", "2x4", "tanh", nets=2, max_steps=0)
    assert r.n_converged == 0 and r.n_discarded == 2
    assert r.betti.shape == (0, 3, 2, 2)
    assert np.all(np.isnan(r.mean_omega))


# ------------------------------------------------------------------------------------------------
# invariance
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_invariance(tmp_path_factory):
    from modelrank.studies.invariance import invariance_study
    from modelrank.zoo import parse_entry

    entry = parse_entry(
        "tiny",
        {
            "source": "torchvision",
            "id": "resnet18",
            "weights": "random",
            "preprocess": {"size": 32, "resize": 32},
        },
    )
    return invariance_study(
        model="tiny",
        dataset="digits",
        per_class=2,
        seed=0,
        size=32,
        sizes=(32, 48),
        sampling_seeds=(0, 1),
        per_class_levels=(2, 3),
        depths=None,
        zoo={"tiny": entry},
        cache_dir=tmp_path_factory.mktemp("cache"),
        use_cache=True,
    )


def test_invariance_one_curve_per_factor_level(tiny_invariance):
    r = tiny_invariance
    assert r.factors == ["resolution", "sampling seed", "images per class", "depth"]
    assert [lv.label for lv in r.factor("resolution")] == ["32 px", "48 px"]
    assert [lv.label for lv in r.factor("sampling seed")] == ["seed 0", "seed 1"]
    assert [lv.label for lv in r.factor("images per class")] == ["2 / class", "3 / class"]
    # ResNet-18 stages layer1..layer4: truncated after layer2 (40 %) and layer3 (70 %), and whole
    depth = r.factor("depth")
    assert [lv.settings["truncate"] for lv in depth] == ["layer2", "layer3", None]
    assert [len(lv.layers) for lv in depth] == [7, 9, 11]
    for lv in r.levels:
        assert lv.omega.shape == (len(lv.layers),) and np.all(lv.omega >= 0)
        assert lv.depth01[0] == 0.0 and lv.depth01[-1] == 1.0
        assert isinstance(lv.theta, float) and np.isfinite(lv.theta)
    assert [lv.n_images for lv in r.factor("images per class")] == [20, 30]
    res = r.factor("resolution")
    assert len(res[0].omega) == len(res[1].omega) == 11
    assert not np.array_equal(res[0].omega, res[1].omega)  # larger maps, other counts


def test_invariance_curves_agree_where_settings_coincide(tiny_invariance):
    r = tiny_invariance
    base = r.factor("resolution")[0].omega  # 32 px, 2 per class, seed 0, whole network
    for f in ("sampling seed", "images per class"):
        assert np.array_equal(r.factor(f)[0].omega, base)
    full = r.factor("depth")[-1].omega
    assert np.array_equal(full, base)
    for lv in r.factor("depth")[:-1]:  # truncation drops later probes, leaves the earlier ones
        assert np.array_equal(lv.omega, full[: len(lv.omega)])
    md = r.to_markdown()
    assert md.count("### ") == 4 and "θ range" in md
    json.dumps(r.to_dict())


def test_invariance_plot_and_bad_levels(tiny_invariance, tmp_path):
    from modelrank.studies.invariance import invariance_study, plot_invariance, stage_names

    png = tmp_path / "inv.png"
    plot_invariance(tiny_invariance, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stage_names(["conv_stem", "bn1", "blocks.0.0", "blocks.1.0", "blocks.1.1", "bn2"]) == [
        "blocks.0",
        "blocks.1",
    ]
    with pytest.raises(ConfigError):
        invariance_study(sizes=(8,))
    with pytest.raises(ConfigError):
        invariance_study(
            depths=["nonsense-model"], sizes=(), sampling_seeds=(), per_class_levels=(), per_class=2
        )


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, word",
    [
        (["study", "layers", "--arch", "0x15"], "0x15"),
        (["study", "layers", "--arch", "10by15"], "10by15"),
        (["study", "layers", "--arch", "1x0"], "1x0"),
        (["study", "layers", "--nets", "0"], "--nets"),
        (["study", "layers", "--plot", "out.jpg"], "--plot"),
        (["study", "layers", "--arch", "3x4", "--nets", "1", "--max-steps", "0"], "100 %"),
        (["study", "invariance", "--sizes", "64,big"], "--sizes"),
        (["study", "invariance", "--per-class", "0"], "--per-class"),
        (["study", "invariance", "--output", "inv.csv"], "--output"),
        (["study", "invariance", "--model", "no-such-model"], "no-such-model"),
    ],
)
def test_cli_bad_options_exit_1_with_one_line(args, word, capsys):
    from modelrank import cli

    code = cli.main(args)
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert word in err and len(err.splitlines()) == 1, err


def test_cli_layers_prints_table_and_writes_outputs(tmp_path, capsys):
    from modelrank import cli

    png, out, md = tmp_path / "l.png", tmp_path / "l.json", tmp_path / "l.md"
    args = [
        "study",
        "layers",
        "--dataset",
        "d1",
        "--arch",
        "4x20",
        "--nets",
        "2",
        "--lr",
        "0.02",
        "--max-steps",
        "600",
        "--plot",
        str(png),
        "--output",
        str(out),
    ]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "ω (a)" in text and "hidden 4" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(out.read_text())
    assert saved["config"]["arch"] == "4x20" and saved["config"]["depth"] == 5
    assert saved["n_networks"] == 2
    assert len(saved["mean_omega"]) == 5
    assert cli.main(args[:-2] + ["--output", str(md)]) == 0
    assert md.read_text().count("| ") > 5
