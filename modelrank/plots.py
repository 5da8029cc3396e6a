"""Matplotlib figures (Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def plot_betti_layers(layers: Sequence[str], mean_betti: np.ndarray, omega: np.ndarray,
                      omega_rips: np.ndarray | None, title: str, path: str) -> None:
    """Two panels: mean b0, b1, b2 per layer (log scale), and Omega normalised by its maximum
    (cubical, and Rips when given) over depth rescaled to [0, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(1, len(layers) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    for k in range(mean_betti.shape[1]):
        a.plot(x, np.maximum(mean_betti[:, k], 1e-1), marker="o", label=f"b{k}")
    a.set_yscale("log")
    a.set_xlabel("probed layer")
    a.set_ylabel("mean Betti number (cubical)")
    a.set_xticks(x)
    a.set_xticklabels(layers, rotation=90, fontsize=6)
    a.legend()
    depth = (x - 1) / max(1, len(x) - 1)
    b.plot(depth, omega / max(omega.max(), 1e-12), marker="o", label="cubical Ω")
    if omega_rips is not None:
        b.plot(depth, omega_rips / max(omega_rips.max(), 1e-12), marker="s", label="Rips Ω")
    b.set_xlabel("depth (0 = stem, 1 = last probed layer)")
    b.set_ylabel("Ω / max Ω")
    b.legend()
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_benchmark_scatter(res, scores: Sequence[str], path: str, label: str = "headline"
                           ) -> None:
    """A grid of score-vs-accuracy panels: one row per score in ``scores``, one column per target
    of a BenchmarkResult ``res``; each point a backbone of the headline pool, accuracies from
    ground truth ``label``, weighted tau in the panel title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gt = res.ground_truths[label].accuracies
    rows = [s for s in scores if s in res.tables[label]["tau"] or s in res.scores]
    fig, axes = plt.subplots(len(rows), len(res.targets), squeeze=False,
                             figsize=(3.1 * len(res.targets), 2.5 * len(rows)))
    for i, score in enumerate(rows):
        for j, target in enumerate(res.targets):
            ax = axes[i][j]
            col = res.score_column(score, target, label)
            pts = [(m, v, gt[target][m]) for m, v in col.items() if m in gt.get(target, {})]
            if pts:
                ax.scatter([p[1] for p in pts], [p[2] for p in pts], s=16, color="#3b7dd8")
                for m, x, y in pts:
                    ax.annotate(m, (x, y), fontsize=5, xytext=(2, 2), textcoords="offset points")
            tau = res.tables[label]["tau"].get(score, {}).get(target)
            shown = "–" if tau is None or not np.isfinite(tau) else f"{tau:.2f}"
            ax.set_title(f"{target}\n{score}: τw = {shown}",
                         fontsize=7)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{label} accuracy %", fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
