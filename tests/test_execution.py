"""Executors without Ray: retries, failures as outcomes, follow-up tasks, counts; the journal;
failed units in rankings and in the CLI's exit status."""

import pickle

import pytest

import modelrank
from modelrank.errors import ConfigError, DatasetUnavailableError
from modelrank.execution import Counts, LocalExecutor, Shared, Task, make_executor
from modelrank.journal import Journal
from modelrank.ranking import ScoreOptions


class Flaky:
    """Raises on the first ``fails`` calls, then returns ``x * x``."""

    def __init__(self, fails: int):
        self.fails, self.calls = fails, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls <= self.fails:
            raise RuntimeError(f"boom {self.calls}")
        return x * x


def test_a_flaky_task_is_retried_and_a_hopeless_one_reported_while_others_finish():
    seen: list[Counts] = []
    ex = LocalExecutor(max_retries=2, on_counts=seen.append)
    flaky, hopeless = Flaky(fails=2), Flaky(fails=99)
    outcomes = ex.run(
        [
            Task("a", "a", flaky, (3,)),
            Task("b", "b", hopeless, (4,)),
            Task("c", "c", lambda x: x + 1, (5,)),
        ]
    )
    by = {o.task.key: o for o in outcomes}
    assert by["a"].ok and by["a"].value == 9 and by["a"].attempts == 3
    assert not by["b"].ok and by["b"].attempts == 3 and hopeless.calls == 3
    assert by["b"].error == "failed 3 times; last: RuntimeError: boom 3"
    assert by["c"].value == 6
    last = seen[-1]
    assert (last.total, last.done, last.failed, last.running, last.queued) == (3, 2, 1, 0, 0)
    assert max(c.running for c in seen) == 1  # one at a time in this process


def test_a_user_error_fails_at_once_without_retries():
    calls = []

    def refuse(x):
        calls.append(x)
        raise DatasetUnavailableError("no such data here")

    (oc,) = LocalExecutor(max_retries=5).run([Task("k", "k", refuse, (1,))])
    assert not oc.ok and oc.error == "no such data here" and calls == [1]


def test_follow_up_tasks_run_and_shared_arguments_arrive_as_themselves():
    payload = {"big": list(range(10))}
    shared = Shared(payload)

    def first(p):
        return len(p["big"])

    def then(oc):
        if oc.task.key == "first":
            return [
                Task("second", "second", lambda p, n: p is payload and n == 10, (shared, oc.value))
            ]
        return None

    outcomes = LocalExecutor().run([Task("first", "first", first, (shared,))], then)
    assert [o.task.key for o in outcomes] == ["first", "second"] and outcomes[1].value is True


def test_the_executor_passes_the_resolved_device():
    (oc,) = LocalExecutor().run([Task("d", "d", lambda device: device, (), device="cpu")])
    assert oc.value == "cpu"
    assert LocalExecutor().check_device("auto") in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        LocalExecutor().check_device("tpu")


def test_bad_executor_options_are_one_line_errors():
    with pytest.raises(ConfigError, match="^executor must be one of local, ray"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="needs the ray executor"):
        make_executor("local", ray_address="auto")
    with pytest.raises(ConfigError, match="^max_retries must be at least 0"):
        make_executor("local", max_retries=-1)
    for bad in (0.0, -1.0, 1.5):
        with pytest.raises(ConfigError, match="^gpus_per_task must be a fraction"):
            make_executor("local", gpus_per_task=bad)
    for good in (0.25, 1.0, 2.0):
        assert make_executor("local", gpus_per_task=good).gpus_per_task == good


def test_journal_round_trip_atomicity_and_damage(tmp_path):
    j = Journal(tmp_path)
    assert j.get("ab12") is None
    j.put("ab12", {"x": [1, 2]})
    assert j.get("ab12") == {"x": [1, 2]}
    assert not list(tmp_path.rglob(".tmp-*"))  # the temporary file became the entry
    path = next(tmp_path.rglob("ab12.pkl"))
    path.write_bytes(pickle.dumps({"x": 1})[:5])  # cut short
    assert j.get("ab12") is None
    off = Journal(None)
    off.put("ab12", 1)
    assert off.get("ab12") is None


def test_a_failing_unit_is_reported_and_the_rest_ranked(tmp_path, monkeypatch):
    import modelrank.ranking as ranking

    real = ranking.score_backbone

    def broken_for_lite1(entry, *args, **kwargs):
        if entry.name == "efficientnet_lite1":
            raise MemoryError("out of memory in a test")
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(ranking, "score_backbone", broken_for_lite1)
    r = modelrank.rank(
        "digits",
        models="efficientnet_lite0,efficientnet_lite1",
        metrics="knn",
        per_class=2,
        executor=LocalExecutor(max_retries=1),
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert [row.model for row in r.rows] == ["efficientnet_lite0"]
    assert r.failed == [
        ("efficientnet_lite1", "failed 2 times; last: MemoryError: out of memory in a test")
    ]
    assert r.to_dict()["failed"][0]["model"] == "efficientnet_lite1"
    assert r.recipe["failed"][0]["reason"].startswith("failed 2 times")
    assert "- failed efficientnet_lite1: failed 2 times" in r.to_markdown()
    # Re-running does only the missing work: lite0 comes from the journal, lite1 is retried.
    monkeypatch.setattr(ranking, "score_backbone", real)
    calls = []

    def counting(entry, *args, **kwargs):
        calls.append(entry.name)
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(ranking, "score_backbone", counting)
    again = modelrank.rank(
        "digits",
        models="efficientnet_lite0,efficientnet_lite1",
        metrics="knn",
        per_class=2,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert calls == ["efficientnet_lite1"] and not again.failed
    lite0 = {row.model: row for row in again.rows}["efficientnet_lite0"]
    assert lite0.info["from_journal"] and not lite0.info["forward_pass"]
    assert lite0.raw["knn"] == r.rows[0].raw["knn"]


def test_cli_exits_3_when_units_failed_after_printing_the_rest(tmp_path, monkeypatch, capsys):
    import modelrank.ranking as ranking
    from modelrank.cli import main

    def always_broken(entry, *args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(ranking, "score_backbone", always_broken)
    rc = main(
        [
            "score",
            "--models",
            "efficientnet_lite0",
            "--per-class",
            "2",
            "--cache-dir",
            str(tmp_path),
            "--retries",
            "0",
            "--db",
            str(tmp_path / "r.sqlite"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 3
    assert "failed efficientnet_lite0: failed 1 time; last: RuntimeError: kaput" in err
    assert "Re-run the command to retry only them" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "2"], "--workers needs the ray executor"),
        (["--retries", "-1"], "--retries must be at least 0"),
        (["--gpus-per-task", "0"], "--gpus-per-task must be a fraction"),
        (["--executor", "ray", "--workers", "0"], "--workers must be at least 1"),
        (["--executor", "ray", "--ray-address", "nowhere"], "--ray-address must be"),
    ],
)
def test_bad_executor_options_on_the_command_line(args, message, tmp_path, capsys):
    from modelrank.cli import main

    rc = main(
        [
            "score",
            "--models",
            "efficientnet_lite0",
            "--per-class",
            "2",
            "--cache-dir",
            str(tmp_path),
            "--db",
            str(tmp_path / "r.sqlite"),
            *args,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and message in err and "Traceback" not in err


def _fail_for(model: str, monkeypatch):
    import modelrank.finetuning.job as job

    real = job.finetune_run

    def broken(entry, *args, **kwargs):
        if entry.name == model:
            raise RuntimeError("diverged hardware")
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(job, "finetune_run", broken)


def test_cli_evaluate_reports_and_stores_a_failed_backbone_and_exits_3(
    random_zoo, tmp_path, monkeypatch, capsys
):
    from modelrank.cli import main
    from modelrank.store import Store

    _fail_for("rb", monkeypatch)
    db = tmp_path / "r.sqlite"
    rc = main(
        [
            "evaluate",
            "--zoo",
            str(tmp_path / "zoo.yaml"),
            "--models",
            "ra,rb",
            "--per-class",
            "5",
            "--steps",
            "1",
            "--retries",
            "0",
            "--db",
            str(db),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    out = capsys.readouterr()
    assert rc == 3 and "Re-run the command to retry only them" in out.err
    assert "diverged hardware" in out.out and "failed" in out.out
    with Store(db) as store:
        assert [a["model"] for a in store.accuracies()] == ["ra"]
        failed = [store.run(i)["recipe"].get("failed") for i in range(1, 4) if store.run(i)]
    assert [f for f in failed if f] == [
        [
            {
                "model": "rb",
                "reason": "grid run lr=0.01 w=0: failed 1 time; last: "
                "RuntimeError: diverged hardware",
            }
        ]
    ]


def test_benchmark_leaves_a_failed_backbone_out_and_lists_it(random_zoo, tmp_path, monkeypatch):
    from modelrank.benchmark import load_suite, run_benchmark

    rd = "  rd: {source: torchvision, id: resnet18, weights: random, seed: 4, preprocess: {size: 32, resize: 32}}\n"
    random_zoo.write_text(random_zoo.read_text() + rd)
    (tmp_path / "suite.yaml").write_text(f"""
name: tiny
zoo: {tmp_path / "zoo.yaml"}
models: all
targets: [digits]
per_class: {{digits: 6}}
metrics: [knn]
ground_truth:
  kind: finetune
  protocol: full
  budget: {{lrs: [0.01], ws: [0.0], steps: 1, batch_size: 8, retrain: false, seed: 0}}
  per_class: {{digits: 5}}
""")
    _fail_for("rc", monkeypatch)
    res = run_benchmark(
        load_suite(str(tmp_path / "suite.yaml")),
        executor=LocalExecutor(max_retries=0),
        options=ScoreOptions(cache_dir=tmp_path / "cache"),
    )
    assert set(res.accuracies["digits"]) == {"ra", "rb", "rd"} and not res.skipped
    assert res.failed == [
        "rc on digits: grid run lr=0.01 w=0: failed 1 time; last: RuntimeError: diverged hardware"
    ]
    assert [r["n"] for r in res.records] == [3]  # correlated over the three that were fine-tuned
