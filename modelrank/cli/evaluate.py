"""``modelrank evaluate``: the ground truth, by fine-tuning or linear probing."""

from __future__ import annotations

from typing import Optional

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from modelrank.cli.choices import Budget, Protocol, plain
from modelrank.cli.consoles import err, out
from modelrank.cli.execution import Execution, with_execution
from modelrank.cli.options import (
    Amp,
    CacheDir,
    Dataset,
    Db,
    Device,
    Models,
    PerClass,
    Zoo,
    per_class_value,
)


@with_execution
def evaluate(
    dataset: Dataset = "digits",
    zoo: Zoo = None,
    models: Models = "offline",
    protocol: Protocol = typer.Option(
        Protocol.full,
        "--protocol",
        case_sensitive=False,
        help="full (fine-tune) or linear (probe).",
    ),
    budget: Budget = typer.Option(
        Budget.cpu,
        "--budget",
        case_sensitive=False,
        help="cpu (small) or published (docs/methods.md §5).",
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the budget's steps."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Override the input size."),
    per_class: PerClass = "all",
    device: Device = "auto",
    amp: Amp = False,
    channels_last: bool = typer.Option(
        False,
        "--channels-last",
        metavar="",
        help="Train in channels-last memory format: ~2x faster on CPU, different low-order bits "
        "(recorded).",
    ),
    train_threads: int = typer.Option(
        1,
        "--train-threads",
        help="Torch threads of each fine-tuning run, whatever --threads or the executor has: the "
        "count changes the sums, so it is part of the run's key (runs with another count "
        "are not reused). Use --executor ray --workers N to use N cores with 1 each.",
    ),
    seeds: Optional[str] = typer.Option(
        None,
        "--seeds",
        help="Run every backbone once per seed (0-3 or 0,1,2,3) and report each seed's accuracy; "
        "with 4 or more, the noise ceiling says whether this ground truth can rank them.",
    ),
    db: Db = None,
    cache_dir: CacheDir = None,
    execution: Execution = Execution(),
) -> None:
    """Fine-tune (or linear-probe) each backbone and report test accuracy; resumable."""
    from dataclasses import replace

    from modelrank.cli.execution import exit_if_failed
    from modelrank.cli.paths import check_outputs, command_line
    from modelrank.cli.render import job_progress, print_skipped
    from modelrank.errors import ConfigError, ParameterError
    from modelrank.finetuning import budget_config
    from modelrank.finetuning import evaluate as run_eval
    from modelrank.noise_ceiling import describe, noise_ceiling, parse_seeds
    from modelrank.recording import record_evaluation
    from modelrank.util.checks import check_whole_number

    check_whole_number("train_threads", train_threads, least=1)
    cfg = replace(
        budget_config(
            plain(budget), steps=steps, image_size=image_size, amp=amp, channels_last=channels_last
        ),
        threads=train_threads,
    )
    try:
        seed_list = [cfg.seed] if seeds is None else parse_seeds(seeds)
    except ValueError as exc:
        raise ParameterError("seeds", str(exc)) from None
    check_outputs(output=None, db=db)
    evals = []
    with job_progress(err) as (on_progress, on_counts), execution.open(on_counts) as ex:
        for seed in seed_list:
            evals.append(
                run_eval(
                    dataset,
                    zoo=zoo,
                    models=models,
                    protocol=plain(protocol),
                    budget=replace(cfg, seed=seed),
                    per_class=per_class_value(per_class),
                    device=device,
                    cache_dir=cache_dir,
                    executor=ex,
                    on_progress=on_progress,
                    on_skip=(lambda m, why: print_skipped(err, m, why))
                    if seed == seed_list[0]
                    else None,
                )
            )
        described = ex.describe()
    if not any(ev.results or ev.failed for ev in evals):
        raise ConfigError(
            "none of the selected backbones could be evaluated here (the reasons are above)"
        )
    per_seed: dict[str, list[float]] = {}
    for ev in evals:
        for r in ev.results:
            per_seed.setdefault(r.model, []).append(r.accuracy)
    failed = {m: why for ev in evals for m, why in ev.failed}
    several = len(seed_list) > 1
    t = Table(
        title=escape(
            f"{plain(protocol)} evaluation on {dataset}"
            + (f", seeds {', '.join(map(str, seed_list))}" if several else "")
        )
    )
    columns = (
        ["model", "accuracy %", "± SD", "each seed", "kind", "runs trained now"]
        if several
        else ["model", "accuracy %", "kind", "best", "runs trained now"]
    )
    for c in columns:
        t.add_column(c)
    first = {r.model: r for r in evals[0].results}
    trained = {
        m: sum(r.runs_computed for ev in evals for r in ev.results if r.model == m)
        for m in per_seed
    }
    complete = {m: v for m, v in per_seed.items() if len(v) == len(seed_list) and m not in failed}
    for m in sorted(complete, key=lambda m: -float(np.mean(complete[m]))):
        v = complete[m]
        r = first.get(m) or next(r for ev in evals for r in ev.results if r.model == m)
        if several:
            t.add_row(
                m,
                f"{np.mean(v):.2f}",
                f"{np.std(v, ddof=1):.2f}",
                " ".join(f"{a:.1f}" for a in v),
                r.accuracy_kind,
                str(trained[m]),
            )
        else:
            t.add_row(m, f"{v[0]:.2f}", r.accuracy_kind, _plain_best(r.best), str(trained[m]))
    for m, why in failed.items():
        t.add_row(m, "failed", *([""] * (len(columns) - 3)), why)
    out.print(t)
    if several:
        out.print(describe(noise_ceiling(complete)), highlight=False, markup=False)
    for ev in evals:
        record_evaluation(ev, db=db, command=command_line(), execution=described)
    exit_if_failed(len(failed))


def _plain_best(best: dict) -> str:
    """The chosen hyper-parameters as plain numbers (``lr=0.01, w=0``)."""
    return ", ".join(f"{k}={float(v):g}" for k, v in best.items())
