"""The figures of ``modelrank betti --plot`` and ``modelrank benchmark --plot``, in the
style of :mod:`modelrank.util.plot_style`."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from modelrank.util import plot_style as style


def plot_betti_layers(
    layers: Sequence[str],
    mean_betti: np.ndarray,
    omega: np.ndarray,
    omega_rips: np.ndarray | None,
    title: str,
    path: str,
) -> None:
    """Two panels: mean b0, b1, b2 per layer (log scale), and Omega normalised by its maximum
    (cubical, and Rips when given) over depth rescaled to [0, 1]."""
    x = np.arange(1, len(layers) + 1)
    fig = style.figure(12, 4.2)
    a, b = fig.subplots(1, 2)
    for k in range(mean_betti.shape[1]):
        a.plot(x, np.maximum(mean_betti[:, k], 1e-1), marker="o", label=f"b{k}")
    a.set_yscale("log")
    a.set_xlabel("probed layer")
    a.set_ylabel("mean Betti number (cubical)")
    a.set_xticks(x)
    a.set_xticklabels(layers, rotation=90, fontsize=style.SMALL - 1)
    a.legend()
    depth = (x - 1) / max(1, len(x) - 1)
    b.plot(depth, omega / max(omega.max(), 1e-12), marker="o", label="cubical Ω")
    if omega_rips is not None:
        b.plot(depth, omega_rips / max(omega_rips.max(), 1e-12), marker="s", label="Rips Ω")
    b.set_xlabel("depth (0 = stem, 1 = last probed layer)")
    b.set_ylabel("Ω / max Ω")
    b.legend()
    fig.suptitle(title)
    style.save(fig, path)


def plot_benchmark_scatter(res, scores: Sequence[str], path: str, label: str = "headline") -> None:
    """A grid of score-vs-accuracy panels: one row per score in ``scores``, one column per target
    of a BenchmarkResult ``res``; each point a backbone of the headline pool, accuracies from
    ground truth ``label``, weighted tau in the panel title."""
    gt = res.ground_truths[label].accuracies
    rows = [s for s in scores if s in res.tables[label]["tau"] or s in res.scores]
    fig = style.figure(3.1 * len(res.targets), 2.5 * len(rows))
    axes = fig.subplots(len(rows), len(res.targets), squeeze=False)
    for i, score in enumerate(rows):
        for j, target in enumerate(res.targets):
            ax = axes[i][j]
            col = res.score_column(score, target, label)
            pts = [(m, v, gt[target][m]) for m, v in col.items() if m in gt.get(target, {})]
            if pts:
                ax.scatter([p[1] for p in pts], [p[2] for p in pts], s=16, color=style.POSITIVE)
                for m, x, y in pts:
                    ax.annotate(m, (x, y), fontsize=5, xytext=(2, 2), textcoords="offset points")
            tau = res.tables[label]["tau"].get(score, {}).get(target)
            shown = "–" if tau is None or not np.isfinite(tau) else f"{tau:.2f}"
            ax.set_title(f"{target}\n{score}: τw = {shown}", fontsize=style.SMALL)
            ax.tick_params(labelsize=style.SMALL - 1)
            if j == 0:
                ax.set_ylabel(f"{label} accuracy %", fontsize=style.SMALL)
    style.save(fig, path)
