"""Topological scores end to end on the packaged ImageNet models, offline."""

import numpy as np
import pytest
import torch

import modelrank
from modelrank.backbone import make_transform
from modelrank.loaders import build_backbone
from modelrank.ranking import ScoreOptions
from modelrank.zoo import load_zoo


def test_lite_zoo_scored_with_betti_metrics_and_arrays_saved(tmp_path):
    r = modelrank.rank(
        "digits",
        models="offline",
        metrics="betti-cubical,betti-rips",
        per_class=2,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert sorted(row.model for row in r.rows) == [f"efficientnet_lite{i}" for i in range(3)]
    for row in r.rows:
        assert np.isfinite(row.raw["betti-cubical"]) and np.isfinite(row.raw["betti-rips"])
        assert row.scores["betti-cubical"] == -row.raw["betti-cubical"]  # lower theta ranks higher
        assert len(row.topology["omega_cubical"]) == len(row.info["probe_layers"])
    out = tmp_path / "ranking.json"
    r.save(out)
    saved = np.load(str(out) + ".betti.npz")
    for row in r.rows:
        L = len(row.info["probe_layers"])
        assert saved[f"{row.model}/cubical_betti"].shape == (20, L, 3)
        assert saved[f"{row.model}/rips_betti"].shape == (L, 10, 2)


def test_saved_cubical_counts_equal_cubicalripser_on_the_real_activation(tmp_path):
    """The reducer's (b0, b1, b2) for an image equal CubicalRipser's diagrams read at eta = 0 on
    the same layer's (W, H, C) volume, taken from a separate forward pass."""
    cripser = pytest.importorskip("cripser")
    bb = build_backbone(load_zoo()["efficientnet_lite0"])
    r = modelrank.rank(
        "digits",
        models="efficientnet_lite0",
        metrics="betti-cubical",
        per_class=2,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    counts = r.rows[0].topology["arrays"]["cubical_betti"]
    layer = "blocks.5.0"  # 192 x 7 x 7: small enough for full persistence in a test
    li = bb.layer_names.index(layer)
    from modelrank.data import load_target

    data = load_target("digits", per_class=2)
    grabbed = {}
    mod = dict(bb.model.named_modules())[layer]
    h = mod.register_forward_hook(lambda m, i, o: grabbed.setdefault("a", o.detach()))
    with torch.no_grad():
        bb.model(make_transform(bb.preprocess)(data.images[3])[None])
    h.remove()
    vol = grabbed["a"][0].numpy().astype(np.float64).transpose(2, 1, 0)  # (C,H,W) -> (W,H,C)
    pd = cripser.computePH(vol, maxdim=2)
    truth = [int(np.sum((pd[:, 0] == k) & (pd[:, 1] <= 0.0) & (pd[:, 2] > 0.0))) for k in range(3)]
    assert counts[3, li].tolist() == truth
