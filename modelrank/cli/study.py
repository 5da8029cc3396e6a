"""`modelrank study …`: command-line front end of the studies (loss-landscape barcode and TO-score;
Betti numbers per layer of trained networks; invariance of the cubical score).

The main app mounts it with ``app.add_typer(study_app, name="study")`` and turns `ModelrankError`
(e.g. `ConfigError` for a bad option) into a one-line message and exit code 1.
"""

from __future__ import annotations

from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from modelrank.cli.choices import Activation, BarcodeData, LayersData, plain
from modelrank.cli.options import (
    BatchSize,
    CacheDir,
    Dataset,
    Device,
    Eta,
    Model,
    NoCache,
    Output,
    PerClass,
    Plot,
    Seed,
    Split,
    Zoo,
    comma_list,
    per_class_value,
)
from modelrank.cli.paths import output_file, plot_file
from modelrank.errors import ConfigError, ParameterError
from modelrank.topology.barcode import Bar

#: --arch of every study: hidden layers x width (:func:`modelrank.studies.architecture.parse_arch`).
Arch = Annotated[
    str,
    typer.Option(
        "--arch",
        help="HIDDENxWIDTH: hidden layers of WIDTH units "
        "(the output layer not counted), e.g. 2x16; 9x15 is Naitzat "
        "et al.'s depth-10 width-15 network.",
    ),
]


def _status(status):
    """A progress callback (:mod:`modelrank.progress`) that shows itself on a rich status line."""
    return lambda what, done, total: status.update(f"{what}: {done}/{total}")


study_app = typer.Typer(
    help="Small experiments behind the topology papers: loss barcodes, Betti numbers per layer, invariance.",
    no_args_is_help=True,
    add_completion=False,
)


@study_app.callback()
def _study() -> None:
    """Small experiments behind the topology papers: loss barcodes, Betti numbers per layer, invariance."""


def barcode_table(bars: list[Bar], title: str = "Loss barcode") -> Table:
    """Rich table of a barcode: minimum, birth, death, length, basin size (losses in nats)."""
    table = Table(title=title)
    for col in ("minimum", "birth (loss)", "death (saddle)", "length", "basin size"):
        table.add_column(col, justify="right")
    for b in bars:
        death = f"{b.death:.5g}" if b.is_finite else "∞"
        length = f"{b.length:.5g}" if b.is_finite else "∞"
        table.add_row(str(b.index), f"{b.birth:.5g}", death, length, str(b.basin_size))
    return table


@study_app.command("barcode")
def barcode(
    dataset: BarcodeData = typer.Option(
        BarcodeData.moons,
        "--dataset",
        "-d",
        case_sensitive=False,
        help="The data the networks are trained on.",
    ),
    arch: Arch = "1x16",
    minima: int = typer.Option(5, "--minima", help="number of minima trained from different seeds"),
    seed: Seed = 0,
    steps: int = typer.Option(2000, "--steps", help="full-batch Adam steps per minimum"),
    path_points: int = typer.Option(8, "--path-points", help="interior points of each path"),
    path_steps: int = typer.Option(200, "--path-steps", help="elastic-band iterations per path"),
    plot: Plot = None,
    output: Output = None,
) -> None:
    """Loss barcode and TO-score of a small fully connected network (docs/methods.md §3).

    --output writes the whole result as .json."""
    from modelrank.cli.paths import write_text
    from modelrank.studies.architecture import parse_arch
    from modelrank.studies.loss_barcode import loss_barcode, plot_barcode

    parse_arch(arch)
    if minima < 2:
        raise ParameterError("minima", f"must be at least 2, got {minima}")
    if steps < 0 or path_steps < 0 or path_points < 1:
        raise ConfigError("--steps and --path-steps must be ≥ 0 and --path-points ≥ 1")
    plot = plot_file(plot, "barcode.png")
    output = output_file(output, (".json",))

    console = Console()
    with console.status("training minima and optimising paths…") as status:
        result = loss_barcode(
            data=plain(dataset),
            arch=arch,
            minima=minima,
            seed=seed,
            steps=steps,
            path_points=path_points,
            path_steps=path_steps,
            on_progress=_status(status),
        )
    cfg = result.config
    title = f"Loss barcode: {cfg['data']}, {cfg['arch']} ({cfg['n_params']} parameters), {minima} minima"
    console.print(barcode_table(result.bars, title))
    console.print(f"TO-score (raw, nats): {result.to_score_raw:.6g}")
    console.print(
        f"TO-score (normalised by loss range {result.loss_range:.4g}): {result.to_score_normalised:.6g}"
    )
    console.print(f"minima training accuracy: {np.round(result.train_accuracy, 4).tolist()}")
    if plot is not None:
        plot_barcode(result.bars, plot, title)
        console.print(f"bars plotted to {plot}")
    if output is not None:
        import json

        write_text(output, json.dumps(result.to_dict(), indent=2))
        console.print(f"result written to {output}")


# ------------------------------------------------------------------------------------------------
# layers: Betti numbers per layer of trained fully connected networks (docs/methods.md §2)
# ------------------------------------------------------------------------------------------------


def layers_table(result) -> Table:
    """Rich table of a layers study: layer × mean β_k and ω of each class."""
    header, rows = result.table_rows()
    table = Table(title=result.title())
    for col in header:
        table.add_column(col, justify="left" if col == "layer" else "right")
    for row in rows:
        table.add_row(*row)
    return table


@study_app.command("layers")
def layers(
    dataset: LayersData = typer.Option(
        LayersData.d1,
        "--dataset",
        "-d",
        case_sensitive=False,
        help="Naitzat et al.'s D-I, D-II or D-III.",
    ),
    arch: Arch = "9x15",
    activation: Activation = typer.Option(Activation.relu, "--activation", case_sensitive=False),
    nets: int = typer.Option(
        5,
        "--nets",
        help="networks trained (seeds SEED*10007+i); those short of 100 % are discarded",
    ),
    seed: Seed = 0,
    max_steps: int = typer.Option(
        10000, "--max-steps", help="cap on full-batch Adam steps per network"
    ),
    lr: Optional[float] = typer.Option(
        None,
        "--lr",
        help="initial learning rate, halved every 2,500 steps (default 0.01 for d1/d2, 0.005 for d3)",
    ),
    check_every: int = typer.Option(
        1,
        "--check-every",
        help="steps between 100 %-accuracy checks (1: stop at once; the released code used 1000)",
    ),
    include_output: bool = typer.Option(
        False,
        "--include-output",
        metavar="",
        help="also probe the output logits (as the released code did)",
    ),
    size: Optional[int] = typer.Option(
        None,
        "--size",
        help="generator size: d1 grid points, d2 points per ring, d3 points per shell",
    ),
    max_points: int = typer.Option(
        2500, "--max-points", help="per-class cap; larger classes keep every d-th point"
    ),
    plot: Plot = None,
    output: Output = None,
) -> None:
    """Betti numbers of each class at every layer of trained fully connected networks (Naitzat et al.).

    --output writes everything as .json, or the table as .md."""
    from modelrank.studies.architecture import parse_arch
    from modelrank.studies.layers import layer_study, plot_layers
    from modelrank.util.checks import check_whole_number

    parse_arch(arch)
    check_whole_number("nets", nets, least=1)
    check_whole_number("max_steps", max_steps, least=0)
    check_whole_number("check_every", check_every, least=1)
    plot = plot_file(plot, "layers.png")
    output = output_file(output, (".json", ".md"))

    console = Console()
    with console.status("training networks and computing Betti numbers…") as status:
        result = layer_study(
            data=plain(dataset),
            arch=arch,
            activation=plain(activation),
            nets=nets,
            seed=seed,
            max_steps=max_steps,
            lr=lr,
            check_every=check_every,
            size=size,
            max_points=max_points,
            include_output=include_output,
            on_progress=_status(status),
        )
    if result.n_converged == 0:
        raise ConfigError(
            f"none of the {nets} networks reached 100 % training accuracy within {max_steps} steps "
            f"(best {result.train_accuracy.max():.4f}); raise --max-steps or --nets"
        )
    console.print(layers_table(result))
    truth = result.input_truth
    console.print(
        f"documented input Betti numbers: class a {truth[0]}, class b {truth[1]}; "
        f"discarded networks: {result.n_discarded}; steps: {result.steps.tolist()}"
    )
    if plot is not None:
        plot_layers(result, plot, title=result.title())
        console.print(f"plotted to {plot}")
    if output is not None:
        result.save(output)
        console.print(f"result written to {output}")


# ------------------------------------------------------------------------------------------------
# invariance: the cubical score under resolution, sampling and depth changes
# ------------------------------------------------------------------------------------------------


def _int_list(text: str, option: str) -> list[int]:
    words = comma_list(text)
    try:
        return [int(w) for w in words]
    except ValueError:
        raise ConfigError(f"{option} must be a comma list of integers, got {text!r}") from None


def invariance_tables(result) -> list[Table]:
    """One rich table per factor: level, layers, images, θ, auc, first and last Ω."""
    tables = []
    for f in result.factors:
        s = result.spread(f)
        caption = None if s["range"] is None else f"θ spread {s['range']:.4f}"
        t = Table(title=f"{f}", caption=caption)
        for col in ("level", "layers", "images", "θ", "auc", "Ω first → last"):
            t.add_column(col, justify="left" if col == "level" else "right")
        for lv in result.factor(f):
            t.add_row(
                lv.label,
                str(len(lv.layers)),
                str(lv.n_images),
                "n/a" if lv.theta is None else f"{lv.theta:.4f}",
                "n/a" if lv.auc is None else f"{lv.auc:.3f}",
                f"{lv.omega[0]:.1f} → {lv.omega[-1]:.1f}" if len(lv.omega) else "",
            )
        tables.append(t)
    return tables


@study_app.command("invariance")
def invariance(
    model: Model = "efficientnet_lite0",
    dataset: Dataset = "digits",
    per_class: PerClass = "10",
    seed: Seed = 0,
    size: int = typer.Option(64, "--size", help="base input side in pixels"),
    split: Split = "train",
    sizes: str = typer.Option(
        "64,96,128", "--sizes", help="resolution levels (pixels); '' skips the factor"
    ),
    seeds: str = typer.Option("0,1,2", "--seeds", help="sampling-seed levels; '' skips"),
    per_class_levels: str = typer.Option(
        "5,10,20", "--per-class-levels", help="images-per-class levels; '' skips"
    ),
    depths: str = typer.Option(
        "auto",
        "--depths",
        help="'auto' (truncate after stages at 40 %, 70 %, and full), or a comma list of "
        "@MODULE / full / zoo names; '' skips",
    ),
    zoo: Zoo = None,
    eta: Eta = 0.0,
    device: Device = "auto",
    batch_size: BatchSize = 32,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    plot: Plot = None,
    output: Output = None,
) -> None:
    """Cubical Ω over depth and θ under input resolution, image sampling and network depth.

    --output writes the result as .json or .md."""
    from modelrank.studies.invariance import invariance_study, plot_invariance

    per_class = per_class_value(per_class)
    if per_class is None:
        raise ParameterError(
            "per_class",
            "must be a whole number here: the study samples each level from the base images",
        )
    plot = plot_file(plot, "invariance.png")
    output = output_file(output, (".json", ".md"))
    depth_specs = None if depths.strip() == "auto" else comma_list(depths)
    console = Console()
    with console.status("probing…") as status:
        result = invariance_study(
            model=model,
            dataset=dataset,
            per_class=per_class,
            seed=seed,
            size=size,
            split=split,
            sizes=_int_list(sizes, "--sizes"),
            sampling_seeds=_int_list(seeds, "--seeds"),
            per_class_levels=_int_list(per_class_levels, "--per-class-levels"),
            depths=depth_specs,
            zoo=zoo,
            eta=eta,
            device=device,
            batch_size=batch_size,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            on_progress=_status(status),
        )
    for t in invariance_tables(result):
        console.print(t)
    if plot is not None:
        plot_invariance(result, plot)
        console.print(f"plotted to {plot}")
    if output is not None:
        result.save(output)
        console.print(f"result written to {output}")
