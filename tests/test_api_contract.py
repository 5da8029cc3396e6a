"""The public surface, pinned: which names the package exports, that they are the real functions
(so ``help()`` shows their signatures), that every option after the data argument is
keyword-only, the result types, the one options object, the one progress protocol, and that
errors name the parameter in the library and the flag on the command line. A change here is an
API break and belongs in CHANGELOG.md."""

import inspect

import pytest

import modelrank
from modelrank import benchmark, correlation, finetuning, pick, probe, ranking, trained_zoo
from modelrank.errors import ConfigError, ParameterError
from modelrank.studies import invariance, layers, loss_barcode, topology_study

KW = inspect.Parameter.KEYWORD_ONLY

#: function -> the parameters that may be passed by position, in order
POSITIONAL = {
    ranking.rank: ["dataset"],
    ranking.rank_targets: ["targets"],
    pick.pick_backbone: ["dataset"],
    finetuning.evaluate: ["dataset"],
    finetuning.evaluate_targets: ["targets"],
    finetuning.finetune: ["entry", "dataset"],
    benchmark.run_benchmark: ["suite"],
    probe.probe: ["bb", "data"],
    correlation.correlate: ["scores", "accuracies"],
}

#: every long-running public function: they all take ``on_progress(what, done, total)``
PROGRESSING = [
    ranking.rank,
    ranking.rank_targets,
    pick.pick_backbone,
    finetuning.evaluate,
    finetuning.evaluate_targets,
    finetuning.finetune,
    benchmark.run_benchmark,
    benchmark.ground_truth,
    probe.probe,
    trained_zoo.build_zoo,
    invariance.invariance_study,
    layers.layer_study,
    loss_barcode.loss_barcode,
    topology_study.score_suite,
]


def test_the_package_exports_the_real_functions():
    assert set(modelrank.__all__) == {
        "ModelrankError",
        "ScoreOptions",
        "__version__",
        "correlate",
        "evaluate",
        "pick_backbone",
        "rank",
    }
    assert modelrank.ScoreOptions is ranking.ScoreOptions
    assert modelrank.rank is ranking.rank
    assert modelrank.pick_backbone is pick.pick_backbone
    assert modelrank.evaluate is finetuning.evaluate
    assert modelrank.correlate is correlation.correlate
    assert "rank" in dir(modelrank)
    assert inspect.signature(modelrank.rank).parameters["options"].default is None


def test_options_after_the_data_argument_are_keyword_only():
    for fn, positional in POSITIONAL.items():
        params = list(inspect.signature(fn).parameters.values())
        by_position = [
            p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        assert by_position == positional, fn.__qualname__
        rest = [p for p in params if p.name not in positional]
        assert all(p.kind == KW for p in rest), fn.__qualname__
        assert fn.__doc__, fn.__qualname__


def test_result_types():
    hints = {fn: inspect.signature(fn).return_annotation for fn in POSITIONAL}
    assert hints[ranking.rank] in ("Ranking", ranking.Ranking)
    assert hints[ranking.rank_targets] == "list[Ranking]"
    assert hints[finetuning.evaluate] == "Evaluation"
    assert hints[finetuning.evaluate_targets] == "list[Evaluation]"
    assert hints[probe.probe] in ("Embeddings", probe.Embeddings)
    assert hints[correlation.correlate] in ("dict[str, float]",)
    # Ranking and Evaluation have the same shape: results plus (model, reason) lists
    for cls in (ranking.Ranking, finetuning.Evaluation):
        fields = {f for f in cls.__dataclass_fields__}
        assert {"failed", "skipped"} <= fields, cls


def test_one_options_object_for_everything_that_scores():
    for fn in (ranking.rank, ranking.rank_targets, pick.pick_backbone, benchmark.run_benchmark):
        params = inspect.signature(fn).parameters
        assert "options" in params, fn.__qualname__
        # the options live in ScoreOptions only, not beside it
        assert not set(params) & set(ranking.ScoreOptions.__dataclass_fields__), fn.__qualname__


def test_one_progress_protocol():
    for fn in PROGRESSING:
        params = inspect.signature(fn).parameters
        assert "on_progress" in params, fn.__qualname__
        assert not {"progress", "on_run", "on_step", "on_fail"} & set(params), fn.__qualname__


def test_score_options_refuse_bad_values_naming_the_field(tmp_path):
    for field, value, message in [
        ("batch_size", 0, "batch_size must be a whole number of at least 1, got 0"),
        ("batch_size", True, "batch_size must be a whole number"),
        ("eta", float("nan"), "eta (the cubical threshold) must be a finite number"),
        ("layout", "cube", "layout must be one of whc, channel-mean, per-channel"),
        ("betti_engine", "cupy", "betti_engine must be one of auto, numpy, torch"),
    ]:
        with pytest.raises(ParameterError) as info:
            ranking.ScoreOptions(**{field: value})
        assert str(info.value).startswith(message) and info.value.parameter == field
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        ranking.ScoreOptions(cache_dir=tmp_path / "file")
    assert ranking.ScoreOptions(cache_dir=tmp_path).cache_dir == str(tmp_path)
    with pytest.raises(ParameterError, match="^options must be a ScoreOptions"):
        ranking.rank_targets([], options={"eta": 0.1})
    with pytest.raises(ParameterError, match="^seed must be a whole number of at least 0"):
        ranking.rank("digits", seed=-1)


def test_the_command_line_names_the_flag_where_the_library_names_the_parameter():
    from modelrank.cli.options import flag_for, worded_for_the_command_line

    exc = ParameterError("per_class", "must be a whole number of at least 1, got 0")
    assert str(exc) == "per_class must be a whole number of at least 1, got 0"
    assert (
        worded_for_the_command_line(exc)
        == "--per-class must be a whole number of at least 1, got 0"
    )
    assert flag_for("metrics") == "--metric" and flag_for("max_retries") == "--retries"
    assert worded_for_the_command_line(ConfigError("plain")) == "plain"


def test_command_line_choices_are_the_librarys():
    from modelrank import execution, leaderboard, model_specs
    from modelrank.cli import choices
    from modelrank.topology.cubical import LAYOUTS

    def values(enum):
        return tuple(m.value for m in enum)

    assert set(values(choices.Layout)) == set(LAYOUTS)
    assert values(choices.BettiEngine) == probe.BETTI_ENGINES
    assert set(values(choices.Budget)) == set(finetuning.BUDGETS)
    assert values(choices.ExecutorName) == execution.EXECUTORS
    assert values(choices.Format) == leaderboard.FORMATS
    assert values(choices.Catalogue) == model_specs.CATALOGUES
    assert values(choices.BarcodeData) == loss_barcode.DATASETS
    assert values(choices.LayersData) == layers.DATASETS
    assert values(choices.Activation) == layers.ACTIVATIONS
    with pytest.raises(ParameterError, match="^protocol must be full or linear"):
        finetuning.evaluate("digits", protocol="half")
    assert set(values(choices.Protocol)) == {"full", "linear"}


def test_every_shared_command_line_option_is_declared_once():
    """The commands' flags come from the aliases in cli/options.py: no command module spells a
    shared flag itself."""
    import ast
    from pathlib import Path

    import modelrank.cli as cli

    shared = {
        "--dataset",
        "--zoo",
        "--models",
        "--model",
        "--metric",
        "--per-class",
        "--split",
        "--seed",
        "--device",
        "--batch-size",
        "--amp",
        "--eta",
        "--layout",
        "--betti-engine",
        "--cache-dir",
        "--no-cache",
        "--output",
        "--plot",
        "--db",
        "--executor",
        "--ray-address",
        "--workers",
        "--retries",
        "--cpus-per-task",
        "--gpus-per-task",
    }
    # a flag of a different meaning keeps its own declaration
    own = {("leaderboard.py", "--metric"), ("study.py", "--dataset")}
    for path in Path(cli.__file__).parent.glob("*.py"):
        if path.name == "options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in shared:
                call_flag = (path.name, node.value)
                assert call_flag in own or not _in_option_call(node, path), call_flag


def _in_option_call(node, path) -> bool:
    import ast

    tree = ast.parse(path.read_text())
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and getattr(call.func, "attr", None) == "Option"
            and any(
                a is node
                or (
                    isinstance(a, ast.Constant)
                    and a.value == node.value
                    and a.lineno == node.lineno
                )
                for a in call.args
            )
        ):
            return True
    return False


def test_every_device_default_is_auto():
    import typer.main

    from modelrank.cli import app

    group = typer.main.get_command(app)

    def commands(g, prefix=""):
        for name, c in g.commands.items():
            if hasattr(c, "commands"):
                yield from commands(c, f"{prefix}{name} ")
            else:
                yield prefix + name, c

    seen = 0
    for name, c in commands(group):
        for p in c.params:
            if "--device" in getattr(p, "opts", []):
                assert p.default == "auto", name
                seen += 1
            if "--dataset" in getattr(p, "opts", []) or "--data" in getattr(p, "opts", []):
                assert "--data" not in p.opts, name  # one name for the data argument
    assert seen >= 5
