"""Targets by name or path: the registry of named data sets (built once) and :func:`load_target`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from modelrank.data.class_subsets import resolve_classes, restrict, split_target
from modelrank.data.digits import DIGITS_SPLITS, load_digits_target
from modelrank.data.folders import load_image_folder
from modelrank.data.huggingface import is_hf_dataset, is_saved_dataset, load_hf_dataset
from modelrank.data.idx import IDX_SETS, load_idx, locate
from modelrank.data.manifest import is_manifest, load_manifest
from modelrank.data.synthetic import shapes_split
from modelrank.data.target import LazyImages, TargetData, data_root, finish_target
from modelrank.data.torchvision_sets import TORCHVISION_SETS, load_torchvision
from modelrank.errors import DatasetUnavailableError, UnknownDatasetError
from modelrank.util.suggest import did_you_mean


@dataclass(frozen=True)
class DatasetInfo:
    """A named target: its splits, whether it works offline, and how to load it."""

    name: str
    splits: tuple[str, ...]
    offline: bool
    description: str
    loader: Callable[..., TargetData]
    #: where its files were found on this machine without downloading (None: nowhere, or n/a)
    located: Callable[[], str | None] | None = None


def _torchvision_loader(name: str) -> Callable[..., TargetData]:
    def load(split="train", per_class=None, seed=0, root=None, download=True):
        return finish_target(
            *load_torchvision(name, split, Path(root) if root else data_root(), download),
            per_class,
            seed,
            f"torchvision:{name}",
        )

    return load


def _shapes_loader(split="train", per_class=None, seed=0, **_):

    imgs, labels, names = shapes_split(split)
    # the source string is part of the cache key: it keeps the module's old name
    return finish_target(
        "shapes", split, imgs, labels, names, per_class, seed, "modelrank.synthetic"
    )


def _idx_loader(name: str) -> Callable[..., TargetData]:
    def load(split="train", per_class=None, seed=0, root=None, download=True):
        pix, labels, names, source = load_idx(
            name, split, Path(root) if root else data_root(), download
        )
        imgs = LazyImages(len(labels), lambda i: Image.fromarray(pix[i], mode="L"))
        return finish_target(name, split, imgs, labels, names, per_class, seed, source)

    return load


def _idx_located(name: str) -> Callable[[], str | None]:
    def located() -> str | None:
        where = locate(name, data_root())
        return None if where is None else str(where)

    return located


def registry() -> dict[str, DatasetInfo]:
    """Named data sets, in display order (a copy of the one built on first use)."""
    return dict(_registry())


@functools.cache
def _registry() -> dict[str, DatasetInfo]:

    reg = {
        "digits": DatasetInfo(
            "digits",
            DIGITS_SPLITS,
            True,
            "scikit-learn 8x8 handwritten digits, 10 classes, 1,797 images",
            lambda split="train", per_class=None, seed=0, **_: load_digits_target(
                split, per_class, seed
            ),
        ),
        "shapes": DatasetInfo(
            "shapes",
            ("train", "test"),
            True,
            "generated textured shapes, 8 classes (harder offline target)",
            _shapes_loader,
        ),
    }
    for name, ispec in IDX_SETS.items():
        reg[name] = DatasetInfo(
            name, ("train", "test"), False, ispec.description, _idx_loader(name), _idx_located(name)
        )
    for name, spec in TORCHVISION_SETS.items():
        reg[name] = DatasetInfo(
            name, spec.splits, False, spec.description, _torchvision_loader(name)
        )
    return reg


def _joined_splits(
    name: str, split: str, per_class: int | None, seed: int, root, download
) -> TargetData:
    """``split`` = "train+val" (any splits joined by "+"): their images together, classes
    matched by name, then per-class sampling over the union."""
    parts = [p.strip() for p in split.split("+")]
    if len(set(parts)) != len(parts) or not all(parts):
        raise DatasetUnavailableError(
            f"{name}: split {split!r} must join distinct split names with '+', e.g. train+val"
        )
    loaded = [load_target(name, split=p, seed=seed, root=root, download=download) for p in parts]
    names = loaded[0].class_names
    for d in loaded[1:]:
        if d.class_names != names:
            raise DatasetUnavailableError(
                f"{name}: splits {parts[0]} and {d.split} have "
                "different classes; they cannot be joined"
            )
    offsets = np.cumsum([0] + [len(d) for d in loaded])
    labels = np.concatenate([d.labels for d in loaded])

    def image(i: int) -> Image.Image:
        k = int(np.searchsorted(offsets, i, side="right") - 1)
        return loaded[k].images[i - int(offsets[k])]

    joined = finish_target(
        name,
        split,
        LazyImages(int(offsets[-1]), image),
        labels,
        names,
        per_class,
        seed,
        "+".join(d.source for d in loaded),
        [f for d in loaded for f in d.skipped],
    )
    content = "|".join(d.content for d in loaded)
    return replace(
        joined,
        content=content if any(d.content for d in loaded) else "",
        class_subset=loaded[0].class_subset,
    )


def load_target(
    name_or_path: str,
    split: str = "train",
    per_class: int | None = None,
    seed: int = 0,
    root: str | Path | None = None,
    download: bool = True,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
) -> TargetData:
    """Load a target data set by registered name, ImageFolder path, CSV/Parquet manifest,
    Hugging Face data set (``hf:NAME[:CONFIG]``, or a ``save_to_disk`` directory; its
    ``image_column`` / ``label_column`` when the features do not say), optionally followed by a
    class subset ``[class,...]`` (:mod:`modelrank.data.class_subsets`).

    Raises UnknownDatasetError for a name that is neither registered nor a directory and for a
    class subset that names no class of it, DatasetUnavailableError when it cannot be loaded
    here (offline, empty class, bad split).
    """
    if is_hf_dataset(name_or_path) or is_saved_dataset(name_or_path):
        base, items = (
            (name_or_path, None) if Path(name_or_path).is_dir() else split_target(name_or_path)
        )
        whole = load_hf_dataset(
            base,
            split,
            None if items else per_class,
            seed,
            image_column=image_column,
            label_column=label_column,
        )
        if items is None:
            return whole
        keep = resolve_classes(name_or_path, base, whole.class_names, items)
        return restrict(whole, spec=name_or_path, keep=keep, per_class=per_class, seed=seed)
    if not Path(name_or_path).is_dir():
        base, items = split_target(name_or_path)
        if items is not None:
            whole = load_target(
                base, split=split, per_class=None, seed=seed, root=root, download=download
            )
            keep = resolve_classes(name_or_path, base, whole.class_names, items)
            return restrict(whole, spec=name_or_path, keep=keep, per_class=per_class, seed=seed)
    if "+" in split:
        return _joined_splits(name_or_path, split, per_class, seed, root, download)
    reg = registry()
    if name_or_path in reg:
        info = reg[name_or_path]
        if split not in info.splits:
            raise DatasetUnavailableError(
                f"{name_or_path} has splits {', '.join(info.splits)}, not {split!r}"
            )
        return info.loader(
            split=split, per_class=per_class, seed=seed, root=root, download=download
        )
    if Path(name_or_path).is_dir():
        return load_image_folder(name_or_path, split, per_class, seed)

    if is_manifest(name_or_path):
        return load_manifest(name_or_path, split, per_class, seed)

    raise UnknownDatasetError(
        f"unknown dataset {name_or_path!r}{did_you_mean(name_or_path, reg)}: not a registered "
        f"name ({', '.join(reg)}) nor an existing directory or .csv / .parquet manifest of "
        "path,label rows"
    )
