"""Per-image test outcomes of a run, kept compactly so that accuracies on subsets of the test
images can be computed afterwards (how a ground truth's reliability depends on the test-set
size, ``benchmarks/bench_ground_truth_budget.py``) without testing again.

The outcomes are one bit per test image, in the test split's order (1: predicted correctly),
packed eight to a byte and written as base64 text: 375 bytes of JSON for 3,000 images.
"""

from __future__ import annotations

import base64

import numpy as np


def pack_correct(predictions: np.ndarray, labels: np.ndarray) -> str:
    """Base64 text of the bits ``predictions == labels`` (both (n,) integer labels)."""
    hits = np.asarray(predictions) == np.asarray(labels)
    return base64.b64encode(np.packbits(hits.astype(np.uint8)).tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> np.ndarray:
    """The (n,) boolean outcomes :func:`pack_correct` wrote for ``n`` test images."""
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))
    if bits.size < n or bits.size - n >= 8:
        raise ValueError(f"packed outcomes hold {bits.size} bits, not the bits of {n} images")
    return bits[:n].astype(bool)
