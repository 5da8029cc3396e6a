"""Targets made of some classes of a data set: ``NAME[class,class,...]``.

A target string may end in a bracketed, comma-separated list of classes of the data set it
names (a registered name or an ImageFolder path): ``fashion-mnist[T-shirt/top,Pullover,Coat,Shirt]``.
Each item is, tried in this order, a class name of that data set, a named group of its classes
(:data:`CLASS_GROUPS`, e.g. ``fashion-mnist[upper-body]``), a class index (``3``) or an index range
(``0-4``, both ends included). The kept classes are relabelled 0..k-1 in the data set's own class
order, whatever order the list gives them in; per-class sampling happens after the subset is taken.
The whole string is the target's name, so it is part of every cache key and of every recorded
recipe, which also lists the kept class names.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

import numpy as np

from modelrank.data.target import LazyImages, finish_target
from modelrank.errors import UnknownDatasetError
from modelrank.util.suggest import did_you_mean

#: Named groups of classes, by data set: {data set: {group: class names}}.
CLASS_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "fashion-mnist": {
        # the four upper-body garments: the fine-grained part of Fashion-MNIST
        "upper-body": ("T-shirt/top", "Pullover", "Coat", "Shirt"),
        "footwear": ("Sandal", "Sneaker", "Ankle boot"),
        "first-five": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"),
        "last-five": ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    },
}

_SPEC = re.compile(r"^(?P<base>.+?)\[(?P<items>[^\[\]]*)\]$", re.S)
_RANGE = re.compile(r"^(\d+)-(\d+)$")


def split_target(spec: str) -> tuple[str, list[str] | None]:
    """(data set, class items or None) of a target string; no brackets: (spec, None).

    Raises UnknownDatasetError for brackets that are empty or unbalanced.
    """
    m = _SPEC.match(spec)
    if m is None:
        if "[" in spec or "]" in spec:
            raise UnknownDatasetError(
                f"target {spec!r}: a class subset is written NAME[class,class,...], one pair of "
                "brackets at the end"
            )
        return spec, None
    items = [s.strip() for s in m.group("items").split(",")]
    if not any(items) or not all(items):
        raise UnknownDatasetError(
            f"target {spec!r}: the class list must name at least one "
            "class, with no empty item between commas"
        )
    return m.group("base"), items


def base_name(spec: str) -> str:
    """The data set a target string names, without its class subset."""
    return split_target(spec)[0]


def resolve_classes(
    spec: str, dataset: str, class_names: Sequence[str], items: Sequence[str]
) -> list[int]:
    """Sorted indices into ``class_names`` that ``items`` name (see the module docstring).

    Raises UnknownDatasetError for an item that is none of a class, a group or an index in
    range, for a repeated class, and for fewer than 2 classes in all.
    """
    names = list(class_names)
    groups = CLASS_GROUPS.get(dataset, {})
    chosen: list[int] = []
    for item in items:
        if item in names:
            chosen.append(names.index(item))
        elif item in groups:
            chosen += [names.index(c) for c in groups[item]]
        elif item.isdigit() and int(item) < len(names):
            chosen.append(int(item))
        elif (r := _RANGE.match(item)) and int(r.group(1)) <= int(r.group(2)) < len(names):
            chosen += list(range(int(r.group(1)), int(r.group(2)) + 1))
        else:
            shown = ", ".join(names[:12]) + (
                f", … ({len(names)} in all)" if len(names) > 12 else ""
            )
            extra = f"; groups: {', '.join(groups)}" if groups else ""
            raise UnknownDatasetError(
                f"target {spec!r}: {item!r} is not a class of {dataset}"
                f"{did_you_mean(item, [*names, *groups])} (classes: {shown}{extra}; "
                f"or an index 0-{len(names) - 1})"
            )
    repeated = sorted({names[c] for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise UnknownDatasetError(f"target {spec!r} names class {repeated[0]!r} more than once")
    if len(chosen) < 2:
        raise UnknownDatasetError(
            f"target {spec!r}: a classification target needs at least 2 classes"
        )
    return sorted(chosen)


def restrict(data, *, spec: str, keep: Sequence[int], per_class: int | None, seed: int):
    """The images of ``data`` (a TargetData of a whole split) whose class is in ``keep``,
    relabelled 0..k-1, then sampled ``per_class`` with ``seed``; named ``spec``."""
    keep = list(keep)
    pos = np.flatnonzero(np.isin(data.labels, keep))
    relabel = np.full(len(data.class_names), -1, np.int64)
    relabel[keep] = np.arange(len(keep))
    full = data.images
    sub = finish_target(
        spec,
        data.split,
        LazyImages(pos.size, lambda i: full[int(pos[i])]),
        relabel[data.labels[pos]],
        [data.class_names[c] for c in keep],
        per_class,
        seed,
        data.source,
        data.skipped,
    )
    base_idx = data.indices if data.indices is not None else np.arange(len(data))
    return replace(
        sub,
        indices=base_idx[pos[sub.indices]],
        content=data.content,
        class_subset=tuple(sub.class_names),
    )
