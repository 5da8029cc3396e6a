"""Registry of transferability scores, by name.

Every score is a pure function over numpy arrays, registered by the :func:`score` decorator on
its definition. The decorator reads which inputs the function takes from its parameter names
(``features``, ``labels``, ``logits``, ...: the fields of :class:`MetricInputs`), so that ``rank``
can call any score the same way. Scores are registered in their *natural* direction (``higher_is_better``); ``rank``
negates the lower-is-better ones and keeps the raw value beside them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from modelrank.errors import MetricError
from modelrank.util.suggest import did_you_mean, unique_fold_match

#: Things a score may need; the probe provides them.
NEEDS = frozenset(
    {
        "features",  # (n, d) final pre-logit features
        "labels",  # (n,) int target labels 0..K-1
        "logits",  # (n, C_src) source-model logits
        "layer_features",  # ordered {layer: (n, d_layer)} pooled per-layer vectors
        "cubical_betti",  # (n, L, 3) cubical Betti counts per image and probed layer
        "model_info",  # {"imagenet_top1": float|None, "param_count": int}
    }
)


@dataclass
class MetricInputs:
    """What the probe extracted for one backbone on one target.

    Attributes:
        features: (n, d) float array, the input of the backbone's classifier.
        labels: (n,) int array of target classes, 0..K-1.
        logits: (n, C_src) source-model logits, or None when the backbone has no source head.
        layer_features: ordered mapping layer name -> (n, d_layer) globally pooled activations.
        cubical_betti: (n, L, 3) int array, Betti numbers (b0, b1, b2) of each image at each
            probed layer, or None when not computed.
        layer_names: names of the L probed layers, in depth order.
        model_info: facts about the backbone (``imagenet_top1`` in percent or None,
            ``param_count``).
        memo: scratch space shared by the scores of one backbone, so that an intermediate
            (a per-layer Betti array) is computed once and can be saved with the result.
    """

    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    logits: np.ndarray | None = None
    layer_features: Mapping[str, np.ndarray] = field(default_factory=dict)
    cubical_betti: np.ndarray | None = None
    layer_names: Sequence[str] = ()
    model_info: Mapping[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)

    def available(self) -> frozenset[str]:
        """Names of the inputs present (subset of :data:`NEEDS`)."""
        have = set()
        if self.features is not None:
            have.add("features")
        if self.labels is not None:
            have.add("labels")
        if self.logits is not None:
            have.add("logits")
        if len(self.layer_features):
            have.add("layer_features")
        if self.cubical_betti is not None:
            have.add("cubical_betti")
        if self.model_info:
            have.add("model_info")
        return frozenset(have)


#: A score either returns a float, or (pool-dependent scores) a dict of sub-scores that
#: ``combine`` turns into one float per model once the whole pool is known.
ScoreValue = float | dict[str, float]


@dataclass(frozen=True)
class MetricSpec:
    """One registered score.

    Attributes:
        name: registry key, lower-case with dashes (``logme``, ``nleep-nolog``).
        compute: ``compute(inputs) -> float`` (or dict of sub-scores when ``combine`` is set).
        needs: which fields of :class:`MetricInputs` must be present.
        higher_is_better: the natural direction of the raw value.
        combine: for pool-dependent scores, ``combine([subscores per model]) -> [float per model]``.
        description: one line for ``modelrank metrics`` listings; names the paper and any
            divergence from it.
        kind: "score" for transferability scores, "prior" for cheap priors.
    """

    name: str
    compute: Callable[[MetricInputs], ScoreValue]
    needs: frozenset[str]
    higher_is_better: bool = True
    combine: Callable[[Sequence[Mapping[str, float]]], list[float]] | None = None
    description: str = ""
    kind: str = "score"

    @property
    def pool_dependent(self) -> bool:
        return self.combine is not None


_REGISTRY: dict[str, MetricSpec] = {}

#: The scores README's "Which score should I use?" recommends trying first, in its order.
RECOMMENDED_FIRST = ("knn", "ncti")


def register_metric(
    name: str,
    compute: Callable[[MetricInputs], ScoreValue],
    *,
    needs: Sequence[str] = ("features", "labels"),
    higher_is_better: bool = True,
    combine: Callable[[Sequence[Mapping[str, float]]], list[float]] | None = None,
    description: str = "",
    kind: str = "score",
) -> MetricSpec:
    """Add a score to the registry and return its spec. Names must be unique."""
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"metric {name!r} needs unknown inputs {sorted(unknown)}")
    if name in _REGISTRY:
        raise ValueError(f"metric {name!r} is already registered")
    spec = MetricSpec(
        name=name,
        compute=compute,
        needs=frozenset(needs),
        higher_is_better=higher_is_better,
        combine=combine,
        description=description,
        kind=kind,
    )
    _REGISTRY[name] = spec
    return spec


def score(
    name: str,
    *,
    description: str,
    higher_is_better: bool = True,
    combine: Callable[[Sequence[Mapping[str, float]]], list[float]] | None = None,
    kind: str = "score",
    **fixed: Any,
) -> Callable[[Callable[..., ScoreValue]], Callable[..., ScoreValue]]:
    """Register the decorated function as the score ``name``; the function is returned unchanged.

    Each parameter named after a field of :class:`MetricInputs` (``features``, ``labels``,
    ``logits``, ``layer_features``, ``cubical_betti``, ``layer_names``, ``model_info``, ``memo``)
    receives that field; the required ones among :data:`NEEDS` become the score's ``needs``.
    ``fixed`` gives further parameters fixed values, so one function can be registered under
    several names (stack the decorators: ``@score("leep-nolog", log=False)`` over
    ``@score("leep")``). A parameter called ``metric`` receives ``name`` (for error messages).
    Every other parameter must have a default.

    Raises:
        TypeError: a ``fixed`` name that is not a parameter, or a required parameter that is
            neither an input nor fixed.
    """

    def register(fn: Callable[..., ScoreValue]) -> Callable[..., ScoreValue]:
        params = inspect.signature(fn).parameters
        unknown = sorted(set(fixed) - set(params))
        if unknown:
            raise TypeError(f"score {name!r}: {fn.__name__} has no parameter {unknown[0]!r}")
        inputs, needs = [], []
        for p in params.values():
            if p.name in fixed or p.name == "metric":
                continue
            if p.name in _INPUT_FIELDS:
                inputs.append(p.name)
                if p.name in NEEDS and p.default is p.empty:
                    needs.append(p.name)
            elif p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(
                    f"score {name!r}: parameter {p.name!r} of {fn.__name__} is "
                    "neither an input nor fixed, and has no default"
                )
        given = dict(fixed, **({"metric": name} if "metric" in params else {}))

        @functools.wraps(fn)  # module, name and docstring of the score's own function
        def compute(inp: MetricInputs) -> ScoreValue:
            return fn(**{k: getattr(inp, k) for k in inputs}, **given)

        register_metric(
            name,
            compute,
            needs=needs,
            higher_is_better=higher_is_better,
            combine=combine,
            description=description,
            kind=kind,
        )
        return fn

    return register


_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(MetricInputs))


def get_metric(name: str) -> MetricSpec:
    """The spec registered under ``name``, matched without regard to case or to ``-`` / ``_``
    (``LogME`` is ``logme``); a MetricError with the nearest names and the known ones otherwise."""
    spec = _REGISTRY.get(name)
    if spec is not None:
        return spec
    folded = unique_fold_match(name, _REGISTRY)
    if folded is not None:
        return _REGISTRY[folded]
    known = ", ".join(sorted(_REGISTRY))
    raise MetricError(
        f"unknown metric {name!r}{did_you_mean(name, _REGISTRY)}; known metrics: {known}"
    )


def list_metrics(kind: str | None = None) -> list[MetricSpec]:
    """All registered specs in name order, optionally only those of one ``kind``."""
    return [s for _, s in sorted(_REGISTRY.items()) if kind is None or s.kind == kind]


def as_float64(x: np.ndarray, what: str = "features") -> np.ndarray:
    """Promote to a finite float64 2-D array, or raise MetricError saying what is wrong."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise MetricError(f"{what} must be a 2-D array (n, d), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MetricError(f"{what} contain NaN or infinite values")
    return a


def as_labels(y: np.ndarray, n: int | None = None, min_classes: int = 2) -> np.ndarray:
    """Labels as int64 0..K-1 (re-coded if needed), checked against ``n`` rows and ``min_classes``."""
    y = np.asarray(y).ravel()
    if n is not None and y.shape[0] != n:
        raise MetricError(f"got {y.shape[0]} labels for {n} samples")
    _, coded = np.unique(y, return_inverse=True)
    if coded.max(initial=-1) + 1 < min_classes:
        raise MetricError(f"need at least {min_classes} classes, got {coded.max(initial=-1) + 1}")
    return coded.astype(np.int64)
