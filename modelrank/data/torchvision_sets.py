"""The torchvision classification sets by name, with their official splits.

Each is looked for in the data directory first; if absent it is downloaded when ``download`` is
true, and a DatasetUnavailableError says what to do when that fails (no network). Sets without
an official split in torchvision (Caltech101, SUN397, EuroSAT) get a fixed, documented one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from modelrank.data.target import LazyImages
from modelrank.downloading import download_attempt
from modelrank.errors import DatasetUnavailableError
from modelrank.util.writable import check_writable_dir


@dataclass(frozen=True)
class TVSpec:
    """How to build one torchvision set: class name, split mapping, label and name readers."""

    cls: str
    splits: tuple[str, ...]
    description: str
    kwargs: Callable[[str], dict[str, Any]]
    labels: Callable[[Any], np.ndarray]
    classes: Callable[[Any], list[str]]
    #: For a set torchvision cannot download: where to get it and put it (None: downloadable).
    manual: str | None = None


def _attr(name):
    return lambda ds: np.asarray(getattr(ds, name), np.int64)


def _classes(ds) -> list[str]:
    return [str(c) for c in ds.classes]


def _pcam_labels(ds) -> np.ndarray:
    """PatchCamelyon's labels, read once from its targets file (h5py, as torchvision does)."""
    with ds.h5py.File(ds._base_folder / ds._FILES[ds._split]["targets"][0]) as f:
        return np.asarray(f["y"][:, 0, 0, 0], np.int64)


def _sample_labels(ds) -> np.ndarray:
    """Labels of a set that holds (item, label) pairs in ``_samples``; refused when a split's
    files carry no labels (FER-2013's original test.csv)."""
    labels = [t for _, t in ds._samples]
    if any(t is None for t in labels):
        raise DatasetUnavailableError(
            f"{type(ds).__name__}: these files carry no labels for "
            "this split; use the file with labels (fer2013.csv)"
        )
    return np.asarray(labels, np.int64)


FER_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def _voc_labels(ds) -> np.ndarray:
    """VOC2007 as single-label classification: the class of each image's largest object."""
    from torchvision.datasets import VOCDetection  # noqa: F401  (type only)

    out = []
    for i in range(len(ds)):
        ann = ds.parse_voc_xml(
            __import__("xml.etree.ElementTree", fromlist=["parse"])
            .parse(ds.annotations[i])
            .getroot()
        )["annotation"]
        objs = ann["object"] if isinstance(ann["object"], list) else [ann["object"]]

        def area(o):
            b = o["bndbox"]
            return (float(b["xmax"]) - float(b["xmin"])) * (float(b["ymax"]) - float(b["ymin"]))

        out.append(VOC_CLASSES.index(max(objs, key=area)["name"]))
    return np.asarray(out, np.int64)


VOC_CLASSES = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]

TORCHVISION_SETS: dict[str, TVSpec] = {
    "flowers102": TVSpec(
        "Flowers102",
        ("train", "val", "test"),
        "Oxford 102 Flowers",
        lambda s: {"split": s},
        _attr("_labels"),
        lambda ds: [str(i) for i in range(102)],
    ),
    "cifar10": TVSpec(
        "CIFAR10",
        ("train", "test"),
        "CIFAR-10",
        lambda s: {"train": s == "train"},
        _attr("targets"),
        _classes,
    ),
    "cifar100": TVSpec(
        "CIFAR100",
        ("train", "test"),
        "CIFAR-100",
        lambda s: {"train": s == "train"},
        _attr("targets"),
        _classes,
    ),
    "dtd": TVSpec(
        "DTD",
        ("train", "val", "test"),
        "Describable Textures (partition 1)",
        lambda s: {"split": s, "partition": 1},
        _attr("_labels"),
        _classes,
    ),
    "pets": TVSpec(
        "OxfordIIITPet",
        ("trainval", "test"),
        "Oxford-IIIT Pets",
        lambda s: {"split": s, "target_types": "category"},
        _attr("_labels"),
        _classes,
    ),
    "aircraft": TVSpec(
        "FGVCAircraft",
        ("train", "val", "trainval", "test"),
        "FGVC Aircraft (variants)",
        lambda s: {"split": s, "annotation_level": "variant"},
        _attr("_labels"),
        _classes,
    ),
    "cars": TVSpec(
        "StanfordCars",
        ("train", "test"),
        "Stanford Cars (manual download)",
        lambda s: {"split": s},
        lambda ds: np.asarray([t for _, t in ds._samples]),
        _classes,
        manual="Stanford Cars cannot be downloaded automatically any more; "
        "place it under {root}/stanford_cars as torchvision's "
        "StanfordCars expects",
    ),
    "food101": TVSpec(
        "Food101", ("train", "test"), "Food-101", lambda s: {"split": s}, _attr("_labels"), _classes
    ),
    "caltech101": TVSpec(
        "Caltech101",
        ("all", "train", "test"),
        "Caltech-101 (train: 30 per class, seed 0; test: the rest)",
        lambda s: {"target_type": "category"},
        _attr("y"),
        lambda ds: list(ds.categories),
    ),
    "sun397": TVSpec(
        "SUN397",
        ("all", "train", "test"),
        "SUN397 (train/test: half of each class, seed 0)",
        lambda s: {},
        _attr("_labels"),
        _classes,
    ),
    "stl10": TVSpec(
        "STL10", ("train", "test"), "STL-10", lambda s: {"split": s}, _attr("labels"), _classes
    ),
    "svhn": TVSpec(
        "SVHN",
        ("train", "test", "extra"),
        "Street View House Numbers (cropped digits)",
        lambda s: {"split": s},
        _attr("labels"),
        lambda ds: [str(i) for i in range(10)],
    ),
    "gtsrb": TVSpec(
        "GTSRB",
        ("train", "test"),
        "German Traffic Sign Recognition, 43 classes",
        lambda s: {"split": s},
        lambda ds: np.asarray([t for _, t in ds._samples]),
        lambda ds: [str(i) for i in range(43)],
    ),
    "eurosat": TVSpec(
        "EuroSAT",
        ("all", "train", "test"),
        "EuroSAT RGB land use, 10 classes (train: 80 % of each class, seed 0)",
        lambda s: {},
        _attr("targets"),
        _classes,
    ),
    "pcam": TVSpec(
        "PCAM",
        ("train", "val", "test"),
        "PatchCamelyon: 96-px lymph-node patches, metastatic tissue or not (needs h5py)",
        lambda s: {"split": s},
        _pcam_labels,
        lambda ds: ["no tumour", "tumour"],
    ),
    "country211": TVSpec(
        "Country211",
        ("train", "valid", "test"),
        "Country211: the country a photo was taken in, 211 classes",
        lambda s: {"split": s},
        _attr("targets"),
        _classes,
    ),
    "fer2013": TVSpec(
        "FER2013",
        ("train", "test"),
        "FER-2013 facial expressions, 48-px grey faces, 7 classes (manual download)",
        lambda s: {"split": s},
        _sample_labels,
        lambda ds: list(FER_CLASSES),
        manual="FER-2013 is on Kaggle only (challenges-in-representation-learning-"
        "facial-expression-recognition-challenge); put fer2013.csv in "
        "{root}/fer2013",
    ),
    "imagenette": TVSpec(
        "Imagenette",
        ("train", "val"),
        "Imagenette: 10 easy ImageNet classes (the 320-px version)",
        lambda s: {"split": s, "size": "320px"},
        _sample_labels,
        lambda ds: [c[0] if isinstance(c, tuple) else str(c) for c in ds.classes],
    ),
    "voc2007": TVSpec(
        "VOCDetection",
        ("train", "val", "trainval", "test"),
        "PASCAL VOC 2007 as classification (largest object's class)",
        lambda s: {"year": "2007", "image_set": s},
        _voc_labels,
        lambda ds: list(VOC_CLASSES),
    ),
}

ALIASES = {
    "flowers": "flowers102",
    "oxford_pets": "pets",
    "oxfordiiitpet": "pets",
    "fgvc_aircraft": "aircraft",
    "stanford_cars": "cars",
    "food": "food101",
    "caltech": "caltech101",
    "sun": "sun397",
    "voc": "voc2007",
}


#: Sets without an official split: (train images per class, or None and the train share).
FIXED_SPLITS = {"caltech101": (30, 0.5), "sun397": (None, 0.5), "eurosat": (None, 0.8)}


def _fixed_split(
    labels: np.ndarray, split: str, train_per_class: int | None, train_share: float = 0.5
) -> np.ndarray:
    """Indices of a seeded per-class split: ``train_per_class`` images of each class (or
    ``train_share`` of them) for "train", the rest for "test", everything for "all"."""
    if split == "all":
        return np.arange(labels.shape[0])
    rng = np.random.default_rng(0)
    train = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = train_per_class if train_per_class is not None else int(idx.size * train_share)
        train.append(idx[:k])
    tr = np.sort(np.concatenate(train))
    return tr if split == "train" else np.setdiff1d(np.arange(labels.shape[0]), tr)


def _construct(spec: TVSpec, root: Path, split: str, download: bool, name: str):
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.cls)
    kwargs = spec.kwargs(split)
    try:
        return (
            cls(root=str(root), **kwargs)
            if spec.manual
            else cls(root=str(root), download=False, **kwargs)
        )
    except (RuntimeError, FileNotFoundError, OSError) as exc:
        if "h5py" in str(exc):
            raise DatasetUnavailableError(f"{name} needs h5py: pip install h5py") from None
    if spec.manual:
        raise DatasetUnavailableError(f"{name} is not in {root}: " + spec.manual.format(root=root))
    args = ", ".join(
        [f"root={str(root)!r}"] + [f"{k}={v!r}" for k, v in kwargs.items()] + ["download=True"]
    )
    remedy = (
        f"Where there is internet, run torchvision.datasets.{spec.cls}({args}) and copy "
        f"{root} here with the files it wrote, in the same layout; or set MODELRANK_DATA "
        "to a directory that has them"
    )
    if not download:
        raise DatasetUnavailableError(f"{name} is not in {root} and downloading is off. {remedy}")

    with download_attempt(missing=f"{name} is not in {root}", remedy=remedy):
        return cls(root=str(root), download=True, **kwargs)


def _remove_empty(root: Path, created: list[Path]) -> None:
    """Remove the empty directories under ``root`` and those of ``created`` (directories this
    attempt made, deepest first) that are empty; anything holding a file stays."""
    import os

    if root in created and root.is_dir():
        for sub, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
            try:
                Path(sub).rmdir()
            except OSError:  # not empty
                pass
    for p in created:
        try:
            p.rmdir()
        except OSError:
            pass


def load_torchvision(name: str, split: str, root: Path, download: bool):
    """(name, split, images, labels, class_names) of a torchvision set; images load lazily."""
    spec = TORCHVISION_SETS[name]

    created = [p for p in (root, *root.parents) if not p.exists()]
    check_writable_dir(root, "the data directory (MODELRANK_DATA)")
    base_split = split if name not in FIXED_SPLITS else "all"
    try:
        ds = _construct(spec, root, base_split, download, name)
    except DatasetUnavailableError:
        _remove_empty(root, created)  # a failed attempt leaves no empty directories behind
        raise
    labels = spec.labels(ds)
    keep = np.arange(labels.shape[0])
    if name in FIXED_SPLITS:
        keep = _fixed_split(labels, split, *FIXED_SPLITS[name])

    def load(i: int):
        img = ds[int(keep[i])][0]
        return img.convert("RGB")

    return name, split, LazyImages(len(keep), load), labels[keep], spec.classes(ds)
