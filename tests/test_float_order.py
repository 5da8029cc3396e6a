"""A fine-tuning run fixes what sets its float order, records it, and is keyed by the version of
its training path (issue 29, item 4). Local and Ray runs are compared in test_ray_executor.py."""

import json

import numpy as np
import pytest
import torch

from modelrank import finetuning
from modelrank.correctness import pack_correct, unpack_correct
from modelrank.finetuning import FinetuneConfig, RunLog, finetune
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

#: PROTOCOL_VERSION -> the digest of the training path it was measured with. A change of the
#: path fails here: if it changes what a run computes, bump PROTOCOL_VERSION (old runs are then
#: not reused) and pin the new digest under it; if it cannot (a comment), renew the digest.
#: Renewed 2026-12-06 (9857f3ffd096057d before): finetune_run imports resolve_device from
#: modelrank.devices instead of modelrank.probe (issue 31); the function is the same, so what a
#: run computes is not changed and runs recorded before still count.
PINNED = {2: "71468a0b3bfe9908"}


def _run(tmp_path, name: str, **cfg_changes) -> dict:
    cfg = FinetuneConfig(
        lrs=(0.05,), ws=(0.0,), steps=3, batch_size=8, retrain=False, **cfg_changes
    )
    finetune(TINY, "digits", cfg=cfg, per_class=5, log=RunLog(tmp_path / f"{name}.jsonl"))
    (line,) = (tmp_path / f"{name}.jsonl").read_text().splitlines()
    return json.loads(line)


def test_a_run_pins_its_threads_whatever_the_process_uses(tmp_path):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _run(tmp_path, "driver1", threads=1)
        torch.set_num_threads(2)
        two = _run(tmp_path, "driver2", threads=1)
        assert torch.get_num_threads() == 2  # the process's setting is restored
        pinned_two = _run(tmp_path, "unit2", threads=2)
    finally:
        torch.set_num_threads(before)
    # The final loss is compared exactly: it is where a different float order shows first.
    assert one["final_loss"] == two["final_loss"] and one["test_correct"] == two["test_correct"]
    assert one["float_order"] == {"threads": 1, "deterministic": True, "torch": torch.__version__}
    # The unit's own thread count does change the sums (so the equality above is not vacuous).
    assert pinned_two["final_loss"] != one["final_loss"]
    assert pinned_two["float_order"]["threads"] == 2
    assert not torch.are_deterministic_algorithms_enabled()  # restored too


def test_the_training_path_is_pinned_to_the_protocol_version():
    assert finetuning.training_path_digest() == PINNED[finetuning.PROTOCOL_VERSION], (
        "the fine-tuning path changed: bump finetuning.PROTOCOL_VERSION if it changes what a run "
        "computes, and pin the new digest in tests/test_float_order.py"
    )


def test_runs_of_another_protocol_version_are_not_reused(tmp_path, monkeypatch):
    cfg = FinetuneConfig(lrs=(0.05,), ws=(0.0,), steps=2, batch_size=8, retrain=False)
    log = tmp_path / "log.jsonl"
    first = finetune(TINY, "digits", cfg=cfg, per_class=5, log=RunLog(log))
    assert first.runs_computed == 1
    assert first.recipe["protocol_version"] == finetuning.PROTOCOL_VERSION
    assert first.recipe["training_path"] == finetuning.training_path_digest()
    assert finetune(TINY, "digits", cfg=cfg, per_class=5, log=RunLog(log)).runs_computed == 0
    from modelrank.finetuning import job, training

    for module in (job, training):  # a bump edits config.py, which both read at import
        monkeypatch.setattr(module, "PROTOCOL_VERSION", finetuning.PROTOCOL_VERSION + 1)
    assert finetune(TINY, "digits", cfg=cfg, per_class=5, log=RunLog(log)).runs_computed == 1


def test_the_recorded_outcomes_give_the_recorded_accuracy(tmp_path):
    rec = _run(tmp_path, "a")
    from modelrank.data import load_target

    labels = load_target("digits", split="test").labels
    hits = unpack_correct(rec["test_correct"], len(labels))
    assert 100 * hits.mean() == pytest.approx(rec["test_accuracy"], abs=1e-9)


def test_outcomes_pack_and_unpack_by_hand():
    pred, labels = np.array([0, 1, 2, 2, 1, 0, 0, 1, 2]), np.array([0, 1, 1, 2, 0, 0, 2, 1, 2])
    text = pack_correct(pred, labels)
    # 1 1 0 1 0 1 0 1 | 1 -> bytes 0b11010101 = 0xD5 and 0b10000000 = 0x80
    assert text == "1YA="
    assert unpack_correct(text, 9).tolist() == [
        True,
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="not the bits of 20 images"):
        unpack_correct(text, 20)


def test_threads_must_be_a_whole_number():
    from modelrank.errors import ConfigError

    with pytest.raises(ConfigError, match="threads"):
        FinetuneConfig(threads=0)


def test_evaluate_takes_the_runs_thread_count_and_records_it(cli, tmp_path):
    import sqlite3

    (tmp_path / "z.yaml").write_text(
        "models:\n  ra: {source: torchvision, id: resnet18, weights: random, seed: 1, "
        "preprocess: {size: 32, resize: 32}}\n"
    )
    common = [
        "evaluate",
        "--zoo",
        str(tmp_path / "z.yaml"),
        "--models",
        "all",
        "--per-class",
        "5",
        "--steps",
        "2",
        "--image-size",
        "32",
        "--cache-dir",
        str(tmp_path / "c"),
        "--db",
        str(tmp_path / "r.db"),
    ]
    rc, _, err = cli(*common, "--train-threads", "2")
    assert rc == 0, err
    with sqlite3.connect(tmp_path / "r.db") as con:
        (recipe,) = con.execute(
            "SELECT recipe_json FROM runs WHERE recipe_json LIKE '%float_order%'"
        ).fetchone()
    rec = json.loads(recipe)
    assert rec["float_order"]["threads"] == 2 and rec["config"]["threads"] == 2
    assert rec["protocol_version"] == finetuning.PROTOCOL_VERSION
    rc, _, err = cli(*common, "--train-threads", "0")
    assert rc == 1 and "--train-threads must be a whole number of at least 1" in err
