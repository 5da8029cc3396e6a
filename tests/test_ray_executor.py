"""The Ray executor on a local 2-worker Ray instance: the same numbers as the local executor
for ``score`` and a tiny ``evaluate``, a worker killed mid-task, failures after retries."""

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace

import pytest
import ray

import modelrank
from modelrank.benchmark import zoo_path
from modelrank.errors import ConfigError
from modelrank.execution import Task
from modelrank.execution.ray_executor import RayExecutor, worker_runtime_env
from modelrank.finetuning import CPU_BUDGET
from modelrank.ranking import ScoreOptions

pytestmark = pytest.mark.xdist_group("ray")  # one Ray instance at a time on 2 cores

OFFLINE_ZOO = zoo_path("offline")
POOL = "lite0,lite1,lite0-stage3,lite0-random"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """A local Ray instance with 2 CPUs (2 one-CPU tasks at a time), offline, private caches."""
    root = tmp_path_factory.mktemp("ray")
    env = {
        "MODELRANK_OFFLINE": "1",
        "MODELRANK_CACHE": str(root / "worker-cache"),
        "MODELRANK_DATA": str(root / "data"),
        # Only the driver writes results: a worker that opened the store would fail here.
        "MODELRANK_DB": "/proc/workers-must-not-open-the-store/results.sqlite",
    }
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        runtime_env=worker_runtime_env(env),  # as RayExecutor starts its own instance
    )
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # this file's task functions
    yield
    ray.shutdown()


def _comparable(ranking_json: dict) -> list:
    return [(r["model"], r["raw"], r["scores"], r["unavailable"]) for r in ranking_json["ranking"]]


def test_score_on_ray_gives_the_local_numbers(two_workers, tmp_path):
    from modelrank.cli import main

    common = [
        "score",
        "--zoo",
        OFFLINE_ZOO,
        "--models",
        POOL,
        "--per-class",
        "4",
        "--metric",
        "logme,knn,leep,ncti,betti-cubical",
        "--db",
        str(tmp_path / "r.sqlite"),
    ]
    assert (
        main(common + ["--cache-dir", str(tmp_path / "a"), "-o", str(tmp_path / "local.json")]) == 0
    )
    assert (
        main(
            common
            + [
                "--cache-dir",
                str(tmp_path / "b"),
                "-o",
                str(tmp_path / "ray.json"),
                "--executor",
                "ray",
            ]
        )
        == 0
    )
    local = json.loads((tmp_path / "local.json").read_text())
    remote = json.loads((tmp_path / "ray.json").read_text())
    assert len(local["ranking"]) == 4 and not remote["failed"]
    assert _comparable(remote) == _comparable(local)
    assert remote["recipe"]["execution"]["executor"] == "ray"
    assert remote["recipe"]["execution"]["cluster_cpus"] == 2.0
    # computed there, not cached; lite0-stage3 read its layers from lite0's pass made there
    assert all(
        r["info"]["forward_pass"] == (r["model"] != "lite0-stage3") for r in remote["ranking"]
    )
    assert {r["model"]: r["info"]["layers_from"] for r in remote["ranking"]}[
        "lite0-stage3"
    ] == "lite0"
    betti = {r["model"]: r["topology"]["omega_cubical"] for r in local["ranking"]}
    assert {r["model"]: r["topology"]["omega_cubical"] for r in remote["ranking"]} == betti


def test_ray_scoring_with_its_recommendation_runs_no_forward_pass_in_the_driver(
    two_workers, tmp_path, monkeypatch, capsys
):
    """`score --executor ray`: the half-samples behind the advice come from the scoring units
    on the workers; the driver never builds a backbone nor probes (both forbidden here)."""
    import modelrank.loaders
    import modelrank.probe
    from modelrank.cli import main

    def forbidden(*args, **kwargs):
        raise AssertionError("the driver built a backbone or ran a forward pass")

    monkeypatch.setattr(modelrank.loaders, "build_backbone", forbidden)
    monkeypatch.setattr(modelrank.probe, "probe", forbidden)
    rc = main(
        [
            "score",
            "--zoo",
            OFFLINE_ZOO,
            "--models",
            "lite0,lite0-random",
            "--per-class",
            "4",
            "--metric",
            "knn",
            "--stability",
            "10",
            "--executor",
            "ray",
            "--cache-dir",
            str(tmp_path / "c"),
            "--db",
            str(tmp_path / "r.sqlite"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "of 10 half-samples of the images" in out  # the stability was computed


def test_tiny_evaluate_on_ray_gives_the_local_numbers(two_workers, tmp_path, monkeypatch):
    from modelrank.cli import main
    from modelrank.store import Store

    args = [
        "evaluate",
        "--zoo",
        OFFLINE_ZOO,
        "--models",
        "lite0,lite0-random",
        "--per-class",
        "5",
        "--steps",
        "2",
        "--image-size",
        "32",
    ]
    accs = {}
    for name, extra in (("local", []), ("ray", ["--executor", "ray"])):
        monkeypatch.setenv("MODELRANK_CACHE", str(tmp_path / name))  # its own run logs
        db = tmp_path / f"{name}.sqlite"
        assert main(args + ["--db", str(db)] + extra) == 0
        with Store(db) as store:
            accs[name] = sorted(
                (a["model"], a["accuracy"], json.dumps(a["hparams"], sort_keys=True))
                for a in store.accuracies()
            )
    assert len(accs["local"]) == 2 and accs["ray"] == accs["local"]
    # The library call too: every grid run and the retrain computed remotely, same result.
    monkeypatch.setenv("MODELRANK_CACHE", str(tmp_path / "api"))
    cfg = replace(CPU_BUDGET, steps=2, image_size=32)  # what the command line ran
    with RayExecutor() as ex:
        (res,) = modelrank.evaluate(
            "digits", zoo=OFFLINE_ZOO, models="lite0", budget=cfg, per_class=5, executor=ex
        ).results
        starts = ex.starts()
    assert res.runs_computed == 3 and len(starts) == 3
    local_acc = dict((m, a) for m, a, _ in accs["local"])["lite0"]
    assert res.accuracy == local_acc


@pytest.mark.parametrize("threads", [1, 2])
def test_finetuning_runs_on_ray_are_bit_identical_to_local_runs(two_workers, tmp_path, threads):
    """Issue 29, item 4: the same per-seed accuracies, test outcomes and final losses (exactly)
    in this process (2 torch threads) and on one-CPU Ray workers, for either pinned count."""
    import torch

    from modelrank.finetuning import FinetuneConfig, RunLog, finetune
    from modelrank.zoo import parse_entry

    tiny = parse_entry(
        "r18",
        dict(
            source="torchvision",
            id="resnet18",
            weights="random",
            seed=0,
            preprocess={"size": 32, "resize": 32},
        ),
    )
    records = {}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for where in ("local", "ray"):
            for seed in (0, 1):
                cfg = FinetuneConfig(
                    lrs=(0.05, 0.01),
                    ws=(0.0,),
                    steps=3,
                    batch_size=8,
                    retrain=False,
                    seed=seed,
                    threads=threads,
                )
                log = tmp_path / f"{where}-{seed}.jsonl"
                ex = RayExecutor() if where == "ray" else None
                res = finetune(tiny, "digits", cfg=cfg, per_class=5, log=RunLog(log), executor=ex)
                if ex is not None:
                    assert len(ex.starts()) == 2  # both grid runs ran on the workers
                    ex.close()
                runs = sorted(
                    (json.loads(x) for x in log.read_text().splitlines()), key=lambda r: r["lr"]
                )
                records[(where, seed)] = (
                    res.accuracy,
                    [
                        (
                            r["lr"],
                            r["final_loss"],
                            r["test_accuracy"],
                            r["test_correct"],
                            r["float_order"]["threads"],
                        )
                        for r in runs
                    ],
                )
    finally:
        torch.set_num_threads(before)
    for seed in (0, 1):
        assert records[("ray", seed)] == records[("local", seed)]
    assert records[("local", 0)] != records[("local", 1)]  # the seeds do differ
    # the linear probe too (its logistic regression's BLAS sums and the forward pass)
    from modelrank.finetuning import evaluate

    linear = {}
    for where in ("local", "ray"):
        ex = RayExecutor() if where == "ray" else None
        (res,) = evaluate(
            "digits",
            zoo={"r18": tiny},
            models="r18",
            protocol="linear",
            budget=FinetuneConfig(threads=threads),
            per_class=8,
            cache_dir=tmp_path / f"linear-{where}",
            executor=ex,
        ).results
        if ex is not None:
            ex.close()
        linear[where] = (res.accuracy, res.test_correct, res.recipe["float_order"])
    assert linear["ray"] == linear["local"] and linear["local"][2]["threads"] == threads


def test_a_worker_killed_mid_task_is_retried_and_the_result_is_complete(two_workers, tmp_path):
    kw = dict(zoo=OFFLINE_ZOO, models="lite0,lite1", metrics="logme,knn,ncti", per_class=20)
    local = modelrank.rank("digits", **kw, options=ScoreOptions(cache_dir=tmp_path / "local"))
    killed: list[tuple[str, int]] = []
    ex = RayExecutor(max_retries=2)

    def kill_first_started():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for key, attempts in ex.starts().items():  # empty until the first task is submitted
                pid = attempts[0][0]
                os.kill(pid, signal.SIGKILL)
                killed.append((key, pid))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_started)
    killer.start()
    with ex:
        remote = modelrank.rank(
            "digits", executor=ex, **kw, options=ScoreOptions(cache_dir=tmp_path / "ray")
        )
        starts = ex.starts()
    killer.join()
    assert killed, "no task started"
    key, pid = killed[0]
    pids = [p for p, _ in starts[key]]
    assert len(pids) == 2 and pids[0] == pid != pids[1]  # it ran again in a new worker
    assert not remote.failed
    assert [(r.model, r.raw) for r in remote.rows] == [(r.model, r.raw) for r in local.rows]


def _always_fails(x):
    raise ValueError(f"bad input {x}")


def _refuses(x):
    raise ConfigError(f"refused {x}")


def _square(x):
    return x * x


def test_failures_after_retries_are_outcomes_and_user_errors_are_not_retried(two_workers):
    counts = []
    with RayExecutor(max_retries=1, on_counts=counts.append) as ex:
        outs = ex.run(
            [
                Task("f", "f", _always_fails, (1,)),
                Task("r", "r", _refuses, (2,)),
                Task("s", "s", _square, (3,)),
            ]
        )
        starts = ex.starts()
    by = {o.task.key: o for o in outs}
    assert by["s"].ok and by["s"].value == 9
    assert by["f"].error == "failed 2 times; last: ValueError: bad input 1"
    assert len(starts["f"]) == 2
    assert by["r"].error == "refused 2" and len(starts["r"]) == 1
    assert (counts[-1].done, counts[-1].failed, counts[-1].total) == (1, 2, 3)
    assert max(c.running for c in counts) <= 2


def test_an_unreachable_or_malformed_address_is_one_line_and_quick():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=f"cannot reach Ray at 127.0.0.1:{port}: "):
        RayExecutor(address=f"127.0.0.1:{port}").run([Task("s", "s", _square, (3,))])
    assert time.perf_counter() - t0 < 10
    with pytest.raises(ConfigError, match="^ray_address must be"):
        RayExecutor(address="nowhere").run([Task("s", "s", _square, (3,))])


def test_benchmark_on_ray_gives_the_local_table(random_zoo, two_workers, tmp_path):
    from modelrank.benchmark import load_suite, run_benchmark

    (tmp_path / "suite.yaml").write_text(f"""
name: tiny
zoo: {tmp_path / "zoo.yaml"}
models: all
targets: [digits, shapes]
per_class: {{digits: 6, shapes: 6}}
metrics: [knn, logme, ncti]
ground_truth:
  kind: finetune
  protocol: full
  budget: {{lrs: [0.01, 0.001], ws: [0.0], steps: 2, batch_size: 8, retrain: true, seed: 0}}
  per_class: {{digits: 5, shapes: 5}}
bootstrap: {{replicates: 10, seed: 0}}
""")
    suite = load_suite(str(tmp_path / "suite.yaml"))
    local = run_benchmark(suite, options=ScoreOptions(cache_dir=tmp_path / "local"))
    with RayExecutor() as ex:
        remote = run_benchmark(suite, executor=ex, options=ScoreOptions(cache_dir=tmp_path / "ray"))
        starts = ex.starts()
    # 3 backbones x 2 targets: 6 scoring units, 3 x 2 x (2 grid runs + retrain) = 18 fine-tuning
    # runs and 6 half-sample units
    assert len(starts) == 6 + 18 + 6
    assert remote.accuracies == local.accuracies and len(local.accuracies["shapes"]) == 3
    assert remote.tau == local.tau and set(local.tau) == {"knn", "logme", "ncti"}
    assert remote.intervals == local.intervals and local.intervals["headline"]["knn"]["mean"]
    assert not remote.skipped and not remote.failed


def _faults_of_repeated_allocations() -> int:
    """What a modelrank unit does first (import modelrank), then 12 C mallocs of 64 MiB."""
    import ctypes
    import resource

    import modelrank  # noqa: F401

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]

    def once():
        p = libc.malloc(64 << 20)
        ctypes.memset(p, 1, 64 << 20)
        libc.free(p)

    once()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(12):
        once()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0


@pytest.mark.skipif(sys.platform != "linux", reason="glibc allocator settings")
def test_ray_workers_get_modelrank_cpu_settings(two_workers):
    from modelrank import cpu_runtime

    with RayExecutor() as ex:
        by = {
            o.task.key: o
            for o in ex.run(
                [
                    Task("s", "s", cpu_runtime.status),
                    Task("f", "f", _faults_of_repeated_allocations),
                ]
            )
        }
    status, faults = by["s"], by["f"]
    assert status.value == {
        "malloc": "mmap off, trim off",
        "openmp": f"GOMP_SPINCOUNT={cpu_runtime.SPIN_COUNT}",
    }
    assert faults.value < 0.05 * 12 * (64 << 20) // 4096


def test_the_board_counts_an_attempt_running_from_its_start_to_its_end():
    from modelrank.execution.ray_executor import _Board

    board = _Board()  # the plain class, as the actor runs it
    board.started("a", 11, "h")
    board.started("b", 12, "h")
    assert board.running_keys() == {"a", "b"}
    board.ended("a")  # raised: waits for its retry, holding no CPU
    assert board.running_keys() == {"b"}
    board.started("a", 13, "h")  # the retry
    assert board.running_keys() == {"a", "b"} and board.attempts("a") == 2
    board.ended("a")
    board.ended("b")
    assert board.running_keys() == set()
    board.started("c", 14, "h")  # its worker is killed: no end is ever reported
    board.started("c", 15, "h")  # the retry
    board.ended("c")
    assert board.running_keys() == set()
    assert board.snapshot() == {
        "a": [(11, "h"), (13, "h")],
        "b": [(12, "h")],
        "c": [(14, "h"), (15, "h")],
    }
