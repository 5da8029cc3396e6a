"""Plain-line progress for output that is not a terminal (logs, CI)."""

import io

from rich.console import Console

from modelrank.cli.render import PlainProgress, job_progress
from modelrank.execution import Counts


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_line_per_completed_bar_and_heartbeats_at_most_every_interval():
    clock, lines = FakeClock(), []
    p = PlainProgress(lines.append, every_s=30, clock=clock)
    for done in range(1, 11):  # backbone a: 10 batches over 50 s
        clock.t += 5
        p.update("a", done, 10)
    # first batch (due: never said), nothing else for 30 s, then the completion
    assert lines == ["[   0.1 min] a: 1/10", "[   0.6 min] a: 7/10", "[   0.8 min] a: 10/10 done"]
    lines.clear()
    for _ in range(40):  # a bar that completes over and over, once a second
        clock.t += 1
        for step in (1, 2):
            p.update("steps of this run", step, 2)
    # its first start and completion, then one line per 30 s, not 80
    assert [ln.split("] ")[1] for ln in lines] == [
        "steps of this run: 1/2",
        "steps of this run: 2/2 done",
        "steps of this run: 1/2",
    ]


def test_job_counts_are_said_when_they_move_and_at_the_end():
    clock, lines = FakeClock(), []
    p = PlainProgress(lines.append, every_s=30, clock=clock)
    p.on_counts(Counts(total=4, done=0, running=2))
    clock.t += 10
    p.on_counts(Counts(total=4, done=1, running=2))  # not due yet
    clock.t += 10
    p.on_counts(Counts(total=4, done=4, running=0))  # the last: always said
    p.finish()  # already said: nothing more
    assert [ln.split("] ")[1] for ln in lines] == [
        "units of work: 0/4 finished (2 running, 2 queued, 0 failed)",
        "units of work: 4/4 finished (0 running, 0 queued, 0 failed)",
    ]
    p2_lines = []
    p2 = PlainProgress(p2_lines.append, every_s=30, clock=clock)
    p2.on_counts(Counts(total=3, done=0))
    p2.on_counts(Counts(total=3, done=2, failed=0))
    p2.finish()  # the job ended between two due lines: its last state is said
    assert p2_lines[-1].endswith("units of work: 2/3 finished (0 running, 1 queued, 0 failed)")


def test_job_progress_writes_plain_lines_when_not_a_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=100)
    with job_progress(console) as (update, on_counts):
        update("lite0", 3, 3)
        update("half-samples lite0 x fashion-mnist[upper-body]", 5, 5)
    assert "lite0: 3/3 done" in buf.getvalue()
    assert "half-samples lite0 x fashion-mnist[upper-body]: 5/5 done" in buf.getvalue()
