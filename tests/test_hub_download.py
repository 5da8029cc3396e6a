"""The download path a user with internet takes, for real: huggingface_hub (through timm, and
through transformers for ``hf:``) downloads a timm repository from a local stand-in of the Hub
(``HF_ENDPOINT``), caches and
scores it; with the server gone, a second run scores from the cache. No request leaves the
machine."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.hub_server import Hub

REPO = "timm/tf_efficientnet_lite0.in1k"


def _score(tmp_path, env_extra, models, out, *extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MODELRANK_OFFLINE", "HF_HUB_OFFLINE")}
    env.update(
        HF_HOME=str(tmp_path / "hf"),
        MODELRANK_CACHE=str(tmp_path / "cache"),
        COLUMNS="200",
        **env_extra,
    )
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelrank.cli",
            "score",
            "--dataset",
            "digits",
            "--models",
            models,
            "--per-class",
            "4",
            "--metric",
            "knn,logme",
            "--stability",
            "0",
            "--db",
            str(tmp_path / "r.db"),
            "--output",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(out.read_text())["ranking"][0]


def _timm_repo(root):
    """A timm repository as the Hub holds them (``model.safetensors`` under timm's key names,
    ``config.json`` with the architecture and its pretrained config), made of the packaged
    Lite0 weights; returns the weights file's sha256."""
    from safetensors.torch import save_file

    from modelrank.loaders import build_backbone
    from modelrank.zoo import load_zoo

    bb = build_backbone(load_zoo()["efficientnet_lite0"], device="cpu")
    repo = root / REPO
    repo.mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in bb.model.state_dict().items()},
        str(repo / "model.safetensors"),
    )
    pretrained = {
        "input_size": [3, 224, 224],
        "interpolation": "bicubic",
        "crop_pct": 0.875,
        "crop_mode": "center",
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "num_classes": 1000,
        "first_conv": "conv_stem",
        "classifier": "classifier",
    }
    (repo / "config.json").write_text(
        json.dumps(
            {
                "architecture": "tf_efficientnet_lite0",
                "num_classes": 1000,
                "num_features": 1280,
                "pretrained_cfg": pretrained,
            }
        )
    )
    return hashlib.sha256((repo / "model.safetensors").read_bytes()).hexdigest()


def test_a_timm_string_downloads_from_the_hub_caches_and_scores_from_the_cache_later(tmp_path):
    served = _timm_repo(tmp_path / "hub")
    with Hub(tmp_path / "hub") as hub:
        got = _score(
            tmp_path, {"HF_ENDPOINT": hub.url}, f"timm:{REPO.split('/')[1]}", tmp_path / "a.json"
        )
        url = hub.url
    assert ("GET", f"/{REPO}/resolve/main/model.safetensors") in hub.requests
    blobs = list((tmp_path / "hf").rglob("blobs/*"))
    assert [hashlib.sha256(b.read_bytes()).hexdigest() for b in blobs] == [served]  # verified copy
    # the same weights, preprocessing and layers as the zoo's entry for the packaged file
    zoo = _score(tmp_path, {}, "efficientnet_lite0", tmp_path / "z.json")
    assert got["model"] == "timm:tf_efficientnet_lite0.in1k" and got["raw"] == zoo["raw"]
    # the server is gone: the weights come from the cache (no embedding cache either)
    again = _score(
        tmp_path,
        {"HF_ENDPOINT": url},
        f"timm:{REPO.split('/')[1]}",
        tmp_path / "b.json",
        "--no-cache",
    )
    assert again["raw"] == got["raw"]


def test_an_hf_string_downloads_a_timm_checkpoint_through_transformers(tmp_path):
    """``hf:ORG/REPO``: transformers (its TimmWrapper) downloads the repository, preprocessing
    from its timm data config; the final features are timm's pre-logits, so the scores on them
    equal the zoo's Lite0; with the server gone it loads from the cache."""
    pytest.importorskip("transformers")
    served = _timm_repo(tmp_path / "hub")
    with Hub(tmp_path / "hub") as hub:
        got = _score(tmp_path, {"HF_ENDPOINT": hub.url}, f"hf:{REPO}", tmp_path / "a.json")
        url = hub.url
    fetched = {
        path.rsplit("/", 1)[1]
        for verb, path in hub.requests
        if verb == "GET" and path.startswith(f"/{REPO}/resolve/")
    }
    assert {"model.safetensors", "config.json"} <= fetched
    blobs = {hashlib.sha256(b.read_bytes()).hexdigest() for b in (tmp_path / "hf").rglob("blobs/*")}
    assert served in blobs
    zoo = _score(tmp_path, {}, "efficientnet_lite0", tmp_path / "z.json")
    assert got["model"] == f"hf:{REPO}"
    # the timm model's blocks, inside transformers' wrapper, at timm's preprocessing
    assert got["info"]["probe_layers"] == [
        "model.timm_model." + n for n in zoo["info"]["probe_layers"]
    ]
    assert got["info"]["preprocess"] == zoo["info"]["preprocess"]
    assert got["raw"]["knn"] == zoo["raw"]["knn"]
    assert got["raw"]["logme"] == pytest.approx(zoo["raw"]["logme"], rel=1e-6)
    again = _score(tmp_path, {"HF_ENDPOINT": url}, f"hf:{REPO}", tmp_path / "b.json", "--no-cache")
    assert again["raw"] == got["raw"]


def test_a_torchvision_set_already_in_its_layout_loads_without_a_download(tmp_path, monkeypatch):
    """EuroSAT in torchvision's layout ($MODELRANK_DATA/eurosat/2750/<class>/<image>), written
    here: read as it is, offline, split 80/20 as modelrank fixes it."""
    import numpy as np
    from PIL import Image

    from modelrank.data import load_target

    rng = np.random.default_rng(0)
    pixels = {}
    for c in ("AnnualCrop", "Forest", "River"):
        d = tmp_path / "eurosat" / "2750" / c
        d.mkdir(parents=True)
        for i in range(10):
            arr = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
            Image.fromarray(arr).save(d / f"{c}_{i}.png")
            pixels[(c, i)] = arr
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    train, test = load_target("eurosat", split="train"), load_target("eurosat", split="test")
    assert train.class_names == ["AnnualCrop", "Forest", "River"]
    assert (len(train), len(test)) == (24, 6)  # 80/20 of each class's 10
    seen = {np.asarray(im).tobytes() for d in (train, test) for im in d.images}
    assert seen == {a.tobytes() for a in pixels.values()}  # the files, each once
