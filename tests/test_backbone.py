"""Building backbones from every source, layer resolution and the packaged ImageNet weights."""

import time

import pytest
import torch

from modelrank.errors import ConfigError, WeightsUnavailableError
from modelrank.loaders import build_backbone
from modelrank.loaders.file import load_state_dict_in_order
from modelrank.zoo import load_zoo, parse_entry


def entry(name="m", **kw):
    return parse_entry(name, kw)


def _predict(bb, photo):
    from PIL import Image
    from sklearn.datasets import load_sample_image

    from modelrank.backbone import make_transform

    x = make_transform(bb.preprocess)(Image.fromarray(load_sample_image(photo)))[None]
    with torch.no_grad():
        return bb.model(x).softmax(-1)[0]


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_packaged_lite_weights_are_imagenet_weights(name):
    """scikit-learn's two sample photos: the temple is a palace (ImageNet 698) to every Lite model,
    and the flower a daisy (985) to Lite0 (Lite1/2 call its disc florets a honeycomb, 599)."""
    bb = build_backbone(load_zoo()[name])
    assert bb.info["weights_mapping"] == "in-order"
    assert bb.preprocess.mean == (0.5, 0.5, 0.5) and bb.preprocess.std == (0.5, 0.5, 0.5)
    temple = _predict(bb, "china.jpg")
    assert int(temple.argmax()) == 698 and float(temple[698]) > 0.2  # 200x chance
    flower = _predict(bb, "flower.jpg")
    expected = 985 if name == "efficientnet_lite0" else 599
    assert int(flower.argmax()) == expected


def test_randomly_initialised_lite_does_not_know_palaces():
    bb = build_backbone(entry(source="file", id="timm:tf_efficientnet_lite0", weights="random"))
    assert float(_predict(bb, "china.jpg")[698]) < 0.05


@pytest.mark.parametrize("arch, n_layers", [("resnet18", 11), ("resnet50", 19)])
def test_resnet_blocks_follow_the_paper_recipe(arch, n_layers):
    """docs/methods.md §1: conv1, bn1, relu, then every residual block (ResNet-18: 11, ResNet-50: 19)."""
    bb = build_backbone(
        entry(
            source="torchvision", id=arch, weights="random", preprocess={"size": 64, "resize": 64}
        )
    )
    names = bb.layer_names
    assert len(names) == n_layers
    assert names[:4] == ["conv1", "bn1", "relu", "layer1.0"]
    assert names[-1] == "layer4.1" if arch == "resnet18" else "layer4.2"
    assert bb.head == "fc"


def test_stages_are_the_last_block_of_each_resolution():
    bb = build_backbone(
        entry(
            source="torchvision",
            id="resnet18",
            weights="random",
            layers="stages",
            preprocess={"size": 64, "resize": 64},
        )
    )
    assert bb.layer_names == ["relu", "layer1.1", "layer2.1", "layer3.1", "layer4.1"]


@pytest.mark.parametrize(
    "arch", ["densenet121", "mobilenet_v2", "mnasnet1_0", "googlenet", "inception_v3"]
)
def test_group1_architectures_resolve_blocks_and_head(arch):
    size = 299 if arch == "inception_v3" else 64
    bb = build_backbone(
        entry(
            source="torchvision",
            id=arch,
            weights="random",
            preprocess={"size": size, "resize": size},
        )
    )
    assert len(bb.layers) >= 5
    assert all(li.layout == "NCHW" and len(li.shape) == 3 for li in bb.layers)
    assert bb.head is not None and bb.head.split(".")[0] in ("fc", "classifier")


def test_token_models_probe_every_encoder_block():
    bb = build_backbone(
        entry(
            source="timm",
            id="vit_tiny_patch16_224",
            weights="random",
            preprocess={"size": 224, "resize": 224},
        )
    )
    blocks = [n for n in bb.layer_names if n.startswith("blocks.")]
    assert len(blocks) == 12
    assert all(li.layout == "NTD" for li in bb.layers if li.name.startswith("blocks."))


def test_channels_last_stages_are_detected_and_permuted():
    bb = build_backbone(
        entry(
            source="torchvision",
            id="swin_t",
            weights="random",
            preprocess={"size": 64, "resize": 64},
        )
    )
    nhwc = [li for li in bb.layers if li.layout == "NHWC"]
    assert nhwc, "torchvision Swin stages are channels-last"


def test_hf_backbone_from_a_config_builds_and_runs_offline():
    bb = build_backbone(
        entry(
            source="hf",
            id="vit",
            weights="random",
            options={
                "config": {
                    "model_type": "vit",
                    "image_size": 32,
                    "patch_size": 8,
                    "hidden_size": 32,
                    "num_hidden_layers": 3,
                    "num_attention_heads": 2,
                    "intermediate_size": 64,
                }
            },
        )
    )
    names = bb.layer_names  # embeddings output, then each of the 3 encoder layers
    assert names[0] == "model.embeddings" and len(names) == 4
    assert [n.rsplit(".", 1)[1] for n in names[1:]] == ["0", "1", "2"]
    assert all(li.layout == "NTD" for li in bb.layers)
    with torch.no_grad():
        assert tuple(bb.run(torch.zeros(2, 3, 32, 32)).shape) == (2, 32)


def test_hub_weights_offline_are_reported_fast(monkeypatch):
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    from modelrank.util.network import reachable

    reachable.cache_clear()
    t = time.time()
    with pytest.raises(WeightsUnavailableError, match="unreachable|offline"):
        build_backbone(entry(source="timm", id="resnet18", weights="a1_in1k"))
    with pytest.raises(WeightsUnavailableError, match="offline"):
        build_backbone(entry(source="torchvision", id="resnet18", weights="IMAGENET1K_V1"))
    assert time.time() - t < 30
    reachable.cache_clear()


def test_in_order_loading_checks_every_shape():
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    good = {
        "a.w": torch.ones(4, 3),
        "a.b": torch.zeros(4),
        "b.w": torch.ones(2, 4),
        "b.b": torch.zeros(2),
    }
    assert load_state_dict_in_order(m, good) == "in-order"
    assert torch.equal(m[1].weight, torch.ones(2, 4))
    bad = dict(good, **{"b.w": torch.ones(4, 2)})
    with pytest.raises(ConfigError, match="does not fit"):
        load_state_dict_in_order(m, bad)
    with pytest.raises(ConfigError, match="3 tensors"):
        load_state_dict_in_order(m, dict(list(good.items())[:3]))


def test_missing_weights_file_and_package():
    with pytest.raises(ConfigError, match="zoo entry .*weights file '/no/such.pth' does not exist"):
        build_backbone(
            entry(source="file", id="timm:tf_efficientnet_lite0", weights="/no/such.pth")
        )
    with pytest.raises(WeightsUnavailableError, match="not installed"):
        build_backbone(
            entry(source="file", id="timm:tf_efficientnet_lite0", weights="package:no_such_pkg")
        )


def test_truncated_backbone_stops_at_the_named_layer():
    bb = build_backbone(
        entry(
            source="torchvision",
            id="resnet18",
            weights="random",
            preprocess={"size": 64, "resize": 64},
            truncate="layer2.1",
        )
    )
    assert bb.layer_names[-1] == "layer2.1" and bb.head is None
    m = bb.model
    by_hand = sum(
        p.numel() for mod in (m.conv1, m.bn1, m.layer1, m.layer2) for p in mod.parameters()
    )
    assert bb.param_count == by_hand
