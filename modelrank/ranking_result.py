"""What scoring returns: a :class:`Ranking` of :class:`RankRow` (one per backbone), with its
recipe and its serialisers (JSON, CSV, Markdown, pandas)."""

from __future__ import annotations

import csv
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from modelrank.correlation import shared_ranks
from modelrank.errors import ConfigError, MetricError, ParameterError
from modelrank.util.jsonable import jsonable
from modelrank.util.markdown import table


def library_versions() -> dict[str, str]:
    """Versions of the libraries that determine the numbers (recorded with every result)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in (
        "modelrank",
        "torch",
        "torchvision",
        "timm",
        "numpy",
        "scipy",
        "scikit-learn",
        "transformers",
        "ripser",
        "gudhi",
    ):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


@dataclass
class RankRow:
    """One backbone's result: scores (higher is better), raw values, and what is unavailable."""

    model: str
    scores: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    topology: dict[str, Any] = field(default_factory=dict)
    rank: int | None = None  # by the ranking's primary score; equal values share it


def scored_resolution(rows: Iterable[RankRow]) -> str | None:
    """The input size ``rows`` were scored at, in words ("64 px", "224–260 px"); None when no
    row recorded one."""
    sizes = sorted({r.info["image_size"] for r in rows if r.info.get("image_size")})
    if not sizes:
        return None
    return f"{sizes[0]} px" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]} px"


@dataclass
class Ranking:
    """Backbones ranked on one target. ``rows`` are sorted by ``primary`` (best first; models
    where it is unavailable last). ``skipped`` lists (model, reason) for backbones not scored
    (weights unavailable); ``failed`` lists (model, reason) for units that failed after their
    retries (an exception, or a worker that died). ``half_samples``: one {primary: {model:
    value}} per half-sample of the scored images, computed by the scoring units when
    :func:`~modelrank.ranking.rank` was asked for a ``stability`` (the recommendation's)."""

    metrics: list[str]
    primary: str
    rows: list[RankRow]
    skipped: list[tuple[str, str]]
    recipe: dict[str, Any]
    failed: list[tuple[str, str]] = field(default_factory=list)
    half_samples: list[dict[str, dict[str, float]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:

        for row, rank in zip(
            self.rows, shared_ranks([r.scores.get(self.primary) for r in self.rows])
        ):
            row.rank = rank

    def tied_first(self) -> list[str]:
        """The backbones sharing the first place under the primary score (one when no tie)."""
        return [r.model for r in self.rows if r.rank == 1]

    def best(self) -> str:
        """Name of the top backbone by the primary score.

        Raises MetricError saying why when no backbone has that score: each backbone that was
        skipped, failed, or could not be given the score, with its reason."""
        for r in self.rows:
            if self.primary in r.scores:
                return r.model
        why = (
            [f"{m} skipped ({reason})" for m, reason in self.skipped]
            + [f"{m} failed ({reason})" for m, reason in self.failed]
            + [
                f"{r.model}: {r.unavailable[self.primary]}"
                for r in self.rows
                if self.primary in r.unavailable
            ]
        )
        raise MetricError(
            f"no backbone has a {self.primary} score"
            + (": " + "; ".join(why) if why else ": no backbone was selected")
        )

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and formatted cells: rank, model, each metric (raw value, direction-aware)."""
        header = ["rank", "model"] + self.metrics
        body = []
        for r in self.rows:
            cells = ["–" if r.rank is None else str(r.rank), r.model]
            for m in self.metrics:
                v = r.raw.get(m)
                cells.append("n/a" if v is None else f"{v:.4g}")
            body.append(cells)
        return header, body

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "metrics": self.metrics,
            "primary": self.primary,
            "ranking": [
                {
                    "rank": r.rank,
                    "model": r.model,
                    "scores": r.scores,
                    "raw": r.raw,
                    "unavailable": r.unavailable,
                    "info": r.info,
                    "topology": r.topology,
                }
                for r in self.rows
            ],
            "skipped": [{"model": m, "reason": why} for m, why in self.skipped],
            "failed": [{"model": m, "reason": why} for m, why in self.failed],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=jsonable)

    def to_pandas(self):
        """A pandas DataFrame, one row per backbone in ranking order (index: model): ``rank``
        and each metric's raw value (NaN where unavailable; lower is better for the metrics whose
        registry entry says so, as in :meth:`table`). Needs pandas (not a dependency)."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError("Ranking.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(
            [
                {
                    "model": r.model,
                    "rank": r.rank,
                    **{m: r.raw.get(m, float("nan")) for m in self.metrics},
                }
                for r in self.rows
            ]
        ).set_index("model")

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["rank", "model"] + self.metrics)
        for r in self.rows:
            w.writerow(
                ["" if r.rank is None else r.rank, r.model]
                + ["" if r.raw.get(m) is None else repr(r.raw[m]) for m in self.metrics]
            )
        return buf.getvalue()

    def to_markdown(self) -> str:

        lines = table(*self.table())
        rec = self.recipe.get("data", {})
        lines.insert(
            0,
            f"Ranking on {rec.get('dataset')} ({rec.get('split')}, "
            f"{rec.get('n_images')} images), sorted by {self.primary}\n",
        )
        if self.skipped or self.failed:
            lines.append("")
            lines += [f"- skipped {m}: {why}" for m, why in self.skipped]
            lines += [f"- failed {m}: {why}" for m, why in self.failed]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write as .json, .csv or .md by suffix; topology arrays go to ``<path>.betti.npz``."""
        p = Path(path)
        fmt = p.suffix.lower()
        text = {".json": self.to_json, ".csv": self.to_csv, ".md": self.to_markdown}.get(fmt)
        if text is None:
            raise ParameterError("path", f"must end in .json, .csv or .md, got {p.name!r}")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text())
        arrays = {
            f"{r.model}/{k}": np.asarray(v)
            for r in self.rows
            for k, v in r.topology.get("arrays", {}).items()
        }
        if arrays:
            np.savez_compressed(p.with_name(p.name + ".betti.npz"), **arrays)
