"""The MNIST-format (IDX) data sets: Fashion-MNIST, MNIST and Kuzushiji-MNIST.

Their four files (train/t10k images and labels, gzipped or not) are looked for, in this order,
in ``$MODELRANK_DATA/<Name>/raw`` (torchvision's layout, where a download puts them) and in the
system directories where a distribution installs them (Debian's ``dataset-fashion-mnist``:
``/usr/share/datasets/fashion-mnist``). When they are nowhere, torchvision downloads them into the
data directory if downloading is allowed; offline that is a one-line DatasetUnavailableError.
The files are read with numpy (``read_idx``): 28 x 28 uint8 images, uint8 labels, the official
train (60,000) and test (10,000) splits.
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelrank.downloading import download_attempt
from modelrank.errors import DatasetUnavailableError

#: The IDX files of one data set, by split: (images, labels).
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class IdxSpec:
    """One IDX data set: torchvision's class (also its folder name), classes, where systems put it."""

    tv_class: str
    description: str
    class_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()


IDX_SETS: dict[str, IdxSpec] = {
    "fashion-mnist": IdxSpec(
        "FashionMNIST",
        "Fashion-MNIST (Zalando), 10 clothing classes, 28x28, 60,000 + 10,000",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        ("/usr/share/datasets/fashion-mnist",),
    ),
    "mnist": IdxSpec(
        "MNIST",
        "MNIST handwritten digits, 28x28, 60,000 + 10,000",
        tuple(str(i) for i in range(10)),
    ),
    "kmnist": IdxSpec(
        "KMNIST",
        "Kuzushiji-MNIST (cursive Japanese), 10 classes, 28x28",
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
}


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an IDX file (``.gz`` or raw): uint8 data, shape from its header; read-only,
    remembered per process for the file's path, size and modification time.

    Raises DatasetUnavailableError when the file is not an IDX file of unsigned bytes or is
    shorter than its header says.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise DatasetUnavailableError(f"cannot read {path}: {exc}") from None
    return _read_idx(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_idx(file: str, size: int, mtime_ns: int) -> np.ndarray:
    path = Path(file)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DatasetUnavailableError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetUnavailableError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DatasetUnavailableError(
            f"{path} holds {len(raw) - offset:,} bytes of data, its header says {shape}: "
            "a truncated or damaged file"
        )
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    return None


def locate(name: str, root: Path) -> Path | None:
    """The directory holding all four IDX files of ``name`` (``root`` first), or None."""
    spec = IDX_SETS[name]
    for d in (root / spec.tv_class / "raw", *map(Path, spec.system_dirs)):
        if all(_find(d, stem) for pair in IDX_FILES.values() for stem in pair):
            return d
    return None


def _nowhere(name: str, root: Path) -> str:
    """ "NAME is not in DIR nor ..." for every place :func:`locate` looked."""
    spec = IDX_SETS[name]
    return f"{name} is not in {root / spec.tv_class / 'raw'}" + "".join(
        f" nor {d}" for d in spec.system_dirs
    )


def _download(name: str, root: Path) -> Path:
    import torchvision.datasets as tvd

    spec = IDX_SETS[name]
    debian = " (Debian: apt install dataset-fashion-mnist)" if spec.system_dirs else ""
    with download_attempt(
        missing=_nowhere(name, root),
        remedy=f"Put its four IDX files there{debian} or set MODELRANK_DATA",
    ):
        getattr(tvd, spec.tv_class)(root=str(root), train=True, download=True)
        getattr(tvd, spec.tv_class)(root=str(root), train=False, download=True)
    found = locate(name, root)
    if found is None:
        raise DatasetUnavailableError(f"{name}: the download left no IDX files in {root}")
    return found


def load_idx(name: str, split: str, root: Path, download: bool):
    """(images (n, 28, 28) uint8, labels (n,) int64, class names, source) of one split."""
    spec = IDX_SETS[name]
    if split not in IDX_FILES:
        raise DatasetUnavailableError(f"{name} has splits train, test, not {split!r}")
    where = locate(name, root)
    if where is None:
        if not download or os.environ.get("MODELRANK_OFFLINE", "") not in ("", "0"):
            raise DatasetUnavailableError(
                f"{_nowhere(name, root)} and downloading is off; put its four IDX files there "
                "or set MODELRANK_DATA"
            )
        where = _download(name, root)
    img_stem, lab_stem = IDX_FILES[split]
    images, labels = read_idx(_find(where, img_stem)), read_idx(_find(where, lab_stem))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetUnavailableError(
            f"{name} ({split}) in {where}: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if labels.size and int(labels.max()) >= len(spec.class_names):
        raise DatasetUnavailableError(
            f"{name} ({split}) in {where}: label {int(labels.max())} "
            f"out of range for {len(spec.class_names)} classes"
        )
    return images, labels.astype(np.int64), list(spec.class_names), f"idx:{where}"
