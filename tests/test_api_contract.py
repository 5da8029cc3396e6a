"""The public surface, pinned: which names the package exports, that they are the real functions
(so ``help()`` shows their signatures), and that every option after the data argument is
keyword-only. A change here is an API break and belongs in CHANGELOG.md."""

import inspect

import modelrank
from modelrank import correlation, finetuning, probe, ranking

KW = inspect.Parameter.KEYWORD_ONLY

#: function -> the parameters that may be passed by position, in order
POSITIONAL = {
    ranking.rank: ["dataset"],
    ranking.rank_targets: ["targets"],
    ranking.pick_backbone: ["dataset"],
    finetuning.evaluate: ["dataset"],
    finetuning.evaluate_targets: ["targets"],
    probe.probe: ["bb", "data"],
    correlation.correlate: ["scores", "accuracies"],
}


def test_the_package_exports_the_real_functions():
    assert set(modelrank.__all__) == {"ModelrankError", "__version__", "correlate", "evaluate",
                                      "pick_backbone", "rank"}
    assert modelrank.rank is ranking.rank
    assert modelrank.pick_backbone is ranking.pick_backbone
    assert modelrank.evaluate is finetuning.evaluate
    assert modelrank.correlate is correlation.correlate
    assert "rank" in dir(modelrank)
    assert inspect.signature(modelrank.rank).parameters["betti_engine"].default == "auto"


def test_options_after_the_data_argument_are_keyword_only():
    for fn, positional in POSITIONAL.items():
        params = list(inspect.signature(fn).parameters.values())
        by_position = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        assert by_position == positional, fn.__qualname__
        rest = [p for p in params if p.name not in positional and p.kind != p.VAR_KEYWORD]
        assert all(p.kind == KW for p in rest), fn.__qualname__
        assert fn.__doc__, fn.__qualname__


def test_result_types():
    hints = {fn: inspect.signature(fn).return_annotation for fn in POSITIONAL}
    assert hints[ranking.rank] in ("Ranking", ranking.Ranking)
    assert hints[ranking.rank_targets] in ("list[Ranking]",)
    assert hints[probe.probe] in ("Embeddings", probe.Embeddings)
    assert hints[correlation.correlate] in ("dict[str, float]",)
