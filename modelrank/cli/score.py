"""``modelrank score``: rank the zoo's backbones on a target."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from modelrank.cli.choices import BettiEngine, Layout, plain
from modelrank.cli.consoles import err, out
from modelrank.cli.execution import Execution, with_execution
from modelrank.cli.options import (
    Amp,
    BatchSize,
    BettiEngineOpt,
    CacheDir,
    Dataset,
    Db,
    Device,
    Eta,
    History,
    LayoutOpt,
    Metrics,
    Models,
    NoCache,
    Output,
    PerClass,
    Seed,
    Split,
    Zoo,
    per_class_value,
)
from modelrank.util.checks import check_whole_number

#: Images per class ``score`` samples when --per-class is not given: enough for every score to
#: be defined and a first try on 2 CPU cores to finish in a minute or two.
DEFAULT_PER_CLASS = 50


@with_execution
def score(
    dataset: Dataset = "digits",
    zoo: Zoo = None,
    models: Models = "offline",
    metric: Metrics = "knn",
    per_class: PerClass = None,
    split: Split = "train",
    seed: Seed = 0,
    image_column: Optional[str] = typer.Option(
        None,
        "--image-column",
        help="Hugging Face data: the image column (default: the first Image feature).",
    ),
    label_column: Optional[str] = typer.Option(
        None,
        "--label-column",
        help="Hugging Face data: the label column (default: the first ClassLabel).",
    ),
    device: Device = "auto",
    batch_size: BatchSize = 32,
    amp: Amp = False,
    eta: Eta = 0.0,
    layout: LayoutOpt = Layout.whc,
    betti_engine: BettiEngineOpt = BettiEngine.auto,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    output: Output = None,
    db: Db = None,
    stability: int = typer.Option(
        50, "--stability", help="Half-samples behind the recommendation's stability; 0: none."
    ),
    history: History = None,
    execution: Execution = Execution(),
) -> None:
    """Score every selected backbone on a target and print the ranking.

    Without --per-class, 50 images per class are scored, so that a first try takes a minute or
    two. --output writes the ranking as .json, .csv or .md. --history shows the history prior
    (how each backbone fine-tuned on other targets) beside the scores."""
    from modelrank.cli.execution import exit_if_failed
    from modelrank.cli.paths import check_outputs, command_line, write_ranking
    from modelrank.cli.render import job_progress, print_history, print_ranking, print_skipped
    from modelrank.data import load_target
    from modelrank.history_advice import advise_from_history
    from modelrank.history_sources import load_history
    from modelrank.ranking import ScoreOptions, rank
    from modelrank.recommendation import recommend
    from modelrank.recording import record_ranking

    capped = per_class is None
    per_class = DEFAULT_PER_CLASS if capped else per_class_value(per_class)
    check_whole_number("stability", stability, least=0)
    check_outputs(output=output, db=db)
    past = load_history(history) if history is not None else None  # a bad source fails first
    options = ScoreOptions(
        batch_size=batch_size,
        amp=amp,
        eta=eta,
        layout=plain(layout),
        betti_engine=plain(betti_engine),
        cache_dir=cache_dir,
        use_cache=not no_cache,
    )
    data = load_target(
        dataset,
        split=split,
        per_class=per_class,
        seed=seed,
        image_column=image_column,
        label_column=label_column,
    )
    with job_progress(err) as (on_progress, on_counts), execution.open(on_counts) as ex:
        ranking = rank(
            data,
            zoo=zoo,
            models=models,
            metrics=metric,
            seed=seed,
            device=device,
            options=options,
            executor=ex,
            on_progress=on_progress,
            on_skip=lambda m, why: print_skipped(err, m, why),
            stability=stability,
        )
    if not ranking.rows and not ranking.failed:
        from modelrank.errors import ModelrankError

        raise ModelrankError(
            f"none of the {len(ranking.skipped)} selected backbone(s) could be "
            "scored here (the reasons are above)"
        )
    print_ranking(out, ranking)
    asked = ranking.recipe["data"].get("per_class_requested")
    if asked is not None:
        out.print(
            f"  scored {ranking.recipe['data']['per_class']} images per class at most: "
            f"fewer than the {asked} asked for exist",
            highlight=False,
        )
    if (
        capped
        and ranking.recipe["data"]["n_images"]
        >= DEFAULT_PER_CLASS * ranking.recipe["data"]["n_classes"]
    ):
        out.print(
            f"  scored {DEFAULT_PER_CLASS} images per class, the default cap "
            "(--per-class N or --per-class all to score more)",
            highlight=False,
        )
    pick = None
    if sum(ranking.primary in r.scores for r in ranking.rows) > 1:
        rec = recommend(ranking)
        out.print(escape(rec.line()), highlight=False, soft_wrap=True)
        pick = rec.model
    if past is not None:
        print_history(
            out,
            advise_from_history(past, data.name, [r.model for r in ranking.rows], score_pick=pick),
            ranking,
        )
    for m, why in ranking.failed:
        err.print(
            f"[red]failed {escape(str(m))}[/]: {escape(str(why))}", highlight=False, soft_wrap=True
        )
    run_id = record_ranking(ranking, db=db, command=command_line())
    if output:
        write_ranking(ranking, output, run_id, db)
        err.print(f"wrote {output}")
    exit_if_failed(len(ranking.failed))
