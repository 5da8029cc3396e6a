"""What a test accuracy measures on a target, and computing it: top-1, or mean per-class accuracy
where the published ground truth uses it (docs/methods.md §5). Torch-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np



#: Targets whose published ground truth is mean per-class accuracy (docs/methods.md §5).
MEAN_PER_CLASS = {"aircraft", "caltech101", "flowers102", "pets"}


def accuracy_kind(dataset: str, published: bool = False) -> str:
    """What an accuracy on ``dataset`` measures: "mean_per_class" for the targets in
    :data:`MEAN_PER_CLASS`, "map_11pt" for VOC2007's published numbers (our own VOC evaluation
    is single-label top-1), "top1" otherwise. A class subset (``NAME[...]``) counts as NAME."""
    from modelrank.data.class_subsets import base_name

    if not Path(dataset).is_dir():
        dataset = base_name(dataset)
    if dataset in MEAN_PER_CLASS:
        return "mean_per_class"
    if published and dataset == "voc2007":
        return "map_11pt"
    return "top1"


def accuracy(pred: np.ndarray, labels: np.ndarray, kind: str, num_classes: int) -> float:
    """Top-1 or mean per-class accuracy in percent (classes absent from ``labels`` ignored)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if kind == "top1":
        return float(100.0 * np.mean(pred == labels))
    per = [np.mean(pred[labels == c] == c) for c in range(num_classes) if np.any(labels == c)]
    return float(100.0 * np.mean(per))
