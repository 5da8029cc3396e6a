"""Orchestrate zoo x data x probe x scores into a :class:`Ranking`; ``pick_backbone``."""

from __future__ import annotations

import csv
import io
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from modelrank.checks import check_whole_number
from modelrank.data import TargetData, load_target
from modelrank.errors import ConfigError, MetricError, ParameterError, WeightsUnavailableError
from modelrank.history_advice import advise_from_history
from modelrank.history_sources import History, load_history
from modelrank.jsonable import jsonable
from modelrank.metrics import MetricInputs, get_metric, list_metrics
from modelrank.metrics.registry import MetricSpec
from modelrank.progress import OnProgress
from modelrank.zoo import ZooEntry, load_zoo, select, truncation_parent

if TYPE_CHECKING:
    from modelrank.execution import Executor

DEFAULT_METRICS = ("knn",)


def library_versions() -> dict[str, str]:
    """Versions of the libraries that determine the numbers (recorded with every result)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("modelrank", "torch", "torchvision", "timm", "numpy", "scipy", "scikit-learn",
                "transformers", "ripser", "gudhi"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


@dataclass
class RankRow:
    """One backbone's result: scores (higher is better), raw values, and what is unavailable."""

    model: str
    scores: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    topology: dict[str, Any] = field(default_factory=dict)
    rank: int | None = None  # by the ranking's primary score; equal values share it


def scored_resolution(rows: Iterable[RankRow]) -> str | None:
    """The input size ``rows`` were scored at, in words ("64 px", "224–260 px"); None when no
    row recorded one."""
    sizes = sorted({r.info["image_size"] for r in rows if r.info.get("image_size")})
    if not sizes:
        return None
    return f"{sizes[0]} px" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]} px"


@dataclass
class Ranking:
    """Backbones ranked on one target. ``rows`` are sorted by ``primary`` (best first; models
    where it is unavailable last). ``skipped`` lists (model, reason) for backbones not scored
    (weights unavailable); ``failed`` lists (model, reason) for units that failed after their
    retries (an exception, or a worker that died)."""

    metrics: list[str]
    primary: str
    rows: list[RankRow]
    skipped: list[tuple[str, str]]
    recipe: dict[str, Any]
    failed: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from modelrank.correlation import shared_ranks

        for row, rank in zip(self.rows, shared_ranks([r.scores.get(self.primary)
                                                      for r in self.rows])):
            row.rank = rank

    def tied_first(self) -> list[str]:
        """The backbones sharing the first place under the primary score (one when no tie)."""
        return [r.model for r in self.rows if r.rank == 1]

    def best(self) -> str:
        """Name of the top backbone by the primary score.

        Raises MetricError saying why when no backbone has that score: each backbone that was
        skipped, failed, or could not be given the score, with its reason."""
        for r in self.rows:
            if self.primary in r.scores:
                return r.model
        why = ([f"{m} skipped ({reason})" for m, reason in self.skipped]
               + [f"{m} failed ({reason})" for m, reason in self.failed]
               + [f"{r.model}: {r.unavailable[self.primary]}" for r in self.rows
                  if self.primary in r.unavailable])
        raise MetricError(f"no backbone has a {self.primary} score"
                          + (": " + "; ".join(why) if why else ": no backbone was selected"))

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and formatted cells: rank, model, each metric (raw value, direction-aware)."""
        header = ["rank", "model"] + self.metrics
        body = []
        for r in self.rows:
            cells = ["–" if r.rank is None else str(r.rank), r.model]
            for m in self.metrics:
                v = r.raw.get(m)
                cells.append("n/a" if v is None else f"{v:.4g}")
            body.append(cells)
        return header, body

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "metrics": self.metrics,
            "primary": self.primary,
            "ranking": [
                {"rank": r.rank, "model": r.model, "scores": r.scores, "raw": r.raw,
                 "unavailable": r.unavailable, "info": r.info, "topology": r.topology}
                for r in self.rows
            ],
            "skipped": [{"model": m, "reason": why} for m, why in self.skipped],
            "failed": [{"model": m, "reason": why} for m, why in self.failed],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=jsonable)

    def to_pandas(self):
        """A pandas DataFrame, one row per backbone in ranking order (index: model): ``rank``
        and each metric's raw value (NaN where unavailable; lower is better for the metrics whose
        registry entry says so, as in :meth:`table`). Needs pandas (not a dependency)."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError("Ranking.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(
            [{"model": r.model, "rank": r.rank, **{m: r.raw.get(m, float("nan"))
                                                   for m in self.metrics}}
             for r in self.rows]).set_index("model")

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["rank", "model"] + self.metrics)
        for r in self.rows:
            w.writerow(["" if r.rank is None else r.rank, r.model]
                       + ["" if r.raw.get(m) is None else repr(r.raw[m]) for m in self.metrics])
        return buf.getvalue()

    def to_markdown(self) -> str:
        from modelrank.markdown import table

        lines = table(*self.table())
        rec = self.recipe.get("data", {})
        lines.insert(0, f"Ranking on {rec.get('dataset')} ({rec.get('split')}, "
                        f"{rec.get('n_images')} images), sorted by {self.primary}\n")
        if self.skipped or self.failed:
            lines.append("")
            lines += [f"- skipped {m}: {why}" for m, why in self.skipped]
            lines += [f"- failed {m}: {why}" for m, why in self.failed]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write as .json, .csv or .md by suffix; topology arrays go to ``<path>.betti.npz``."""
        p = Path(path)
        fmt = p.suffix.lower()
        text = {".json": self.to_json, ".csv": self.to_csv, ".md": self.to_markdown}.get(fmt)
        if text is None:
            raise ParameterError("path", f"must end in .json, .csv or .md, got {p.name!r}")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text())
        arrays = {f"{r.model}/{k}": np.asarray(v) for r in self.rows
                  for k, v in r.topology.get("arrays", {}).items()}
        if arrays:
            np.savez_compressed(p.with_name(p.name + ".betti.npz"), **arrays)


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


def _inputs(emb, entry: ZooEntry, param_count: int) -> MetricInputs:
    return MetricInputs(
        features=emb.features, labels=emb.labels, logits=emb.logits,
        layer_features=emb.layers, cubical_betti=emb.cubical, layer_names=emb.layer_names,
        model_info={"imagenet_top1": entry.imagenet_top1, "param_count": param_count,
                    "source_top1": entry.source_top1},
    )


def _missing_reason(need: str) -> str:
    return {
        "logits": "the backbone has no source (ImageNet) classifier head",
        "cubical_betti": "cubical Betti counts were not computed",
        "model_info": "no model facts",
    }.get(need, f"no {need}")


@dataclass(frozen=True)
class ScoreOptions:
    """How backbones are probed and scored: the options shared by :func:`rank`,
    :func:`rank_targets`, :func:`pick_backbone`, the scoring units and
    :func:`~modelrank.benchmark.run_benchmark`. Checked when built, so a bad value is refused
    before any work starts (:class:`~modelrank.errors.ParameterError` naming the field).

    Attributes:
        batch_size: images per forward pass (≥ 1).
        amp: mixed-precision forward passes (bfloat16 on the CPU, float16 on CUDA); part of the
            embedding cache key.
        eta: cubical Betti threshold, in the activations' units (finite).
        layout: cubical volume of a layer: ``whc``, ``channel-mean`` or ``per-channel``
            (:data:`modelrank.topology.cubical.LAYOUTS`).
        betti_engine: where cubical Betti numbers are counted: ``auto`` (on the GPU when the
            backbone runs there, else numpy on the host), ``numpy`` or ``torch``. The engines give
            the same numbers, so this changes speed only and is not part of any cache key.
        cache_dir: root of the embedding cache, the journal of finished units and the run logs
            (None: ``$MODELRANK_CACHE``, else the user cache, of the machine a unit runs on).
        use_cache: read and write the embedding cache and the journal.
    """

    batch_size: int = 32
    amp: bool = False
    eta: float = 0.0
    layout: str = "whc"
    betti_engine: str = "auto"
    cache_dir: str | None = None
    use_cache: bool = True

    def __post_init__(self) -> None:
        from modelrank.probe import check_betti_engine, check_layout
        from modelrank.writable import check_writable_dir

        check_whole_number("batch_size", self.batch_size, least=1)
        try:
            finite_eta = not isinstance(self.eta, bool) and math.isfinite(float(self.eta))
        except (TypeError, ValueError):
            finite_eta = False
        if not finite_eta:
            raise ParameterError("eta", "(the cubical threshold) must be a finite number, got "
                                        f"{self.eta!r}")
        check_layout(self.layout)
        check_betti_engine(self.betti_engine)
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", str(self.cache_dir))
            check_writable_dir(Path(self.cache_dir), "cache directory")

    def cache_root(self) -> Path:
        """The cache directory this process uses."""
        from modelrank.probe import cache_root

        return Path(self.cache_dir) if self.cache_dir is not None else cache_root()


@dataclass
class UnitScore:
    """What one scoring unit (one backbone x one target) returns to the driver.

    Attributes:
        row: the backbone's row with its pool-independent scores (None when skipped).
        sub: raw sub-scores of the pool-dependent metrics, combined on the driver.
        skipped: why the backbone could not be scored here (weights unavailable).
    """

    model: str
    row: RankRow | None = None
    sub: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


def score_backbone(entry: ZooEntry, data: TargetData, metrics: tuple[str, ...],
                   opts: ScoreOptions, parent: ZooEntry | None = None,
                   on_progress: OnProgress | None = None,
                   device: str | None = None) -> UnitScore:
    """One scoring unit: build ``entry``, probe ``data`` on ``device``, compute every metric in
    ``metrics`` (registered names). ``parent``: the full-depth network ``entry`` is a truncation
    of, whose cached pass the probe may read ``entry``'s layers from
    (:func:`modelrank.probe.probe`). Its arguments are positional because executors pass them
    as one tuple.

    Runs wherever the executor puts it; touches only the embedding cache. Pool-dependent
    metrics return their sub-scores in ``sub``; the driver combines them over the pool.
    """
    import socket

    from modelrank.loaders import build_backbone
    from modelrank.probe import CubicalBettiReducer, probe, resolve_device

    specs = [get_metric(m) for m in metrics]
    device = str(resolve_device(device))
    try:
        bb = build_backbone(entry, device=device)
    except WeightsUnavailableError as exc:
        return UnitScore(entry.name, skipped=str(exc))
    need_cubical = any("cubical_betti" in s.needs for s in specs)
    cb = CubicalBettiReducer(opts.eta, opts.layout, opts.betti_engine) if need_cubical else None
    emb = probe(bb, data, cubical=cb, batch_size=opts.batch_size, device=device, amp=opts.amp,
                cache_dir=opts.cache_dir, use_cache=opts.use_cache, on_progress=on_progress,
                parent=parent)
    row = RankRow(entry.name, info={
        "source": entry.source, "id": entry.id, "weights": bb.info.get("weights_tag"),
        "image_size": bb.preprocess.size, "preprocess": bb.preprocess.as_dict(),
        "probe_layers": bb.layer_names, "param_count": bb.param_count,
        "layer_shapes": {li.name: "x".join(map(str, li.shape)) for li in bb.layers},
        "imagenet_top1": bb.entry.imagenet_top1, "truncate": entry.truncate,
        "tags": list(entry.tags), "forward_pass": emb.computed,
        "device": emb.meta["device"], "host": socket.gethostname(),
        "layers_from": emb.meta["from_parent"], "betti_engine": emb.meta["betti_engine"],
    })
    inputs = _inputs(emb, bb.entry, bb.param_count)
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
            _set_score(row, spec, float(value))
    row.topology = _topology_summary(emb, inputs.memo)
    return out


def unit_key(entry: ZooEntry, data: TargetData, metrics: Sequence[str], opts: ScoreOptions) -> str:
    """Digest of everything that determines a scoring unit's result (its journal key)."""
    from modelrank import __version__
    from modelrank.digest import digest

    what = {"unit": "score-v1", "version": __version__, "entry": entry.recipe(),
            "data": data.fingerprint(), "metrics": list(metrics), "amp": opts.amp,
            "eta": opts.eta, "layout": opts.layout}
    return digest(what, 32)


def rank(
    dataset: str | TargetData = "digits",
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    metrics: str | Sequence[str] | None = None,
    split: str = "train",
    per_class: int | None = None,
    seed: int = 0,
    device: str | None = None,
    options: ScoreOptions | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    store: bool | str | Path = False,
) -> Ranking:
    """Score every selected backbone on ``dataset`` and rank them.

    Args:
        dataset: name, ImageFolder path, or a loaded TargetData.
        zoo: zoo file path, packaged zoo name, or parsed zoo (default: the packaged zoo.yaml).
        models: comma list of names and tags (default: the ``offline`` tag).
        metrics: comma list of registered metric names, or "all"; the first is the primary.
        split, per_class, seed: which images the scores see (recorded); ignored for a loaded
            TargetData except ``seed``, which is recorded.
        device: where the backbones run: "cpu", "cuda", or None/"auto" (CUDA when present).
        options: how the probe runs and the scores are computed (:class:`ScoreOptions`:
            batch size, mixed precision, cubical threshold, layout and engine, the cache).
        executor: where the units run (default: a :class:`LocalExecutor`, this process).
        on_progress: ``on_progress(model, images done, total)`` while probing
            (:mod:`modelrank.progress`; in-process executors only).
        on_skip: called (model, reason) for a backbone that cannot be built here.
        store: also record the ranking in the results database (True: the default one,
            ``$MODELRANK_DB``; a path: that file), where ``leaderboard`` finds it.

    Returns:
        Ranking, rows sorted best first by the primary metric. Units that failed after their
        retries are listed in ``Ranking.failed``, backbones that could not be built in
        ``Ranking.skipped``.
    """
    check_whole_number("seed", seed, least=0)
    data = dataset if isinstance(dataset, TargetData) else load_target(
        dataset, split=split, per_class=per_class, seed=seed)
    ranking = rank_targets([data], zoo=zoo, models=models, metrics=metrics, seed=seed,
                           device=device, options=options, executor=executor,
                           on_progress=on_progress, on_skip=on_skip)[0]
    if store:
        from modelrank.recording import record_ranking

        record_ranking(ranking, db=None if store is True else store,
                       command=f"python: modelrank.rank({data.name!r}, models={models!r}, "
                               f"metrics={metrics!r})")
    return ranking


def rank_targets(
    targets: Sequence[TargetData],
    *,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    models: str | Iterable[str] | None = None,
    metrics: str | Sequence[str] | None = None,
    seed: int = 0,
    device: str | None = None,
    options: ScoreOptions | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[Ranking]:
    """:func:`rank` for several loaded targets as one job of (backbone x target) units.

    Units already in the journal are not run again. Every unit is submitted to ``executor``
    at once, so a cluster can work on all of them; pool-dependent metrics are combined here
    per target once all of its units are back. Returns one Ranking per target, in order.
    """
    from modelrank.execution import LocalExecutor, Shared, Task
    from modelrank.journal import Journal

    opts = options if options is not None else ScoreOptions()
    if not isinstance(opts, ScoreOptions):
        raise ParameterError("options", f"must be a ScoreOptions, got {type(opts).__name__}")
    check_whole_number("seed", seed, least=0)
    for t in targets:
        if t.num_classes < 2:
            raise ConfigError(f"{t.name} ({t.split}) has {t.num_classes} class; ranking needs at "
                              "least 2")
    specs = resolve_metrics(metrics)
    names = tuple(s.name for s in specs)
    parsed = zoo if isinstance(zoo, dict) else load_zoo(zoo)
    entries = select(parsed, models if models is not None else "offline")
    need_cubical = any("cubical_betti" in s.needs for s in specs)
    ex = executor if executor is not None else LocalExecutor()
    task_device = ex.check_device(device)
    journal = Journal(opts.cache_root() / "units" if opts.use_cache else None)
    results: list[dict[str, UnitScore]] = [{} for _ in targets]
    failed: list[list[tuple[str, str]]] = [[] for _ in targets]
    tasks = []
    # full-depth networks first, so that their truncations find their pass in the cache
    submit_order = sorted(entries, key=lambda e: e.truncate is not None)
    for ti, data in enumerate(targets):
        shared = Shared(data)
        for entry in submit_order:
            key = unit_key(entry, data, names, opts)
            hit = journal.get(key, expect=UnitScore)
            if hit is not None:
                hit.row.info.update(forward_pass=False, from_journal=True)
                results[ti][entry.name] = hit
                continue
            args: tuple = (entry, shared, names, opts, truncation_parent(entry, entries))
            if ex.in_process and on_progress is not None:
                args += (on_progress,)
            tasks.append(Task(key, f"score {entry.name} x {data.name}", score_backbone, args,
                              num_cpus=ex.cpus_per_task, device=task_device,
                              context=(ti, entry.name)))

    def collect(oc) -> None:
        ti, model = oc.task.context
        if not oc.ok:
            failed[ti].append((model, oc.error))
            return
        unit: UnitScore = oc.value
        if unit.skipped is None:
            journal.put(oc.task.key, unit)
        elif on_skip:
            on_skip(model, unit.skipped)
        results[ti][model] = unit

    ex.run(tasks, collect)
    recipe_base = {"seed": seed, "eta": opts.eta if need_cubical else None,
                   "layout": opts.layout if need_cubical else None, "amp": opts.amp,
                   "batch_size": opts.batch_size, "versions": library_versions(),
                   "zoo": str(zoo) if zoo is not None and not isinstance(zoo, dict) else "packaged",
                   "execution": ex.describe()}
    order = [e.name for e in entries]
    return [_assemble(specs, [results[ti][m] for m in order if m in results[ti]], failed[ti],
                      {"data": data.recipe(), **recipe_base})
            for ti, data in enumerate(targets)]


def _assemble(specs: list[MetricSpec], units: list[UnitScore], failed: list[tuple[str, str]],
              recipe: dict[str, Any]) -> Ranking:
    """Combine pool-dependent sub-scores over the pool and sort (units in zoo order)."""
    rows = [u.row for u in units if u.row is not None]
    skipped = [(u.model, u.skipped) for u in units if u.skipped is not None]
    for spec in specs:
        if not spec.pool_dependent:
            continue
        pairs = [(u.row, u.sub[spec.name]) for u in units if spec.name in u.sub]
        if not pairs:
            continue
        try:
            combined = spec.combine([v for _, v in pairs])
        except MetricError as exc:
            for row, _ in pairs:
                row.unavailable[spec.name] = str(exc)
            continue
        for (row, v), c in zip(pairs, combined):
            row.info.setdefault("subscores", {})[spec.name] = v
            _set_score(row, spec, float(c))
    primary = specs[0].name
    rows.sort(key=lambda r: (primary not in r.scores, -r.scores.get(primary, 0.0)))
    if failed:
        recipe = {**recipe, "failed": [{"model": m, "reason": why} for m, why in failed]}
    return Ranking([s.name for s in specs], primary, rows, skipped, recipe, failed)


def _set_score(row: RankRow, spec: MetricSpec, value: float) -> None:
    if not math.isfinite(value):
        row.unavailable[spec.name] = "the score is not finite on this input"
        return
    row.raw[spec.name] = value
    row.scores[spec.name] = value if spec.higher_is_better else -value


def _topology_summary(emb, memo: dict[str, Any]) -> dict[str, Any]:
    """Per-layer Betti arrays and Omega curves computed for this backbone, to save beside it."""
    from modelrank.metrics.betti import omega_curve_cubical

    out: dict[str, Any] = {"layers": list(emb.layer_names), "arrays": {}}
    if emb.cubical is not None:
        out["omega_cubical"] = omega_curve_cubical(emb.cubical, emb.labels).tolist()
        out["arrays"].update(cubical_betti=emb.cubical, labels=emb.labels)
    if "rips" in memo:
        omega, betti = memo["rips"]
        out["omega_rips"] = np.asarray(omega).tolist()
        out["arrays"]["rips_betti"] = betti  # (L, K, maxdim + 1)
    return out if out["arrays"] else {}


class Pick(str):
    """The backbone :func:`pick_backbone` chose: its name (a ``str``, usable wherever the name
    is) with the answer behind it.

    Attributes:
        recommendation: :class:`~modelrank.recommendation.Recommendation` — the margin over
            the runner-up, the share of half-samples of the images in which it stays first,
            whether that makes a clear pick (``conclusive``) and the plausible winners.
        ranking: the full :class:`Ranking` it was chosen from.
        history: :class:`~modelrank.history_advice.HistoryAdvice` when a history was given
            (the history prior beside the scores, and what the answer rests on), else None.
    """

    recommendation: Any
    ranking: Ranking
    history: Any

    def __new__(cls, recommendation, ranking: Ranking, history: Any = None) -> "Pick":
        obj = super().__new__(cls, recommendation.model)
        obj.recommendation, obj.ranking, obj.history = recommendation, ranking, history
        return obj

    @property
    def evidence(self) -> str:
        """What the answer rests on, in words (the target's scores; with a history, the prior
        is beside them: :mod:`modelrank.history_advice`)."""
        return "the target's scores" if self.history is None else self.history.evidence

    @property
    def margin(self) -> float | None:
        return self.recommendation.margin

    @property
    def stability(self) -> float | None:
        return self.recommendation.stability

    @property
    def conclusive(self) -> bool | None:
        """True for a clear pick, False for an inconclusive one (the half-sample rule of
        :mod:`modelrank.recommendation`), None when no stability was computed."""
        return self.recommendation.conclusive

    @property
    def plausible(self) -> tuple[str, ...]:
        """The plausible winners: the fewest backbones that together come first in
        :data:`~modelrank.recommendation.PLAUSIBLE_MASS` of the half-samples (this one alone
        for a pick no half-sample disputes; empty when no stability was computed)."""
        return self.recommendation.plausible

    @property
    def tied(self) -> tuple[str, ...]:
        """The backbones sharing the first place with this one (empty when there is no tie);
        :attr:`recommendation`'s ``tie_break`` says how this one was taken among them."""
        return self.recommendation.tied

    def __repr__(self) -> str:
        return (f"Pick({str(self)!r}, stability={self.stability!r}, margin={self.margin!r}, "
                f"conclusive={self.conclusive!r}, plausible={self.plausible!r})")


def pick_backbone(dataset: str | TargetData = "digits", *,
                  candidates: str | Iterable[str] | None = None,
                  metric: str = "knn",
                  stability: int | None = None,
                  zoo: str | Path | dict[str, ZooEntry] | None = None,
                  split: str = "train",
                  per_class: int | None = None,
                  seed: int = 0,
                  device: str | None = None,
                  options: ScoreOptions | None = None,
                  executor: "Executor | None" = None,
                  on_progress: OnProgress | None = None,
                  history: str | Path | History | None = None) -> Pick:
    """The backbone ``metric`` ranks first among ``candidates`` on ``dataset``, as a
    :class:`Pick`: the name, how far ahead and how stable the choice is, and the ranking.

    Args:
        candidates: comma list of zoo names and tags (default: the ``offline`` tag).
        metric: the registered score that chooses.
        stability: half-samples of the scored images behind the choice's stability (recomputed
            from the cached embeddings; default
            :data:`~modelrank.recommendation.DEFAULT_REPLICATES`; 0: none; none either when
            ``options.use_cache`` is off).
        zoo, split, per_class, seed, device, options, executor, on_progress: as for
            :func:`rank`.
        history: past fine-tunes (a source of :func:`~modelrank.history_sources.load_history`:
            ``"published"``, ``"db"``, a file; or a loaded
            :class:`~modelrank.history_sources.History`): the pick's ``history`` gives the
            history prior beside the scores, which still make the pick (the held-out study of
            :mod:`modelrank.history_advice` found no fusion better than the prior alone).

    Raises MetricError saying why when no backbone has the score.
    """
    if stability is not None:  # refused before the work, not after it
        check_whole_number("stability", stability, least=0)
    past = load_history(str(history)) if isinstance(history, (str, Path)) else history
    if past is not None and not isinstance(past, History):
        raise ParameterError("history", f"must be a source name or a History, got "
                                        f"{type(past).__name__}")
    data = dataset if isinstance(dataset, TargetData) else load_target(
        dataset, split=split, per_class=per_class, seed=seed)
    ranking = rank(data, zoo=zoo, models=candidates, metrics=[metric], seed=seed, device=device,
                   options=options, executor=executor, on_progress=on_progress)
    ranking.best()  # the reasons, when no backbone has the score
    rec = recommend_from(ranking, data, zoo=zoo, models=candidates, stability=stability,
                         seed=seed, options=options)
    advice = None
    if past is not None:
        advice = advise_from_history(past, data.name, [r.model for r in ranking.rows],
                                     score_pick=rec.model)
    return Pick(rec, ranking, advice)


def recommend_from(ranking: Ranking, data: TargetData, *,
                   zoo: str | Path | dict[str, ZooEntry] | None = None,
                   models: str | Iterable[str] | None = None, stability: int | None = None,
                   seed: int = 0, options: ScoreOptions | None = None):
    """The :class:`~modelrank.recommendation.Recommendation` behind ``ranking`` of ``data``,
    scored with ``zoo``, ``models`` and ``options`` as :func:`rank` was: the margin, and the
    share of ``stability`` half-samples of the images (default
    :data:`~modelrank.recommendation.DEFAULT_REPLICATES`; recomputed from the cache, so none when
    the cache is off) in which the leader stays first."""
    from modelrank.recommendation import DEFAULT_REPLICATES, recommend

    stability = DEFAULT_REPLICATES if stability is None else stability
    check_whole_number("stability", stability, least=0)
    opts = options if options is not None else ScoreOptions()
    entries = select(zoo if isinstance(zoo, dict) else load_zoo(zoo),
                     models if models is not None else "offline")
    return recommend(ranking, data, entries, replicates=stability if opts.use_cache else 0,
                     seed=seed, cache_dir=opts.cache_dir)
