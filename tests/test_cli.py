"""The command line: the main job end to end, listings, and one-line errors for bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelrank.ranking import ScoreOptions


def test_score_ranks_a_user_zoo_skips_unreachable_weights_and_writes_outputs(
    cli, tmp_path, tiny_zoo
):
    out = tmp_path / "r.json"
    code, stdout, stderr = cli(
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "tiny,hub",
        "--per-class",
        "4",
        "--metric",
        "knn",
        "--output",
        str(out),
        env_extra={"MODELRANK_CACHE": str(tmp_path / "c")},
    )
    assert code == 0, stderr
    assert "r18a" in stdout and "r18b" in stdout
    assert "skipped hubonly" in stderr + stdout
    # stderr is a pipe here, not a terminal: progress comes as plain lines, one per backbone
    for model in ("r18a", "r18b"):
        assert re.search(rf"^\[ *[0-9.]+ min\] {model}: (\d+)/\1 done$", stderr, re.M), stderr
    doc = json.loads(out.read_text())
    best, second = doc["ranking"][0], doc["ranking"][1]
    margin = best["raw"]["knn"] - second["raw"]["knn"]
    # two random-weight twins on 4 images per class: the half-samples do not settle the order,
    # and the advice says so instead of naming a winner
    flat = " ".join(stdout.split())
    assert re.search(
        r"Inconclusive by knn: (r18a and r18b|r18b and r18a) each come first in "
        r"\d+–\d+ % of 50 "
        r"half-samples of the images \(a clear pick needs \d+ %\); on all of them "
        + re.escape(
            f"{best['model']} leads, {margin:.4g} ahead of {second['model']}; "
            "score more images per class to separate them (now 4; e.g. "
            "--per-class 8)."
        ),
        flat,
    ), flat
    assert [r["model"] for r in doc["ranking"]] == sorted(
        ["r18a", "r18b"],
        key=lambda m: -next(r["raw"]["knn"] for r in doc["ranking"] if r["model"] == m),
    )
    assert doc["recipe"]["data"]["per_class"] == 4 and doc["recipe"]["versions"]["torch"]
    assert doc["skipped"][0]["model"] == "hubonly"
    for fmt in ("csv", "md"):
        code, _, stderr = cli(
            "score",
            "--zoo",
            str(tiny_zoo),
            "--models",
            "r18a,r18b",
            "--per-class",
            "4",
            "--output",
            str(tmp_path / f"r.{fmt}"),
            env_extra={"MODELRANK_CACHE": str(tmp_path / "c")},
        )
        assert code == 0, stderr
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "rank,model,knn"
    assert "| rank | model | knn |" in (tmp_path / "r.md").read_text()


def test_score_caps_images_per_class_by_default_and_says_so(cli, tmp_path, tiny_zoo):
    env = {"MODELRANK_CACHE": str(tmp_path / "c")}
    base = (
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "r18a",
        "--metric",
        "knn",
        "--stability",
        "0",
    )
    code, stdout, stderr = cli(*base, "--output", str(tmp_path / "capped.json"), env_extra=env)
    assert code == 0, stderr
    assert "scored 50 images per class, the default cap" in stdout
    data = json.loads((tmp_path / "capped.json").read_text())["recipe"]["data"]
    assert (data["per_class"], data["n_images"]) == (50, 500)
    code, stdout, stderr = cli(
        *base, "--per-class", "all", "--output", str(tmp_path / "all.json"), env_extra=env
    )
    assert code == 0, stderr
    assert "default cap" not in stdout
    data = json.loads((tmp_path / "all.json").read_text())["recipe"]["data"]
    # every image of the train split: 2/3 of scikit-learn's 1,797, stratified
    assert (data["per_class"], data["n_images"]) == (None, 1198)


def test_main_job_on_the_packaged_lite_zoo_offline(tmp_path):
    """The README's first command, on fewer images: three real ImageNet backbones on digits."""
    import modelrank

    r = modelrank.rank(
        "digits",
        models="offline",
        metrics="knn",
        per_class=3,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert sorted(row.model for row in r.rows) == [f"efficientnet_lite{i}" for i in range(3)]
    assert all(0.1 < row.raw["knn"] <= 1.0 for row in r.rows)  # better than chance (0.1)
    assert r.rows[0].raw["knn"] >= r.rows[-1].raw["knn"]
    pick = modelrank.pick_backbone(
        "digits",
        candidates="offline",
        metric="knn",
        per_class=3,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert pick == r.best()
    assert all(
        not row.info["forward_pass"]
        for row in modelrank.rank(
            "digits", models="offline", per_class=3, options=ScoreOptions(cache_dir=tmp_path)
        ).rows
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["score", "--models", "resnet9000"], "unknown model or tag 'resnet9000'"),
        (["score", "--dataset", "no_such_set"], "unknown dataset 'no_such_set'"),
        (
            ["score", "--dataset", "flowers102", "--models", "efficientnet_lite0"],
            "flowers102 is not in",
        ),
        (["score", "--metric", "no_such_metric"], "unknown metric 'no_such_metric'"),
        (["score", "--zoo", "/no/zoo.yaml"], "does not exist"),
        (
            ["score", "--per-class", "0"],
            "--per-class must be a whole number of at least 1 or 'all', got '0'",
        ),
        (
            ["score", "--per-class", "abc"],
            "--per-class must be a whole number of at least 1 or 'all', got 'abc'",
        ),
        (["score", "--device", "tpu9"], "unknown device 'tpu9'"),
        (
            ["score", "--output", "x.xlsx", "--per-class", "2", "--models", "efficientnet_lite0"],
            "--output must end in",
        ),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(cli, tmp_path, args, message):
    code, stdout, stderr = cli(
        *args, env_extra={"MODELRANK_DATA": str(tmp_path), "MODELRANK_CACHE": str(tmp_path / "c")}
    )
    assert code != 0
    lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], stderr
    assert "Traceback" not in stderr


def test_folder_with_corrupt_image_warns_and_counts(cli, tmp_path, tiny_zoo):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / c / f"{i}.png"
            )
    (tmp_path / "imgs" / "a" / "broken.png").write_bytes(b"\x89PNG garbage")
    code, stdout, stderr = cli(
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "r18a",
        "--dataset",
        str(tmp_path / "imgs"),
        "--split",
        "all",
        env_extra={"MODELRANK_CACHE": str(tmp_path / "c")},
    )
    assert code == 0, stderr
    assert "skipped 1 unreadable image file" in stderr
    assert "6 images" in " ".join(stdout.split())


def test_folder_with_an_empty_class_is_one_line(cli, tmp_path, tiny_zoo):
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    (tmp_path / "imgs" / "b").mkdir(parents=True)
    code, _, stderr = cli(
        "score", "--zoo", str(tiny_zoo), "--models", "r18a", "--dataset", str(tmp_path / "imgs")
    )
    assert code == 1 and "class 'a' has no images" in stderr and "Traceback" not in stderr


def test_listings(cli):
    code, stdout, _ = cli("zoo", "list")
    assert code == 0 and "efficientnet_lite0" in stdout and "resnet152" in stdout
    code, stdout, _ = cli("datasets")
    assert code == 0 and "digits" in stdout and "flowers102" in stdout
    code, stdout, _ = cli("metrics")
    assert code == 0 and "knn" in stdout


def test_betti_engines_give_the_same_cubical_scores(cli, tmp_path, tiny_zoo):
    """`--betti-engine torch` counts with tensor ops (here on the CPU), `numpy` with scipy: the
    scores and the Betti counts saved beside the ranking are equal, and each row names its engine."""
    docs = {}
    for engine in ("numpy", "torch"):
        out = tmp_path / f"{engine}.json"
        code, _, stderr = cli(
            "score",
            "--zoo",
            str(tiny_zoo),
            "--models",
            "r18a,r18b",
            "--per-class",
            "3",
            "--metric",
            "betti-cubical,betti-cubical-auc",
            "--betti-engine",
            engine,
            "--output",
            str(out),
            "--stability",
            "0",
            env_extra={
                "MODELRANK_CACHE": str(tmp_path / engine),
                "MODELRANK_DB": str(tmp_path / "db"),
            },
        )
        assert code == 0, stderr
        docs[engine] = json.loads(out.read_text())
        assert {r["info"]["betti_engine"] for r in docs[engine]["ranking"]} == {engine}
        docs[engine]["betti"] = np.load(str(out) + ".betti.npz")
    raw = {e: [(r["model"], r["raw"]) for r in d["ranking"]] for e, d in docs.items()}
    assert raw["torch"] == raw["numpy"]
    for key in docs["numpy"]["betti"].files:
        np.testing.assert_array_equal(docs["torch"]["betti"][key], docs["numpy"]["betti"][key])


def test_score_with_every_metric_ranks_the_offline_zoo(cli, tmp_path):
    """`modelrank score --dataset digits --metric all` on the packaged Lite zoo, offline."""
    out = tmp_path / "all.json"
    code, stdout, stderr = cli(
        "score",
        "--dataset",
        "digits",
        "--per-class",
        "5",
        "--metric",
        "all",
        "--output",
        str(out),
        env_extra={"MODELRANK_CACHE": str(tmp_path / "c"), "MODELRANK_DB": str(tmp_path / "db")},
    )
    assert code == 0, stderr
    doc = json.loads(out.read_text())
    from modelrank.metrics import list_metrics

    names = {s.name for s in list_metrics()}
    assert set(doc["metrics"]) == names and len(doc["ranking"]) == 3
    for row in doc["ranking"]:
        # every score is either a number or unavailable with a reason, never silently missing
        assert set(row["raw"]) | set(row["unavailable"]) == names
        # 5 images per class and 1,280 dimensions: SFDA may be saturated and H-score is
        # (K - 1 for every backbone); said so, not printed as a number
        saturated = {m for m, why in row["unavailable"].items() if "saturated" in why}
        assert "hscore" in saturated and saturated <= {"sfda", "sfda-nolog", "hscore"}
        assert len(row["raw"]) + len(saturated) >= len(names) - 2, row["unavailable"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["score", "--bogus"], "No such option: --bogus"),
        (["nocmd"], "No such command 'nocmd'"),
        (["score", "extra"], "Got unexpected extra argument"),
        (["score", "--layout"], "Option '--layout' requires an argument"),
        (["evaluate", "--protocol"], "requires an argument"),
        # closed choices are typer Enums: anything else is a usage error that lists the choices
        (["score", "--betti-engine", "cupy"], "Invalid value for '--betti-engine'"),
        (
            ["score", "--layout", "cube"],
            "'cube' is not one of 'whc', 'channel-mean', 'per-channel'",
        ),
        (["evaluate", "--budget", "huge"], "Invalid value for '--budget'"),
        (["leaderboard", "--format", "pdf"], "Invalid value for '--format'"),
        (["score", "--executor", "dask"], "Invalid value for '--executor'"),
        (["study", "layers", "--dataset", "d4"], "Invalid value for '--dataset'"),
    ],
)
def test_usage_errors_are_clicks_usage_message_and_exit_2(cli, args, message):
    code, stdout, stderr = cli(*args)
    assert code == 2, (code, stderr)
    assert message in stderr and "Error: " in stderr
    assert "Traceback" not in stderr + stdout


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path):
    import os
    import signal
    import time

    env = dict(
        os.environ,
        MODELRANK_OFFLINE="1",
        MODELRANK_CACHE=str(tmp_path / "c"),
        MODELRANK_DB=str(tmp_path / "r.sqlite"),
    )
    err_file = tmp_path / "stderr.txt"
    with err_file.open("w") as err:
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelrank.cli",
                "score",
                "--dataset",
                "digits",
                "--models",
                "efficientnet_lite0",
                "--metric",
                "knn,betti-cubical",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
        # interrupt once the backbone is being probed (its progress line is out), not after a
        # fixed time that a loaded machine may not have reached
        deadline = time.monotonic() + 300
        while "efficientnet_lite0" not in err_file.read_text() and p.poll() is None:
            assert time.monotonic() < deadline, "no progress line within 300 s"
            time.sleep(0.1)
        assert p.poll() is None, err_file.read_text()
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=120)
    stderr = err_file.read_text()
    assert p.returncode == 130, stderr
    assert "interrupted;" in stderr and "re-run the command to resume" in stderr
    assert "Traceback" not in stderr


def test_version_and_flags_shown_as_flags(cli):
    """Issue 30, item 7: --version; a boolean flag is not shown as taking a <bool> value (typer's
    own --help line aside)."""
    from modelrank import __version__

    rc, out, _ = cli("--version")
    assert rc == 0 and out.strip() == f"modelrank {__version__}"
    for cmd in (
        ["score"],
        ["betti"],
        ["evaluate"],
        ["benchmark"],
        ["leaderboard"],
        ["zoo", "list"],
        ["zoo", "build"],
        ["study", "layers"],
        ["study", "barcode"],
        ["study", "invariance"],
    ):
        rc, out, _ = cli(*cmd, "--help")
        assert rc == 0
        shown = [ln for ln in out.splitlines() if "<bool>" in ln and "--help" not in ln]
        assert not shown, (cmd, shown)


def test_zoo_list_fits_80_columns_without_breaking_a_name(cli):
    from modelrank.zoo import load_zoo

    rc, out, err = cli("zoo", "list", env_extra={"COLUMNS": "80"})
    assert rc == 0, err
    lines = out.splitlines()
    assert all(len(ln) <= 80 for ln in lines), max(lines, key=len)
    for name in load_zoo(None):
        assert any(f"│ {name} " in ln for ln in lines), name  # whole, in its own cell
    assert "COLUMNS=" in out  # says how to see the columns left out


def test_tables_say_what_their_numbers_are(cli, tmp_path, tiny_zoo):
    """Issue 30, item 5: each score's meaning and direction from the registry, the images and
    resolution scored; `metrics` marks the scores README recommends first."""
    rc, out, err = cli(
        "score",
        "--zoo",
        str(tiny_zoo),
        "--models",
        "r18a,r18b",
        "--per-class",
        "4",
        "--metric",
        "knn,betti-cubical",
        "--stability",
        "0",
        "--cache-dir",
        str(tmp_path / "c"),
        "--db",
        str(tmp_path / "r.db"),
    )
    assert rc == 0, err
    assert "scored 40 train images (4 per class) at 32 px" in out
    assert "knn (higher is better): k-NN accuracy" in out
    assert "betti-cubical (lower is better): Suresh et al." in out
    rc, out, _ = cli("metrics")
    from modelrank.metrics.registry import RECOMMENDED_FIRST

    assert RECOMMENDED_FIRST == ("knn", "ncti")  # README's "Which score should I use?", in order
    assert rc == 0 and "knn *" in out and "ncti *" in out and "logme *" not in out
    assert "* try first: knn, ncti" in out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    advice = readme[readme.index("## Which score should I use?") :]
    assert "start with `knn`, and look at `ncti` beside it" in advice
