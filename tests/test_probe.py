"""The probe: activations equal a plain forward pass; caching; resuming an interrupted run."""

import numpy as np
import pytest
import torch

import modelrank
from modelrank.backbone import make_transform
from modelrank.data import load_target
from modelrank.loaders import build_backbone
from modelrank.probe import CubicalBettiReducer, probe
from modelrank.ranking import ScoreOptions
from modelrank.zoo import load_zoo, parse_entry


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build_backbone(
        parse_entry(
            "r18",
            dict(
                source="torchvision",
                id="resnet18",
                weights="random",
                preprocess={"size": 64, "resize": 72},
            ),
        )
    )


@pytest.fixture(scope="module")
def digits():
    return load_target("digits", per_class=2)


def _batch(bb, data):
    t = make_transform(bb.preprocess)
    return torch.stack([t(data.images[i]) for i in range(len(data))])


def test_probe_equals_a_plain_forward_pass(resnet, digits, tmp_path):
    emb = probe(resnet, digits, batch_size=8, cache_dir=tmp_path)
    m = resnet.model
    x = _batch(resnet, digits)
    with torch.no_grad():
        stem = m.relu(m.bn1(m.conv1(x)))
        l1 = m.layer1(m.maxpool(stem))
        l4 = m.layer4(m.layer3(m.layer2(l1)))
        feats = torch.flatten(m.avgpool(l4), 1)
        logits = m.fc(feats)
    assert np.allclose(emb.layers["relu"], stem.mean((2, 3)).numpy(), atol=1e-5)
    assert np.allclose(emb.layers["layer1.1"], l1.mean((2, 3)).numpy(), atol=1e-5)
    assert np.allclose(emb.layers["layer4.1"], l4.mean((2, 3)).numpy(), atol=1e-5)
    assert np.allclose(emb.features, feats.numpy(), atol=1e-5)
    assert np.allclose(emb.logits, logits.numpy(), atol=1e-4)
    assert np.array_equal(emb.labels, digits.labels)
    assert emb.layer_names == resnet.layer_names and emb.computed


def test_packaged_lite_features_equal_timms_own_pre_logits(tmp_path, digits):
    bb = build_backbone(load_zoo()["efficientnet_lite0"])
    few = digits
    emb = probe(bb, few, batch_size=10, cache_dir=tmp_path)
    with torch.no_grad():
        ref = bb.model.forward_head(bb.model.forward_features(_batch(bb, few)), pre_logits=True)
    assert emb.features.shape == (20, 1280)
    assert np.allclose(emb.features, ref.numpy(), atol=1e-4)


def test_second_run_does_no_forward_pass(resnet, digits, tmp_path, monkeypatch):
    first = probe(resnet, digits, batch_size=8, cache_dir=tmp_path)
    assert first.computed

    def boom(*a, **k):
        raise AssertionError("forward pass on a cached run")

    monkeypatch.setattr(resnet.model, "forward", boom)
    second = probe(resnet, digits, batch_size=8, cache_dir=tmp_path)
    assert not second.computed
    assert np.array_equal(first.features, second.features)
    assert all(np.array_equal(first.layers[k], second.layers[k]) for k in first.layers)


def test_cache_key_changes_with_what_determines_the_numbers(resnet, digits, tmp_path):
    probe(resnet, digits, batch_size=8, cache_dir=tmp_path)
    other = load_target("digits", per_class=2, seed=1)
    assert probe(resnet, other, batch_size=8, cache_dir=tmp_path).computed


def test_every_seed_shares_one_pass_over_a_whole_split(resnet, tmp_path):
    # a seed that chose no images (per_class None) does not change what is passed: the linear
    # probe of a multi-seed ground truth tests every seed on the same whole test split
    whole = load_target("digits[0,1]", split="test", seed=0)
    first = probe(resnet, whole, batch_size=64, cache_dir=tmp_path)
    again = probe(
        resnet, load_target("digits[0,1]", split="test", seed=3), batch_size=64, cache_dir=tmp_path
    )
    assert first.computed and not again.computed
    assert np.array_equal(first.features, again.features)
    assert whole.fingerprint() != load_target("digits[0,1]", split="test", seed=3).fingerprint()
    # sampled data keeps its seed in the key: other images, another pass
    sampled = load_target("digits[0,1]", split="test", per_class=5, seed=0)
    assert sampled.pass_fingerprint() == sampled.fingerprint()
    assert probe(
        resnet,
        load_target("digits[0,1]", split="test", per_class=5, seed=3),
        batch_size=64,
        cache_dir=tmp_path,
    ).computed


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_where_it_stopped(resnet, tmp_path):
    data = load_target("digits", per_class=3)  # 30 images
    reference = probe(resnet, data, batch_size=4, use_cache=False)

    def kill_after_16(what, done, total):
        if done >= 16:
            raise Interrupt

    with pytest.raises(Interrupt):
        probe(
            resnet,
            data,
            batch_size=4,
            cache_dir=tmp_path,
            chunk_images=8,
            on_progress=kill_after_16,
        )

    seen = []
    h = resnet.model.conv1.register_forward_hook(lambda m, i, o: seen.append(o.shape[0]))
    try:
        resumed = probe(resnet, data, batch_size=4, cache_dir=tmp_path, chunk_images=8)
    finally:
        h.remove()
    assert sum(seen) == 30 - 16  # only the images after the last checkpoint
    assert np.allclose(resumed.features, reference.features, atol=1e-6)
    assert all(
        np.allclose(resumed.layers[k], reference.layers[k], atol=1e-6) for k in reference.layers
    )


def test_betti_counts_counted_in_threads_equal_counts_of_a_plain_forward_pass(resnet, tmp_path):
    """The probe counts Betti numbers in a thread pool while the network runs on; the counts
    must be those of each layer's activation as the layer produced it (later in-place ops of the
    network must not reach the copy the threads read)."""
    from modelrank.probe import CubicalBettiReducer
    from modelrank.topology.cubical import betti_counts

    data = load_target("digits", per_class=3)  # 30 images: 4 batches of 8, split among threads
    emb = probe(resnet, data, cubical=CubicalBettiReducer(eta=0.05), batch_size=8, use_cache=False)
    m = resnet.model
    x = _batch(resnet, data)
    with torch.no_grad():
        stem = m.relu(m.bn1(m.conv1(x)))  # torchvision's ReLU is in-place
        l1 = m.layer1(m.maxpool(stem.clone()))
        l4 = m.layer4(m.layer3(m.layer2(l1.clone())))
    names = emb.layer_names
    for name, act in (("relu", stem), ("layer1.1", l1), ("layer4.1", l4)):
        want = betti_counts(act.numpy(), eta=0.05)
        assert np.array_equal(emb.cubical[:, names.index(name)], want), name


def test_a_truncation_reads_its_layers_from_its_full_depth_networks_cached_pass(tmp_path):
    from modelrank.finetuning import FinetuneConfig, evaluate
    from modelrank.loaders import build_backbone
    from modelrank.zoo import parse_entry

    pre = {"size": 16, "resize": 16, "mean": [0.5] * 3, "std": [0.5] * 3}
    raw = {
        "source": "file",
        "id": "modelrank:plain:depth=4,width=4,act=relu,classes=2",
        "weights": "random",
        "seed": 3,
        "preprocess": pre,
    }
    zoo = {
        "pa": parse_entry("pa", raw),
        "pa-cut": parse_entry("pa-cut", {**raw, "truncate": "blocks.1"}),
    }
    data = load_target("digits", per_class=5)
    metrics = ["betti-cubical", "knn", "logme", "hscore"]
    # listed truncation first: the full-depth network is still scored first, so its pass is cached
    both = modelrank.rank(
        data,
        zoo=zoo,
        models="pa-cut,pa",
        metrics=metrics,
        options=ScoreOptions(cache_dir=tmp_path / "a"),
    )
    alone = modelrank.rank(
        data,
        zoo={"pa-cut": zoo["pa-cut"]},
        models="pa-cut",
        metrics=metrics,
        options=ScoreOptions(cache_dir=tmp_path / "b"),
    )
    cut = {row.model: row for row in both.rows}["pa-cut"]
    assert cut.info["layers_from"] == "pa" and not cut.info["forward_pass"]
    assert alone.rows[0].info["layers_from"] is None and alone.rows[0].info["forward_pass"]
    assert cut.raw == alone.rows[0].raw and set(cut.raw) >= {"betti-cubical", "knn", "logme"}

    # stored under its own key: a second probe reads its own entry, no parent needed
    bb = build_backbone(zoo["pa-cut"], device="cpu")
    again = probe(bb, data, cubical=CubicalBettiReducer(), device="cpu", cache_dir=tmp_path / "a")
    assert not again.computed and again.meta["from_parent"] is None
    # images the parent has not seen: the truncation runs its own pass
    other = load_target("digits", per_class=3)
    own = probe(bb, other, device="cpu", cache_dir=tmp_path / "a", parent=zoo["pa"])
    assert own.computed and own.meta["from_parent"] is None

    # the linear probe's ground truth: the same accuracy as measuring the truncation alone
    cfg = FinetuneConfig(test_per_class=4)
    lin = {
        r.model: r
        for r in evaluate(
            "digits",
            zoo=zoo,
            models="pa-cut,pa",
            protocol="linear",
            budget=cfg,
            per_class=8,
            cache_dir=tmp_path / "c",
        ).results
    }
    solo = evaluate(
        "digits",
        zoo={"pa-cut": zoo["pa-cut"]},
        models="pa-cut",
        protocol="linear",
        budget=cfg,
        per_class=8,
        cache_dir=tmp_path / "d",
    ).results
    assert lin["pa-cut"].accuracy == solo[0].accuracy and lin["pa-cut"].grid == solo[0].grid
