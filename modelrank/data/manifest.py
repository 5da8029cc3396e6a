"""A target given as a manifest: a CSV (or Parquet) file of ``path,label`` rows, for images that
are neither in a registered data set nor laid out as an ImageFolder.

- Columns are found by name, case-insensitively: ``path`` (or ``file``, ``image``, ``filename``)
  and ``label`` (or ``class``); an optional ``split`` column holds each row's split.
- Relative paths are relative to the manifest's own directory.
- Classes are the distinct labels in sorted order and rows are taken class by class in path
  order — the order :func:`~modelrank.data.load_image_folder` uses — so a manifest of an
  ImageFolder's files samples and scores the same images as the folder.
- Without a ``split`` column the manifest is one split, ``all`` (``train`` means the same, as for
  a flat folder). Unreadable images are skipped with a warning that names them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from modelrank.data.target import IMAGE_SUFFIXES, file_images, finish_target, readable_files
from modelrank.errors import ConfigError, DatasetUnavailableError

SUFFIXES = (".csv", ".parquet")
_PATH_COLUMNS = ("path", "file", "image", "filename")
_LABEL_COLUMNS = ("label", "class")


def is_manifest(name: str) -> bool:
    p = Path(name)
    return p.suffix.lower() in SUFFIXES and p.is_file()


def _rows(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() == ".parquet":
        try:
            import pandas as pd

            frame = pd.read_parquet(path)
        except ImportError:
            raise ConfigError(
                f"reading {path.name} needs pandas and pyarrow: pip install pandas pyarrow"
            ) from None
        return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict("records")]
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _column(header: list[str], names: tuple[str, ...], what: str, path: Path) -> str:
    low = {h.strip().lower(): h for h in header}
    for n in names:
        if n in low:
            return low[n]
    raise DatasetUnavailableError(
        f"manifest {str(path)!r} has no {what} column (one of "
        f"{', '.join(names)}); its columns: {', '.join(header) or 'none'}"
    )


def load_manifest(
    path: str | Path, split: str | None = None, per_class: int | None = None, seed: int = 0
):
    """The images a manifest lists (see the module), as a :class:`~modelrank.data.TargetData`.

    Raises DatasetUnavailableError for a manifest without the needed columns, a split it does
    not have, a listed file that does not exist, or an empty class.
    """
    p = Path(path)
    rows = _rows(p)
    if not rows:
        raise DatasetUnavailableError(f"manifest {str(p)!r} lists no images")
    header = list(rows[0])
    pcol = _column(header, _PATH_COLUMNS, "path", p)
    lcol = _column(header, _LABEL_COLUMNS, "label", p)
    scol = next((h for h in header if h.strip().lower() == "split"), None)
    if scol is not None:
        splits = sorted({r[scol] for r in rows})
        if split in (None, "all"):
            split = "all"
        elif split in splits:
            rows = [r for r in rows if r[scol] == split]
        else:
            raise DatasetUnavailableError(
                f"manifest {str(p)!r} has splits {', '.join(splits)}, not {split!r}"
            )
    elif split not in (None, "all", "train"):
        raise DatasetUnavailableError(
            f"manifest {str(p)!r} has no split column, so it has no "
            f"{split!r} split; the split 'all' takes every image"
        )
    else:
        split = "all"
    classes = sorted({r[lcol] for r in rows})
    index = {c: i for i, c in enumerate(classes)}
    listed = []
    for r in rows:
        f = Path(r[pcol]).expanduser()
        f = f if f.is_absolute() else p.parent / f
        if not f.is_file():
            raise DatasetUnavailableError(
                f"manifest {str(p)!r} lists {r[pcol]!r}, which does not exist"
            )
        listed.append((index[r[lcol]], f))
    listed.sort(key=lambda t: (t[0], t[1]))
    odd = [str(f) for _, f in listed if f.suffix.lower() not in IMAGE_SUFFIXES]
    files, labels, skipped = readable_files(
        [(y, f) for y, f in listed if f.suffix.lower() in IMAGE_SUFFIXES],
        f"listed in {str(p)!r}",
        skipped=odd,
    )
    return finish_target(
        str(path),
        split,
        file_images(files),
        np.asarray(labels, np.int64),
        classes,
        per_class,
        seed,
        f"manifest:{p.resolve()}",
        skipped,
        files=files,
    )
