"""Transferability scores and priors, one pure function each, registered by name with the
:func:`~modelrank.metrics.registry.score` decorator on its definition.

Importing this package registers every score; see :mod:`modelrank.metrics.registry`.
"""

# Established transferability scores (issue 4), one module per paper or family; importing a
# module registers its scores.
from modelrank.metrics import (  # noqa: F401,E402  (register)
    betti,  # noqa: F401,E402  (registers the Betti scores)
    etran,
    gbc,
    hscore,
    knn,  # noqa: F401  (registers)
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
from modelrank.metrics.registry import (
    MetricInputs,
    MetricSpec,
    get_metric,
    list_metrics,
    register_metric,
    score,
)

__all__ = ["MetricInputs", "MetricSpec", "get_metric", "list_metrics", "register_metric", "score"]
