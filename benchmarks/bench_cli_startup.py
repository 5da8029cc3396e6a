"""What the command line's lazy imports save: the time to import ``modelrank.cli`` as it is
(each command imports what it runs inside the command) against importing it together with what
its commands import (what the start-up would cost with those imports at the top of the command
modules), each in a fresh interpreter, median of N runs, in the same process:

    python benchmarks/bench_cli_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

#: What the commands import when they run, torch-free ones only (torch stays lazy either way;
#: modelrank.finetuning's package imports it, so the evaluate command is left out).
COMMAND_IMPORTS = (
    "modelrank.ranking",
    "modelrank.pick",
    "modelrank.benchmark",
    "modelrank.recording",
    "modelrank.leaderboard",
    "modelrank.studies.invariance",
    "modelrank.history_sources",
)


def _seconds(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    eager_code = "import sys, modelrank.cli, " + ", ".join(COMMAND_IMPORTS)
    probe = subprocess.run(
        [sys.executable, "-c", eager_code + "; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False", "the eager imports must leave torch out"
    lazy, eager = [], []
    for _ in range(args.runs):
        lazy.append(_seconds("import modelrank.cli"))
        eager.append(_seconds(eager_code))
    lz, eg = statistics.median(lazy), statistics.median(eager)
    print(
        f"import modelrank.cli: {lz:.2f} s; with the commands' imports: {eg:.2f} s "
        f"(x{eg / lz:.2f}; medians of {args.runs} fresh interpreters)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
