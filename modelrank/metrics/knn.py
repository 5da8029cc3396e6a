"""Cross-validated k-nearest-neighbour accuracy on the backbone's features (a cheap prior)."""

from __future__ import annotations

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, finite
from modelrank.metrics.registry import score


@score(
    "knn",
    description="k-NN accuracy (k=5, cosine, 5-fold stratified CV) on final features",
    kind="prior",
)
def knn_accuracy(
    features: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5, seed: int = 0
) -> float:
    """Mean accuracy of a k-NN classifier (cosine distance) over stratified folds.

    Args:
        features: (n, d) features.
        labels: (n,) class labels.
        k: neighbours; reduced to fit the smallest training fold.
        folds: stratified folds; reduced to the size of the smallest class (at least 2).
        seed: shuffles the folds.

    Returns:
        Accuracy in [0, 1] (fraction of held-out samples whose majority vote is right).

    Raises:
        MetricError: a class with fewer than 2 samples, a single class, non-finite or constant
            features (the same input checks as every other feature-based score).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    x, y, _ = check_features_labels(features, labels)
    x = x / np.abs(x).max()  # cosine is scale-free; sklearn zeroes rows of norm < 10·eps
    smallest = np.bincount(y).min()
    if smallest < 2:
        raise MetricError("k-NN accuracy needs at least 2 samples in every class")
    n_folds = int(min(folds, smallest))
    n_train_min = x.shape[0] - int(np.ceil(x.shape[0] / n_folds))
    clf = KNeighborsClassifier(n_neighbors=int(min(k, n_train_min)), metric="cosine")
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return finite(np.mean(cross_val_score(clf, x, y, cv=cv)), "k-NN accuracy")
