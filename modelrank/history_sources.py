"""Where a transfer history comes from: the packaged published tables, the results database, a file.

A history (:class:`History`) is every target's accuracy per backbone, with, where it is known, a
digest of the target's test images (:mod:`modelrank.data.content`), so that a target scored under
another name or path is still recognised as itself and kept out of its own prior
(:func:`prior_for`).

Sources (:func:`load_history`):

- ``published`` or ``published:GROUP``: a packaged published fine-tuning table
  (``group1_supervised`` by default: 11 ImageNet models on 11 targets).
- ``db`` or ``db:PATH``: the results database (``$MODELRANK_DB`` by default): every accuracy that
  ``evaluate`` and ``benchmark`` stored. Per target, the accuracies of one recipe are used (the
  recipe covering the most backbones, the latest on a tie), each backbone's the mean over that
  recipe's seeds; never the best of several runs, which would favour the backbone tried most.
- a ``.json`` file ``{target: {backbone: accuracy %}}`` or a ``.csv`` file with columns
  ``target,backbone,accuracy`` (one row per pair; repeated pairs are averaged).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from modelrank.data.content import known_test_digest
from modelrank.errors import ConfigError
from modelrank.history import HistoryPrior, history_prior, published_history
from modelrank.store import Store, resolve_path


@dataclass(frozen=True)
class History:
    """A transfer history.

    Attributes:
        source: where it was read from, in words.
        accuracies: {target: {backbone: accuracy %}}.
        content: {target: digest of its test images} where recorded.
        recipes: {target: how its accuracies were measured, in words} where known.
    """

    source: str
    accuracies: dict[str, dict[str, float]]
    content: dict[str, str] = field(default_factory=dict)
    recipes: dict[str, str] = field(default_factory=dict)


def load_history(source: str) -> History:
    """The history ``source`` names (see the module docstring); ConfigError with the accepted
    forms for anything else."""
    kind, _, arg = source.partition(":")
    if kind == "published":
        group = arg or "group1_supervised"
        return History(f"the published table {group}", published_history(group))
    if kind == "db":
        return history_from_store(arg or None)
    path = Path(source).expanduser()
    if path.suffix.lower() in (".json", ".csv"):
        return history_from_file(path)
    raise ConfigError(
        f"history source {source!r}: use published, published:GROUP, db, db:PATH, "
        "or a .json / .csv file of past accuracies"
    )


def history_from_file(path: str | Path) -> History:
    """A history from ``{target: {backbone: accuracy}}`` JSON or ``target,backbone,accuracy``
    CSV (accuracies in percent, 0–100)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(
            f"history file {str(p)!r} cannot be read: {exc.strerror or exc}"
        ) from None
    pairs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"history file {str(p)!r} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
            raise ConfigError(
                f"history file {str(p)!r} must map each target to {{backbone: accuracy}}"
            )
        for t, col in doc.items():
            for m, a in col.items():
                pairs[str(t)][str(m)].append(_accuracy(a, p, f"{t} / {m}"))
    else:
        rows = list(csv.DictReader(text.splitlines()))
        need = {"target", "backbone", "accuracy"}
        if not rows or not need <= set(rows[0]):
            raise ConfigError(
                f"history file {str(p)!r} needs the columns target, backbone, "
                f"accuracy (it has {', '.join(rows[0]) if rows else 'no rows'})"
            )
        for i, row in enumerate(rows, start=2):
            pairs[row["target"]][row["backbone"]].append(_accuracy(row["accuracy"], p, f"line {i}"))
    return History(
        f"the file {p}",
        {t: {m: sum(v) / len(v) for m, v in col.items()} for t, col in pairs.items()},
    )


def _accuracy(value: Any, path: Path, where: str) -> float:
    try:
        a = float(value)
    except (TypeError, ValueError):
        a = float("nan")
    if not (math.isfinite(a) and 0.0 <= a <= 100.0):
        raise ConfigError(
            f"history file {str(path)!r}, {where}: an accuracy must be a "
            f"percentage in [0, 100], got {value!r}"
        )
    return a


def _recipe_group(row: dict[str, Any]) -> tuple[str, str]:
    """(group key, the recipe in words) of one stored accuracy: the seeds of one recipe share a
    group; a benchmark's accuracies (already seed means) form one group per suite."""
    recipe = row["recipe"]
    if recipe.get("kind") == "benchmark":
        suite = recipe.get("suite", "?")
        return f"benchmark|{suite}|{row['protocol']}", f"{row['protocol']}, benchmark {suite}"
    config = {
        k: v for k, v in (recipe.get("config") or {}).items() if k not in ("seed", "sample_seed")
    }
    train = recipe.get("train") or {}
    size = (recipe.get("preprocess") or {}).get("size")
    key = json.dumps(
        {
            "protocol": row["protocol"],
            "config": config,
            "per_class": train.get("per_class"),
            "size": size,
        },
        sort_keys=True,
    )
    words = f"{row['protocol']}, {train.get('per_class') or 'all'} images per class" + (
        f", {size} px" if size else ""
    )
    return "evaluate|" + key, words


def history_from_store(db: str | Path | None = None) -> History:
    """The history in the results database ``db`` (default ``$MODELRANK_DB``)."""
    path = resolve_path(db)
    if not path.is_file():
        raise ConfigError(
            f"no results database at {path}: run `modelrank evaluate` (or "
            "`benchmark`) first, or give --db"
        )
    with Store(path, create=False) as store:
        rows = store.evaluation_history()
    # {target: {group: {backbone: [accuracies]}}}, and the latest run of each group
    groups: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    latest: dict[tuple[str, str], int] = {}
    words: dict[str, str] = {}
    content: dict[str, str] = {}
    for row in rows:
        key, text = _recipe_group(row)
        t = row["dataset"]
        if key.startswith("benchmark|"):
            if latest.get((t, key), -1) < row["run_id"]:  # a later benchmark replaces it
                groups[t][key].clear()
        groups[t][key][row["model"]].append(float(row["accuracy"]))
        latest[(t, key)] = max(latest.get((t, key), -1), int(row["run_id"]))
        words[key] = text
        digest = row["recipe"].get("test_content") or row["extra"].get("test_content")
        if digest:
            content[t] = str(digest)
    accuracies, recipes = {}, {}
    for t, by_group in groups.items():
        key = max(by_group, key=lambda k: (len(by_group[k]), latest[(t, k)]))
        col = by_group[key]
        accuracies[t] = {m: sum(v) / len(v) for m, v in col.items()}
        seeds = sorted({len(v) for v in col.values()})
        recipes[t] = words[key] + (
            f", mean of {'/'.join(map(str, seeds))} runs" if seeds != [1] else ""
        )
    return History(f"the results database {path}", accuracies, content, recipes)


def prior_for(history: History, target: str, pool: Sequence[str]) -> HistoryPrior:
    """:func:`modelrank.history.history_prior` of ``target`` from ``history``, leaving out as
    the target itself, beside the targets of the same name, every history target whose test
    images have the target's digest (computed from the target's test split when it can be
    loaded here; otherwise only names can tell)."""
    same: list[str] = []
    if history.content:
        own = known_test_digest(target)
        if own is not None:
            same = [t for t, d in history.content.items() if d == own]
    return history_prior(history.accuracies, target, pool, same_images=same)
