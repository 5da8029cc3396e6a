"""ImageFolder targets: DIR/<class>/<image>, or DIR/<split>/<class>/<image>."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelrank.data.target import (
    IMAGE_SUFFIXES,
    TargetData,
    file_images,
    finish_target,
    readable_files,
)
from modelrank.errors import DatasetUnavailableError

SPLIT_NAMES = ("train", "val", "valid", "validation", "test")


def folder_splits(path: str | Path) -> tuple[str, ...]:
    """The split sub-directories of an ImageFolder, in :data:`SPLIT_NAMES` order; () when flat.

    Raises DatasetUnavailableError when split directories sit beside other directories (the
    layout is then ambiguous: ``train`` would be read as a class).
    """
    root = Path(path)
    dirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    splits = [
        p.name for p in dirs if p.name in SPLIT_NAMES and any(q.is_dir() for q in p.iterdir())
    ]
    others = sorted(p.name for p in dirs if p.name not in splits)
    if splits and others:
        raise DatasetUnavailableError(
            f"{str(path)!r} mixes split directories ({', '.join(sorted(splits))}) with other "
            f"directories ({', '.join(others[:3])}); use DIR/<split>/<class>/<image> or "
            "DIR/<class>/<image>"
        )
    return tuple(n for n in SPLIT_NAMES if n in splits)


def _scan_classes(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_image_folder(
    path: str | Path, split: str | None = None, per_class: int | None = None, seed: int = 0
) -> TargetData:
    """An ImageFolder directory: ``path/<class>/<image>`` (flat) or ``path/<split>/<class>/...``.

    Args:
        path: the directory.
        split: for a folder with split directories (see :func:`folder_splits`), the split to read,
            or "all" / None for every split together (classes matched by name). A flat folder
            has one split, read with "all", None or "train" (recorded as "all").
        per_class, seed: per-class sampling.

    Unreadable or truncated files are skipped with a warning that names them.

    Raises:
        DatasetUnavailableError: a split that the folder does not have, an ambiguous layout, no
            class directories, an empty class.
    """
    root = Path(path)
    splits = folder_splits(root)
    if splits:
        if split in (None, "all"):
            roots, split = [root / s for s in splits], "all"
        elif split in splits:
            roots = [root / split]
        else:
            raise DatasetUnavailableError(
                f"{str(path)!r} has splits {', '.join(splits)}, not {split!r}"
            )
    else:
        if split not in (None, "all", "train"):
            raise DatasetUnavailableError(
                f"{str(path)!r} has no split directories (DIR/<split>/<class>/...), so it has no "
                f"{split!r} split; the split 'all' takes every image"
            )
        roots, split = [root], "all"
    classes = sorted({c for r in roots for c in _scan_classes(r)})
    if not classes:
        raise DatasetUnavailableError(f"{str(path)!r} has no class sub-directories")
    candidates = [
        (ci, f)
        for r in roots
        for ci, c in enumerate(classes)
        if (r / c).is_dir()
        for f in sorted((r / c).rglob("*"))
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
    ]
    files, labels, skipped = readable_files(candidates, f"in {str(path)!r}")
    imgs = file_images(files)
    labels_arr = np.asarray(labels, np.int64) if labels else np.zeros(0, np.int64)
    return finish_target(
        str(path),
        split,
        imgs,
        labels_arr,
        classes,
        per_class,
        seed,
        f"folder:{root.resolve()}"
        + ("" if len(roots) > 1 or roots[0] == root else f"/{roots[0].name}"),
        skipped,
        files=files,
    )
