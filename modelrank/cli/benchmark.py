"""``modelrank benchmark``: every score's weighted τ against fine-tuned accuracy on a suite."""

from __future__ import annotations

import typer

from modelrank.cli.consoles import err, out
from modelrank.cli.execution import Execution, with_execution
from modelrank.cli.options import CacheDir, Db, Device, Metrics, Output, Plot, comma_list

#: Default rows of ``benchmark --plot``: the established scores, the topological one, a baseline.
PLOT_SCORES = ("logme", "nleep", "sfda", "ncti", "betti-cubical", "knn", "loto-accuracy")


def _packaged_suites() -> list[str]:
    from importlib import resources

    return sorted(
        p.name[:-5]
        for p in (resources.files("modelrank") / "suites").iterdir()
        if p.name.endswith(".yaml")
    )


@with_execution
def benchmark(
    suite: str = typer.Option(
        ...,
        "--suite",
        "-s",
        help="A packaged suite (" + ", ".join(_packaged_suites()) + ") or a suite file.",
    ),
    metric: Metrics = None,
    device: Device = "auto",
    output: Output = None,
    plot: Plot = None,
    plot_scores: str = typer.Option(
        ",".join(PLOT_SCORES),
        "--plot-scores",
        help="Scores of --plot, a comma list (one row each).",
    ),
    db: Db = None,
    cache_dir: CacheDir = None,
    remeasure: bool = typer.Option(
        False,
        "--remeasure",
        metavar="",
        help="Fine-tune again instead of reading the suite's committed (measured) ground truth.",
    ),
    execution: Execution = Execution(),
) -> None:
    """Weighted Kendall tau of every score against fine-tuned accuracy, per target and mean.

    --metric defaults to the suite's scores; --output writes the tables as .md, or everything
    (per-seed accuracies, noise ceilings, intervals, paired verdicts) as .json."""
    from modelrank.benchmark import load_suite, run_benchmark
    from modelrank.cli.execution import exit_if_failed
    from modelrank.cli.paths import check_outputs, command_line, plot_file, write_text
    from modelrank.cli.render import job_progress, print_skipped
    from modelrank.ranking import ScoreOptions
    from modelrank.recording import record_benchmark

    s = load_suite(suite)
    check_outputs(output=output, db=db, suffixes=(".md", ".json"))
    plot_path = plot_file(plot, f"{s.name}_scatter.png")
    options = ScoreOptions(cache_dir=cache_dir)
    with job_progress(err) as (on_progress, on_counts), execution.open(on_counts) as ex:
        res = run_benchmark(
            s,
            metrics=metric,
            device=device,
            options=options,
            executor=ex,
            on_progress=on_progress,
            remeasure=remeasure,
            on_skip=lambda m, why: print_skipped(err, m, why),
        )
    text = res.to_markdown(s.published or None)
    out.print(text, highlight=False, markup=False, soft_wrap=True)
    run_id = record_benchmark(res, s, db=db, command=command_line())
    if output and str(output).endswith(".json"):
        import json

        from modelrank.util.jsonable import jsonable

        doc = {"command": command_line(), **res.to_dict()}
        write_text(output, json.dumps(doc, indent=1, default=jsonable) + "\n", stored_as=run_id)
        err.print(f"wrote {output}")
    elif output:
        write_text(output, f"Command: `{command_line()}`\n\n" + text, stored_as=run_id)
        err.print(f"wrote {output}")
    if plot_path is not None:
        from modelrank.plots import plot_benchmark_scatter

        plot_benchmark_scatter(res, comma_list(plot_scores), str(plot_path))
        err.print(f"wrote {plot_path}")
    exit_if_failed(len(res.failed))
