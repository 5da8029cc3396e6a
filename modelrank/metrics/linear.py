"""Cross-validated linear-probe accuracy on the backbone's features (a cheap prior)."""

from __future__ import annotations

import warnings

import numpy as np

from modelrank.errors import MetricError
from modelrank.metrics._common import check_features_labels, finite
from modelrank.metrics.registry import score


@score(
    "linear",
    description=(
        "Linear-probe accuracy: multinomial logistic regression (C=1, standardised features, "
        "lbfgs ≤200 iterations), 5-fold stratified CV"
    ),
    kind="prior",
)
def linear_probe_accuracy(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    folds: int = 5,
    c: float = 1.0,
    max_iter: int = 200,
    seed: int = 0,
) -> float:
    """Mean held-out accuracy of multinomial logistic regression over stratified folds.

    Each fold standardises the features on its training part (``StandardScaler``) and fits
    ``LogisticRegression(C=c)`` (L2, lbfgs, multinomial); ``max_iter`` caps lbfgs, which is a
    probe, not a converged fine-tune — the cap is part of the recipe. Folds are reduced to the
    size of the smallest class.

    Args:
        features: (n, d) features.
        labels: (n,) class labels.
        folds: stratified folds (at most the smallest class size, at least 2).
        c: inverse L2 regularisation strength.
        max_iter: lbfgs iteration cap.
        seed: shuffles the folds.

    Returns:
        Accuracy in [0, 1]; higher is better.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, _ = check_features_labels(features, labels)
    smallest = int(np.bincount(y).min())
    if smallest < 2:
        raise MetricError("linear-probe accuracy needs at least 2 samples in every class")
    cv = StratifiedKFold(n_splits=int(min(folds, smallest)), shuffle=True, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc = cross_val_score(clf, x, y, cv=cv)
    return finite(np.mean(acc), "linear-probe accuracy")
