"""Bad input, stale caches and broken outputs: each is a clear one-line error before any work,
or the documented behaviour, never a traceback, a retry loop or a silent wrong number."""

import math
import os

import numpy as np
import pytest

from modelrank.errors import ConfigError, MetricError
from modelrank.ranking import ScoreOptions


def one_line_error(code, stderr, message):
    assert code == 1, stderr
    assert message in stderr, stderr
    assert "Traceback" not in stderr and "failed 3 times" not in stderr and "retry" not in stderr


# ---------------------------------------------------------------- 3, 4: checked before any work


@pytest.mark.parametrize(
    "args,message",
    [
        (["--batch-size", "0"], "--batch-size must be a whole number of at least 1, got 0"),
        (["--device", "mps"], "device 'mps' is not supported"),
        (["--device", "meta"], "device 'meta' is not supported"),
        (["--eta", "nan"], "--eta (the cubical threshold) must be a finite number"),
        (["--eta", "inf"], "--eta (the cubical threshold) must be a finite number"),
        (["--seed", "-1"], "--seed must be a whole number of at least 0, got -1"),
        (["--models", ""], "models is empty"),
        (["--models", "hub"], "none of the 1 selected backbone(s) could be scored here"),
        (["--per-class", "100000000000000000000"], "--per-class must be a whole number from 1 to"),
    ],
)
def test_score_refuses_deterministic_bad_input_at_once(cli, tmp_path, tiny_zoo, args, message):
    base = [
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "tiny",
        "--per-class",
        "3",
        "--db",
        str(tmp_path / "r.sqlite"),
    ]
    code, _, stderr = cli(*base, *args, env_extra={"MODELRANK_CACHE": str(tmp_path / "c")})
    one_line_error(code, stderr, message)


def test_a_cache_path_that_is_a_file_is_refused(cli, tmp_path, tiny_zoo):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, stderr = cli(
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "tiny",
        "--per-class",
        "3",
        "--cache-dir",
        str(f),
        "--db",
        str(tmp_path / "r.sqlite"),
    )
    one_line_error(code, stderr, "is a file, not a directory")


def test_a_one_class_target_fails_before_any_forward_pass(tmp_path):
    from modelrank.data import TargetData
    from modelrank.ranking import rank

    one = TargetData("one", "train", [None] * 4, np.zeros(4, np.int64), ["only"])
    with pytest.raises(ConfigError, match="has 1 class"):
        rank(one, models="offline", metrics=["knn"], options=ScoreOptions(cache_dir=tmp_path))


def test_a_weights_file_that_is_not_a_state_dict_is_named(tmp_path):
    from modelrank.loaders import build_backbone
    from modelrank.zoo import parse_entry

    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"this is not a torch file")
    entry = parse_entry(
        "mine", {"source": "file", "id": "torchvision:resnet18", "weights": str(bad)}
    )
    with pytest.raises(
        ConfigError,
        match=r"zoo entry 'mine': weights file .*weights\.pth.* is "
        r"not a torch state dict",
    ):
        build_backbone(entry)


@pytest.mark.parametrize(
    "text,message",
    [
        ("models:\n  a: {source: timm, id: x}\n  a: {source: timm, id: y}\n", "'a' appears twice"),
        ("models:\n  a: {source: timm, id: x, tags: offline}\n", "tags must be a list"),
        ("models:\n  a: {source: timm, id: x, seed: two}\n", "seed must be a whole number"),
        (
            "models:\n  a: {source: timm, id: x, preprocess: {size: big}}\n",
            "preprocess size must be",
        ),
        (
            "models:\n  a: {source: timm, id: x, preprocess: {mean: [0.5, 0.5]}}\n",
            "preprocess mean must be 3 numbers",
        ),
        ("models: {}\n", "lists no models"),
        (
            "models:\n  a: {source: file, id: 'timm:x', weights: /no/such/file.pth}\n",
            "zoo entry 'a': weights file '/no/such/file.pth' does not exist",
        ),
        ("- just\n- a list\n", "must have a top-level 'models' mapping"),
    ],
)
def test_malformed_tiny_zoos_are_config_errors_naming_the_entry(tmp_path, text, message):
    from modelrank.zoo import load_zoo

    p = tmp_path / "zoo.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_zoo(p)


def test_a_tiny_zoo_that_is_not_utf8_is_a_config_error(tmp_path):
    from modelrank.zoo import load_zoo

    p = tmp_path / "zoo.yaml"
    p.write_bytes("models:\n  caf\xe9: {source: timm, id: x}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_zoo(p)


@pytest.mark.parametrize(
    "text,message",
    [
        ("[1, 2]\n", "must be a mapping"),
        ("name: x\n", "missing a field"),
        ("name: x\nname: y\n", "appears twice"),
    ],
)
def test_malformed_suite_files_are_config_errors(tmp_path, text, message):
    from modelrank.benchmark import load_suite

    p = tmp_path / "suite.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_suite(str(p))


# ---------------------------------------------------------------- 2: caches


def test_a_damaged_done_file_or_journal_entry_is_recomputed(tmp_path, tiny_zoo):
    from modelrank.ranking import rank

    kw = dict(
        zoo=tiny_zoo,
        models="r18a",
        metrics=["knn"],
        per_class=3,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    first = rank("digits", **kw)
    done = sorted(tmp_path.rglob("done.npz"))
    units = sorted((tmp_path / "units").rglob("*.pkl"))
    assert done and units
    done[0].write_bytes(done[0].read_bytes()[:40])  # cut short
    units[0].write_bytes(b"garbage, not a pickle")
    again = rank("digits", **kw)
    assert again.rows[0].raw == first.rows[0].raw
    units[0].write_bytes(b"")  # empty
    done[0].write_bytes(b"")
    assert rank("digits", **kw).rows[0].raw == first.rows[0].raw
    assert not list(tmp_path.rglob(".tmp*"))


def test_a_changed_image_folder_or_weights_file_changes_the_cache_key(tmp_path):
    from PIL import Image

    from modelrank.data import load_target
    from modelrank.zoo import parse_entry

    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / "imgs" / c / f"{i}.png")
    before = load_target(str(tmp_path / "imgs"), split="all").fingerprint()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(tmp_path / "imgs" / "a" / "0.png")
    os.utime(tmp_path / "imgs" / "a" / "0.png", ns=(1, 1))
    assert load_target(str(tmp_path / "imgs"), split="all").fingerprint() != before

    w = tmp_path / "w.pth"
    w.write_bytes(b"1")
    entry = parse_entry("m", {"source": "file", "id": "timm:x", "weights": str(w)})
    r1 = entry.recipe()
    w.write_bytes(b"22")
    assert entry.recipe() != r1


def test_a_full_disk_is_a_one_line_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno

    from modelrank.probe import ChunkStore

    store = ChunkStore(tmp_path, "abcdef", {})

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(ConfigError, match="No space left on device"):
        store.finish({"x": np.zeros(3)})
    assert not list(tmp_path.rglob(".tmp*")) and not store.done_path.exists()


# ---------------------------------------------------------------- 5, 6: outputs and database


def test_outputs_are_checked_before_the_work(cli, tmp_path, tiny_zoo):
    base = ["score", "--zoo", str(tiny_zoo), "--models", "tiny", "--per-class", "3"]
    env = {"MODELRANK_CACHE": str(tmp_path / "c")}
    code, _, stderr = cli(
        *base,
        "--output",
        str(tmp_path / "r.txt"),
        "--db",
        str(tmp_path / "r.sqlite"),
        env_extra=env,
    )
    one_line_error(code, stderr, "--output must end in .json, .csv or .md")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "r.sqlite").write_bytes(b"")
    os.chmod(ro / "r.sqlite", 0o444)
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write read-only files (root)")
        code, _, stderr = cli(*base, "--db", str(ro / "r.sqlite"), env_extra=env)
        one_line_error(code, stderr, "is read-only here")
    finally:
        os.chmod(ro, 0o755)
    assert not (tmp_path / "c").exists()  # no forward pass, nothing cached


def test_a_corrupted_database_is_refused_and_left_untouched(tmp_path):
    from modelrank.store import Store

    p = tmp_path / "r.sqlite"
    with Store(p) as s:
        s.conn.execute("CREATE TABLE filler (x BLOB)")
        s.conn.executemany(
            "INSERT INTO filler VALUES (?)", [(os.urandom(3000),) for _ in range(50)]
        )
    data = bytearray(p.read_bytes())
    data[5000:9000] = os.urandom(4000)  # clobber pages in the middle
    p.write_bytes(bytes(data))
    for wal in tmp_path.glob("r.sqlite-*"):
        wal.unlink()
    with pytest.raises(ConfigError, match="damaged|not a usable modelrank results database"):
        Store(p)
    assert p.read_bytes() == bytes(data)


def test_leaderboard_reads_a_database_in_a_read_only_directory(cli, tmp_path):
    from modelrank.store import Store

    d = tmp_path / "shared"
    d.mkdir()
    with Store(d / "r.sqlite"):
        pass
    for extra in d.glob("r.sqlite-*"):
        extra.unlink()
    os.chmod(d, 0o555)
    try:
        code, stdout, stderr = cli("leaderboard", "--db", str(d / "r.sqlite"))
    finally:
        os.chmod(d, 0o755)
    assert code == 0 and "Traceback" not in stderr, stderr


# ---------------------------------------------------------------- 9: library calls


def test_correlate_refuses_negative_or_all_zero_accuracies():
    from modelrank.correlation import correlate

    scores = {"a": 1.0, "b": 2.0, "c": 3.0}
    with pytest.raises(MetricError, match="'b' has -3.0"):
        correlate(scores, {"a": 50.0, "b": -3.0, "c": 70.0})
    with pytest.raises(MetricError, match="every accuracy is 0"):
        correlate(scores, {"a": 0.0, "b": 0.0, "c": 0.0})
    with pytest.raises(MetricError, match="'a' has nan"):
        correlate(scores, {"a": math.nan, "b": 1.0, "c": 2.0})
    assert correlate(scores, {"a": 1.0, "b": 2.0, "c": 3.0})["kendall_tau"] == pytest.approx(1.0)


def test_pick_backbone_says_why_no_backbone_was_scored(tmp_path, tiny_zoo):
    from modelrank.pick import pick_backbone

    with pytest.raises(MetricError, match=r"no backbone has a knn score: hubonly skipped \("):
        pick_backbone(
            "digits",
            zoo=tiny_zoo,
            candidates="hub",
            metric="knn",
            per_class=3,
            options=ScoreOptions(cache_dir=tmp_path),
        )


@pytest.mark.parametrize(
    "field,value",
    [
        ("steps", 0),
        ("batch_size", -1),
        ("lrs", ()),
        ("lrs", (0.1, float("nan"))),
        ("ws", (-1e-4,)),
        ("image_size", 0),
        ("val_fraction", 1.0),
        ("seed", -2),
    ],
)
def test_finetune_config_validates_its_fields(field, value):
    from dataclasses import replace

    from modelrank.finetuning import CPU_BUDGET, FinetuneConfig

    with pytest.raises(ConfigError, match=rf"^(FinetuneConfig\.)?{field} must"):
        replace(CPU_BUDGET, **{field: value})
    with pytest.raises(ConfigError, match=rf"^(FinetuneConfig\.)?{field} must"):
        FinetuneConfig(**{field: value})


def test_plot_into_a_directory_writes_there_and_bad_plot_names_fail_first(cli, tmp_path, tiny_zoo):
    base = [
        "betti",
        "--zoo",
        str(tiny_zoo),
        "--model",
        "r18a",
        "--per-class",
        "3",
        "--db",
        str(tmp_path / "r.sqlite"),
    ]
    env = {"MODELRANK_CACHE": str(tmp_path / "c")}
    code, _, stderr = cli(*base, "--plot", str(tmp_path / "plot.txt"), env_extra=env)
    one_line_error(code, stderr, "--plot must end in .png, .pdf or .svg")
    assert not (tmp_path / "c").exists()
    plots = tmp_path / "plots"
    plots.mkdir()
    code, _, stderr = cli(*base, "--plot", str(plots), env_extra=env)
    assert code == 0, stderr
    assert (plots / "betti_r18a.png").stat().st_size > 1000
    assert f"wrote {plots / 'betti_r18a.png'}" in stderr.replace("\n", "")


def test_evaluate_and_benchmark_refuse_bad_options_before_work(cli, tmp_path):
    code, _, stderr = cli(
        "evaluate", "--dataset", "digits", "--image-size", "0", "--db", str(tmp_path / "r.sqlite")
    )
    one_line_error(code, stderr, "--image-size must be a whole number of at least 8, got 0")
    code, _, stderr = cli(
        "benchmark",
        "--suite",
        "offline",
        "--output",
        str(tmp_path / "t.csv"),
        "--db",
        str(tmp_path / "r.sqlite"),
    )
    one_line_error(code, stderr, "--output must end in .md or .json")


def test_a_full_disk_under_the_database_says_so_and_stores_nothing(tmp_path):
    """SQLite reports a full disk as SQLITE_FULL; the message must say that, not 'not a usable
    database'. Simulated by capping the file at its current number of pages."""
    from modelrank.store import Store

    p = tmp_path / "r.sqlite"
    with Store(p) as s:
        s.conn.execute("CREATE TABLE filler (x BLOB)")
        pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
        s.conn.execute(f"PRAGMA max_page_count = {pages}")  # every further page: "disk is full"
        before = s.count("runs")
        with pytest.raises(
            ConfigError, match="no space left on the device of the results database"
        ):
            with s.transaction() as c:
                c.execute("INSERT INTO filler VALUES (?)", (os.urandom(200_000),))
        assert s.count("runs") == before
        assert s.conn.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == 0


def test_evaluate_with_every_backbone_skipped_exits_non_zero(cli, tmp_path, tiny_zoo):
    code, _, stderr = cli(
        "evaluate",
        "--dataset",
        "digits",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "hub",
        "--per-class",
        "5",
        "--db",
        str(tmp_path / "r.sqlite"),
        env_extra={"MODELRANK_CACHE": str(tmp_path / "c")},
    )
    one_line_error(code, stderr, "none of the selected backbones could be evaluated here")
    assert "skipped hubonly" in stderr


def test_betti_of_a_tag_prints_each_backbone_under_its_own_name(cli, tmp_path, tiny_zoo):
    """Issue 30, item 4: a tag selecting two backbones gives two tables, each titled with its
    backbone, with the direction of each score; one plot file for two backbones is refused."""
    base = [
        "betti",
        "--zoo",
        str(tiny_zoo),
        "--model",
        "tiny",
        "--per-class",
        "3",
        "--db",
        str(tmp_path / "r.sqlite"),
    ]
    env = {"MODELRANK_CACHE": str(tmp_path / "c")}
    code, stdout, stderr = cli(*base, env_extra=env)
    assert code == 0, stderr
    assert (
        "r18a on digits" in stdout and "r18b on digits" in stdout and "tiny on digits" not in stdout
    )
    assert stdout.count("betti-cubical: ") == 2 and "(lower is better)" in stdout
    code, _, stderr = cli(*base, "--plot", str(tmp_path / "one.png"), env_extra=env)
    one_line_error(code, stderr, "--plot names one file, but 'tiny' selects 2 backbones")


@pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="needs a /proc, which refuses new entries"
)
def test_unwritable_data_database_and_plot_paths_are_one_line_errors(cli, tmp_path, tiny_zoo):
    """Issue 31, item 7: directories that pass the permission check but refuse a new entry."""
    code, _, stderr = cli(
        "score",
        "--dataset",
        "cifar10",
        "--per-class",
        "2",
        "--db",
        str(tmp_path / "r.sqlite"),
        env_extra={"MODELRANK_DATA": "/proc/modelrank-x/data"},
    )
    one_line_error(
        code,
        stderr,
        "the data directory (MODELRANK_DATA) '/proc/modelrank-x/data' cannot be created",
    )
    code, _, stderr = cli(
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "r18a",
        "--per-class",
        "2",
        env_extra={"MODELRANK_DB": "/proc/modelrank-x/r.sqlite"},
    )
    one_line_error(code, stderr, "results database '/proc/modelrank-x/r.sqlite' cannot be created")
    code, _, stderr = cli(
        "betti",
        "--zoo",
        str(tiny_zoo),
        "--model",
        "r18a",
        "--per-class",
        "2",
        "--plot",
        "/proc/modelrank-x/p.png",
        "--db",
        str(tmp_path / "r.sqlite"),
    )
    one_line_error(code, stderr, "--plot '/proc/modelrank-x/p.png' cannot be written")
