"""The train, validation and test data of an evaluation, checked to share their classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelrank.data import TargetData, folder_splits, load_target, registry
from modelrank.data.class_subsets import base_name
from modelrank.data.content import evaluation_splits
from modelrank.errors import ConfigError


def load_splits(
    dataset: str,
    per_class: int | None,
    seed: int,
    val_fraction: float,
    test_per_class: int | None = None,
):
    """(train, val, test) TargetData; val carved from train when the target has none; the test
    split sampled ``test_per_class`` with seed 0 when given."""
    base = dataset if Path(dataset).is_dir() else base_name(dataset)
    if base not in registry() and Path(base).is_dir():
        splits = folder_splits(base)
        if "train" not in splits or not {"test", "val", "valid", "validation"} & set(splits):
            raise ConfigError(
                f"{dataset!r} needs a train split and a test (or val) split to fine-tune and "
                "measure accuracy on images it did not train on: DIR/train/<class>/<image> and "
                f"DIR/test/<class>/<image> (it has {', '.join(splits) or 'no split directories'})"
            )
    test_name, val_name = evaluation_splits(dataset)
    test = (
        load_target(dataset, split=test_name, seed=seed)
        if test_per_class is None
        else load_target(dataset, split=test_name, per_class=test_per_class, seed=0)
    )
    train = load_target(dataset, split="train", per_class=per_class, seed=seed)
    _same_classes(dataset, train, test)
    if val_name is not None and test_name != val_name:
        val = load_target(dataset, split=val_name, seed=seed)
        _same_classes(dataset, train, val)
        return train, val, test, None
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train))
    try:
        tr, va = train_test_split(
            idx, test_size=val_fraction, stratify=train.labels, random_state=seed
        )
    except ValueError:
        raise ConfigError(
            f"{len(train)} training images of {dataset} are too few to hold out a validation "
            f"share of {val_fraction:g} with every one of its {train.num_classes} classes in "
            "it; use more images per class"
        ) from None
    return train, train, test, (np.sort(tr), np.sort(va))


def _same_classes(dataset: str, train: TargetData, other: TargetData) -> None:
    """Labels are indices into each split's class list: the lists must be the same, by name."""
    if train.class_names != other.class_names:
        missing = sorted(set(train.class_names) - set(other.class_names))
        extra = sorted(set(other.class_names) - set(train.class_names))
        raise ConfigError(
            f"{dataset}: the {other.split} split's classes differ from train's"
            + (f"; not in {other.split}: {', '.join(missing[:5])}" if missing else "")
            + (f"; not in train: {', '.join(extra[:5])}" if extra else "")
        )
