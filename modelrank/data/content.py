"""What a target's test images are, whatever it is called: a digest of pixels and labels.

Two targets with the same digest hold the same test images with the same class names, under any
name or path; the transfer history uses it so that a target never informs its own prior
(:mod:`modelrank.history`). The digest does not depend on the order of the images, on how they
were stored, or on the name; it does depend on every pixel and every label.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from modelrank.data.class_subsets import base_name
from modelrank.data.folders import folder_splits
from modelrank.data.loading import load_target, registry
from modelrank.data.target import TargetData, to_rgb
from modelrank.errors import ModelrankError
from modelrank.util.paths import cache_root


def content_digest(data: TargetData) -> str:
    """A 24-hex digest of ``data``'s images (RGB pixels and size) and class names, independent
    of their order and of the target's name. Decodes every image once."""
    items = []
    for image, label in zip(data.images, np.asarray(data.labels, np.int64)):
        rgb = to_rgb(image)
        h = hashlib.sha1(f"{rgb.size}".encode())
        h.update(np.asarray(rgb, np.uint8).tobytes())
        items.append(h.hexdigest() + "|" + data.class_names[int(label)])
    whole = hashlib.sha256("\n".join(sorted(items)).encode())
    return whole.hexdigest()[:24]


def evaluation_splits(dataset: str) -> tuple[str, str | None]:
    """(the split a target's accuracy is measured on: ``test``, else its validation split; its
    validation split or None)."""
    reg = registry()
    base = dataset if Path(dataset).is_dir() else base_name(dataset)
    if base in reg:
        splits = tuple(reg[base].splits)
    elif Path(base).is_dir():
        splits = tuple(folder_splits(base))
    else:
        splits = ("train", "test")  # load_target says that the name is unknown
    val = next((s for s in ("val", "valid", "validation") if s in splits), None)
    return ("test" if "test" in splits else val or "test"), val


def test_split_name(dataset: str) -> str:
    """The split a target's accuracy is measured on (:func:`evaluation_splits`)."""
    return evaluation_splits(dataset)[0]


def test_split_digest(dataset: str, *, cache_dir: str | Path | None = None) -> str:
    """:func:`content_digest` of ``dataset``'s whole :func:`test_split_name` split, kept in
    ``cache_dir`` (default: modelrank's cache) under the split's fingerprint, which changes
    with the files of a folder, so a second call reads it back."""
    test = load_target(dataset, split=test_split_name(dataset))
    path = Path(cache_dir) if cache_dir is not None else cache_root()
    path = path / "content" / f"{test.fingerprint()}.json"
    try:
        return str(json.loads(path.read_text())["digest"])
    except (OSError, ValueError, KeyError):
        pass
    digest = content_digest(test)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"dataset": dataset, "digest": digest}))
    except OSError:
        pass  # a read-only cache costs the digest again next time, nothing else
    return digest


def known_test_digest(dataset: str) -> str | None:
    """:func:`test_split_digest` of ``dataset``, or None when its test split cannot be loaded
    here (a published table's target, a folder that is gone): then only its name can say what
    it is."""
    try:
        return test_split_digest(dataset)
    except (ModelrankError, OSError):
        return None
