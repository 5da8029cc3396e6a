"""Target datasets by name or path, with splits and per-class sampling recorded.

Names: ``digits`` (scikit-learn, offline, the default), ``shapes`` (generated offline), the
MNIST-format sets (``fashion-mnist`` — offline where a distribution package installed it —,
``mnist``, ``kmnist``; :mod:`modelrank.idx_datasets`) and the torchvision classification sets
(downloaded into the data directory when online). Any other argument that is a directory is read
as an ImageFolder (one sub-directory per class). Any of them followed by ``[class,...]`` is that
subset of its classes (:mod:`modelrank.class_subsets`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from modelrank.errors import DatasetUnavailableError, UnknownDatasetError

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
            (``NAME[class,...]``, :mod:`modelrank.class_subsets`), else None.
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

    def recipe(self) -> dict[str, Any]:
        """What a result must record about the data it saw."""
        return {
            "dataset": self.name,
            "split": self.split,
            "per_class": self.per_class,
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
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) \
            or not 1 <= per_class <= MAX_PER_CLASS:
        raise DatasetUnavailableError(
            f"per-class must be a whole number from 1 to {MAX_PER_CLASS:,} (or none: every "
            f"image), got {per_class!r}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(idx if idx.size <= per_class else rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(keep))


def _finish(name, split, images_full, labels_full, class_names, per_class, seed, source,
            skipped=(), min_per_class: int = 2, files: Sequence[Path] | None = None) -> TargetData:
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
    return TargetData(name, split, images, labels, list(class_names), per_class, seed, idx,
                      source, list(skipped), content)


def _files_digest(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


# --- digits ------------------------------------------------------------------------------------

DIGITS_SPLITS = ("train", "test", "all")


def load_digits_target(split: str = "train", per_class: int | None = None, seed: int = 0
                       ) -> TargetData:
    """scikit-learn's 8x8 digits as RGB images; a fixed stratified 2/3 train, 1/3 test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in DIGITS_SPLITS:
        raise DatasetUnavailableError(f"digits has splits {', '.join(DIGITS_SPLITS)}, not {split!r}")
    d = load_digits()
    pix = np.clip(d.images * (255.0 / 16.0), 0, 255).astype(np.uint8)  # (1797, 8, 8)
    y = d.target.astype(np.int64)
    all_idx = np.arange(len(y))
    tr, te = train_test_split(all_idx, test_size=1 / 3, stratify=y, random_state=0)
    chosen = {"train": np.sort(tr), "test": np.sort(te), "all": all_idx}[split]
    imgs = LazyImages(len(chosen), lambda i: Image.fromarray(pix[chosen[i]], mode="L"))
    return _finish("digits", split, imgs, y[chosen], [str(i) for i in range(10)], per_class, seed,
                   "sklearn.datasets.load_digits")


# --- image folders -----------------------------------------------------------------------------

#: Directory names read as splits of an ImageFolder (``DIR/<split>/<class>/<image>``).
SPLIT_NAMES = ("train", "val", "valid", "validation", "test")


def folder_splits(path: str | Path) -> tuple[str, ...]:
    """The split sub-directories of an ImageFolder, in :data:`SPLIT_NAMES` order; () when flat.

    Raises DatasetUnavailableError when split directories sit beside other directories (the
    layout is then ambiguous: ``train`` would be read as a class).
    """
    root = Path(path)
    dirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    splits = [p.name for p in dirs
              if p.name in SPLIT_NAMES and any(q.is_dir() for q in p.iterdir())]
    others = sorted(p.name for p in dirs if p.name not in splits)
    if splits and others:
        raise DatasetUnavailableError(
            f"{str(path)!r} mixes split directories ({', '.join(sorted(splits))}) with other "
            f"directories ({', '.join(others[:3])}); use DIR/<split>/<class>/<image> or "
            "DIR/<class>/<image>")
    return tuple(n for n in SPLIT_NAMES if n in splits)


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


def readable_files(candidates: Sequence[tuple[int, Path]], where: str,
                   skipped: Sequence[str] = ()) -> tuple[list[Path], list[int], list[str]]:
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
        warnings.warn(f"skipped {len(skipped)} unreadable image file(s) {where}: "
                      f"{skipped[0]}{more}", stacklevel=3)
    return files, labels, skipped


def file_images(files: Sequence[Path]) -> "LazyImages":
    """The images of ``files`` as RGB, opened when first read."""
    def load(i: int) -> Image.Image:
        with Image.open(files[i]) as im:
            return to_rgb(im)

    return LazyImages(len(files), load)


def _scan_classes(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_image_folder(path: str | Path, split: str | None = None, per_class: int | None = None,
                      seed: int = 0) -> TargetData:
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
                f"{str(path)!r} has splits {', '.join(splits)}, not {split!r}")
    else:
        if split not in (None, "all", "train"):
            raise DatasetUnavailableError(
                f"{str(path)!r} has no split directories (DIR/<split>/<class>/...), so it has no "
                f"{split!r} split; use --split all")
        roots, split = [root], "all"
    classes = sorted({c for r in roots for c in _scan_classes(r)})
    if not classes:
        raise DatasetUnavailableError(f"{str(path)!r} has no class sub-directories")
    candidates = [(ci, f) for r in roots for ci, c in enumerate(classes) if (r / c).is_dir()
                  for f in sorted((r / c).rglob("*"))
                  if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    files, labels, skipped = readable_files(candidates, f"in {str(path)!r}")
    imgs = file_images(files)
    labels_arr = np.asarray(labels, np.int64) if labels else np.zeros(0, np.int64)
    return _finish(str(path), split, imgs, labels_arr, classes, per_class, seed,
                   f"folder:{root.resolve()}" + ("" if len(roots) > 1 or roots[0] == root
                                                  else f"/{roots[0].name}"), skipped,
                   files=files)


# --- registry of named data sets ---------------------------------------------------------------

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
        from modelrank.tv_datasets import load_torchvision

        return _finish(*load_torchvision(name, split, Path(root) if root else data_root(),
                                         download), per_class, seed, f"torchvision:{name}")

    return load


def _shapes_loader(split="train", per_class=None, seed=0, **_):
    from modelrank.synthetic import shapes_split

    imgs, labels, names = shapes_split(split)
    return _finish("shapes", split, imgs, labels, names, per_class, seed, "modelrank.synthetic")


def _idx_loader(name: str) -> Callable[..., TargetData]:
    def load(split="train", per_class=None, seed=0, root=None, download=True):
        from modelrank.idx_datasets import load_idx

        pix, labels, names, source = load_idx(name, split, Path(root) if root else data_root(),
                                              download)
        imgs = LazyImages(len(labels), lambda i: Image.fromarray(pix[i], mode="L"))
        return _finish(name, split, imgs, labels, names, per_class, seed, source)

    return load


def _idx_located(name: str) -> Callable[[], str | None]:
    def located() -> str | None:
        from modelrank.idx_datasets import locate

        where = locate(name, data_root())
        return None if where is None else str(where)

    return located


def registry() -> dict[str, DatasetInfo]:
    """Named data sets, in display order."""
    from modelrank.idx_datasets import IDX_SETS
    from modelrank.tv_datasets import TORCHVISION_SETS

    reg = {
        "digits": DatasetInfo("digits", DIGITS_SPLITS, True,
                              "scikit-learn 8x8 handwritten digits, 10 classes, 1,797 images",
                              lambda split="train", per_class=None, seed=0, **_: load_digits_target(
                                  split, per_class, seed)),
        "shapes": DatasetInfo("shapes", ("train", "test"), True,
                              "generated textured shapes, 8 classes (harder offline target)",
                              _shapes_loader),
    }
    for name, ispec in IDX_SETS.items():
        reg[name] = DatasetInfo(name, ("train", "test"), False, ispec.description,
                                _idx_loader(name), _idx_located(name))
    for name, spec in TORCHVISION_SETS.items():
        reg[name] = DatasetInfo(name, spec.splits, False, spec.description, _torchvision_loader(name))
    return reg


def _joined_splits(name: str, split: str, per_class: int | None, seed: int, root, download
                   ) -> TargetData:
    """``split`` = "train+val" (any splits joined by "+"): their images together, classes
    matched by name, then per-class sampling over the union."""
    parts = [p.strip() for p in split.split("+")]
    if len(set(parts)) != len(parts) or not all(parts):
        raise DatasetUnavailableError(f"{name}: split {split!r} must join distinct split names "
                                      "with '+', e.g. train+val")
    loaded = [load_target(name, split=p, seed=seed, root=root, download=download) for p in parts]
    names = loaded[0].class_names
    for d in loaded[1:]:
        if d.class_names != names:
            raise DatasetUnavailableError(f"{name}: splits {parts[0]} and {d.split} have "
                                          "different classes; they cannot be joined")
    offsets = np.cumsum([0] + [len(d) for d in loaded])
    labels = np.concatenate([d.labels for d in loaded])

    def image(i: int) -> Image.Image:
        k = int(np.searchsorted(offsets, i, side="right") - 1)
        return loaded[k].images[i - int(offsets[k])]

    joined = _finish(name, split, LazyImages(int(offsets[-1]), image), labels, names, per_class,
                     seed, "+".join(d.source for d in loaded),
                     [f for d in loaded for f in d.skipped])
    content = "|".join(d.content for d in loaded)
    return replace(joined, content=content if any(d.content for d in loaded) else "",
                   class_subset=loaded[0].class_subset)


def load_target(name_or_path: str, split: str = "train", per_class: int | None = None,
                seed: int = 0, root: str | Path | None = None, download: bool = True, *,
                image_column: str | None = None, label_column: str | None = None) -> TargetData:
    """Load a target data set by registered name, ImageFolder path, CSV/Parquet manifest,
    Hugging Face data set (``hf:NAME[:CONFIG]``, or a ``save_to_disk`` directory; its
    ``image_column`` / ``label_column`` when the features do not say), optionally followed by a
    class subset ``[class,...]`` (:mod:`modelrank.class_subsets`).

    Raises UnknownDatasetError for a name that is neither registered nor a directory and for a
    class subset that names no class of it, DatasetUnavailableError when it cannot be loaded
    here (offline, empty class, bad split).
    """
    from modelrank.class_subsets import resolve_classes, restrict, split_target
    from modelrank.hf_datasets import is_hf_dataset, is_saved_dataset, load_hf_dataset

    if is_hf_dataset(name_or_path) or is_saved_dataset(name_or_path):
        base, items = (name_or_path, None) if Path(name_or_path).is_dir() else \
            split_target(name_or_path)
        whole = load_hf_dataset(base, split, None if items else per_class, seed,
                                image_column=image_column, label_column=label_column)
        if items is None:
            return whole
        keep = resolve_classes(name_or_path, base, whole.class_names, items)
        return restrict(whole, spec=name_or_path, keep=keep, per_class=per_class, seed=seed)
    if not Path(name_or_path).is_dir():
        base, items = split_target(name_or_path)
        if items is not None:
            whole = load_target(base, split=split, per_class=None, seed=seed, root=root,
                                download=download)
            keep = resolve_classes(name_or_path, base, whole.class_names, items)
            return restrict(whole, spec=name_or_path, keep=keep, per_class=per_class, seed=seed)
    if "+" in split:
        return _joined_splits(name_or_path, split, per_class, seed, root, download)
    reg = registry()
    if name_or_path in reg:
        info = reg[name_or_path]
        if split not in info.splits:
            raise DatasetUnavailableError(
                f"{name_or_path} has splits {', '.join(info.splits)}, not {split!r}")
        return info.loader(split=split, per_class=per_class, seed=seed, root=root, download=download)
    if Path(name_or_path).is_dir():
        return load_image_folder(name_or_path, split, per_class, seed)
    from modelrank.manifest_datasets import is_manifest, load_manifest

    if is_manifest(name_or_path):
        return load_manifest(name_or_path, split, per_class, seed)
    raise UnknownDatasetError(
        f"unknown dataset {name_or_path!r}: not a registered name ({', '.join(reg)}) "
        "nor an existing directory or .csv / .parquet manifest of path,label rows")
