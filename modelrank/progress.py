"""The one shape of every progress callback in modelrank.

Every long-running public function (``rank``, ``rank_targets``, ``evaluate``, ``run_benchmark``,
``probe``, the studies, ``build_zoo``) takes ``on_progress``, called as
``on_progress(what, done, total)``:

- ``what``: a short label naming one bar of progress (a backbone's images, a backbone's
  fine-tuning runs, the steps of the current run, a study's levels). Calls with the same label
  update the same bar.
- ``done``, ``total``: how far that bar is, in its own units (images, runs, steps, levels).

Callbacks are called only for work done in this process; work an executor runs elsewhere is
reported through the executor's own counts.
"""

from __future__ import annotations

from typing import Protocol


class OnProgress(Protocol):
    def __call__(self, what: str, done: int, total: int) -> None: ...


def tell(on_progress: OnProgress | None, what: str, done: int, total: int) -> None:
    """Call ``on_progress`` when there is one."""
    if on_progress is not None:
        on_progress(what, done, total)


def to_stderr(*, every_s: float = 5.0, stream=None) -> OnProgress:
    """A callback that prints progress as plain lines (``[lite0 images] 32/100``): each label's
    first call, its last (``done == total``), and otherwise at most one line every ``every_s``
    seconds per label. For the library: ``rank(..., on_progress=modelrank.progress.to_stderr())``.
    """
    import sys
    import time

    out = stream if stream is not None else sys.stderr
    last: dict[str, float] = {}

    def report(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if what in last and done < total and now - last[what] < every_s:
            return
        last[what] = now
        print(f"[{what}] {done}/{total}", file=out, flush=True)

    return report
