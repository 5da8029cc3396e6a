"""The scoring unit: one backbone probed on one target and every asked score computed from its
embeddings (:func:`score_backbone`, an executor unit), with the key it is journaled under."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from modelrank import __version__
from modelrank.benchmark_stats import bootstrap_backbone
from modelrank.data import TargetData
from modelrank.devices import resolve_device
from modelrank.errors import ConfigError, MetricError, WeightsUnavailableError
from modelrank.metrics import MetricInputs, get_metric, list_metrics
from modelrank.metrics.betti import omega_curve_cubical
from modelrank.metrics.registry import MetricSpec
from modelrank.progress import OnProgress
from modelrank.ranking_result import RankRow
from modelrank.score_options import ScoreOptions
from modelrank.util.digest import digest
from modelrank.zoo import ZooEntry

DEFAULT_METRICS = ("knn",)


def resolve_metrics(metrics: str | Sequence[str] | None) -> list[MetricSpec]:
    """Specs for a comma list / sequence of names; "all" = every registered score and prior."""
    if metrics is None:
        metrics = DEFAULT_METRICS
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    if not names:
        raise ConfigError("no metric given")
    if names == ["all"]:
        return list_metrics()
    return [get_metric(n) for n in names]


def metric_inputs(emb, entry: ZooEntry, param_count: int) -> MetricInputs:
    return MetricInputs(
        features=emb.features,
        labels=emb.labels,
        logits=emb.logits,
        layer_features=emb.layers,
        cubical_betti=emb.cubical,
        layer_names=emb.layer_names,
        model_info={
            "imagenet_top1": entry.imagenet_top1,
            "param_count": param_count,
            "source_top1": entry.source_top1,
        },
    )


def _missing_reason(need: str) -> str:
    return {
        "logits": "the backbone has no source (ImageNet) classifier head",
        "cubical_betti": "cubical Betti counts were not computed",
        "model_info": "no model facts",
    }.get(need, f"no {need}")


@dataclass
class UnitScore:
    """What one scoring unit (one backbone x one target) returns to the driver.

    Attributes:
        row: the backbone's row with its pool-independent scores (None when skipped).
        sub: raw sub-scores of the pool-dependent metrics, combined on the driver.
        skipped: why the backbone could not be scored here (weights unavailable).
        half_samples: the primary score on each half-sample of the scored images (as
            :func:`~modelrank.benchmark_stats.bootstrap_backbone` gives it), computed from the
            same embeddings for the recommendation's stability; empty when not asked for.
    """

    model: str
    row: RankRow | None = None
    sub: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    half_samples: list[dict[str, Any]] = field(default_factory=list)


def score_backbone(
    entry: ZooEntry,
    data: TargetData,
    metrics: tuple[str, ...],
    opts: ScoreOptions,
    parent: ZooEntry | None = None,
    stability: tuple[int, int] = (0, 0),
    on_progress: OnProgress | None = None,
    device: str | None = None,
) -> UnitScore:
    """One scoring unit: build ``entry``, probe ``data`` on ``device``, compute every metric in
    ``metrics`` (registered names). ``parent``: the full-depth network ``entry`` is a truncation
    of, whose cached pass the probe may read ``entry``'s layers from
    (:func:`modelrank.probe.probe`). ``stability``: (half-samples, seed) of the first metric for
    the recommendation, computed here from the embeddings in memory, so that no one has to
    build the backbone or read its cache again. Its arguments are positional because executors
    pass them as one tuple.

    Runs wherever the executor puts it; touches only the embedding cache. Pool-dependent
    metrics return their sub-scores in ``sub``; the driver combines them over the pool.
    """
    import socket

    from modelrank.loaders import build_backbone
    from modelrank.probe import CubicalBettiReducer, probe

    specs = [get_metric(m) for m in metrics]
    device = str(resolve_device(device))
    try:
        bb = build_backbone(entry, device=device)
    except WeightsUnavailableError as exc:
        return UnitScore(entry.name, skipped=str(exc))
    need_cubical = any("cubical_betti" in s.needs for s in specs)
    cb = CubicalBettiReducer(opts.eta, opts.layout, opts.betti_engine) if need_cubical else None
    emb = probe(
        bb,
        data,
        cubical=cb,
        batch_size=opts.batch_size,
        device=device,
        amp=opts.amp,
        cache_dir=opts.cache_dir,
        use_cache=opts.use_cache,
        on_progress=on_progress,
        parent=parent,
    )
    row = RankRow(
        entry.name,
        info={
            "source": entry.source,
            "id": entry.id,
            "weights": bb.info.get("weights_tag"),
            "image_size": bb.preprocess.size,
            "preprocess": bb.preprocess.as_dict(),
            "probe_layers": bb.layer_names,
            "param_count": bb.param_count,
            "layer_shapes": {li.name: "x".join(map(str, li.shape)) for li in bb.layers},
            "imagenet_top1": bb.entry.imagenet_top1,
            "truncate": entry.truncate,
            "tags": list(entry.tags),
            "forward_pass": emb.computed,
            "device": emb.meta["device"],
            "host": socket.gethostname(),
            "layers_from": emb.meta["from_parent"],
            "betti_engine": emb.meta["betti_engine"],
        },
    )
    inputs = metric_inputs(emb, bb.entry, bb.param_count)
    have = inputs.available()
    out = UnitScore(entry.name, row)
    for spec in specs:
        missing = sorted(spec.needs - have)
        if missing:
            row.unavailable[spec.name] = _missing_reason(missing[0])
            continue
        try:
            value = spec.compute(inputs)
        except MetricError as exc:
            row.unavailable[spec.name] = str(exc)
            continue
        if spec.pool_dependent:
            out.sub[spec.name] = value
        else:
            set_score(row, spec, float(value))
    row.topology = _topology_summary(emb, inputs.memo)
    replicates, seed = stability
    if replicates and not (specs[0].needs - have):
        out.half_samples = bootstrap_backbone(specs[:1], inputs, replicates=replicates, seed=seed)
    return out


def unit_key(
    entry: ZooEntry,
    data: TargetData,
    metrics: Sequence[str],
    opts: ScoreOptions,
    stability: tuple[int, int] = (0, 0),
) -> str:
    """Digest of everything that determines a scoring unit's result (its journal key); the
    half-samples only when asked for, so the keys of units without them stay as they were."""
    what = {
        "unit": "score-v1",
        "version": __version__,
        "entry": entry.recipe(),
        "data": data.fingerprint(),
        "metrics": list(metrics),
        "amp": opts.amp,
        "eta": opts.eta,
        "layout": opts.layout,
    }
    if stability[0]:
        what["stability"] = list(stability)
    return digest(what, 32)


def set_score(row: RankRow, spec: MetricSpec, value: float) -> None:
    if not math.isfinite(value):
        row.unavailable[spec.name] = "the score is not finite on this input"
        return
    row.raw[spec.name] = value
    row.scores[spec.name] = value if spec.higher_is_better else -value


def _topology_summary(emb, memo: dict[str, Any]) -> dict[str, Any]:
    """Per-layer Betti arrays and Omega curves computed for this backbone, to save beside it."""
    out: dict[str, Any] = {"layers": list(emb.layer_names), "arrays": {}}
    if emb.cubical is not None:
        out["omega_cubical"] = omega_curve_cubical(emb.cubical, emb.labels).tolist()
        out["arrays"].update(cubical_betti=emb.cubical, labels=emb.labels)
    if "rips" in memo:
        omega, betti = memo["rips"]
        out["omega_rips"] = np.asarray(omega).tolist()
        out["arrays"]["rips_betti"] = betti  # (L, K, maxdim + 1)
    return out if out["arrays"] else {}
