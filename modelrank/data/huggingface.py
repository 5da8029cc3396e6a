"""Targets from Hugging Face ``datasets``: ``hf:NAME[:CONFIG]`` (a data set of the Hub, cached by
``datasets`` in its own cache) or a directory written by ``save_to_disk``.

- The image column is the first of type ``datasets.Image`` and the label column the first of type
  ``ClassLabel`` (whose names are the classes); ``image_column`` / ``label_column`` name them when
  the features do not say (labels of another type: their distinct values, sorted, are the classes).
- Splits are the data set's own; ``all`` joins them (classes matched by name). A single saved
  ``Dataset`` (not a ``DatasetDict``) is one split, ``all`` (``train`` means the same).
- Rows keep the data set's order; per-class sampling then picks the same images as an ImageFolder
  of the same files listed in the same order.
- Offline, a Hub data set loads from the ``datasets`` cache; when it is not there, one line says
  so and where the cache is.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelrank.data.target import LazyImages, finish_target, to_rgb
from modelrank.errors import DatasetUnavailableError
from modelrank.util.network import hub_reachable

PREFIX = "hf:"


def is_hf_dataset(name: str) -> bool:
    return name.startswith(PREFIX)


def is_saved_dataset(path: str | Path) -> bool:
    """A directory that ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk`` wrote."""
    p = Path(path)
    return p.is_dir() and (
        (p / "dataset_dict.json").is_file()
        or ((p / "state.json").is_file() and (p / "dataset_info.json").is_file())
    )


def _datasets():
    try:
        import datasets
    except ImportError:
        raise DatasetUnavailableError(
            'Hugging Face data sets need the datasets library: pip install "modelrank[hf]"'
        ) from None
    return datasets


def _open(name: str):
    """The Dataset or DatasetDict ``name`` stands for."""
    datasets = _datasets()
    if not is_hf_dataset(name):
        return datasets.load_from_disk(name)
    repo, _, config = name[len(PREFIX) :].partition(":")
    if not repo:
        raise DatasetUnavailableError(f"{name!r}: a Hugging Face data set is hf:NAME[:CONFIG]")

    if not hub_reachable():
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    try:
        return datasets.load_dataset(repo, config or None)
    except Exception as exc:  # datasets raises many types for "not here and not reachable"
        where = os.environ.get("HF_DATASETS_CACHE") or "~/.cache/huggingface/datasets"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetUnavailableError(
            f"{name}: not loadable ({first[:200]}); online it downloads into the datasets cache "
            f"({where}); offline it must be there already"
        ) from None


def _columns(ds, name: str, image_column: str | None, label_column: str | None) -> tuple[str, str]:
    datasets = _datasets()
    feats = ds.features

    def pick(given, kind, what, option):
        if given is not None:
            if given not in feats:
                raise DatasetUnavailableError(
                    f"{name}: no column {given!r} (columns: {', '.join(feats)})"
                )
            return given
        found = [c for c, f in feats.items() if isinstance(f, kind)]
        if not found:
            raise DatasetUnavailableError(
                f"{name}: no {what} column in its features (columns: "
                f"{', '.join(feats)}); name it with the {option} option"
            )
        return found[0]

    return (
        pick(image_column, datasets.Image, "image", "image column"),
        pick(label_column, datasets.ClassLabel, "label", "label column"),
    )


def load_hf_dataset(
    name: str,
    split: str | None = None,
    per_class: int | None = None,
    seed: int = 0,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
):
    """The images and labels of a Hugging Face data set (see the module) as a
    :class:`~modelrank.data.TargetData` named ``name``."""
    datasets = _datasets()
    obj = _open(name)
    if isinstance(obj, datasets.DatasetDict):
        splits = list(obj)
        if split in (None, "all"):
            parts, split = [obj[s] for s in splits], "all"
        elif split in obj:
            parts = [obj[split]]
        else:
            raise DatasetUnavailableError(f"{name} has splits {', '.join(splits)}, not {split!r}")
    else:
        if split not in (None, "all", "train"):
            raise DatasetUnavailableError(
                f"{name} is one split (a saved Dataset), so it has no "
                f"{split!r} split; the split 'all' takes every image"
            )
        parts, split = [obj], "all"
    img_col, lab_col = _columns(parts[0], name, image_column, label_column)
    feat = parts[0].features[lab_col]
    raw = [v for p in parts for v in p[lab_col]]
    if isinstance(feat, datasets.ClassLabel):
        classes, labels = list(feat.names), np.asarray(raw, np.int64)
    else:
        classes = sorted({str(v) for v in raw})
        index = {c: i for i, c in enumerate(classes)}
        labels = np.asarray([index[str(v)] for v in raw], np.int64)
    offsets = np.cumsum([0] + [len(p) for p in parts])

    def image(i: int):
        k = int(np.searchsorted(offsets, i, side="right") - 1)
        return to_rgb(parts[k][i - int(offsets[k])][img_col])

    data = finish_target(
        name,
        split,
        LazyImages(int(offsets[-1]), image),
        labels,
        classes,
        per_class,
        seed,
        f"hf-datasets:{name}",
    )
    # the data's own fingerprint: a changed saved directory never reuses old embeddings
    return replace(data, content="|".join(p._fingerprint for p in parts))
