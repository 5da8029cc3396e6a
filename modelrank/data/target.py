"""A target's images and labels after per-class sampling (:class:`TargetData`), and the pieces
every loader shares: lazy image sequences, RGB conversion, readable-file checks, sampling.

This module imports no other module of :mod:`modelrank.data`, so every loader can import it.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from modelrank.errors import DatasetUnavailableError, ParameterError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


@dataclass
class TargetData:
    """Images and labels of one split of a target, after per-class sampling.

    Attributes:
        name: dataset name (or directory path).
        split: which split ("train", "test", ...).
        images: sequence of PIL images (lazily loaded for directories and torchvision sets).
        labels: (n,) int64 class indices 0..K-1.
        class_names: K names.
        per_class: images kept per class (None: all).
        seed: seed of the per-class sampling.
        indices: (n,) positions in the full split that were kept.
        source: where the images came from (path, torchvision class, scikit-learn).
        skipped: files that could not be read and were left out.
        content: a digest of what the files are (name, size, modification time of each kept
            image) for data read from disk, so a changed folder never reuses old embeddings;
            "" for data sets that cannot change (scikit-learn's, generated ones).
        class_subset: the kept class names when the target is some classes of a data set
            (``NAME[class,...]``, :mod:`modelrank.data.class_subsets`), else None.
    """

    name: str
    split: str
    images: Sequence[Image.Image]
    labels: np.ndarray
    class_names: list[str]
    per_class: int | None = None
    seed: int = 0
    indices: np.ndarray | None = None
    source: str = ""
    skipped: list[str] = field(default_factory=list)
    content: str = ""
    class_subset: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> str:
        """Hash of name, split, sampling and the chosen indices (part of every cache key)."""
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.split}|{self.per_class}|{self.seed}|{self.source}".encode())
        h.update(np.asarray(self.indices if self.indices is not None else [], np.int64).tobytes())
        h.update(np.asarray(self.labels, np.int64).tobytes())
        if self.content:
            h.update(self.content.encode())
        if self.class_subset is not None:
            h.update(("|classes:" + "\x1f".join(self.class_subset)).encode())
        return h.hexdigest()[:24]

    def pass_fingerprint(self) -> str:
        """:meth:`fingerprint` of the images a forward pass sees: the seed is taken as 0 when
        it chose no images (every image kept, ``per_class`` None), so that passes over a whole
        split under different seeds share one cache entry (a multi-seed linear probe tests every
        seed on the same test split); for sampled data it is :meth:`fingerprint` itself."""
        if self.per_class is None and self.seed != 0:
            from dataclasses import replace

            return replace(self, seed=0).fingerprint()
        return self.fingerprint()

    def per_class_scored(self) -> int | None:
        """The images per class actually held: ``per_class``, or fewer where no class had that
        many (the largest class's count); None when every image was asked for."""
        if self.per_class is None:
            return None
        counts = np.bincount(np.asarray(self.labels, np.int64), minlength=self.num_classes)
        most = int(counts.max()) if counts.size else 0
        return min(self.per_class, most)

    def recipe(self) -> dict[str, Any]:
        """What a result must record about the data it saw; ``per_class`` is what was held
        (``per_class_requested`` beside it when fewer images existed than were asked for)."""
        held = self.per_class_scored()
        return {
            "dataset": self.name,
            "split": self.split,
            "per_class": held,
            **({"per_class_requested": self.per_class} if held != self.per_class else {}),
            "seed": self.seed,
            "n_images": len(self),
            "n_classes": self.num_classes,
            "source": self.source,
            "skipped": len(self.skipped),
            "fingerprint": self.fingerprint(),
            **({"classes": list(self.class_subset)} if self.class_subset is not None else {}),
        }


class LazyImages(Sequence):
    """A sequence view that loads item ``i`` with ``load(i)`` on access."""

    def __init__(self, n: int, load: Callable[[int], Image.Image]):
        self._n, self._load = n, load

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._load(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._load(i)


def data_root() -> Path:
    """Directory for downloaded data sets: $MODELRANK_DATA or the platform's user cache dir."""
    env = os.environ.get("MODELRANK_DATA")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("modelrank")) / "data"


#: Largest images-per-class accepted (more than any data set has; it is stored as a 64-bit integer).
MAX_PER_CLASS = 2**31 - 1


def sample_per_class(labels: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices keeping at most ``per_class`` of each class, chosen with ``seed``."""
    labels = np.asarray(labels)
    if per_class is None:
        return np.arange(labels.shape[0])
    if (
        isinstance(per_class, bool)
        or not isinstance(per_class, (int, np.integer))
        or not 1 <= per_class <= MAX_PER_CLASS
    ):
        raise ParameterError(
            "per_class",
            f"must be a whole number from 1 to {MAX_PER_CLASS:,} (or none: every "
            f"image), got {per_class!r}",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", f"must be a whole number of at least 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(idx if idx.size <= per_class else rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(keep))


def finish_target(
    name,
    split,
    images_full,
    labels_full,
    class_names,
    per_class,
    seed,
    source,
    skipped=(),
    min_per_class: int = 2,
    files: Sequence[Path] | None = None,
) -> TargetData:
    labels_full = np.asarray(labels_full, np.int64)
    counts = np.bincount(labels_full, minlength=len(class_names))
    empty = [class_names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise DatasetUnavailableError(
            f"{name} ({split}): class {empty[0]!r} has no images"
            + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else "")
        )
    idx = sample_per_class(labels_full, per_class, seed)
    labels = labels_full[idx]
    counts = np.bincount(labels, minlength=len(class_names))
    if counts.min() < min_per_class:
        c = class_names[int(np.argmin(counts))]
        raise DatasetUnavailableError(
            f"{name} ({split}): class {c!r} has {counts.min()} image(s); scores need at least "
            f"{min_per_class} per class"
        )
    images = LazyImages(len(idx), lambda i: images_full[int(idx[i])])
    content = "" if files is None else _files_digest([files[int(i)] for i in idx])
    return TargetData(
        name,
        split,
        images,
        labels,
        list(class_names),
        per_class,
        seed,
        idx,
        source,
        list(skipped),
        content,
    )


def _files_digest(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _readable(f: Path) -> bool:
    """Whether ``f`` decodes completely (a truncated JPEG passes ``verify`` but not this).

    JPEGs are decoded at 1/8 scale (``draft``), which reads the whole file at a fraction of the
    cost of a full decode."""
    try:
        with Image.open(f) as im:
            im.draft("RGB", (1, 1))
            im.load()
        return True
    except Exception:
        return False


def to_rgb(im: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of ``im``, scaling deeper images instead of clipping them.

    16-bit grey (``I;16*``) is divided by 257 (65535 → 255); 32-bit integer (``I``) likewise when
    its values fit 16 bits and as-is when they fit 8; floating point (``F``) is taken as [0, 1]
    when it lies there, else scaled from its own minimum and maximum. Palette, grey, CMYK and
    alpha images go through Pillow's own conversion."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if im.mode.startswith("I;16") or (im.mode == "I" and 255 < hi <= 65535 and lo >= 0):
            a = a / 257.0
        elif im.mode == "F" and lo >= 0 and hi <= 1:
            a = a * 255.0
        elif not (lo >= 0 and hi <= 255):
            a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L")
    return im.convert("RGB")


def readable_files(
    candidates: Sequence[tuple[int, Path]], where: str, skipped: Sequence[str] = ()
) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, skipped) of (label, file) candidates: unreadable files are left out, and
    one warning names them (with the already ``skipped`` ones) as found ``where``."""
    files, labels, skipped = [], [], list(skipped)
    for label, f in candidates:
        if _readable(f):
            files.append(f)
            labels.append(label)
        else:
            skipped.append(str(f))
    if skipped:
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        warnings.warn(
            f"skipped {len(skipped)} unreadable image file(s) {where}: {skipped[0]}{more}",
            stacklevel=3,
        )
    return files, labels, skipped


def file_images(files: Sequence[Path]) -> "LazyImages":
    """The images of ``files`` as RGB, opened when first read."""

    def load(i: int) -> Image.Image:
        with Image.open(files[i]) as im:
            return to_rgb(im)

    return LazyImages(len(files), load)
