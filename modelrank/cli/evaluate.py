"""``modelrank evaluate``: the ground truth, by fine-tuning or linear probing."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from modelrank.cli.choices import Budget, Protocol, plain
from modelrank.cli.consoles import err, out
from modelrank.cli.execution import Execution, with_execution
from modelrank.cli.options import (Amp, CacheDir, Dataset, Db, Device, Models, PerClass, Zoo,
                                   per_class_value)


@with_execution
def evaluate(
    dataset: Dataset = "digits",
    zoo: Zoo = None,
    models: Models = "offline",
    protocol: Protocol = typer.Option(Protocol.full, "--protocol", case_sensitive=False,
                                      help="full (fine-tune) or linear (probe)."),
    budget: Budget = typer.Option(Budget.cpu, "--budget", case_sensitive=False,
                                  help="cpu (small) or published (docs/methods.md §5)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the budget's steps."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Override the input size."),
    per_class: PerClass = "all",
    device: Device = "auto",
    amp: Amp = False,
    channels_last: bool = typer.Option(
        False, "--channels-last",
        help="Train in channels-last memory format: ~2x faster on CPU, different low-order bits "
             "(recorded)."),
    db: Db = None,
    cache_dir: CacheDir = None,
    execution: Execution = Execution(),
) -> None:
    """Fine-tune (or linear-probe) each backbone and report test accuracy; resumable."""
    from modelrank.cli.execution import exit_if_failed
    from modelrank.cli.paths import check_outputs, command_line
    from modelrank.cli.render import job_progress, print_skipped
    from modelrank.errors import ConfigError
    from modelrank.finetuning import budget_config, evaluate as run_eval
    from modelrank.recording import record_evaluation

    cfg = budget_config(plain(budget), steps=steps, image_size=image_size, amp=amp,
                        channels_last=channels_last)
    check_outputs(output=None, db=db)
    with job_progress(err) as (on_progress, on_counts), execution.open(on_counts) as ex:
        ev = run_eval(dataset, zoo=zoo, models=models, protocol=plain(protocol), budget=cfg,
                      per_class=per_class_value(per_class), device=device, cache_dir=cache_dir,
                      executor=ex, on_progress=on_progress,
                      on_skip=lambda m, why: print_skipped(err, m, why))
        described = ex.describe()
    if not ev.results and not ev.failed:
        raise ConfigError("none of the selected backbones could be evaluated here (the reasons "
                          "are above)")
    t = Table(title=escape(f"{plain(protocol)} evaluation on {dataset}"))
    for c in ("model", "accuracy %", "kind", "best", "runs trained now"):
        t.add_column(c)
    for r in sorted(ev.results, key=lambda r: -r.accuracy):
        t.add_row(r.model, f"{r.accuracy:.2f}", r.accuracy_kind, str(r.best), str(r.runs_computed))
    for m, why in ev.failed:
        t.add_row(m, "failed", "", why, "")
    out.print(t)
    record_evaluation(ev, db=db, command=command_line(), execution=described)
    exit_if_failed(len(ev.failed))
