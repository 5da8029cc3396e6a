"""The zoo trained here: five families of small convnets, a deterministic, resumable build."""

from pathlib import Path

import pytest
import torch

from modelrank.data.idx import locate
from modelrank.errors import ConfigError
from modelrank.ranking import ScoreOptions
from modelrank.small_convnets import FAMILIES, SmallConvNet, parse_arch
from modelrank.trained_zoo import RECIPES, build_zoo
from modelrank.zoo import load_zoo, parse_entry

needs_fmnist = pytest.mark.skipif(
    locate("fashion-mnist", Path("/nonexistent")) is None,
    reason="Fashion-MNIST is not installed (Debian: apt install dataset-fashion-mnist)",
)


def test_the_fmnist_recipe_spans_five_families_three_activations_and_training_lengths():
    nets = RECIPES["fmnist"].nets
    families = {parse_arch(n.arch)[0] for n in nets}
    acts = {parse_arch(n.arch)[1]["act"] for n in nets}
    assert len(nets) >= 24 and families == set(FAMILIES) and acts == {"relu", "tanh", "gelu"}
    assert len({n.steps for n in nets}) >= 3 and len({n.name for n in nets}) == len(nets)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_builds_and_its_probe_layers_are_the_stem_and_the_blocks(family):
    from modelrank.loaders import build_backbone

    arch = f"{family}:depth=4,width=8,act=gelu,classes=5"
    net = SmallConvNet(arch)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
    entry = parse_entry(
        "n",
        {
            "source": "file",
            "id": f"modelrank:{arch}",
            "weights": "random",
            "layers": net.probe_layers(),
        },
    )
    bb = build_backbone(entry, device="cpu")
    assert bb.layer_names == ["stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"]
    assert bb.head == "fc"


@pytest.mark.parametrize(
    "bad", ["vit:depth=2", "plain:depth=0", "plain:act=swish", "plain:x=1", "plain:depth"]
)
def test_malformed_architectures_are_one_line_errors(bad):
    with pytest.raises(ConfigError):
        parse_arch(bad)


@needs_fmnist
def test_a_trial_build_is_deterministic_resumable_and_a_usable_zoo(tmp_path):
    a = build_zoo("fmnist", root=tmp_path / "a", nets=2, steps=3)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the build pins its own thread count: the same weights
    try:
        b = build_zoo("fmnist", root=tmp_path / "b", nets=2, steps=3)
    finally:
        torch.set_num_threads(before)
    zoo = load_zoo(a)
    assert list(zoo) == [n.name for n in RECIPES["fmnist"].nets[:2]]
    for name, entry in zoo.items():
        assert 0 <= entry.source_top1 <= 100 and "trained" in entry.tags
        wa = torch.load(entry.weights, weights_only=True)
        wb = torch.load(load_zoo(b)[name].weights, weights_only=True)
        assert all(torch.equal(wa[k], wb[k]) for k in wa)  # same seed, same weights, any threads
        # the same bytes too, so the content digest keying their results is the same
        assert Path(entry.weights).read_bytes() == Path(load_zoo(b)[name].weights).read_bytes()
        assert entry.recipe() == load_zoo(b)[name].recipe()
    stamp = Path(zoo[name].weights).stat().st_mtime_ns
    build_zoo("fmnist", root=tmp_path / "a", nets=2, steps=3)  # nothing to train again
    assert Path(zoo[name].weights).stat().st_mtime_ns == stamp
    from modelrank.ranking import rank

    r = rank(
        "digits",
        zoo=str(a),
        models="all",
        metrics=["source-top1", "knn"],
        per_class=3,
        options=ScoreOptions(cache_dir=tmp_path / "cache"),
    )
    assert {row.model for row in r.rows} == set(zoo)
    assert all(row.raw["source-top1"] == zoo[row.model].source_top1 for row in r.rows)


def test_bad_zoo_names_and_source_accuracies_are_one_line_errors(tmp_path):
    from modelrank.trained_zoo import built_zoo_path

    with pytest.raises(ConfigError, match="unknown trained zoo 'cifar'"):
        build_zoo("cifar", root=tmp_path)
    with pytest.raises(ConfigError, match="trained:NAME"):
        built_zoo_path("trained:cifar", root=tmp_path)
    for bad in (101, -1, "high"):
        with pytest.raises(ConfigError, match="source_top1 must be a percentage"):
            parse_entry(
                "n",
                {
                    "source": "file",
                    "id": "modelrank:plain:depth=2",
                    "weights": "random",
                    "source_top1": bad,
                },
            )
