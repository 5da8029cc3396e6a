"""The per-layer Betti table of one scored backbone (``modelrank betti``): class-balanced mean
Betti numbers and Ω at every probed layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelrank.ranking import RankRow
from modelrank.topology.omega import class_means


@dataclass
class LayerReport:
    """Attributes:
    layers: probed layer names, input side first.
    shapes: each layer's activation shape ("CxHxW"), "" where unknown.
    mean_betti: (L, 3) class-balanced means of the per-image cubical (β0, β1, β2).
    omega_cubical: (L,) Ω of the cubical counts.
    omega_rips: (L,) Ω of the Rips Betti numbers, or None when they were not computed.
    n_images: images behind the means.
    """

    layers: list[str]
    shapes: list[str]
    mean_betti: np.ndarray
    omega_cubical: np.ndarray
    omega_rips: np.ndarray | None
    n_images: int

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and formatted cells, one row a layer."""
        header = ["#", "layer", "shape", "b0", "b1", "b2", "Omega"] + (
            ["Omega_rips"] if self.omega_rips is not None else []
        )
        rows = []
        for i, name in enumerate(self.layers):
            cells = [
                str(i + 1),
                name,
                self.shapes[i],
                *(f"{v:.1f}" for v in self.mean_betti[i]),
                f"{self.omega_cubical[i]:.1f}",
            ]
            if self.omega_rips is not None:
                cells.append(f"{self.omega_rips[i]:.2f}")
            rows.append(cells)
        return header, rows


def layer_report(row: RankRow) -> LayerReport:
    """The report of a row scored with a cubical score (its ``topology`` has the counts)."""
    topo = row.topology
    b = np.asarray(topo["arrays"]["cubical_betti"], float)  # (N, L, 3)
    labels = np.asarray(topo["arrays"]["labels"])
    shapes = row.info.get("layer_shapes", {})
    return LayerReport(
        layers=list(topo["layers"]),
        shapes=[shapes.get(n, "") for n in topo["layers"]],
        mean_betti=class_means(b, labels).mean(axis=0),
        omega_cubical=np.asarray(topo["omega_cubical"], float),
        omega_rips=np.asarray(topo["omega_rips"], float) if "omega_rips" in topo else None,
        n_images=len(labels),
    )
