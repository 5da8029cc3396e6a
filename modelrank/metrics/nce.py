"""NCE: negative conditional entropy of target labels given the source model's hard labels.

Tran et al. "Transferability and Hardness of Supervised Classification Tasks",
ICCV 2019.
"""

from __future__ import annotations

import numpy as np

from modelrank.metrics._common import check_logits, finite
from modelrank.metrics.registry import as_labels, score


@score(
    "nce",
    description=(
        "NCE (Tran et al. 2019): -H(target | argmax source label), paper definition "
        "(the LogME paper's NCE numbers came from code with source/target swapped)"
    ),
)
def nce(logits: np.ndarray, labels: np.ndarray) -> float:
    """NCE(Y | Z) = -H(Y | Z) = Σ_{y,z} P̂(y, z) log P̂(y | z), z = argmax of the source logits.

    The paper's dummy source labels are the source model's hard predictions on the target images;
    P̂ is the empirical joint distribution of (target label, source label) over the n samples.
    The LogME paper's NCE numbers came from code with source and target swapped; this follows the
    NCE paper.

    Args:
        logits: (n, C_src) source-model logits.
        labels: (n,) target labels.

    Returns:
        NCE ≤ 0; higher is better (0 when the source label determines the target label).
    """
    y = as_labels(labels)
    z = check_logits(logits, y.shape[0])
    src = np.unique(z.argmax(axis=1), return_inverse=True)[1].ravel()
    n = y.shape[0]
    joint = np.zeros((int(y.max()) + 1, int(src.max()) + 1))
    np.add.at(joint, (y, src), 1.0 / n)
    pz = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return finite(np.sum(joint[nz] * np.log((joint / pz)[nz])), "NCE")
