"""scikit-learn's 8x8 handwritten digits as a target (offline; the default)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from modelrank.data.target import LazyImages, TargetData, finish_target
from modelrank.errors import DatasetUnavailableError

DIGITS_SPLITS = ("train", "test", "all")


def load_digits_target(
    split: str = "train", per_class: int | None = None, seed: int = 0
) -> TargetData:
    """scikit-learn's 8x8 digits as RGB images; a fixed stratified 2/3 train, 1/3 test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in DIGITS_SPLITS:
        raise DatasetUnavailableError(
            f"digits has splits {', '.join(DIGITS_SPLITS)}, not {split!r}"
        )
    d = load_digits()
    pix = np.clip(d.images * (255.0 / 16.0), 0, 255).astype(np.uint8)  # (1797, 8, 8)
    y = d.target.astype(np.int64)
    all_idx = np.arange(len(y))
    tr, te = train_test_split(all_idx, test_size=1 / 3, stratify=y, random_state=0)
    chosen = {"train": np.sort(tr), "test": np.sort(te), "all": all_idx}[split]
    imgs = LazyImages(len(chosen), lambda i: Image.fromarray(pix[chosen[i]], mode="L"))
    return finish_target(
        "digits",
        split,
        imgs,
        y[chosen],
        [str(i) for i in range(10)],
        per_class,
        seed,
        "sklearn.datasets.load_digits",
    )
