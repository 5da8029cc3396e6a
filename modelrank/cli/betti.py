"""``modelrank betti``: the per-layer Betti numbers and Ω of a backbone, or of each selected one."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from modelrank.cli.choices import BettiEngine, Layout, plain
from modelrank.cli.consoles import err, out
from modelrank.cli.options import (
    BatchSize,
    BettiEngineOpt,
    CacheDir,
    Dataset,
    Db,
    Device,
    Eta,
    LayoutOpt,
    Model,
    NoCache,
    Output,
    PerClass,
    Plot,
    Seed,
    Split,
    Zoo,
    per_class_value,
)


def betti(
    dataset: Dataset = "digits",
    model: Model = ...,
    zoo: Zoo = None,
    per_class: PerClass = "20",
    split: Split = "train",
    seed: Seed = 0,
    eta: Eta = 0.0,
    layout: LayoutOpt = Layout.whc,
    rips: bool = typer.Option(
        False, "--rips", metavar="", help="Also the Rips (Naitzat) Betti numbers."
    ),
    device: Device = "auto",
    batch_size: BatchSize = 32,
    betti_engine: BettiEngineOpt = BettiEngine.auto,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    plot: Plot = None,
    output: Output = None,
    db: Db = None,
) -> None:
    """Per-layer Betti numbers and Omega of a backbone (or of each one a tag or pattern selects,
    each under its own name): watch the topology simplify.

    --output writes the ranking rows as .json, .csv or .md; --plot a file for one backbone, a
    directory for several (betti_NAME.png each)."""
    from pathlib import Path

    from modelrank.cli.paths import check_outputs, command_line, plot_file, write_ranking
    from modelrank.cli.render import progress_bar
    from modelrank.errors import ConfigError
    from modelrank.layer_report import layer_report
    from modelrank.metrics import get_metric
    from modelrank.ranking import ScoreOptions, rank
    from modelrank.recording import record_ranking
    from modelrank.zoo import load_zoo, select

    selected = [e.name for e in select(load_zoo(zoo), model)]
    several = len(selected) > 1
    if several and plot and not (Path(plot).is_dir() or str(plot).endswith(("/", "\\"))):
        raise ConfigError(
            f"--plot names one file, but {model!r} selects {len(selected)} "
            "backbones; give a directory (each backbone's plot goes there as "
            "betti_NAME.png)"
        )
    plots = {m: plot_file(plot, f"betti_{m}.png") for m in selected}
    check_outputs(output=output, db=db)
    options = ScoreOptions(
        batch_size=batch_size,
        eta=eta,
        layout=plain(layout),
        betti_engine=plain(betti_engine),
        cache_dir=cache_dir,
        use_cache=not no_cache,
    )
    metrics = ["betti-cubical", "betti-cubical-auc", "betti-cubical-exp"] + (
        ["betti-rips"] if rips else []
    )
    with progress_bar(err) as on_progress:
        r = rank(
            dataset,
            zoo=zoo,
            models=model,
            metrics=metrics,
            split=split,
            per_class=per_class_value(per_class),
            seed=seed,
            device=device,
            options=options,
            on_progress=on_progress,
        )
    if not r.rows:
        raise ConfigError(f"{model} could not be scored: {r.skipped[0][1] if r.skipped else '?'}")
    rows = {row.model: row for row in r.rows}
    for name in [m for m in selected if m in rows]:
        row = rows[name]
        report = layer_report(row)
        t = Table(
            title=escape(f"{name} on {dataset}")
            + f": cubical Betti numbers (eta={eta}, {plain(layout)}), "
            f"class-balanced means over {report.n_images} images"
        )
        header, cells = report.table()
        for c in header:
            t.add_column(c, justify="left" if c in ("layer", "shape") else "right")
        for line in cells:
            t.add_row(*line)
        out.print(t)
        for m in metrics:
            direction = "higher" if get_metric(m).higher_is_better else "lower"
            if m in row.raw:
                out.print(f"{m}: {row.raw[m]:.4g} ({direction} is better)", highlight=False)
            else:
                out.print(f"{m}: unavailable ({row.unavailable.get(m)})", highlight=False)
        if plots.get(name):
            from modelrank.plots import plot_betti_layers

            plot_betti_layers(
                report.layers,
                report.mean_betti,
                report.omega_cubical,
                report.omega_rips,
                f"{name} on {dataset}",
                plots[name],
            )
            err.print(f"wrote {plots[name]}")
    for name, why in r.skipped:
        err.print(f"skipped {name}: {why}", highlight=False, markup=False)
    run_id = record_ranking(r, db=db, command=command_line())
    if output:
        write_ranking(r, output, run_id, db)
        err.print(f"wrote {output}")
