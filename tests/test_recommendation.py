"""The recommendation line: which backbone, its margin, and how stable the choice is."""

import numpy as np
import pytest

from modelrank.data import load_target
from modelrank.ranking import ScoreOptions, rank
from modelrank.recommendation import _first_share, recommend
from modelrank.zoo import parse_entry


def _entry(name, seed, size=32):
    return parse_entry(
        name,
        {
            "source": "torchvision",
            "id": "resnet18",
            "weights": "random",
            "seed": seed,
            "preprocess": {"size": size, "resize": size},
        },
    )


def test_ties_at_the_top_are_shared():
    assert _first_share({"a": 2.0, "b": 1.0}, "a") == 1.0
    assert _first_share({"a": 2.0, "b": 2.0, "c": 2.0}, "b") == pytest.approx(1 / 3)
    assert _first_share({"a": 2.0, "b": 1.0}, "b") == 0.0 == _first_share({"a": 1.0}, "z")


def test_twins_share_the_first_place_and_a_dominant_backbone_keeps_it(tmp_path):
    data = load_target("digits", per_class=12)
    twins = {"twin-a": _entry("twin-a", 1), "twin-b": _entry("twin-b", 1)}
    r = rank(
        data,
        zoo=twins,
        models="all",
        metrics=["logme", "knn"],
        seed=3,
        stability=20,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    rec = recommend(r)
    assert rec.margin == 0.0 and rec.stability == pytest.approx(0.5) and rec.replicates == 20
    assert rec.agreement == pytest.approx(0.5)  # knn ties too: half of its first place
    # from the journal this time (no unit runs): the same half-samples, the same answer
    again = rank(
        data,
        zoo=twins,
        models="all",
        metrics=["logme", "knn"],
        seed=3,
        stability=20,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert all(row.info.get("from_journal") for row in again.rows)
    assert recommend(again) == rec


def test_the_scoring_units_half_samples_are_those_of_the_cached_embeddings(tmp_path):
    """The half-samples computed inside the scoring units equal those recomputed afterwards
    from the embedding cache (bootstrap_target, the benchmark's path): same images, same seed,
    same pool combination (NCTI is pool-dependent)."""
    from modelrank.half_samples import bootstrap_target
    from modelrank.metrics import get_metric

    data = load_target("digits", per_class=12)
    zoo = {"a": _entry("a", 1), "b": _entry("b", 2), "c": _entry("c", 3)}
    for primary in ("knn", "ncti"):
        r = rank(
            data,
            zoo=zoo,
            models="all",
            metrics=[primary],
            seed=5,
            stability=15,
            options=ScoreOptions(cache_dir=tmp_path),
        )
        cached = bootstrap_target(
            list(zoo.values()),
            data,
            [get_metric(primary)],
            replicates=15,
            seed=5,
            cache_dir=tmp_path,
        )
        assert len(r.half_samples) == 15 and r.half_samples == cached


def test_without_half_samples_there_is_no_stability_and_no_cache_is_needed(tmp_path):
    data = load_target("digits", per_class=12)
    zoo = {"a": _entry("a", 1), "b": _entry("b", 2)}
    r = rank(data, zoo=zoo, models="all", metrics=["knn"], options=ScoreOptions(use_cache=False))
    assert r.half_samples == [] and recommend(r).stability is None
    r = rank(
        data,
        zoo=zoo,
        models="all",
        metrics=["knn"],
        stability=10,
        options=ScoreOptions(use_cache=False),
    )  # computed in the units: no cache read
    assert recommend(r).replicates == 10


def test_a_backbone_that_separates_the_classes_stays_first_in_every_half_sample():
    from modelrank.benchmark_stats import bootstrap_scores
    from modelrank.metrics import get_metric
    from modelrank.metrics.registry import MetricInputs
    from modelrank.recommendation import first_place_share

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    separable = MetricInputs(features=rng.normal(size=(40, 8)) * 0.1 + np.eye(8)[y] * 5, labels=y)
    noise = MetricInputs(features=rng.normal(size=(40, 8)), labels=y)
    tables = bootstrap_scores(
        [get_metric("knn")], {"good": separable, "noise": noise}, replicates=25, seed=1
    )
    assert first_place_share(tables, "knn", "good") == 1.0
    assert first_place_share(tables, "knn", "noise") == 0.0
    assert first_place_share([], "knn", "good") is None
    from modelrank.recommendation import first_place_shares

    assert first_place_shares(tables, "knn", ["good", "noise"]) == {"good": 1.0, "noise": 0.0}
    tied = [{"knn": {"a": 1.0, "b": 1.0, "c": 0.0}}, {"knn": {"a": 0.5, "c": 0.9}}]
    assert first_place_shares(tied, "knn", ["a", "b", "c"]) == pytest.approx(
        {"a": 0.25, "b": 0.25, "c": 0.5}
    )  # a tie shares the place; a missing score is no place
    assert first_place_shares([], "knn", ["a"]) is None


def test_a_negative_stability_is_refused_before_any_work(cli, tmp_path):
    rc, out, err = cli("score", "--stability", "-1", "--db", str(tmp_path / "r.db"))
    assert rc == 1 and "--stability must be a whole number of at least 0, got -1" in err
    assert "Traceback" not in err


def test_pick_backbone_is_the_name_with_its_confidence_and_ranking(tmp_path):
    from modelrank.errors import ConfigError
    from modelrank.pick import Pick, pick_backbone

    data = load_target("digits", per_class=12)
    twins = {"twin-a": _entry("twin-a", 1), "twin-b": _entry("twin-b", 1)}
    pick = pick_backbone(
        data,
        candidates="all",
        metric="logme",
        zoo=twins,
        stability=20,
        seed=3,
        options=ScoreOptions(cache_dir=tmp_path),
    )
    assert isinstance(pick, Pick) and isinstance(pick, str) and pick in twins
    assert pick == pick.ranking.best() and pick.ranking.primary == "logme"
    # the same answer as recommend() on that ranking: two identical backbones share first place
    rec = recommend(pick.ranking)
    assert (
        pick.recommendation == rec and pick.stability == pytest.approx(0.5) and pick.margin == 0.0
    )
    assert "stability=0.5" in repr(pick)
    # twins are the textbook inconclusive case: both plausible, neither a clear pick
    assert pick.conclusive is False and set(pick.plausible) == set(twins)
    assert "conclusive=False" in repr(pick)
    assert (
        pick_backbone(
            data,
            candidates="all",
            metric="logme",
            zoo=twins,
            stability=0,
            options=ScoreOptions(cache_dir=tmp_path),
        ).stability
        is None
    )
    with pytest.raises(ConfigError, match="stability must be a whole number"):
        pick_backbone(data, candidates="all", zoo=twins, stability=-2)


def test_a_ranking_as_a_dataframe_holds_its_raw_values_in_order(tmp_path):
    pd = pytest.importorskip("pandas")
    data = load_target("digits", per_class=12)
    zoo = {"a": _entry("a", 1), "b": _entry("b", 2)}
    r = rank(
        data,
        zoo=zoo,
        models="all",
        metrics=["knn", "betti-cubical", "imagenet-top1"],
        options=ScoreOptions(cache_dir=tmp_path),
    )
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.index) == [row.model for row in r.rows]
    assert list(df.columns) == ["rank", "knn", "betti-cubical", "imagenet-top1"]
    assert list(df["rank"]) == [1, 2]
    for row in r.rows:
        assert df.loc[row.model, "knn"] == row.raw["knn"]
        assert df.loc[row.model, "betti-cubical"] == row.raw["betti-cubical"]
    assert all("imagenet-top1" in row.unavailable for row in r.rows)
    assert df["imagenet-top1"].isna().all()  # random weights have no ImageNet top-1: NaN


def _ranking(primary, values, others=None):
    from modelrank.ranking import Ranking, RankRow

    rows = []
    for m, v in values.items():
        row = RankRow(m, scores={primary: v}, raw={primary: v})
        for name, col in (others or {}).items():
            if m in col:
                row.scores[name] = row.raw[name] = col[m]
        rows.append(row)
    rows.sort(key=lambda r: -r.scores[primary])
    return Ranking([primary, *(others or {})], primary, rows, [], {"data": {}})


def test_equal_values_share_a_rank_in_the_rows_the_table_and_the_json():
    r = _ranking("knn", {"a": 1.0, "b": 1.0, "c": 0.5, "d": 0.5, "e": 0.25})
    assert [row.rank for row in r.rows] == [1, 1, 3, 3, 5] and r.tied_first() == ["a", "b"]
    assert [cells[0] for cells in r.table()[1]] == ["1", "1", "3", "3", "5"]
    assert [x["rank"] for x in r.to_dict()["ranking"]] == [1, 1, 3, 3, 5]
    assert r.to_csv().splitlines()[1].startswith("1,a")


def test_a_tie_at_the_top_names_every_tied_backbone_and_says_how_it_was_broken():
    """Issue 30, item 1: every backbone has k-NN 1.0; the other scores prefer b."""
    from modelrank.recommendation import TIE_RULE, break_tie

    r = _ranking(
        "knn",
        {"a": 1.0, "b": 1.0, "c": 1.0},
        {"logme": {"a": 0.1, "b": 0.9, "c": 0.5}, "gbc": {"a": -3.0, "b": -1.0, "c": -2.0}},
    )
    rec = recommend(r)
    assert rec.model == "b" and rec.tied == ("a", "b", "c") and rec.agreement == 1.0
    line = rec.line()
    assert line.startswith("Tied first by knn: a, b, c. Recommended: b, by " + TIE_RULE)
    assert "ahead of" not in line
    # other scores that do not separate them: said so, zoo order
    same = _ranking("knn", {"a": 1.0, "b": 1.0}, {"logme": {"a": 0.5, "b": 0.5}})
    assert break_tie(same, ["a", "b"]) == (
        "a",
        "zoo order: the other scores (logme) do not separate them either",
    )
    alone = _ranking("knn", {"a": 1.0, "b": 1.0})
    assert break_tie(alone, ["a", "b"])[1].startswith("zoo order: no other computed score")
    # no tie: the line as before
    clear = recommend(_ranking("knn", {"a": 1.0, "b": 0.5}))
    assert clear.tied == () and clear.line().startswith("Recommended: a (by knn, 0.5 ahead of b)")


def test_score_says_a_tie_and_names_every_tied_backbone(cli, tmp_path):
    (tmp_path / "z.yaml").write_text(
        "models:\n"
        "  twin-a: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}\n"
        "  twin-b: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}\n"
    )
    rc, out, err = cli(
        "score",
        "--zoo",
        str(tmp_path / "z.yaml"),
        "--models",
        "all",
        "--metric",
        "knn,logme",
        "--per-class",
        "5",
        "--stability",
        "0",
        "--cache-dir",
        str(tmp_path / "c"),
        "--db",
        str(tmp_path / "r.db"),
    )
    assert rc == 0, err
    text = out + err
    assert "Tied first by knn: twin-a, twin-b. Recommended: twin-a, by zoo order" in text
    assert "1 of 1 other scores also put it first (tied with others there)" in text
    ranks = [ln.split("│")[1].strip() for ln in out.splitlines() if "│ twin-" in ln]
    assert ranks == ["1", "1"]  # they share the first place in the table


def test_the_python_api_stores_its_runs_and_prints_progress_when_asked(tmp_path, capsys):
    """Issue 30, item 7: rank(store=) and evaluate(store=) reach the results database and the
    leaderboard; progress.to_stderr() prints plain lines."""
    from modelrank.finetuning import FinetuneConfig, evaluate
    from modelrank.leaderboard import build
    from modelrank.progress import to_stderr
    from modelrank.store import Store

    zoo = {"a": _entry("a", 1), "b": _entry("b", 2)}
    db = tmp_path / "r.sqlite"
    r = rank(
        "digits",
        zoo=zoo,
        models="all",
        metrics="knn",
        per_class=4,
        options=ScoreOptions(cache_dir=tmp_path / "c"),
        store=db,
        on_progress=to_stderr(every_s=60),
    )
    err = capsys.readouterr().err
    assert "[a] 40/40" in err and "[b] 40/40" in err  # each backbone's images, as plain lines
    ev = evaluate(
        "digits",
        zoo=zoo,
        models="a",
        per_class=5,
        store=db,
        cache_dir=tmp_path / "c",
        budget=FinetuneConfig(lrs=(0.05,), ws=(0.0,), steps=2, batch_size=8, retrain=False),
    )
    with Store(db) as s:
        assert {x["model"] for x in s.scores(dataset="digits")} == {"a", "b"}
        assert [x["accuracy"] for x in s.accuracies(dataset="digits")] == [ev.results[0].accuracy]
        board = build(s)
    assert {row["model"] for row in board.targets[0].rows} == {"a", "b"}
    assert (
        r.rows
        and not rank(
            "digits",
            zoo=zoo,
            models="all",
            metrics="knn",
            per_class=4,
            options=ScoreOptions(cache_dir=tmp_path / "c"),
        ).failed
    )


@pytest.mark.parametrize(
    "shares, expected",
    [
        ({"a": 1.0, "b": 0.0}, ("a",)),  # undisputed: the leader alone
        ({"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}, ("a", "b", "c")),  # .5, .8, .95 >= .9
        ({"a": 0.45, "b": 0.45, "c": 0.1}, ("a", "b")),  # .9 reached by the two
        ({"a": 0.8, "b": 0.1, "c": 0.1}, ("a", "b", "c")),  # c ties b, the last one taken
        ({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}, ("a", "b", "c", "d")),
    ],
)
def test_plausible_winners_are_the_fewest_that_take_nine_tenths_of_the_first_places(
    shares, expected
):
    from modelrank.recommendation import PLAUSIBLE_MASS, plausible_winners

    assert PLAUSIBLE_MASS == 0.9
    assert plausible_winners(shares) == expected


def test_a_clear_pick_needs_the_stated_stability_and_an_inconclusive_one_names_the_plausible():
    from modelrank.recommendation import CLEAR_STABILITY, Recommendation

    def rec(shares, per_class=30):
        from modelrank.recommendation import plausible_winners

        best = max(shares, key=shares.get)
        others = sorted((m for m in shares if m != best))
        return Recommendation(
            best,
            "knn",
            others[0],
            0.05,
            shares[best],
            50,
            0.5,
            2,
            agree_first=1,
            shares=tuple(sorted(shares.items(), key=lambda kv: -kv[1])),
            plausible=plausible_winners(shares),
            conclusive=shares[best] >= CLEAR_STABILITY,
            per_class=per_class,
        )

    clear = rec({"lite0": CLEAR_STABILITY, "lite1": 1 - CLEAR_STABILITY})
    assert clear.line().startswith(
        f"Recommended: lite0 (by knn, 0.05 ahead of lite1); a clear pick: first in "
        f"{100 * CLEAR_STABILITY:.0f} % of 50 half-samples of the images; 1 of 2 other scores"
    )
    # the case of the issue: three backbones, the leader first in a quarter of the half-samples
    vague = rec({"lite1": 0.40, "lite0": 0.35, "lite2": 0.25})
    assert vague.line() == (
        "Inconclusive by knn: lite1, lite0 and lite2 each come first in 25–40 % of 50 "
        f"half-samples of the images (a clear pick needs {100 * CLEAR_STABILITY:.0f} %); on all of "
        "them lite1 leads, 0.05 ahead of lite0; 1 of 2 other scores also put it first; score more "
        "images per class to separate them (now 30; e.g. --per-class 60)."
    )
    every = rec({"a": 0.6, "b": 0.4}, per_class=None)
    assert every.line().endswith(
        "every image was scored: only more images of the target can separate them."
    )


def test_a_leader_first_in_fewer_half_samples_than_chance_is_inconclusive():
    # the case: three backbones, the one ahead on all images first in 25 % of the
    # half-samples (chance is 33 %), the others more often: every one of them is plausible
    from modelrank.recommendation import Recommendation, plausible_winners

    shares = {"lite1": 0.25, "lite0": 0.40, "lite2": 0.35}
    rec = Recommendation(
        "lite1",
        "knn",
        "lite0",
        0.05556,
        0.25,
        50,
        0.0,
        2,
        shares=tuple(sorted(shares.items(), key=lambda kv: -kv[1])),
        plausible=plausible_winners(shares),
        conclusive=False,
        per_class=30,
    )
    assert rec.plausible == ("lite0", "lite2", "lite1")
    assert rec.line().startswith(
        "Inconclusive by knn: lite0, lite2 and lite1 each come first in 25–40 % of 50 half-samples "
        "of the images (a clear pick needs 95 %); on all of them lite1 leads, 0.05556 ahead of "
        "lite0; 0 of 2 other scores also put it first; score more images per class"
    )


def test_a_scoring_unit_journaled_before_half_samples_existed_reads_back(tmp_path):
    """Units in a user's journal from before the field: read back without it, as no half-samples
    (their key asked for none), instead of failing the whole ranking."""
    from modelrank.journal import Journal
    from modelrank.ranking_result import RankRow
    from modelrank.scoring import UnitScore

    unit = UnitScore("a", RankRow("a"), {"ncti": [1.0]})
    old_state = {k: v for k, v in unit.__dict__.items() if k != "half_samples"}
    old = UnitScore.__new__(UnitScore)
    old.__dict__.update(old_state)  # what unpickling an entry written before the field gives
    assert not hasattr(old, "half_samples")
    journal = Journal(tmp_path)
    journal.put("k" * 32, old)
    back = journal.get("k" * 32, expect=UnitScore)
    assert back.half_samples == [] and back.sub == {"ncti": [1.0]} and back.model == "a"
