"""Fine-tuning ground truth: accuracy kinds, the protocol, resuming a killed evaluation."""

import numpy as np
import pytest

from modelrank.errors import ConfigError
from modelrank.finetuning import (
    FinetuneConfig,
    RunLog,
    accuracy,
    accuracy_kind,
    evaluate,
    finetune,
    linear_probe,
)
from modelrank.zoo import parse_entry

TINY = parse_entry(
    "r18",
    dict(
        source="torchvision",
        id="resnet18",
        weights="random",
        seed=0,
        preprocess={"size": 32, "resize": 32},
    ),
)
CFG = FinetuneConfig(lrs=(0.05, 0.005), ws=(0.0, 1e-4), steps=3, batch_size=8, retrain=True)


def test_accuracy_kinds_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0, 0, 0, 0, 0, 1])
    assert accuracy(p, y, "top1", 2) == pytest.approx(100 * 5 / 6)
    assert accuracy(p, y, "mean_per_class", 2) == pytest.approx(100 * (1.0 + 0.5) / 2)


def test_protocol_runs_the_grid_selects_on_val_and_retrains(tmp_path):
    log = RunLog(tmp_path / "log.jsonl")
    r = finetune(TINY, "digits", cfg=CFG, per_class=5, log=log)
    assert len(r.grid) == 4 and r.runs_computed == 5  # 4 grid runs + the retrain
    best = max(r.grid, key=lambda g: g["val_accuracy"])
    assert r.best == {"lr": best["lr"], "w": best["w"]}
    assert 0.0 <= r.accuracy <= 100.0 and r.accuracy_kind == "top1"
    assert r.recipe["test"]["split"] == "test" and r.recipe["train"]["per_class"] == 5


def test_killed_evaluation_resumes_with_the_same_numbers(tmp_path):
    whole = finetune(TINY, "digits", cfg=CFG, per_class=5, log=RunLog(tmp_path / "a.jsonl"))

    class Kill(Exception):
        pass

    def kill_after_two(what, done, total):
        if what.endswith("fine-tune runs") and done == 2:
            raise Kill

    with pytest.raises(Kill):
        finetune(
            TINY,
            "digits",
            cfg=CFG,
            per_class=5,
            log=RunLog(tmp_path / "b.jsonl"),
            on_progress=kill_after_two,
        )
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 2
    resumed = finetune(TINY, "digits", cfg=CFG, per_class=5, log=RunLog(tmp_path / "b.jsonl"))
    assert resumed.runs_computed == 3  # two grid runs were already in the log
    assert resumed.accuracy == whole.accuracy and resumed.grid == whole.grid
    again = finetune(TINY, "digits", cfg=CFG, per_class=5, log=RunLog(tmp_path / "b.jsonl"))
    assert again.runs_computed == 0 and again.accuracy == whole.accuracy


def test_linear_probe_beats_chance_on_random_conv_features():
    r = linear_probe(TINY, "digits", per_class=15)
    assert r.protocol == "linear" and r.accuracy > 30.0  # chance is 10 %
    assert r.best["C"] in [g["C"] for g in r.grid]


def test_bad_protocol_and_budget():
    with pytest.raises(ConfigError, match="^protocol must be full or linear"):
        evaluate("digits", protocol="half")
    with pytest.raises(ConfigError, match="^budget must be one of published, cpu"):
        evaluate("digits", budget="infinite")


def test_accuracy_kind_follows_the_protocol_table():
    """docs/methods.md §5: mean per-class for Aircraft, Caltech, Flowers, Pets; 11-point mAP for the
    published VOC numbers; top-1 otherwise."""
    assert [accuracy_kind(d) for d in ("aircraft", "caltech101", "flowers102", "pets")] == [
        "mean_per_class"
    ] * 4
    assert accuracy_kind("voc2007", published=True) == "map_11pt"
    assert accuracy_kind("voc2007") == accuracy_kind("cifar10") == accuracy_kind("digits") == "top1"


def test_too_few_images_for_a_validation_split_is_a_clear_error():
    with pytest.raises(ConfigError, match="too few to hold out a validation share"):
        evaluate("digits", models="efficientnet_lite0", budget=CFG, per_class=4)


def test_the_package_functions_survive_importing_every_submodule():
    import importlib
    import pkgutil

    import modelrank

    for mod in pkgutil.walk_packages(modelrank.__path__, "modelrank."):
        if not mod.name.startswith("modelrank.cli"):
            importlib.import_module(mod.name)
    for name in ("rank", "pick_backbone", "evaluate", "correlate"):
        assert callable(getattr(modelrank, name)), name


def test_cache_dir_holds_the_run_logs_and_a_rerun_trains_nothing(tmp_path):
    small = FinetuneConfig(lrs=(0.05,), ws=(0.0,), steps=2, batch_size=8, retrain=True)
    zoo = {"r18": TINY}
    (first,) = evaluate(
        "digits", zoo=zoo, models="r18", budget=small, per_class=5, cache_dir=tmp_path
    ).results
    assert first.runs_computed == 2
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["r18__digits.jsonl"]
    (again,) = evaluate(
        "digits", zoo=zoo, models="r18", budget=small, per_class=5, cache_dir=tmp_path
    ).results
    assert again.runs_computed == 0 and again.accuracy == first.accuracy


@pytest.mark.parametrize("preprocess", [None, {"size": 32, "resize": 32}])
def test_unavailable_weights_are_skipped_not_failed(preprocess, tmp_path):
    """With its own preprocessing an entry is not built on the driver: the unit finds the weights
    missing and the backbone is skipped, exactly as when the driver finds out first."""
    spec = {"source": "timm", "id": "resnet18", "weights": "a1_in1k"}
    if preprocess:
        spec["preprocess"] = preprocess
    zoo = {"hubonly": parse_entry("hubonly", spec), "r18": TINY}
    told = []
    small = FinetuneConfig(lrs=(0.05,), ws=(0.0,), steps=1, batch_size=8, retrain=True)
    ev = evaluate(
        "digits",
        zoo=zoo,
        models="hubonly,r18",
        budget=small,
        per_class=5,
        cache_dir=tmp_path,
        on_skip=lambda m, why: told.append((m, why)),
    )
    assert [r.model for r in ev.results] == ["r18"] and not ev.failed
    assert [m for m, _ in ev.skipped] == ["hubonly"] and "offline" in ev.skipped[0][1].lower()
    assert told == ev.skipped and ev.dataset == "digits" and ev.protocol == "full"
    assert ev.accuracies() == {"r18": ev.results[0].accuracy}


def test_channels_last_fine_tuning_is_keyed_apart_and_default_keys_stay_the_same():
    """channels_last changes low-order bits, so it must be part of the run key when on; when off,
    the key fields are those of runs logged before the option existed."""
    from dataclasses import asdict, replace

    from modelrank.finetuning import CPU_BUDGET

    assert "channels_last" not in CPU_BUDGET.key_fields()
    assert CPU_BUDGET.key_fields() == {
        k: v
        for k, v in asdict(CPU_BUDGET).items()
        if k not in ("channels_last", "test_per_class", "sample_seed")
    }
    on = replace(CPU_BUDGET, channels_last=True)
    assert on.key_fields()["channels_last"] is True and on.key_fields() != CPU_BUDGET.key_fields()


def test_channels_last_fine_tuning_trains(tmp_path, monkeypatch):
    """A short channels-last run learns like the default one (accuracy well above chance on
    digits), through the same code path."""
    from dataclasses import replace

    from modelrank.benchmark import zoo_path
    from modelrank.finetuning import CPU_BUDGET, evaluate

    monkeypatch.setenv("MODELRANK_CACHE", str(tmp_path))
    cfg = replace(CPU_BUDGET, lrs=(0.01,), steps=25, channels_last=True, retrain=False)
    res = evaluate(
        "digits", zoo=zoo_path("offline"), models="lite2-stage5", budget=cfg, per_class=20
    ).results
    assert len(res) == 1 and res[0].accuracy > 30.0  # chance: 10 %
    assert res[0].recipe["config"]["channels_last"] is True


def test_linear_probes_are_journaled_and_test_per_class_samples_the_test_split(
    tmp_path, monkeypatch
):
    import modelrank.finetuning.evaluation as ft

    cfg = FinetuneConfig(test_per_class=4)
    first = evaluate(
        "digits[0-2]",
        zoo={"r18": TINY},
        models="r18",
        protocol="linear",
        budget=cfg,
        per_class=8,
        cache_dir=tmp_path,
    ).results
    assert first[0].recipe["test"]["n_images"] == 12 and first[0].recipe["test"]["seed"] == 0

    def no_work(*args, **kwargs):
        raise AssertionError("the journaled linear probe ran again")

    monkeypatch.setattr(ft, "linear_unit", no_work)
    again = evaluate(
        "digits[0-2]",
        zoo={"r18": TINY},
        models="r18",
        protocol="linear",
        budget=cfg,
        per_class=8,
        cache_dir=tmp_path,
    ).results
    assert again[0].accuracy == first[0].accuracy
    # another test sample is new work: the unit runs (and here fails)
    ev = evaluate(
        "digits[0-2]",
        zoo={"r18": TINY},
        models="r18",
        protocol="linear",
        budget=FinetuneConfig(test_per_class=5),
        per_class=8,
        cache_dir=tmp_path,
    )
    assert ev.results == [] and ev.failed[0][0] == "r18" and "ran again" in ev.failed[0][1]


def test_test_per_class_is_in_the_run_key_only_when_set():
    assert "test_per_class" not in FinetuneConfig().key_fields()
    assert FinetuneConfig(test_per_class=3).key_fields()["test_per_class"] == 3
    with pytest.raises(ConfigError, match="test_per_class"):
        FinetuneConfig(test_per_class=0)


def test_a_fixed_sample_seed_trains_every_seed_on_the_same_images(tmp_path):
    cfg = FinetuneConfig(lrs=(0.05,), ws=(0.0,), steps=2, batch_size=8, retrain=False)
    runs = {}
    for sample_seed in (None, 0):
        for seed in (0, 1):
            c = FinetuneConfig(**{**cfg.key_fields(), "seed": seed, "sample_seed": sample_seed})
            runs[(sample_seed, seed)] = finetune(
                TINY,
                "digits",
                cfg=c,
                per_class=6,
                log=RunLog(tmp_path / f"{sample_seed}-{seed}.jsonl"),
            )
    train = {k: r.recipe["train"] for k, r in runs.items()}
    assert train[(0, 0)] == train[(0, 1)]  # the same images, the seed changes the rest
    assert train[(None, 0)] != train[(None, 1)]  # each seed draws its own images
    assert train[(None, 0)] == train[(0, 0)]
    assert "sample_seed" not in cfg.key_fields()  # older run keys stay valid
    assert runs[(0, 1)].recipe["config"]["sample_seed"] == 0


def test_a_linear_probe_counts_as_one_run_when_computed_and_none_when_read_back(tmp_path):
    first = evaluate(
        "digits",
        zoo={"r18": TINY},
        models="r18",
        protocol="linear",
        per_class=8,
        cache_dir=tmp_path,
    ).results[0]
    again = evaluate(
        "digits",
        zoo={"r18": TINY},
        models="r18",
        protocol="linear",
        per_class=8,
        cache_dir=tmp_path,
    ).results[0]
    assert (first.runs_computed, again.runs_computed) == (1, 0)
    assert again.accuracy == first.accuracy and isinstance(first.best["C"], float)
