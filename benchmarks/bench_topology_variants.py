"""The topology study (issue 15): every pre-registered topological variant
(``modelrank/studies/topology_variants.py``, whose docstring is the pre-registration) on two
benchmark suites, each variant chosen on one suite and reported on the other.

    python benchmarks/bench_topology_variants.py --suites fmnist-zoo,fmnist-imagenet \\
        --output benchmarks/results/topology_study.md

Each suite can be scored in a different session: its scoring is saved as
``topology_variants_SUITE.json`` and can be passed to ``--suites`` instead of the name.
Runs each suite's benchmark first (from the cache when it was run), then one forward pass per
backbone and target for the cubical columns, the Rips clouds (200 train images per class), and
100 half-samples. Resumable: every backbone x target is journaled. Writes the Markdown report,
a CSV of every variant (``.csv`` beside it) and, with two suites, a figure (``.png``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from modelrank.studies.topology_study import SuiteVariants, score_suite
    from modelrank.studies.topology_study_report import plot_transfer, render_markdown, to_csv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--suites",
        default="fmnist-zoo,fmnist-imagenet",
        help="suite names (scored now, saved as topology_variants_SUITE.json beside "
        "--output) or such .json files (an earlier session's scoring, loaded)",
    )
    ap.add_argument("--output", default="benchmarks/results/topology_study.md")
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--no-rips", action="store_true", help="leave the Rips sources out")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument(
        "--columns-per-class",
        type=int,
        default=None,
        help="a stated deviation for cost: the cubical columns of the suites scored "
        "now see this many images per class (default: the suite's own)",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    studies = []
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in [s.strip() for s in args.suites.split(",") if s.strip()]:
        if name.endswith(".json"):
            studies.append(SuiteVariants.from_json(Path(name).read_text()))
            continue
        t = time.perf_counter()
        studies.append(
            score_suite(
                name,
                cache_dir=args.cache_dir,
                replicates=args.replicates,
                rips=not args.no_rips,
                columns_per_class=args.columns_per_class,
                on_progress=lambda what, d, n: print(
                    f"{what}: {d}/{n}", file=sys.stderr, flush=True
                ),
            )
        )
        (out.parent / f"topology_variants_{studies[-1].suite}.json").write_text(
            studies[-1].to_json()
        )
        print(f"{name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    wall = time.perf_counter() - t0
    args_given = argv if argv is not None else sys.argv[1:]
    head = [
        f"Command: `python {shlex.join(['benchmarks/bench_topology_variants.py'] + args_given)}`",
        "",
        f"Wall clock of this run: {wall / 60:.1f} min.",
        "",
    ]
    out.write_text("\n".join(head) + render_markdown(studies))
    out.with_suffix(".csv").write_text(to_csv(studies))
    if len(studies) >= 2:
        plot_transfer(studies, str(out.with_suffix(".png")))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
