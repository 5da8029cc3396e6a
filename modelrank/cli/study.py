"""`modelrank study …`: command-line front end of the studies (loss-landscape barcode and TO-score;
Betti numbers per layer of trained networks; invariance of the cubical score).

The main app mounts it with ``app.add_typer(study_app, name="study")`` and turns `ModelrankError`
(e.g. `ConfigError` for a bad option) into a one-line message and exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from modelrank.cli.paths import output_file, plot_file
from modelrank.cli.paths import ZOO_HELP
from modelrank.errors import ConfigError
from modelrank.topology.barcode import Bar

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


def plot_bars(bars: list[Bar], path: Path, title: str = "Loss barcode") -> None:
    """Draw the bars as horizontal segments (loss on x, one row per minimum, by birth) into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite_ends = [b.death for b in bars if b.is_finite] + [b.birth for b in bars]
    lo, hi = min(finite_ends), max(finite_ends)
    right = hi + 0.15 * (hi - lo if hi > lo else max(abs(hi), 1e-3))
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(bars) + 1.4))
    for row, b in enumerate(sorted(bars, key=lambda b: b.birth)):
        end = b.death if b.is_finite else right
        ax.plot([b.birth, end], [row, row], lw=4, color="C0" if b.is_finite else "C3", solid_capstyle="butt")
        if not b.is_finite:
            ax.annotate("∞", (right, row), xytext=(4, -4), textcoords="offset points", color="C3")
    ax.set_yticks(range(len(bars)), [f"min {b.index}" for b in sorted(bars, key=lambda b: b.birth)])
    ax.set_xlabel("loss (nats)")
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


@study_app.command("barcode")
def barcode(
    data: str = typer.Option("moons", "--data", help="digits | moons | circles | d1"),
    arch: str = typer.Option("1x16", "--arch", help="hidden layers x width, e.g. 2x16 (ReLU)"),
    minima: int = typer.Option(5, "--minima", help="number of minima trained from different seeds"),
    seed: int = typer.Option(0, "--seed", help="seeds the initialisations"),
    steps: int = typer.Option(2000, "--steps", help="full-batch Adam steps per minimum"),
    path_points: int = typer.Option(8, "--path-points", help="interior points of each path"),
    path_steps: int = typer.Option(200, "--path-steps", help="elastic-band iterations per path"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write the bars to this PNG"),
    output: Optional[Path] = typer.Option(None, "--output", help="write the full result to this JSON file"),
) -> None:
    """Loss barcode and TO-score of a small fully connected network (docs/methods.md §3)."""
    from modelrank.studies.loss_barcode import DATASETS, loss_barcode, parse_arch

    if data.strip().lower() not in DATASETS:
        raise ConfigError(f"unknown data set {data!r}; choose one of {', '.join(DATASETS)}")
    parse_arch(arch)
    if minima < 2:
        raise ConfigError(f"--minima must be at least 2, got {minima}")
    if steps < 0 or path_steps < 0 or path_points < 1:
        raise ConfigError("--steps and --path-steps must be ≥ 0 and --path-points ≥ 1")
    plot = plot_file(plot, "barcode.png")

    console = Console()
    with console.status("training minima and optimising paths…"):
        result = loss_barcode(
            data=data, arch=arch, minima=minima, seed=seed, steps=steps,
            path_points=path_points, path_steps=path_steps,
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
        plot_bars(result.bars, plot, title)
        console.print(f"bars plotted to {plot}")
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result.to_dict(), indent=2))
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
    data: str = typer.Option("d1", "--data", help="d1 | d2 | d3 (Naitzat et al.'s D-I, D-II, D-III)"),
    arch: str = typer.Option("10x15", "--arch", help="DEPTHxWIDTH: DEPTH-1 hidden layers of WIDTH, plus the output layer"),
    activation: str = typer.Option("relu", "--activation", help="relu | leaky_relu | tanh"),
    nets: int = typer.Option(5, "--nets", help="networks trained (seeds SEED*10007+i); those short of 100 % are discarded"),
    seed: int = typer.Option(0, "--seed", help="seeds the initialisations"),
    max_steps: int = typer.Option(10000, "--max-steps", help="cap on full-batch Adam steps per network"),
    lr: Optional[float] = typer.Option(None, "--lr", help="initial learning rate, halved every 2,500 steps (default 0.01 for d1/d2, 0.005 for d3)"),
    check_every: int = typer.Option(1, "--check-every", help="steps between 100 %-accuracy checks (1: stop at once; the released code used 1000)"),
    include_output: bool = typer.Option(False, "--include-output", help="also probe the output logits (as the released code did)"),
    size: Optional[int] = typer.Option(None, "--size", help="generator size: d1 grid points, d2 points per ring, d3 points per shell"),
    max_points: int = typer.Option(2500, "--max-points", help="per-class cap; larger classes keep every d-th point"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write mean β_k and ω per layer to this PNG"),
    output: Optional[Path] = typer.Option(None, "--output", help="write the result to FILE.json (everything) or FILE.md (table)"),
) -> None:
    """Betti numbers of each class at every layer of trained fully connected networks (Naitzat et al.)."""
    from modelrank.studies.layers import (
        check_activation, check_data, layer_study, parse_depth_width, plot_layers,
    )

    check_data(data)
    check_activation(activation)
    parse_depth_width(arch)
    if nets < 1:
        raise ConfigError(f"--nets must be at least 1, got {nets}")
    if max_steps < 0:
        raise ConfigError(f"--max-steps must be ≥ 0, got {max_steps}")
    if check_every < 1:
        raise ConfigError(f"--check-every must be at least 1, got {check_every}")
    plot = plot_file(plot, "layers.png")
    output = output_file(output, (".json", ".md"), "--output")

    console = Console()
    with console.status("training networks and computing Betti numbers…") as status:
        result = layer_study(data=data, arch=arch, activation=activation, nets=nets, seed=seed,
                             max_steps=max_steps, lr=lr, check_every=check_every, size=size,
                             max_points=max_points, include_output=include_output,
                             progress=lambda msg: status.update(msg))
    if result.n_converged == 0:
        raise ConfigError(
            f"none of the {nets} networks reached 100 % training accuracy within {max_steps} steps "
            f"(best {result.train_accuracy.max():.4f}); raise --max-steps or --nets"
        )
    console.print(layers_table(result))
    truth = result.input_truth
    console.print(f"documented input Betti numbers: class a {truth[0]}, class b {truth[1]}; "
                  f"discarded networks: {result.n_discarded}; steps: {result.steps.tolist()}")
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
    words = [w.strip() for w in str(text).split(",") if w.strip()]
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
            t.add_row(lv.label, str(len(lv.layers)), str(lv.n_images),
                      "n/a" if lv.theta is None else f"{lv.theta:.4f}",
                      "n/a" if lv.auc is None else f"{lv.auc:.3f}",
                      f"{lv.omega[0]:.1f} → {lv.omega[-1]:.1f}" if len(lv.omega) else "")
        tables.append(t)
    return tables


@study_app.command("invariance")
def invariance(
    model: str = typer.Option("efficientnet_lite0", "--model", help="one zoo entry"),
    dataset: str = typer.Option("digits", "--dataset", help="registered name or ImageFolder path"),
    per_class: int = typer.Option(10, "--per-class", help="base images per class"),
    seed: int = typer.Option(0, "--seed", help="base sampling seed"),
    size: int = typer.Option(64, "--size", help="base input side in pixels"),
    split: str = typer.Option("train", "--split"),
    sizes: str = typer.Option("64,96,128", "--sizes", help="resolution levels (pixels); '' skips the factor"),
    seeds: str = typer.Option("0,1,2", "--seeds", help="sampling-seed levels; '' skips"),
    per_class_levels: str = typer.Option("5,10,20", "--per-class-levels", help="images-per-class levels; '' skips"),
    depths: str = typer.Option("auto", "--depths", help="'auto' (truncate after stages at 40 %, 70 %, and full), or a comma list of @MODULE / full / zoo names; '' skips"),
    zoo: Optional[str] = typer.Option(None, "--zoo", help=ZOO_HELP),
    eta: float = typer.Option(0.0, "--eta", help="cubical Betti threshold"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto"),
    batch_size: int = typer.Option(32, "--batch-size"),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help="embedding cache (default: user cache)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="neither read nor write the embedding cache"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write one panel per factor to this PNG"),
    output: Optional[Path] = typer.Option(None, "--output", help="write the result to FILE.json or FILE.md"),
) -> None:
    """Cubical Ω over depth and θ under input resolution, image sampling and network depth."""
    from modelrank.studies.invariance import invariance_study, plot_invariance

    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}")
    plot = plot_file(plot, "invariance.png")
    output = output_file(output, (".json", ".md"), "--output")
    depth_specs = None if depths.strip() == "auto" else [w.strip() for w in depths.split(",") if w.strip()]
    console = Console()
    with console.status("probing…") as status:
        result = invariance_study(
            model=model, dataset=dataset, per_class=per_class, seed=seed, size=size, split=split,
            sizes=_int_list(sizes, "--sizes"), sampling_seeds=_int_list(seeds, "--seeds"),
            per_class_levels=_int_list(per_class_levels, "--per-class-levels"),
            depths=depth_specs, zoo=zoo, eta=eta, device=device, batch_size=batch_size,
            cache_dir=cache_dir, use_cache=not no_cache, progress=lambda msg: status.update(msg),
        )
    for t in invariance_tables(result):
        console.print(t)
    if plot is not None:
        plot_invariance(result, plot)
        console.print(f"plotted to {plot}")
    if output is not None:
        result.save(output)
        console.print(f"result written to {output}")
