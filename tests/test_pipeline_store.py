"""Commands write to the results store; the leaderboard reads it back; benchmark suites."""

import json

import pytest

from modelrank.benchmark import load_suite, run_benchmark
from modelrank.cli import main
from modelrank.store import Store

ZOO = """
models:
  ra: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}
  rb: {source: torchvision, id: resnet18, weights: random, seed: 2, preprocess: {size: 32, resize: 32}}
  rc: {source: torchvision, id: resnet18, weights: random, seed: 3, preprocess: {size: 32, resize: 32}}
"""


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "zoo.yaml").write_text(ZOO)
    (tmp_path / "suite.yaml").write_text(f"""
name: tiny
zoo: {tmp_path / "zoo.yaml"}
models: all
targets: [digits]
score_split: train
per_class: {{digits: 6}}
metrics: [knn, logme]
ground_truth:
  kind: finetune
  protocol: full
  budget: {{lrs: [0.01], ws: [0.0], steps: 2, batch_size: 8, retrain: false, seed: 0}}
  per_class: {{digits: 5}}
""")
    return tmp_path


def test_commands_write_to_the_store_and_the_leaderboard_reads_it(tiny, monkeypatch, capsys):
    db = tiny / "r.sqlite"
    monkeypatch.setenv("MODELRANK_DB", str(db))
    assert (
        main(
            [
                "score",
                "--zoo",
                str(tiny / "zoo.yaml"),
                "--models",
                "all",
                "--per-class",
                "5",
                "--metric",
                "knn,logme",
            ]
        )
        == 0
    )
    assert (
        main(["benchmark", "--suite", str(tiny / "suite.yaml"), "--output", str(tiny / "b.md")])
        == 0
    )
    table = (tiny / "b.md").read_text()
    assert "| knn |" in table and "| logme |" in table and table.startswith("Command: `modelrank")
    with Store(db) as s:
        scored = {(r["model"], r["metric"]) for r in s.scores(dataset="digits")}
        assert {("ra", "knn"), ("rb", "logme"), ("rc", "knn")} <= scored
        accs = s.accuracies(dataset="digits")
        assert {r["model"] for r in accs} == {"ra", "rb", "rc"}
        assert {r["accuracy_kind"] for r in accs} == {"top1"}
        assert {r["score"] for r in s.correlations(suite="tiny")} == {"knn", "logme"}
    capsys.readouterr()
    assert main(["leaderboard", "--format", "json"]) == 0
    board = json.loads(capsys.readouterr().out)
    text = json.dumps(board)
    assert "ra" in text and "logme" in text and "weighted" in text.lower()


def test_benchmark_result_table_matches_its_records(tiny):
    res = run_benchmark(load_suite(str(tiny / "suite.yaml")))
    assert res.targets == ["digits"] and set(res.accuracies["digits"]) == {"ra", "rb", "rc"}
    for rec in res.records:
        assert res.tau[rec["score"]]["digits"] == rec["weighted_tau"] and rec["n"] == 3


def test_published_suite_offline_skips_targets_it_cannot_load(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    suite = load_suite("sfda-group1")
    assert suite.targets[6] == "flowers102" and suite.published["flowers102"]["sfda"] == 0.542
    suite.targets = suite.targets[:2]
    res = run_benchmark(suite, metrics="imagenet-top1")
    assert res.targets == [] and len(res.skipped) == 2 and "aircraft" in res.skipped[0]


def test_unknown_suite_is_one_line(capsys):
    assert main(["benchmark", "--suite", "no-such-suite"]) == 1
    assert "unknown suite 'no-such-suite'" in capsys.readouterr().err
