"""The results store: round trips, latest/best queries, transactions, concurrency, migrations."""

import multiprocessing as mp
import os
import sqlite3
import time

import numpy as np
import pytest

from modelrank import store as store_mod
from modelrank.errors import ConfigError
from modelrank.store import SCHEMA_VERSION, Store


def make_ranking(
    dataset,
    models,
    metrics=("logme", "theta"),
    seed=0,
    arrays=True,
    n=12,
    layers=4,
    unavailable=None,
):
    """A dict shaped like ``Ranking.to_dict()``. ``theta`` is lower-is-better (score = -raw);
    ``unavailable`` maps (model, metric) to a reason."""
    rng = np.random.default_rng(seed)
    unavailable = unavailable or {}
    rows = []
    for m in models:
        raw, scores, missing = {}, {}, {}
        for k in metrics:
            if (m, k) in unavailable:
                missing[k] = unavailable[(m, k)]
                continue
            raw[k] = float(rng.normal())
            scores[k] = -raw[k] if k == "theta" else raw[k]
        labels = np.arange(n) % 3
        topo = {}
        if arrays:
            betti = rng.integers(0, 9, size=(n, layers, 3)).astype(np.int32)
            topo = {
                "layers": [f"layer{i}" for i in range(layers)],
                "omega_cubical": list(rng.uniform(1, 5, layers)),
                "arrays": {"cubical_betti": betti, "labels": labels},
            }
        rows.append(
            {
                "model": m,
                "scores": scores,
                "raw": raw,
                "unavailable": missing,
                "info": {"image_size": 32, "device": "cpu", "weights": "w"},
                "topology": topo,
            }
        )
    rows.sort(key=lambda r: -r["scores"].get(metrics[0], -np.inf))
    return {
        "recipe": {
            "data": {
                "dataset": dataset,
                "split": "train",
                "per_class": 4,
                "seed": seed,
                "n_images": n,
            },
            "seed": seed,
            "versions": {"numpy": np.__version__},
        },
        "metrics": list(metrics),
        "primary": metrics[0],
        "ranking": [dict(r, rank=i) for i, r in enumerate(rows, 1)],
        "skipped": [],
    }


def counts(db):
    with Store(db) as s:
        return {
            t: s.count(t)
            for t in ("runs", "run_models", "scores", "arrays", "evaluations", "correlations")
        }


def test_path_argument_env_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DB", str(tmp_path / "env" / "r.sqlite"))
    with Store() as s:
        assert s.path == tmp_path / "env" / "r.sqlite" and s.path.exists()
    with Store(tmp_path / "arg.sqlite") as s:
        assert s.path == tmp_path / "arg.sqlite"
    monkeypatch.delenv("MODELRANK_DB")
    import platformdirs

    assert store_mod.resolve_path() == (
        store_mod.Path(platformdirs.user_data_dir("modelrank")) / "results.sqlite"
    )


def test_wal_mode_and_busy_timeout(tmp_path):
    with Store(tmp_path / "r.sqlite") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
        assert s.version == SCHEMA_VERSION


def test_ranking_round_trip(tmp_path):
    rk = make_ranking("digits", ["a", "b", "c"], unavailable={("c", "theta"): "no logits"})
    with Store(tmp_path / "r.sqlite") as s:
        run_id = s.record_ranking(rk, command="score --dataset digits")
        run = s.run(run_id)
        assert (
            run["command"],
            run["dataset"],
            run["split"],
            run["per_class"],
            run["seed"],
            run["primary_metric"],
        ) == ("score --dataset digits", "digits", "train", 4, 0, "logme")
        assert run["recipe"]["versions"]["numpy"] == np.__version__
        got = {(r["model"], r["metric"]): r for r in s.scores(dataset="digits")}
        assert len(got) == 6
        for row in rk["ranking"]:
            for metric in ("logme", "theta"):
                g = got[(row["model"], metric)]
                if metric in row["unavailable"]:
                    assert g["raw"] is None and g["score"] is None
                    assert g["unavailable"] == row["unavailable"][metric]
                else:
                    assert g["raw"] == row["raw"][metric] and g["score"] == row["scores"][metric]
                    assert g["unavailable"] is None
        assert got[("a", "theta")]["score"] == -got[("a", "theta")]["raw"]
        assert [r["metric"] for r in s.scores(metric="theta")] == ["theta"] * 3
        for row in rk["ranking"]:
            arrays = s.betti_arrays(row["model"], "digits")
            for k, v in row["topology"]["arrays"].items():
                np.testing.assert_array_equal(arrays[k], v)
                assert arrays[k].dtype == v.dtype
        assert s.betti_arrays("a", "other") is None
        topo = {t["model"]: t for t in s.topology("digits")}
        rows = {r["model"]: r for r in rk["ranking"]}
        assert topo["b"]["omega"] == pytest.approx(rows["b"]["topology"]["omega_cubical"])
        assert topo["b"]["layers"] == rows["b"]["topology"]["layers"]
        assert s.datasets() == ["digits"]
        # the same arrays stored twice are kept once (content addressed)
        s.record_ranking(rk, command="score again")
        assert s.count("arrays") == 3 and s.count("runs") == 2


def test_latest_scores_best_accuracy_latest_correlations(tmp_path):
    with Store(tmp_path / "r.sqlite") as s:
        first = s.record_ranking(make_ranking("digits", ["a", "b"], seed=1), "score")
        second_rk = make_ranking("digits", ["a"], seed=2)
        second = s.record_ranking(second_rk, "score")
        by = {(r["model"], r["metric"]): r for r in s.scores("digits")}
        assert by[("a", "logme")]["run_id"] == second and by[("b", "logme")]["run_id"] == first
        assert by[("a", "logme")]["raw"] == second_rk["ranking"][0]["raw"]["logme"]

        ev = s.record_run("evaluate", {"dataset": "digits", "split": "test", "seed": 0})
        s.record_evaluation(ev, "a", "digits", "finetune", {"lr": 0.1}, 71.5, "top1", "test")
        s.record_evaluation(
            ev, "a", "digits", "finetune", {"lr": 0.01}, 80.25, "top1", "test", extra={"epochs": 3}
        )
        s.record_evaluation(ev, "a", "digits", "finetune", {"lr": 0.001}, 75.0, "top1", "test")
        s.record_evaluation(ev, "a", "digits", "linear", {"C": 1.0}, 60.0, "top1", "test")
        acc = {(r["model"], r["protocol"]): r for r in s.accuracies(dataset="digits")}
        assert acc[("a", "finetune")]["accuracy"] == 80.25
        assert acc[("a", "finetune")]["hparams"] == {"lr": 0.01}
        assert acc[("a", "finetune")]["extra"] == {"epochs": 3}
        assert [r["protocol"] for r in s.accuracies(protocol="linear")] == ["linear"]

        s.record_correlations(
            ev,
            "offline",
            [
                {
                    "dataset": "digits",
                    "score": "logme",
                    "n": 2,
                    "weighted_tau": 0.1,
                    "kendall_tau": 0.2,
                }
            ],
        )
        s.record_correlations(
            ev,
            "offline",
            [
                {
                    "dataset": "digits",
                    "score": "logme",
                    "n": 2,
                    "weighted_tau": 0.5,
                    "spearman": float("nan"),
                }
            ],
        )
        (c,) = s.correlations("offline")
        assert c["weighted_tau"] == 0.5 and c["kendall_tau"] is None and c["spearman"] is None
        assert s.correlations("other") == []


def test_bad_values_are_one_line_user_errors(tmp_path):
    with Store(tmp_path / "r.sqlite") as s:
        run = s.record_run("evaluate", {})
        with pytest.raises(ConfigError, match="percentage"):
            s.record_evaluation(run, "a", "d", "finetune", {}, 180.0, "top1", "test")
        with pytest.raises(ConfigError, match="no run 99"):
            s.record_evaluation(99, "a", "d", "finetune", {}, 80.0, "top1", "test")
        with pytest.raises(ConfigError, match="'dataset' and 'score'"):
            s.record_correlations(run, "s", [{"dataset": "d"}])
        assert s.count("evaluations") == 0 and s.count("correlations") == 0
    with pytest.raises(ConfigError, match="no results database"):
        Store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="not a usable modelrank results database"):
        Store(tmp_path / "junk.sqlite")


def test_exception_mid_write_leaves_no_partial_run(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    good = make_ranking("digits", ["a", "b", "c"])
    with Store(db) as s:
        s.record_ranking(good, "score")
    before = counts(db)

    bad = make_ranking("digits", ["a", "b", "c"], seed=5)
    bad["ranking"][2]["raw"]["logme"] = "not a number"  # fails on the last backbone
    with Store(db) as s, pytest.raises(ConfigError, match="must be a number"):
        s.record_ranking(bad, "score")
    assert counts(db) == before

    calls = []
    original = Store._insert_ranked_model

    def crash_on_second(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(self, *args)

    monkeypatch.setattr(Store, "_insert_ranked_model", crash_on_second)
    with Store(db) as s, pytest.raises(RuntimeError, match="disk on fire"):
        s.record_ranking(make_ranking("digits", ["x", "y"], seed=6), "score")
    assert counts(db) == before and len(calls) == 2


def _die_mid_ranking(db, ranking):
    """Child process: start a ranking write and exit abruptly after its first backbone."""
    original = Store._insert_ranked_model

    def die_after_first(self, *args):
        original(self, *args)
        os._exit(3)

    Store._insert_ranked_model = die_after_first
    with Store(db) as s:
        s.record_ranking(ranking, "score")


def test_process_killed_mid_write_leaves_no_partial_run(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as s:
        s.record_ranking(make_ranking("digits", ["a"]), "score")
    before = counts(db)
    p = mp.get_context("spawn").Process(
        target=_die_mid_ranking, args=(str(db), make_ranking("pets", ["x", "y", "z"]))
    )
    p.start()
    p.join(60)
    assert p.exitcode == 3
    assert counts(db) == before
    with Store(db) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.datasets() == ["digits"]
        s.record_ranking(make_ranking("pets", ["x"]), "score")  # the lock was released
        assert s.datasets() == ["digits", "pets"]


N_PER_WORKER = 25


def _writer(db, worker, barrier, out):
    """Child process: after the barrier, write N rankings and N evaluations, one by one."""
    barrier.wait(60)
    t0 = time.monotonic()
    with Store(db) as s:
        for i in range(N_PER_WORKER):
            rk = make_ranking(
                f"ds{worker}", [f"w{worker}m{j}" for j in range(3)], seed=i, arrays=(i % 5 == 0)
            )
            run = s.record_ranking(rk, f"score worker={worker} i={i}")
            s.record_evaluation(
                run,
                f"w{worker}m0",
                f"ds{worker}",
                "finetune",
                {"worker": worker, "i": i},
                float(i),
                "top1",
                "test",
            )
    out.put((worker, t0, time.monotonic()))


def test_two_processes_write_at_once_and_every_row_is_found(tmp_path):
    db = tmp_path / "shared.sqlite"  # neither process finds it existing: both create it
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(db), w, barrier, out)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    spans = dict((w, (a, b)) for w, a, b in (out.get(timeout=5) for _ in procs))
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]  # the writes overlapped
    with Store(db) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.count("runs") == 2 * N_PER_WORKER
        assert s.count("run_models") == 2 * N_PER_WORKER * 3
        assert s.count("scores") == 2 * N_PER_WORKER * 3 * 2
        assert s.count("evaluations") == 2 * N_PER_WORKER
        commands = {r[0] for r in s.conn.execute("SELECT command FROM runs")}
        assert commands == {f"score worker={w} i={i}" for w in (0, 1) for i in range(N_PER_WORKER)}
        hp = s.conn.execute("SELECT hparams_json FROM evaluations").fetchall()
        assert sorted(
            store_mod.json.loads(h)["i"] + 100 * store_mod.json.loads(h)["worker"] for (h,) in hp
        ) == sorted(i + 100 * w for w in (0, 1) for i in range(N_PER_WORKER))
        for w in (0, 1):
            last = make_ranking(
                f"ds{w}",
                [f"w{w}m{j}" for j in range(3)],
                seed=N_PER_WORKER - 1,
                arrays=(N_PER_WORKER - 1) % 5 == 0,
            )
            got = {r["model"]: r["raw"] for r in s.scores(dataset=f"ds{w}", metric="logme")}
            assert got == {r["model"]: r["raw"]["logme"] for r in last["ranking"]}
            assert s.betti_arrays(f"w{w}m0", f"ds{w}") is not None


def test_migration_from_an_empty_database(tmp_path):
    db = tmp_path / "empty.sqlite"
    db.touch()  # a zero-byte file is an empty SQLite database: version 0
    with Store(db) as s:
        assert s.version == SCHEMA_VERSION
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {
            "schema_version",
            "runs",
            "run_models",
            "scores",
            "arrays",
            "evaluations",
            "correlations",
            "tau_summaries",
        } <= tables


def test_migration_from_an_old_database_keeps_its_tables(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        c.execute("INSERT INTO schema_version VALUES (0)")
        c.execute("CREATE TABLE notes (text TEXT)")
        c.execute("INSERT INTO notes VALUES ('kept')")
    c.close()
    with Store(db) as s:
        assert s.version == SCHEMA_VERSION
        assert s.conn.execute("SELECT text FROM notes").fetchone()[0] == "kept"
        assert s.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
        s.record_ranking(make_ranking("digits", ["a"]), "score")


def test_failed_migration_rolls_back_and_newer_schema_is_refused(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    db.touch()

    def half_then_fail(conn):
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
        raise RuntimeError("migration bug")

    monkeypatch.setitem(store_mod.MIGRATIONS, 0, half_then_fail)
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(db)
    with sqlite3.connect(db) as c:
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    c.close()
    assert names == []
    monkeypatch.undo()

    with Store(db) as s:
        s.conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ConfigError, match="schema version 99, newer"):
        Store(db)


def _old_database(tmp_path, version, correlation_insert):
    """A database at schema ``version`` with one run and one correlation row."""
    db = tmp_path / f"v{version}.sqlite"
    c = sqlite3.connect(db, isolation_level=None)
    store_mod.migrate(c, target=version)
    c.execute(
        "INSERT INTO runs(created_at, command, kind, recipe_json) VALUES ('t', 'c', 'b', '{}')"
    )
    c.execute(correlation_insert)
    c.close()
    return db


def test_a_version_1_database_gains_ground_truths_and_intervals(tmp_path):
    db = _old_database(
        tmp_path,
        1,
        "INSERT INTO correlations(run_id, suite, dataset, score, n, "
        "weighted_tau) VALUES (1, 'offline', 'digits', 'logme', 5, 0.25)",
    )
    with Store(db) as s:
        assert s.version == SCHEMA_VERSION == 3
        (old,) = s.correlations()
        assert old["ground_truth"] == "headline" and old["weighted_tau"] == 0.25
        assert old["tau_low"] is None
        s.record_correlations(
            1,
            "offline",
            [
                {
                    "dataset": "digits",
                    "score": "logme",
                    "n": 5,
                    "weighted_tau": 0.5,
                    "tau_low": 0.1,
                    "tau_high": 0.8,
                    "ground_truth": "linear",
                }
            ],
        )
        rows = {r["ground_truth"]: r for r in s.correlations()}
        assert rows["headline"]["weighted_tau"] == 0.25  # a second ground truth is its own row
        assert (rows["linear"]["tau_low"], rows["linear"]["tau_high"]) == (0.1, 0.8)


def test_a_version_2_database_gains_tau_summaries_latest_per_score(tmp_path):
    db = _old_database(
        tmp_path,
        2,
        "INSERT INTO correlations(run_id, suite, ground_truth, "
        "dataset, score, n, weighted_tau) VALUES (1, 'fm', 'headline', 'digits', "
        "'logme', 5, 0.25)",
    )
    with Store(db) as s:
        assert s.version == 3 and s.count("tau_summaries") == 0
        assert s.correlations()[0]["weighted_tau"] == 0.25
        row = {
            "ground_truth": "headline",
            "score": "logme",
            "n_datasets": 4,
            "mean_tau": 0.3,
            "tau_low": 0.1,
            "tau_high": float("nan"),
            "verdict": "does not beat",
            "baseline": "param-count",
            "baseline_tau": 0.6,
        }
        s.record_tau_summaries(1, "fm", [row, dict(row, score="sfda", mean_tau=None)])
        s.record_tau_summaries(1, "fm", [dict(row, mean_tau=0.35)])
        got = {r["score"]: r for r in s.tau_summaries("fm")}
        assert got["logme"]["mean_tau"] == 0.35  # the latest row per suite x truth x score
        assert got["logme"]["tau_high"] is None and got["sfda"]["mean_tau"] is None
        assert (got["logme"]["baseline"], got["logme"]["baseline_tau"]) == ("param-count", 0.6)
        assert s.tau_summaries("other") == []
        with pytest.raises(ConfigError, match="needs 'ground_truth' and 'score'"):
            s.record_tau_summaries(1, "fm", [{"score": "x"}])


def test_a_backbone_the_primary_score_left_unranked_is_stored_without_a_rank(tmp_path):
    # the fmnist-zoo benchmark's case: θ is undefined for the two depth-2 networks, so their rows
    # carry rank None (Ranking.to_dict), which once failed the whole run at the very end
    rk = make_ranking("digits", ["a", "b", "c"], unavailable={("c", "logme"): "too few layers"})
    rk["ranking"][2]["rank"] = None
    legacy = make_ranking("digits", ["d", "e"], seed=2)
    for row in legacy["ranking"]:
        del row["rank"]  # written before rows had ranks: their position stands in
    with Store(tmp_path / "r.sqlite") as s:
        run = s.record_ranking(rk, "score")
        old = s.record_ranking(legacy, "score")
    import sqlite3

    con = sqlite3.connect(tmp_path / "r.sqlite")
    got = dict(con.execute("SELECT model, rank FROM run_models WHERE run_id = ?", (run,)))
    assert got == {"a": 1, "b": 2, "c": None}
    assert dict(con.execute("SELECT model, rank FROM run_models WHERE run_id = ?", (old,))) == {
        legacy["ranking"][0]["model"]: 1,
        legacy["ranking"][1]["model"]: 2,
    }
    bad = make_ranking("digits", ["a"])
    bad["ranking"][0]["rank"] = "first"
    with (
        Store(tmp_path / "r.sqlite") as s,
        pytest.raises(ConfigError, match="must be a whole number"),
    ):
        s.record_ranking(bad, "score")
