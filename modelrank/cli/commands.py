"""``betti``, ``evaluate`` and ``benchmark``: thin typer wrappers that call the library and
write what they computed to the results store."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelrank.cli.execution import (CPUS_PER_TASK, EXECUTOR, GPUS_PER_TASK, RAY_ADDRESS,
                                     RETRIES, WORKERS,
                                     exit_if_failed, open_executor)
from modelrank.cli.paths import ZOO_HELP
from modelrank.errors import ConfigError

err = Console(stderr=True)
out = Console()

DB_HELP = "Results database (default: $MODELRANK_DB, else the user data dir)."
CACHE_HELP = ("Embedding cache, journal and run logs (default: $MODELRANK_CACHE); with --executor ray, "
              "a directory every node mounts at the same path.")


def _packaged_suites() -> list[str]:
    from importlib import resources

    return sorted(p.name[:-5] for p in (resources.files("modelrank") / "suites").iterdir()
                  if p.name.endswith(".yaml"))


def command_line() -> str:
    return "modelrank " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def check_outputs(*, output: str | None, db: str | None,
                  suffixes: tuple[str, ...] = (".json", ".csv", ".md")) -> None:
    """Refuse, before any work, an --output with an unknown suffix or an unwritable directory
    and a results database that cannot be written."""
    from modelrank.cli.paths import output_file
    from modelrank.store import check_writable

    output_file(output, suffixes, "--output")
    check_writable(db)


def write_output(ranking, output: str, run_id: int, db: str | None) -> None:
    """Write --output after the ranking is stored; a failure says where the result is."""
    from modelrank.errors import ModelrankError
    from modelrank.store import resolve_path

    try:
        ranking.save(output)
    except OSError as exc:
        raise ModelrankError(
            f"could not write {output!r} ({exc.strerror or exc}); the ranking is stored in "
            f"{resolve_path(db)} as run {run_id}: `modelrank leaderboard --db "
            f"{resolve_path(db)}` shows it") from None


def store_ranking(ranking, db: str | None) -> int:
    """Record a ranking in the results store; returns the run id."""
    from modelrank.store import Store

    with Store(db) as store:
        return store.record_ranking(ranking.to_dict(), command_line())


def betti(
    dataset: str = typer.Option("digits", "--dataset", "-d"),
    model: str = typer.Option(..., "--model", "-m", help="One zoo entry."),
    zoo: Optional[str] = typer.Option(None, "--zoo", help=ZOO_HELP),
    per_class: Optional[int] = typer.Option(20, "--per-class", help="Images per class."),
    split: str = typer.Option("train", "--split"),
    seed: int = typer.Option(0, "--seed"),
    eta: float = typer.Option(0.0, "--eta", help="Cubical threshold."),
    layout: str = typer.Option("whc", "--layout", help="whc, channel-mean or per-channel."),
    rips: bool = typer.Option(False, "--rips", help="Also the Rips (Naitzat) Betti numbers."),
    device: str = typer.Option("auto", "--device"),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write a PNG of the curves."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="FILE.json/.csv/.md"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Per-layer Betti numbers and Omega of one backbone: watch the topology simplify."""
    import numpy as np

    from modelrank.cli.paths import plot_file
    from modelrank.cli.render import progress_bar
    from modelrank.ranking import rank
    from modelrank.topology.omega import class_means

    plot = plot_file(plot, f"betti_{model}.png")
    check_outputs(output=output, db=db)
    metrics = ["betti-cubical", "betti-cubical-auc", "betti-cubical-exp"] + (["betti-rips"] if rips else [])
    with progress_bar(err) as on_progress:
        r = rank(dataset, zoo=zoo, models=model, metrics=metrics, split=split, per_class=per_class,
                 seed=seed, device=device, eta=eta, layout=layout, on_progress=on_progress)
    if not r.rows:
        raise ConfigError(f"{model} could not be scored: {r.skipped[0][1] if r.skipped else '?'}")
    row = r.rows[0]
    topo = row.topology
    b = np.asarray(topo["arrays"]["cubical_betti"], float)
    labels = np.asarray(topo["arrays"]["labels"])
    mean_b = class_means(b, labels).mean(axis=0)  # (L, 3) class-balanced
    t = Table(title=escape(f"{model} on {dataset}")
              + f": cubical Betti numbers (eta={eta}, {layout}), "
                f"class-balanced means over {len(labels)} images")
    cols = ["#", "layer", "shape", "b0", "b1", "b2", "Omega"] + (["Omega_rips"] if rips else [])
    for c in cols:
        t.add_column(c, justify="left" if c in ("layer", "shape") else "right")
    shapes = row.info.get("layer_shapes", {})
    for i, name in enumerate(topo["layers"]):
        cells = [str(i + 1), name, shapes.get(name, ""), *(f"{v:.1f}" for v in mean_b[i]),
                 f"{topo['omega_cubical'][i]:.1f}"]
        if rips and "omega_rips" in topo:
            cells.append(f"{topo['omega_rips'][i]:.2f}")
        t.add_row(*cells)
    out.print(t)
    for m in metrics:
        if m in row.raw:
            out.print(f"{m}: {row.raw[m]:.4g}", highlight=False)
        else:
            out.print(f"{m}: unavailable ({row.unavailable.get(m)})", highlight=False)
    if plot:
        from modelrank.plots import plot_betti_layers

        plot_betti_layers(topo["layers"], mean_b, np.asarray(topo["omega_cubical"]),
                          np.asarray(topo["omega_rips"]) if "omega_rips" in topo else None,
                          f"{model} on {dataset}", plot)
        err.print(f"wrote {plot}")
    run_id = store_ranking(r, db)
    if output:
        write_output(r, output, run_id, db)
        err.print(f"wrote {output}")


def evaluate(
    dataset: str = typer.Option("digits", "--dataset", "-d"),
    zoo: Optional[str] = typer.Option(None, "--zoo", help=ZOO_HELP),
    models: str = typer.Option("offline", "--models", "-m"),
    protocol: str = typer.Option("full", "--protocol", help="full (fine-tune) or linear (probe)."),
    budget: str = typer.Option("cpu", "--budget", help="cpu (small) or published (docs/methods.md §5)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the budget's steps."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Override the input size."),
    per_class: Optional[int] = typer.Option(None, "--per-class", help="Training images per class."),
    device: str = typer.Option("auto", "--device"),
    amp: bool = typer.Option(False, "--amp", help="Mixed precision on CUDA."),
    channels_last: bool = typer.Option(
        False, "--channels-last",
        help="Train in channels-last memory format: ~2x faster on CPU, different low-order bits "
             "(recorded)."),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    executor: str = EXECUTOR,
    ray_address: Optional[str] = RAY_ADDRESS,
    workers: Optional[int] = WORKERS,
    retries: int = RETRIES,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Fine-tune (or linear-probe) each backbone and report test accuracy; resumable."""
    from dataclasses import replace

    from modelrank.cli.render import job_progress, print_skipped
    from modelrank.finetuning import BUDGETS, evaluate as run_eval
    from modelrank.store import Store

    if budget not in BUDGETS:
        raise ConfigError(f"--budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    cfg = BUDGETS[budget]
    if steps is not None:
        if steps < 1:
            raise ConfigError(f"--steps must be at least 1, got {steps}")
        cfg = replace(cfg, steps=steps)
    if image_size is not None:
        cfg = replace(cfg, image_size=image_size)
    if amp:
        cfg = replace(cfg, amp=True)
    if channels_last:
        cfg = replace(cfg, channels_last=True)
    check_outputs(output=None, db=db)
    failures: list[tuple[str, str]] = []
    with job_progress(err) as (on_progress, on_counts), open_executor(
            executor, ray_address, workers, retries, cpus_per_task, gpus_per_task,
            on_counts) as ex:
        results = run_eval(dataset, zoo=zoo, models=models, protocol=protocol, budget=cfg,
                           per_class=per_class, device=device, executor=ex,
                           on_run=lambda m, d, t: on_progress(f"{m} runs", d, t),
                           on_step=lambda d, t: on_progress("steps of this run", d, t),
                           on_skip=lambda m, why: print_skipped(err, m, why),
                           on_fail=lambda m, why: failures.append((m, why)), cache_dir=cache_dir)
        described = ex.describe()
    if not results and not failures:
        raise ConfigError("none of the selected backbones could be evaluated here (the reasons "
                          "are above)")
    t = Table(title=escape(f"{protocol} evaluation on {dataset}"))
    for c in ("model", "accuracy %", "kind", "best", "runs trained now"):
        t.add_column(c)
    for r in sorted(results, key=lambda r: -r.accuracy):
        t.add_row(r.model, f"{r.accuracy:.2f}", r.accuracy_kind, str(r.best), str(r.runs_computed))
    for m, why in failures:
        t.add_row(m, "failed", "", why, "")
    out.print(t)
    with Store(db) as store:
        if failures:
            store.record_run(command_line(), {"kind": "evaluate", "dataset": dataset,
                                              "execution": described,
                                              "failed": [{"model": m, "reason": why}
                                                         for m, why in failures]})
        for r in results:
            run_id = store.record_run(command_line(), {"kind": "evaluate", "dataset": dataset,
                                                       **r.recipe})
            store.record_evaluation(run_id, r.model, dataset, protocol, r.best, r.accuracy,
                                    r.accuracy_kind, "test", {"grid": r.grid})
    exit_if_failed(len(failures))


#: Default rows of ``benchmark --plot``: the established scores, the topological one, a baseline.
PLOT_SCORES = ("logme", "nleep", "sfda", "ncti", "betti-cubical", "knn", "loto-accuracy")


def benchmark(
    suite: str = typer.Option(..., "--suite", "-s", help="A packaged suite (" + ", ".join(_packaged_suites()) + ") or a suite file."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Scores (default: the suite's)."),
    device: str = typer.Option("auto", "--device"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the table (Markdown)."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write score-vs-accuracy panels (PNG)."),
    plot_scores: str = typer.Option(",".join(PLOT_SCORES), "--plot-scores",
                                    help="Scores of --plot, a comma list (one row each)."),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    executor: str = EXECUTOR,
    ray_address: Optional[str] = RAY_ADDRESS,
    workers: Optional[int] = WORKERS,
    retries: int = RETRIES,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Weighted Kendall tau of every score against fine-tuned accuracy, per target and mean."""
    from modelrank.benchmark import load_suite, run_benchmark
    from modelrank.benchmark_report import summary_rows
    from modelrank.cli.paths import plot_file
    from modelrank.cli.render import job_progress, print_skipped
    from modelrank.finetuning import accuracy_kind
    from modelrank.store import Store

    s = load_suite(suite)
    check_outputs(output=output, db=db, suffixes=(".md",))
    plot_path = plot_file(plot, f"{s.name}_scatter.png")
    with job_progress(err) as (on_progress, on_counts), open_executor(
            executor, ray_address, workers, retries, cpus_per_task, gpus_per_task,
            on_counts) as ex:
        res = run_benchmark(s, metrics=metric, device=device, on_progress=on_progress,
                            on_run=lambda m, d, t: on_progress(f"{m} fine-tune", d, t),
                            on_skip=lambda m, why: print_skipped(err, m, why),
                            executor=ex, cache_dir=cache_dir)
    text = res.to_markdown(s.published or None)
    out.print(text, highlight=False, markup=False, soft_wrap=True)
    with Store(db) as store:
        for target, ranking in res.rankings.items():
            store.record_ranking(ranking.to_dict(), command_line())
        run_id = store.record_run(command_line(), {"kind": "benchmark", "suite": s.name})
        for label, gt in res.ground_truths.items():
            spec = s.ground_truth if label == "headline" else s.also_against[label]
            published = spec["kind"] == "published"
            protocol = ("published" if published else
                        "finetune" if spec.get("protocol", "full") == "full" else "linear")
            for target, accs in gt.accuracies.items():
                kind = accuracy_kind(target, published=published)
                for model, acc in accs.items():
                    store.record_evaluation(
                        run_id, model, target, protocol, {}, float(acc), kind, "test",
                        {"per_seed": gt.per_seed.get(target, {}).get(model)})
            store.record_correlations(run_id, s.name, res.tables[label]["records"])
        store.record_tau_summaries(run_id, s.name, summary_rows(res))
    if output:
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(f"Command: `{command_line()}`\n\n" + text)
        except OSError as exc:
            raise ConfigError(f"could not write {output!r} ({exc.strerror or exc}); the results "
                              f"are stored in the results database as run {run_id}") from None
        err.print(f"wrote {output}")
    if plot_path is not None:
        from modelrank.plots import plot_benchmark_scatter

        plot_benchmark_scatter(res, [x.strip() for x in plot_scores.split(",") if x.strip()],
                               str(plot_path))
        err.print(f"wrote {plot_path}")
    exit_if_failed(len(res.failed))


def register(app: typer.Typer) -> None:
    app.command()(betti)
    app.command()(evaluate)
    app.command()(benchmark)
