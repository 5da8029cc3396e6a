"""TO-score of fully connected networks of increasing width (issue 9, docs/methods.md §3).

For each width (one hidden layer by default) and each seed: train N minima on a small data set, join
every pair by an elastic-band path, build the minimax barcode and record the TO-score raw (nats) and
normalised by the barcode's loss range. Writes a Markdown table (the exact command on top) and a PNG.

    python benchmarks/bench_barcode.py            # digits, widths 4 8 16 32, 5 minima, seeds 0 1

Runs single-threaded (about 10 minutes on 2 shared cores with the defaults).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from modelrank.studies.loss_barcode import loss_barcode

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--widths", default="4,8,16,32")
    p.add_argument("--minima", type=int, default=5)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--path-points", type=int, default=8)
    p.add_argument("--path-steps", type=int, default=200)
    p.add_argument("--name", default="to_score_width", help="output stem under benchmarks/results/")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    for width in [int(w) for w in args.widths.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            t0 = time.perf_counter()
            res = loss_barcode(
                data=args.data,
                arch=f"{args.depth}x{width}",
                minima=args.minima,
                seed=seed,
                steps=args.steps,
                path_points=args.path_points,
                path_steps=args.path_steps,
            )
            off = ~np.eye(args.minima, dtype=bool)
            row = dict(
                width=width,
                seed=seed,
                n_params=res.config["n_params"],
                min_loss=float(res.minima_losses.min()),
                max_min_loss=float(res.minima_losses.max()),
                acc=float(res.train_accuracy.mean()),
                straight=float(np.median(res.straight_max[off])),
                path=float(np.median(res.saddles[off])),
                raw=res.to_score_raw,
                norm=res.to_score_normalised,
                range=res.loss_range,
                bars=[(b.birth, b.death) for b in res.bars if b.is_finite],
                seconds=time.perf_counter() - t0,
            )
            rows.append(row)
            print(
                f"{args.depth}x{width} seed {seed}: TO raw {row['raw']:.4g}, normalised {row['norm']:.4g} "
                f"({row['seconds']:.0f} s)",
                flush=True,
            )
    return rows


def write_markdown(rows: list[dict], args: argparse.Namespace, command: str, path: Path) -> None:
    widths = sorted({r["width"] for r in rows})
    lines = [
        f"# TO-score vs width: {args.data}, {args.depth} hidden layer(s), {args.minima} minima per run",
        "",
        "Command:",
        "",
        f"    {command}",
        "",
        "Loss: mean cross-entropy (nats) on the whole data set, no regularisation. Minima: full-batch Adam"
        f" ({args.steps} steps, lr 1e-2, float64). Paths: {args.path_points} interior points,"
        f" {args.path_steps} elastic-band iterations (perpendicular gradient, Adam lr 3e-2, equal-arc"
        " redistribution), maximum over 4 samples per segment. Saddles are therefore upper bounds that"
        " depend on the path budget. TO-score raw = sum of finite bar lengths (nats); normalised ="
        " raw / (highest finite death − lowest minimum) of the same barcode.",
        "",
        "## Per width (mean ± std over seeds)",
        "",
        "| arch | params | TO-score raw (nats) | TO-score normalised | loss range (nats) | min loss "
        "| mean train acc |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for w in widths:
        sel = [r for r in rows if r["width"] == w]

        def ms(key: str, fmt: str = ".4g") -> str:
            vals = np.array([r[key] for r in sel])  # noqa: B023 (called at once, in the loop)
            return (
                f"{vals.mean():{fmt}} ± {vals.std():{fmt}}" if len(vals) > 1 else f"{vals[0]:{fmt}}"
            )

        lines.append(
            f"| {args.depth}x{w} | {sel[0]['n_params']} | {ms('raw')} | {ms('norm')} | {ms('range')} "
            f"| {ms('min_loss')} | {ms('acc', '.4f')} |"
        )
    lines += [
        "",
        "## Per run",
        "",
        "| arch | seed | TO raw | TO normalised | minima loss (min..max) | median straight-line max "
        "| median best-path max | finite bars [birth, death) | time (s) |",
        "|---|---:|---:|---:|---|---:|---:|---|---:|",
    ]
    for r in rows:
        bars = ", ".join(f"[{b:.3g}, {d:.3g})" for b, d in r["bars"])
        lines.append(
            f"| {args.depth}x{r['width']} | {r['seed']} | {r['raw']:.4g} | {r['norm']:.4g} "
            f"| {r['min_loss']:.3g}..{r['max_min_loss']:.3g} | {r['straight']:.3g} | {r['path']:.3g} "
            f"| {bars} | {r['seconds']:.0f} |"
        )
    from scipy.stats import spearmanr

    w_all = [r["width"] for r in rows]
    rho_raw = spearmanr(w_all, [r["raw"] for r in rows])[0]
    rho_norm = spearmanr(w_all, [r["norm"] for r in rows])[0]
    lines += [
        "",
        "## Reading",
        "",
        f"Spearman correlation with width over all runs: TO-score raw {rho_raw:+.2f}, normalised"
        f" {rho_norm:+.2f} (the papers report the TO-score falling with width and depth).",
        "The normalised score divides by the barcode's own loss range, highest finite death minus lowest"
        " minimum; compare the loss-range column when reading it, since that range changes with width too.",
        "",
    ]
    path.write_text("\n".join(lines))


def write_plot(rows: list[dict], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths = sorted({r["width"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    panels = ((axes[0], "raw", "TO-score raw (nats)"), (axes[1], "norm", "TO-score / loss range"))
    for ax, key, label in panels:
        for r in rows:
            ax.scatter(r["width"], r[key], color="C0", alpha=0.6, s=18)
        ax.plot(
            widths,
            [np.mean([r[key] for r in rows if r["width"] == w]) for w in widths],
            color="C3",
            marker="o",
            label="mean over seeds",
        )
        ax.set_xscale("log", base=2)
        if key == "raw":
            ax.set_yscale("log")
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_xlabel(f"hidden width ({args.depth} hidden layer{'s' if args.depth > 1 else ''})")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle(f"Loss barcode TO-score vs width: {args.data}, {args.minima} minima per run")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    command = " ".join(["python", "benchmarks/bench_barcode.py", *map(shlex.quote, argv)])
    t0 = time.perf_counter()
    rows = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_markdown(rows, args, command, RESULTS / f"{args.name}.md")
    write_plot(rows, args, RESULTS / f"{args.name}.png")
    print(f"wrote {RESULTS / (args.name + '.md')} and .png in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
