"""The pieces the commands are built from: the executor options added once, the per-layer
Betti report of ``modelrank betti``, and the figure style."""

import inspect

import numpy as np
import typer
from typer.testing import CliRunner

from modelrank.cli.execution import Execution, with_execution


def test_with_execution_adds_the_six_options_and_hands_them_over_as_one():
    seen = {}

    @with_execution
    def job(name: str = typer.Option("x", "--name"), execution: Execution = Execution()) -> None:
        """A stand-in command."""
        seen["name"], seen["execution"] = name, execution

    params = inspect.signature(job).parameters
    assert list(params) == [
        "name",
        "executor",
        "ray_address",
        "workers",
        "retries",
        "cpus_per_task",
        "gpus_per_task",
    ]
    app = typer.Typer()
    app.command()(job)
    app.command("other")(lambda: None)
    res = CliRunner().invoke(
        app, ["job", "--name", "y", "--retries", "0", "--executor", "ray", "--cpus-per-task", "2"]
    )
    assert res.exit_code == 0, res.output
    ex = seen["execution"]
    assert seen["name"] == "y" and ex.retries == 0 and ex.executor.value == "ray"
    assert ex.cpus_per_task == 2.0 and ex.gpus_per_task == 1.0 and ex.workers is None
    assert "--gpus-per-task" in CliRunner().invoke(app, ["job", "--help"]).output


def test_the_layer_report_is_the_class_balanced_mean_of_the_counts():
    from modelrank.layer_report import layer_report
    from modelrank.ranking import RankRow

    # 3 images, 2 layers: class 0 has images 0 and 1, class 1 has image 2
    b = np.array([[[1, 0, 0], [4, 2, 0]], [[3, 0, 0], [2, 2, 2]], [[10, 1, 0], [1, 0, 0]]], float)
    row = RankRow(
        "m",
        info={"layer_shapes": {"a": "8x4x4"}},
        topology={
            "layers": ["a", "b"],
            "omega_cubical": [5.5, 3.5],
            "arrays": {"cubical_betti": b, "labels": np.array([0, 0, 1])},
        },
    )
    r = layer_report(row)
    # by hand: class means (2, 0, 0) and (10, 1, 0) at layer a, (3, 2, 1) and (1, 0, 0) at b
    np.testing.assert_allclose(r.mean_betti, [[6.0, 0.5, 0.0], [2.0, 1.0, 0.5]])
    assert r.shapes == ["8x4x4", ""] and r.n_images == 3 and r.omega_rips is None
    header, cells = r.table()
    assert header == ["#", "layer", "shape", "b0", "b1", "b2", "Omega"]
    assert cells[1] == ["2", "b", "", "2.0", "1.0", "0.5", "3.5"]


def test_figures_share_one_style_and_equal_figures_give_equal_png_bytes(tmp_path):
    from modelrank.util import plot_style as style

    def draw():
        fig = style.figure(2, 1.5)
        fig.subplots().plot([0, 1], [1, 0], color=style.colour(11))
        return fig

    a, b = style.png_bytes(draw()), style.png_bytes(draw())
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    assert style.colour(11) == "C1"
    style.save(draw(), tmp_path / "deep" / "f.png")
    assert (tmp_path / "deep" / "f.png").read_bytes() == a
