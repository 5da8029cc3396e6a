"""LEEP: log expected empirical prediction from the source model's class distribution.

Nguyen et al. "LEEP: A New Measure to Evaluate Transferability of Learned
Representations", ICML 2020.
"""

from __future__ import annotations

import numpy as np

from modelrank.metrics._common import check_logits, finite, log_softmax, one_hot
from modelrank.metrics.registry import as_labels, score


def expected_empirical_prediction(source_probs: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per-sample EEP: p̂(yᵢ | xᵢ) = Σ_z P̂(yᵢ | z) θ(xᵢ)_z (LEEP, eq. 2–3).

    Args:
        source_probs: (n, Z) rows θ(x) on the source label simplex (softmax outputs or posteriors).
        y: (n,) target labels 0..k-1.
        k: number of target classes.

    Returns:
        (n,) probabilities, each > 0 (sample i adds to P̂(yᵢ, z) wherever θ(xᵢ)_z > 0).
    """
    n = y.shape[0]
    joint = one_hot(y, k).T @ source_probs / n  # P̂(y, z), (K, Z)
    pz = joint.sum(axis=0)  # P̂(z)
    used = pz > 0  # a source class with P̂(z) = 0 has θ_z = 0 for every sample: it adds nothing
    cond = joint[:, used] / pz[used]  # P̂(y | z)
    return (source_probs[:, used] @ cond.T)[np.arange(n), y]


@score(
    "leep-nolog",
    log=False,
    description=(
        "LEEP without the log: mean expected empirical prediction, the form in the SFDA/ETran/"
        "NCTI reference code"
    ),
)
@score(
    "leep",
    description=(
        "LEEP (Nguyen et al. 2020) from softmax(source logits), paper definition "
        "(the LogME paper's LEEP numbers came from code with source/target swapped)"
    ),
)
def leep(logits: np.ndarray, labels: np.ndarray, *, log: bool = True) -> float:
    """LEEP score from source-model logits (paper definition).

    θ(x) = softmax(logits) is the source model's distribution over its own (source) labels z;
    P̂(y, z) = (1/n) Σ_{i: yᵢ = y} θ(xᵢ)_z; P̂(y | z) = P̂(y, z) / P̂(z);
    LEEP = (1/n) Σᵢ log Σ_z P̂(yᵢ | z) θ(xᵢ)_z.

    Note: the LEEP numbers printed in the LogME paper came from code that swapped the source and
    target roles; this function follows the LEEP paper (θ over source labels, P̂(y | z) over target
    labels).

    Args:
        logits: (n, C_src) source-model logits (e.g. ImageNet head outputs on the target images).
        labels: (n,) target labels.
        log: True for LEEP (mean log-probability); False for the form used by the SFDA, ETran and
            NCTI code (mean probability, no log) — registered as ``leep-nolog``.

    Returns:
        Score; higher is better. LEEP ≤ 0; the no-log form lies in (0, 1].
    """
    y = as_labels(labels)
    z = check_logits(logits, y.shape[0])
    theta = np.exp(log_softmax(z))
    eep = expected_empirical_prediction(theta, y, int(y.max()) + 1)
    if log:
        return finite(np.mean(np.log(eep)), "LEEP")
    return finite(np.mean(eep), "LEEP (no log)")
