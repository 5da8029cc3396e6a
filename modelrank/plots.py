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
