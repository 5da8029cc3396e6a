"""Transfer history from the results database and from files (modelrank/history_sources.py), the
history's part of the advice, and the published suite's history row: real evaluations stored and
read back, the target recognised by its images under another path, and the CLI offline."""

import json
from pathlib import Path

import numpy as np
import pytest

from modelrank.errors import ConfigError
from modelrank.finetuning import FinetuneConfig, evaluate
from modelrank.history import history_prior
from modelrank.history_sources import (
    history_from_file,
    history_from_store,
    load_history,
    prior_for,
)
from modelrank.zoo import parse_entry

REPO = Path(__file__).resolve().parents[1]
#: three random-weight networks that a linear probe separates quickly
ZOO = {
    n: parse_entry(
        n,
        dict(
            source="torchvision",
            id="resnet18",
            weights="random",
            seed=s,
            preprocess={"size": 32, "resize": 32},
        ),
    )
    for n, s in (("ra", 0), ("rb", 1), ("rc", 2))
}
TARGETS = ("digits[0-2]", "digits[3-5]", "digits[6-8]")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A results database with linear probes of the three networks on three targets, seeds 0
    and 1, and one more run on the first target with fewer images (another recipe, one
    backbone): {target: {model: [accuracy per seed]}} and the database path."""
    root = tmp_path_factory.mktemp("history")
    db = root / "r.db"
    per_seed = {}
    for t in TARGETS:
        for seed in (0, 1):
            ev = evaluate(
                t,
                zoo=ZOO,
                models="ra,rb,rc",
                protocol="linear",
                budget=FinetuneConfig(seed=seed),
                per_class=8,
                cache_dir=root,
                store=db,
            )
            for r in ev.results:
                per_seed.setdefault(t, {}).setdefault(r.model, []).append(r.accuracy)
    evaluate(
        TARGETS[0],
        zoo=ZOO,
        models="ra",
        protocol="linear",
        budget=FinetuneConfig(seed=5),
        per_class=4,
        cache_dir=root,
        store=db,
    )
    return per_seed, db, root


def test_the_database_history_averages_the_seeds_of_one_recipe_never_the_best_run(stored):
    from modelrank.data.content import test_split_digest

    per_seed, db, _ = stored
    h = history_from_store(db)
    assert set(h.accuracies) == set(TARGETS)
    for t in TARGETS:
        # the recipe with the most backbones (8 per class) is used: the mean of its 2 seeds
        assert h.accuracies[t] == pytest.approx({m: np.mean(v) for m, v in per_seed[t].items()})
        assert h.content[t] == test_split_digest(t)
        assert "linear, 8 images per class" in h.recipes[t] and "mean of 2 runs" in h.recipes[t]
    assert any(v[0] != v[1] for col in per_seed.values() for v in col.values())  # seeds differ


def test_a_database_with_one_target_gives_no_prior_with_the_reason(stored, tmp_path):
    from modelrank.store import Store

    _, _, root = stored
    one = tmp_path / "one.db"  # the same evaluation (read back from the journal), one target
    evaluate(
        TARGETS[0],
        zoo=ZOO,
        models="ra,rb,rc",
        protocol="linear",
        budget=FinetuneConfig(seed=0),
        per_class=8,
        cache_dir=root,
        store=one,
    )
    h = history_from_store(one)
    assert list(h.accuracies) == [TARGETS[0]]
    p = prior_for(h, TARGETS[1], ["ra", "rb", "rc"])
    assert p.prior == {} and "needs at least 2 other targets" in p.unavailable
    assert "the history has 1" in p.unavailable
    # its own target: left out, and said so
    own = prior_for(h, TARGETS[0], ["ra", "rb", "rc"])
    assert "the history has 0" in own.unavailable and TARGETS[0] in own.unavailable
    empty = tmp_path / "empty.db"
    Store(empty).close()
    assert "the history has 0" in prior_for(history_from_store(empty), "digits", ["ra"]).unavailable


def test_a_later_benchmark_replaces_an_earlier_one_of_the_same_suite(tmp_path):
    from modelrank.store import Store

    db = tmp_path / "b.db"
    with Store(db) as store:
        for accs in ({"x": 50.0, "y": 60.0}, {"x": 70.0, "y": 65.0}):
            run = store.record_run("modelrank benchmark", {"kind": "benchmark", "suite": "s"})
            for m, a in accs.items():
                store.record_evaluation(
                    run,
                    m,
                    "pets",
                    "linear",
                    {},
                    a,
                    "top1",
                    "test",
                    {"per_seed": [a - 1, a + 1], "test_content": "d1"},
                )
    h = history_from_store(db)
    assert h.accuracies == {"pets": {"x": 70.0, "y": 65.0}}  # the later run, not the best
    assert h.content == {"pets": "d1"} and h.recipes["pets"] == "linear, benchmark s"


def test_the_target_under_another_path_is_recognised_by_its_images(stored, tmp_path):
    """The same test images, written to a folder: the history's record of them is left out."""
    from modelrank.data import load_target

    _, db, _ = stored
    h = history_from_store(db)
    folder = tmp_path / "copy"
    for split in ("train", "test"):
        data = load_target(TARGETS[1], split=split)
        for i, (img, y) in enumerate(zip(data.images, data.labels)):
            d = folder / split / data.class_names[int(y)]
            d.mkdir(parents=True, exist_ok=True)
            img.save(d / f"{i}.png")
    p = prior_for(h, str(folder), ["ra", "rb", "rc"])
    assert p.excluded == (TARGETS[1],)
    assert set(p.used) == {TARGETS[0], TARGETS[2]}
    # by name alone it would have leaked in
    assert TARGETS[1] in history_prior(h.accuracies, str(folder), ["ra", "rb", "rc"]).used


def test_history_files_json_and_csv_read_the_same(tmp_path):
    doc = {"a": {"x": 70.0, "y": 80.0, "z": 90.0}, "b": {"x": 60.0, "y": 50.0, "z": 55.0}}
    (tmp_path / "h.json").write_text(json.dumps(doc))
    rows = ["target,backbone,accuracy"] + [
        f"{t},{m},{a}" for t, col in doc.items() for m, a in col.items()
    ]
    rows.append("a,x,72.0")  # a repeated pair is averaged
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n")
    assert history_from_file(tmp_path / "h.json").accuracies == doc
    got = history_from_file(tmp_path / "h.csv").accuracies
    assert got["a"]["x"] == pytest.approx(71.0) and got["b"] == doc["b"]
    assert load_history(str(tmp_path / "h.json")).source.endswith("h.json")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad.csv", "model,acc\nx,1\n", "needs the columns target, backbone, accuracy"),
        (
            "bad2.csv",
            "target,backbone,accuracy\na,x,140\n",
            "line 2: an accuracy must be a percentage",
        ),
        ("bad.json", "[1, 2]", "must map each target"),
        ("bad2.json", "{", "is not valid JSON"),
        ("missing.json", None, "cannot be read"),
    ],
)
def test_bad_history_files_are_one_line_errors(tmp_path, name, text, message):
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        history_from_file(tmp_path / name)


def test_unknown_sources_and_missing_databases_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="use published, published:GROUP, db"):
        load_history("yesterday")
    with pytest.raises(ConfigError, match="no results database"):
        load_history(f"db:{tmp_path / 'none.db'}")
    assert load_history("published").accuracies["cifar10"]["resnet50"] > 0


def test_the_advice_says_what_it_rests_on_and_who_the_history_favours():
    from modelrank.history_advice import STUDY_RESULT, history_advice

    hist = {
        "a": {"x": 90.0, "y": 80.0, "z": 70.0},
        "b": {"x": 85.0, "y": 88.0, "z": 60.0},
        "c": {"x": 70.0, "y": 75.0, "z": 72.0},
    }
    p = history_prior(hist, "new", ["x", "y", "z", "w"])
    adv = history_advice(p, hist, source="a file", score_pick="y")
    # by hand: z-scores a (1.22, 0, -1.22), b (0.58, 0.82, -1.41), c (-1.14, 1.30, -0.16):
    # prior x 0.22, y 0.71, z -0.93; y has the best accuracy on b and c
    assert adv.leader == "y" and adv.runner_up == "x" and adv.first_on == 2
    assert p.prior == pytest.approx({"x": 0.2232, "y": 0.7070, "z": -0.9302}, abs=2e-3)
    assert adv.margin == pytest.approx(p.prior["y"] - p.prior["x"])
    lines = adv.lines()
    assert lines[0].startswith("History (a file, 3 other targets): y is first by the prior")
    assert "agree" in lines[1] and STUDY_RESULT in lines[1]
    assert lines[-1] == "No history for: w (not imputed)."
    assert adv.evidence == "the target's scores, the history prior beside them"
    none = history_advice(
        history_prior({"a": hist["a"]}, "new", ["x", "y", "z"]),
        hist,
        source="a file",
        score_pick="y",
    )
    assert none.evidence.endswith("(no history prior)") and "needs at least 2" in none.lines()[0]


def test_the_published_suite_shows_the_history_prior_offline(monkeypatch, tmp_path):
    """sfda-group1 with no image: the history prior is computed from the published table."""
    from modelrank.benchmark import load_suite, run_benchmark

    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    suite = load_suite("sfda-group1")
    res = run_benchmark(suite, metrics="imagenet-top1")
    assert res.targets == [] and len(res.history_tau) == 11
    assert np.mean(list(res.history_tau.values())) == pytest.approx(
        0.8257, abs=5e-4
    )  # test_history
    text = res.to_markdown(suite.published)
    assert "| history prior | 0.480 | 0.826 |" in text  # flowers102 and the mean, beside SFDA's
    assert res.to_dict()["history_tau"] == res.history_tau


def test_the_readme_history_example_runs_offline(tmp_path, monkeypatch, capsys):
    """README's `score --history` command, as written, from the repository root."""
    import shlex

    from modelrank.cli import main

    line = next(
        s
        for s in (REPO / "README.md").read_text().splitlines()
        if s.startswith("modelrank score") and "--history examples/" in s
    )
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("MODELRANK_DB", str(tmp_path / "r.db"))
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    assert main(shlex.split(line)[1:]) == 0
    text = capsys.readouterr().out
    assert "History (the file examples/history_efficientnet_lite.json, 3 other targets)" in text
    assert "rank by prior" in text  # the prior beside the score, as a table
    assert "Left out as this target itself: digits." in text


def test_pick_backbone_takes_a_history_and_says_what_the_pick_rests_on(tmp_path):
    from modelrank.errors import ParameterError
    from modelrank.pick import pick_backbone
    from modelrank.ranking import ScoreOptions

    hist = {
        "a": {"ra": 50.0, "rb": 70.0, "rc": 60.0},
        "b": {"ra": 40.0, "rb": 45.0, "rc": 44.0},
        "digits[0-2]": {"ra": 99.0, "rb": 1.0, "rc": 2.0},
    }  # the target itself: left out
    path = tmp_path / "h.json"
    path.write_text(json.dumps(hist))
    opts = ScoreOptions(cache_dir=tmp_path / "cache")
    pick = pick_backbone(
        "digits[0-2]",
        candidates="ra,rb,rc",
        zoo=ZOO,
        per_class=10,
        stability=5,
        options=opts,
        history=str(path),
    )
    assert pick.history.leader == "rb" and pick.history.prior.excluded == ("digits[0-2]",)
    assert pick.history.score_pick == str(pick)
    assert pick.evidence == "the target's scores, the history prior beside them"
    plain = pick_backbone(
        "digits[0-2]", candidates="ra,rb,rc", zoo=ZOO, per_class=10, stability=5, options=opts
    )
    assert plain.history is None and plain.evidence == "the target's scores"
    assert str(plain) == str(pick)  # the history does not move the pick (not fused)
    with pytest.raises(ParameterError, match="history"):
        pick_backbone(
            "digits[0-2]", candidates="ra,rb,rc", zoo=ZOO, per_class=10, options=opts, history=3.5
        )


def test_score_refuses_a_bad_history_source_in_one_line_before_scoring(
    capsys, tmp_path, monkeypatch
):
    from modelrank.cli import main

    monkeypatch.setenv("MODELRANK_DB", str(tmp_path / "r.db"))
    assert main(["score", "--dataset", "digits", "--history", "yesterday"]) == 1
    err = capsys.readouterr().err
    assert "history source 'yesterday'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
