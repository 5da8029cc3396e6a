"""Rich tables and progress bars for the CLI (presentation only)."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


@contextlib.contextmanager
def progress_bar(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """Yield ``update(model, done, total)``; one bar per model (:func:`job_progress` for a
    command that runs no executor job)."""
    with job_progress(console) as (update, _):
        yield update


@contextlib.contextmanager
def job_progress(
    console: Console,
) -> Iterator[tuple[Callable[[str, int, int], None], Callable[[Any], None]]]:
    """Yield ``(update, on_counts)``: per-model bars (``update(model, done, total)``, from
    in-process units) and one bar over the whole job fed with executor Counts.

    On a terminal these are live rich bars; otherwise (a log file, CI) a live display would show
    nothing until the end, so :class:`PlainProgress` writes plain lines instead."""
    if not console.is_terminal:
        # escaped: a target's class subset "NAME[...]" is not rich markup
        plain = PlainProgress(
            lambda line: console.print(escape(line), highlight=False, soft_wrap=True)
        )
        yield plain.update, plain.on_counts
        plain.finish()
        return
    prog = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str | None, int] = {}  # None: the job's bar (no model is called None)

    def update(model: str, done: int, total: int) -> None:
        if model not in tasks:
            tasks[model] = prog.add_task(model, total=total, state="")
        prog.update(tasks[model], completed=done)

    def on_counts(c) -> None:
        if None not in tasks:
            tasks[None] = prog.add_task("units of work", total=c.total, state="")
        prog.update(
            tasks[None],
            total=c.total,
            completed=c.done + c.failed,
            state=f"{c.running} running, {c.queued} queued, {c.failed} failed",
        )

    with prog:
        yield update, on_counts


class PlainProgress:
    """Progress as plain lines for output that is not a terminal: a line when a bar completes
    (a backbone's images embedded, its fine-tuning runs done), a line when the executor's
    count of finished units moves, and for a bar that is still running a line at most every
    ``every_s`` seconds. A bar that completes over and over (the steps of each fine-tuning run)
    is reported at most every ``every_s`` seconds too, so a log gets tens of lines, not
    thousands.

    Args:
        write: called with each line (no trailing newline).
        every_s: the least interval, in seconds, between two lines of one bar, and between two
            lines of the job count.
        clock: seconds, monotonic (``time.monotonic``; tests pass a fake one).
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._write, self._every, self._clock = write, every_s, clock
        self._start = clock()
        self._last: dict[str | None, float] = {}  # None: the job count
        self._completed: set[str] = set()
        self._counts = None
        self._counts_said: tuple | None = None

    def _line(self, text: str) -> None:
        self._write(f"[{(self._clock() - self._start) / 60:6.1f} min] {text}")

    def _due(self, key: str | None) -> bool:
        last = self._last.get(key)
        return last is None or self._clock() - last >= self._every

    def update(self, model: str, done: int, total: int) -> None:
        finished = total > 0 and done >= total
        again = model in self._completed
        if (finished and not again) or self._due(model) and (finished or done > 0):
            self._line(f"{model}: {done}/{total}{' done' if finished else ''}")
            self._last[model] = self._clock()
        if finished:
            self._completed.add(model)

    def on_counts(self, c) -> None:
        self._counts = c
        state = (c.done, c.failed, c.total)
        if state != self._counts_said and (self._due(None) or c.done + c.failed >= c.total):
            self._say_counts()

    def _say_counts(self) -> None:
        c = self._counts
        self._line(
            f"units of work: {c.done + c.failed}/{c.total} finished "
            f"({c.running} running, {c.queued} queued, {c.failed} failed)"
        )
        self._last[None] = self._clock()
        self._counts_said = (c.done, c.failed, c.total)

    def finish(self) -> None:
        """The job count's last state, when the last line did not show it."""
        c = self._counts
        if c is not None and (c.done, c.failed, c.total) != self._counts_said:
            self._say_counts()


def print_skipped(console: Console, what: str, why: str) -> None:
    """One yellow "skipped WHAT: WHY" line; user text is never read as rich markup
    (a class subset ``NAME[...]`` would vanish)."""
    console.print(f"[yellow]skipped {escape(str(what))}[/]: {escape(str(why))}")


def print_ranking(console: Console, ranking) -> None:
    header, body = ranking.table()
    rec = ranking.recipe["data"]
    t = Table(
        title=escape(f"{rec['dataset']}") + f" ({rec['split']}, {rec['n_images']} images, "
        f"{rec['n_classes']} classes): ranked by {ranking.primary}"
    )
    for h in header:
        t.add_column(h, justify="right" if h not in ("model",) else "left")
    for row in body:
        t.add_row(*row)
    console.print(t)
    from modelrank.metrics import get_metric
    from modelrank.ranking import scored_resolution

    size = scored_resolution(ranking.rows)
    at = f" at {size}" if size else ""
    per = rec.get("per_class")
    console.print(
        f"  scored {rec['n_images']} {rec['split']} images"
        + (f" ({per} per class)" if per is not None else "")
        + f"{at}; raw values:",
        highlight=False,
    )
    for m in ranking.metrics:
        spec = get_metric(m)
        direction = "higher" if spec.higher_is_better else "lower"
        console.print(escape(f"  {m} ({direction} is better): {spec.description}"), highlight=False)
    for r in ranking.rows:
        for m, why in r.unavailable.items():
            console.print(escape(f"  {r.model}: {m} unavailable ({why})"), highlight=False)
    for m, why in ranking.skipped:
        console.print(escape(f"  skipped {m}: {why}"), highlight=False)


def print_history(console: Console, advice, ranking) -> None:
    """The history prior beside the ranking (:class:`~modelrank.history_advice.HistoryAdvice`):
    a table of each backbone's rank by the primary score and by the prior, then the advice."""
    from modelrank.history_advice import prior_table

    if advice.prior.prior:
        t = Table(title=escape(f"history prior from {advice.source}"))
        for h in ("model", f"rank by {ranking.primary}", "prior (SD)", "rank by prior"):
            t.add_column(escape(h), justify="left" if h == "model" else "right")
        ranks = {r.model: "–" if r.rank is None else str(r.rank) for r in ranking.rows}
        for model, prior, rank in prior_table(advice, [r.model for r in ranking.rows]):
            t.add_row(escape(model), ranks[model], prior, rank)
        console.print(t)
    for line in advice.lines():
        console.print(escape(line), highlight=False, soft_wrap=True)


def print_zoo(console: Console, entries) -> None:
    """The zoo as a table whose names never wrap (they are meant to be copied into --models);
    on a terminal narrower than the whole table, the id, weights and layers columns are left out
    and a line says how to see them."""
    from modelrank.availability import weights_status

    rows = []
    for e in entries:
        top1 = "" if e.imagenet_top1 is None else str(e.imagenet_top1)
        if e.imagenet_top1 == "auto" and e.source == "torchvision":
            from modelrank.loaders.torchvision_loader import weights_enum

            meta = weights_enum(e.id, e.weights or "DEFAULT").meta
            top1 = str(meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1", "?"))
        layers = e.layers if isinstance(e.layers, str) else f"{len(e.layers)} named"
        rows.append(
            {
                "name": e.name,
                "source": e.source,
                "id": e.id,
                "weights": str(e.weights),
                "layers": layers,
                "top-1": top1,
                "tags": ",".join(e.tags),
                "offline": weights_status(e),
            }
        )
    full = ("name", "source", "id", "weights", "layers", "top-1", "tags", "offline")
    needed = sum(max([len(h)] + [len(r[h]) for r in rows]) + 3 for h in full) + 1
    narrow = console.width < needed
    shown = ("name", "source", "top-1", "tags", "offline") if narrow else full
    t = Table(title="model zoo")
    for h in shown:
        if h == "name":
            t.add_column(h, no_wrap=True, min_width=max([4] + [len(r["name"]) for r in rows]))
        else:
            t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(*(r[h] for h in shown))
    console.print(t)
    if narrow:
        console.print(
            f"(id, weights and layers need a terminal {needed} columns wide: "
            f"COLUMNS={needed} modelrank zoo list)",
            highlight=False,
        )


def print_datasets(console: Console) -> None:
    from modelrank.availability import dataset_status
    from modelrank.data import data_root, registry

    t = Table(title=f"target data sets (data dir: {data_root()})")
    for h in ("name", "splits", "offline", "description"):
        t.add_column(h)
    for info in registry().values():
        t.add_row(info.name, ",".join(info.splits), dataset_status(info), info.description)
    console.print(t)
    console.print(
        "Any ImageFolder directory (one sub-directory per class) also works as --dataset PATH."
    )
    from modelrank.data.class_subsets import CLASS_GROUPS

    groups = "; ".join(f"{d}: {', '.join(g)}" for d, g in CLASS_GROUPS.items())
    console.print(
        escape(
            f"Some classes of any of them: NAME[class,...] (names, indices, ranges "
            f"such as 0-4, or named groups — {groups})."
        ),
        highlight=False,
    )


def print_metrics(console: Console) -> None:
    from modelrank.metrics import list_metrics
    from modelrank.metrics.registry import RECOMMENDED_FIRST

    t = Table(title="scores and priors")
    for h in ("name", "kind", "direction", "needs", "description"):
        t.add_column(h, no_wrap=h == "name")
    for s in list_metrics():
        mark = " *" if s.name in RECOMMENDED_FIRST else ""
        t.add_row(
            s.name + mark,
            s.kind,
            "higher" if s.higher_is_better else "lower",
            ",".join(sorted(s.needs)),
            s.description,
        )
    console.print(t)
    console.print(
        f'* try first: {", ".join(RECOMMENDED_FIRST)} (README, "Which score should I '
        'use?"); check the static baselines before trusting any score.',
        highlight=False,
    )
