"""Transferability scores and priors, one pure function each, registered by name with the
:func:`~modelrank.metrics.registry.score` decorator on its definition.

Importing this package registers every score; see :mod:`modelrank.metrics.registry`.
"""

from modelrank.metrics.registry import (
    MetricInputs,
    MetricSpec,
    get_metric,
    list_metrics,
    register_metric,
    score,
)
from modelrank.metrics import knn  # noqa: F401  (registers)

# Established transferability scores (issue 4), one module per paper or family; importing a
# module registers its scores.
from modelrank.metrics import (  # noqa: F401,E402  (register)
    etran,
    gbc,
    hscore,
    leep,
    linear,
    logme,
    nce,
    ncti,
    nleep,
    parc,
    priors,
    sfda,
    transrate,
)
from modelrank.metrics import betti  # noqa: F401,E402  (registers the Betti scores)

__all__ = ["MetricInputs", "MetricSpec", "get_metric", "list_metrics", "register_metric", "score"]
