"""Run a backbone over a target and stream each probed layer's activations to reducers.

Forward hooks hand every probed layer's batch activation to the reducers as soon as it is
produced; only the reduced arrays are kept, so memory does not grow with layers x images.
Results are cached on disk per *reducer group* (``base``: pooled layers + final features +
logits; ``cubical:<params>``: per-image Betti counts), keyed by everything that determines them,
and written in chunks so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from modelrank import cpu_runtime
from modelrank.backbone import Backbone, LayerInfo, make_transform
from modelrank.data import TargetData
from modelrank.devices import resolve_device
from modelrank.errors import ConfigError, ModelrankError, ParameterError
from modelrank.progress import OnProgress, tell
from modelrank.topology.cubical import LAYOUTS, betti_counts
from modelrank.topology.cubical_torch import betti_counts as betti_counts_torch
from modelrank.util.digest import digest
from modelrank.util.paths import cache_root
from modelrank.util.writable import write_atomically

if TYPE_CHECKING:
    from modelrank.zoo import ZooEntry

CACHE_VERSION = 1


def canonical(act: torch.Tensor, layer: LayerInfo) -> torch.Tensor:
    """Activation in canonical layout: (B, C, H, W) for feature maps, (B, T, D) for tokens."""
    if layer.layout == "NHWC":
        return act.permute(0, 3, 1, 2)
    return act


class Reducer:
    """Turns one layer's batch activation into a small per-image array.

    Subclasses set ``group`` (cache group), ``params`` (recorded in the cache key) and
    implement ``reduce(layer, act) -> np.ndarray`` of shape (B, ...).
    """

    group: str = "base"
    params: dict[str, Any] = {}

    def reduce(self, layer: LayerInfo, act: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    @property
    def key(self) -> str:
        return self.group + json.dumps(self.params, sort_keys=True)


class PooledReducer(Reducer):
    """Global average pool: (B, C, H, W) -> (B, C); tokens (B, T, D) -> mean over T, (B, D)."""

    group = "base"
    params: dict[str, Any] = {"pool": "mean"}

    def reduce(self, layer: LayerInfo, act: torch.Tensor) -> np.ndarray:
        dims = (2, 3) if act.ndim == 4 else (1,)
        return act.float().mean(dim=dims).cpu().numpy().astype(np.float32)


#: Betti engines: "numpy" (numpy/scipy on the host, :mod:`modelrank.topology.cubical`), "torch"
#: (tensor ops on the activations' device, :mod:`modelrank.topology.cubical_torch`), "auto"
#: (torch for activations on a GPU, numpy otherwise). The engines give the same numbers exactly.
BETTI_ENGINES = ("auto", "numpy", "torch")


def check_layout(layout: str) -> None:
    """ParameterError unless ``layout`` is one of the cubical engines' layouts."""
    if layout not in LAYOUTS:
        raise ParameterError("layout", f"must be one of {', '.join(LAYOUTS)}, got {layout!r}")


def check_betti_engine(engine: str) -> None:
    """ParameterError unless ``engine`` is one of :data:`BETTI_ENGINES`."""
    if engine not in BETTI_ENGINES:
        raise ParameterError(
            "betti_engine", f"must be one of {', '.join(BETTI_ENGINES)}, got {engine!r}"
        )


class CubicalBettiReducer(Reducer):
    """Betti numbers (b0, b1, b2) of each image's activation at threshold ``eta``: (B, 3) int.

    ``layout``: "whc" (the faithful (W, H, C) volume), "channel-mean" or "per-channel"; see
    :func:`modelrank.topology.cubical.betti_counts`. ``engine``: one of :data:`BETTI_ENGINES`.
    The engine is not part of the cache key: both give the same counts (tested on random
    volumes with ties, on the CPU and, where one is present, on CUDA).
    """

    group = "cubical"

    def __init__(self, eta: float = 0.0, layout: str = "whc", engine: str = "auto"):
        check_layout(layout)
        check_betti_engine(engine)
        self.params = {"eta": float(eta), "layout": layout}
        self.engine = engine

    def engine_on(self, device: torch.device) -> str:
        """The engine that counts activations that live on ``device``."""
        if self.engine != "auto":
            return self.engine
        return "torch" if device.type == "cuda" else "numpy"

    def reduce(self, layer: LayerInfo, act: torch.Tensor) -> np.ndarray:
        if self.engine_on(act.device) == "torch":
            return self.count_on_device(act)
        return self.count(act.float().cpu().numpy())

    def count_on_device(self, act: torch.Tensor) -> np.ndarray:
        """(B, 3) int32 Betti numbers counted where ``act`` lives; only the counts are copied."""
        # float32 first, as the numpy engine sees it: a float16 activation compared with eta
        # in float16 would round eta, and could differ from the float32 comparison
        counts = betti_counts_torch(
            act.float(), eta=self.params["eta"], layout=self.params["layout"]
        )
        return counts.to(torch.int32).cpu().numpy()

    def snapshot(self, act: torch.Tensor) -> np.ndarray:
        """A private float32 copy of ``act`` that later in-place ops of the network cannot touch."""
        a = act.float().cpu()
        return (a.clone() if a.data_ptr() == act.data_ptr() else a).numpy()

    def count(self, acts: np.ndarray) -> np.ndarray:
        """(B, 3) int32 Betti numbers of a (B, ...) float array (thread-safe: numpy/scipy only)."""
        return betti_counts(acts, eta=self.params["eta"], layout=self.params["layout"]).astype(
            np.int32
        )


@dataclass
class Embeddings:
    """Everything the probe extracted for one backbone on one target.

    Attributes:
        features: (n, d) float32 input of the classifier (final pre-logit features).
        logits: (n, C_src) float32 source logits, or None (no source head).
        layers: ordered {layer name: (n, c) float32 pooled activations}.
        cubical: (n, L, 3) int32 Betti counts per image and layer, or None.
        labels: (n,) int64 target labels.
        layer_names: probed layers in depth order.
        computed: True when any forward pass ran (False: everything came from the cache).
    """

    features: np.ndarray
    logits: np.ndarray | None
    layers: dict[str, np.ndarray]
    labels: np.ndarray
    layer_names: list[str]
    cubical: np.ndarray | None = None
    computed: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


class ChunkStore:
    """Per-key directory of ``chunk_<start>_<end>.npz`` files plus ``meta.json``.

    A finished store has ``done.npz``; an unfinished one resumes after its last contiguous chunk.
    """

    def __init__(self, root: Path, key: str, meta: dict[str, Any]):
        self.dir = root / key[:2] / key
        self.meta = meta

    @property
    def done_path(self) -> Path:
        return self.dir / "done.npz"

    def complete(self) -> dict[str, np.ndarray] | None:
        """The finished arrays, or None; a ``done.npz`` that cannot be read whole (cut short,
        empty, garbage) is deleted, so the run recomputes instead of failing on it forever."""
        if not self.done_path.is_file():
            return None
        try:
            with np.load(self.done_path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception:
            arrays = {}
        if not arrays:
            self.done_path.unlink(missing_ok=True)
            return None
        return arrays

    def resume(self) -> tuple[int, list[dict[str, np.ndarray]]]:
        """(first image not yet done, chunks so far in order)."""
        if not self.dir.is_dir():
            return 0, []
        spans = []
        for f in self.dir.glob("chunk_*.npz"):
            a, b = f.stem.split("_")[1:3]
            spans.append((int(a), int(b), f))
        spans.sort()
        pos, chunks = 0, []
        for a, b, f in spans:
            if a != pos:
                break
            try:
                with np.load(f, allow_pickle=False) as z:
                    chunks.append({k: z[k] for k in z.files})
            except Exception:  # a chunk cut short by a kill: recompute from here
                break
            pos = b
        return pos, chunks

    def _write(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Write ``name`` atomically (:func:`~modelrank.util.writable.write_atomically`); a full disk
        is a one-line error that names the cache directory."""

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_atomically(self.dir / name, save)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the embedding cache in {str(self.dir.parent.parent)!r}: "
                f"{exc.strerror or exc} (choose another cache directory, or turn the "
                "cache off)"
            ) from None

    def save_chunk(self, start: int, end: int, arrays: dict[str, np.ndarray]) -> None:
        self._write(f"chunk_{start:07d}_{end:07d}.npz", arrays)
        try:  # a description for people browsing the cache; never read back
            (self.dir / "meta.json").write_text(json.dumps(self.meta, indent=1, default=str))
        except OSError:
            pass

    def finish(self, arrays: dict[str, np.ndarray]) -> None:
        self._write("done.npz", arrays)
        for f in self.dir.glob("chunk_*.npz"):
            f.unlink()


class _Collector:
    """Forward hooks feeding the reducers; holds the current batch's reduced arrays.

    Betti counting on the host (numpy/scipy, which release the GIL for most of the work) runs in
    ``pool`` while the network goes on: to its next layers, and (see :func:`_run`) to the next
    batch, so on a CPU it fills the cores that the forward pass leaves idle. Each layer's batch
    is split into one task per pool thread. Counting on the device (the torch engine) runs in
    the hook, in the device's stream order.
    """

    def __init__(
        self,
        bb: Backbone,
        reducers: Sequence[Reducer],
        want_head: bool,
        pool: ThreadPoolExecutor | None = None,
        workers: int = 1,
    ):
        self.bb, self.reducers, self.pool, self.workers = bb, reducers, pool, workers
        self.batch: dict[str, list[np.ndarray | list[Future]]] = {}
        self.handles = []
        mods = dict(bb.model.named_modules())
        for li in bb.layers:
            self.handles.append(mods[li.name].register_forward_hook(self._layer_hook(li)))
        if want_head and bb.head is not None:
            self.handles.append(mods[bb.head].register_forward_hook(self._head_hook))
        elif want_head and bb.entry.source == "hf":
            self.handles.append(mods["head_features"].register_forward_hook(self._feat_hook))

    def _layer_hook(self, li: LayerInfo):
        def hook(mod, inp, out):
            act = canonical(out[0] if isinstance(out, tuple) else out, li)
            for r in self.reducers:
                key = f"{r.group}:{li.name}"
                if (
                    self.pool is not None
                    and isinstance(r, CubicalBettiReducer)
                    and r.engine_on(act.device) == "numpy"
                ):
                    a = r.snapshot(act)
                    step = -(-a.shape[0] // self.workers)
                    reduced = [
                        self.pool.submit(r.count, a[i : i + step])
                        for i in range(0, a.shape[0], step)
                    ]
                else:
                    reduced = r.reduce(li, act)
                self.batch.setdefault(key, []).append(reduced)

        return hook

    def _head_hook(self, mod, inp, out):
        self.batch["base:features"] = [inp[0].float().flatten(1).cpu().numpy().astype(np.float32)]
        self.batch["base:logits"] = [out.float().cpu().numpy().astype(np.float32)]

    def _feat_hook(self, mod, inp, out):
        self.batch["base:features"] = [out.float().cpu().numpy().astype(np.float32)]

    def detach(self) -> dict[str, list]:
        """This batch's outputs as they stand (counts may still be running); the collector
        starts a new batch."""
        out, self.batch = self.batch, {}
        return out

    @staticmethod
    def resolve(batch: dict[str, list]) -> dict[str, np.ndarray]:
        """The arrays of a detached batch, waiting for its counts."""
        return {
            k: (np.concatenate([f.result() for f in v[0]]) if isinstance(v[0], list) else v[0])
            for k, v in batch.items()
        }

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def probe(
    bb: Backbone,
    data: TargetData,
    *,
    cubical: CubicalBettiReducer | None = None,
    batch_size: int = 32,
    device: str | None = None,
    amp: bool = False,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    chunk_images: int = 256,
    on_progress: OnProgress | None = None,
    prefetch: bool = True,
    parent: "ZooEntry | None" = None,
) -> Embeddings:
    """Embeddings of ``data`` through ``bb``: pooled layers, features, logits (+ cubical Betti).

    Args:
        bb: built backbone (eval mode).
        data: target images and labels.
        cubical: when given, also compute per-image cubical Betti counts at every layer (its
            engine decides where they are counted; ``meta["betti_engine"]`` names the one that
            ran, None when the counts came from the cache).
        batch_size: images per forward pass.
        device: "cpu", "cuda", "auto"/None.
        amp: autocast to bfloat16 (CPU) / float16 (CUDA); part of the cache key.
        cache_dir: root of the embedding cache (default :func:`cache_root`).
        use_cache: read and write the cache.
        chunk_images: images between checkpoints of an unfinished run.
        on_progress: ``on_progress(backbone name, images done, total)`` after every batch
            (:mod:`modelrank.progress`).
        prefetch: prepare the next batch's images in a thread while this batch runs
            (the same tensors either way).
        parent: the full-depth network that ``bb`` is a truncation of
            (:func:`modelrank.zoo.truncation_parent`). When that network's pass over ``data``
            is already in the cache, ``bb``'s layers are read from its first layers (the same
            modules on the same input) instead of running a forward pass, and stored under
            ``bb``'s own key; ``meta["from_parent"]`` then names it. Without that pass in the
            cache, ``bb`` runs its own.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)
    dev = resolve_device(device)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    groups: dict[str, list[Reducer]] = {"base": [PooledReducer()]}
    if cubical is not None:
        groups["cubical"] = [cubical]
    stores = _stores(root, bb.entry.recipe(), bb.layer_names, data, groups, amp)
    results: dict[str, dict[str, np.ndarray]] = {}
    todo: dict[str, tuple[int, list]] = {}
    for g, st in stores.items():
        got = st.complete() if use_cache else None
        if got is not None:
            results[g] = got
        else:
            todo[g] = st.resume() if use_cache else (0, [])
    from_parent = None
    if todo and use_cache and parent is not None:
        inherited = _from_parent(parent, bb, data, {g: groups[g] for g in todo}, amp, root)
        if inherited is not None:
            for g, arrays in inherited.items():
                stores[g].finish(arrays)
                results[g] = arrays
            todo, from_parent = {}, parent.name
    computed = bool(todo)
    betti_engine = cubical.engine_on(dev) if cubical is not None and "cubical" in todo else None
    if betti_engine is not None:  # for people browsing the cache (not part of its key)
        stores["cubical"].meta.update(betti_engine=betti_engine, device=str(dev))
    if todo:
        start = min(pos for pos, _ in todo.values())
        active = [r for g in todo for r in groups[g]]
        parts = _run(
            bb,
            data,
            reducers=active,
            want_head="base" in todo,
            start=start,
            batch_size=batch_size,
            dev=dev,
            amp=amp,
            stores={g: stores[g] for g in todo},
            first={g: pos for g, (pos, _) in todo.items()},
            chunk_images=chunk_images,
            on_progress=on_progress,
            use_cache=use_cache,
            prefetch=prefetch,
        )
        for g, (_pos, chunks) in todo.items():
            arrays = _concat(chunks + parts[g])
            if use_cache:
                stores[g].finish(arrays)
            results[g] = arrays
    else:
        tell(on_progress, bb.entry.name, len(data), len(data))
    base = results["base"]
    layers = {n: base[f"base:{n}"] for n in bb.layer_names}
    feats = base.get("base:features")
    if feats is None:  # truncated backbones: the last probed layer, pooled
        feats = layers[bb.layer_names[-1]]
    cub = None
    if "cubical" in results:
        cub = np.stack([results["cubical"][f"cubical:{n}"] for n in bb.layer_names], axis=1)
    return Embeddings(
        features=feats,
        logits=base.get("base:logits"),
        layers=layers,
        labels=np.asarray(data.labels),
        layer_names=bb.layer_names,
        cubical=cub,
        computed=computed,
        meta={
            "device": str(dev),
            "amp": amp,
            "batch_size": batch_size,
            "from_parent": from_parent,
            "betti_engine": betti_engine,
        },
    )


def _stores(
    root: Path,
    recipe: dict[str, Any],
    layer_names: list[str],
    data: TargetData,
    groups: dict[str, list[Reducer]],
    amp: bool,
) -> dict[str, ChunkStore]:
    """The cache store of each reducer group of the backbone of ``recipe`` (its entry's
    :meth:`~modelrank.zoo.ZooEntry.recipe`) probed at ``layer_names`` on ``data``, keyed by all
    that determines its arrays."""
    common = {
        "v": CACHE_VERSION,
        "backbone": recipe,
        "layers": layer_names,
        "data": data.pass_fingerprint(),
        "amp": amp,
    }
    return {
        g: ChunkStore(
            root,
            digest({**common, "group": g, "reducers": [r.key for r in rs]}),
            {**common, "group": g, "dataset": data.recipe()},
        )
        for g, rs in groups.items()
    }


#: {digest of a parent's recipe and preprocessing: (its resolved recipe, its probe layers)}:
#: what keys its cache, found once per process (building it loads weights and traces a pass).
_PARENT_LAYOUTS: dict[str, tuple[dict[str, Any], list[str]]] = {}


def _parent_layout(parent: "ZooEntry", preprocess) -> tuple[dict[str, Any], list[str]] | None:
    """(recipe, probe layers) of ``parent`` built with ``preprocess``, as its own units key
    their cache; None when it cannot be built here."""
    from modelrank.loaders import build_backbone

    key = digest({"parent": parent.recipe(), "preprocess": preprocess.as_dict()})
    if key not in _PARENT_LAYOUTS:
        try:
            pbb = build_backbone(parent, device="cpu")
        except ModelrankError:
            return None  # not remembered: the weights may become available later
        entry = pbb.entry
        if pbb.preprocess != preprocess:
            # the caller changed the truncation's preprocessing (a linear probe at another
            # resolution); the parent's own units were changed the same way (entry and all)
            entry = replace(entry, preprocess=preprocess)
        _PARENT_LAYOUTS[key] = (entry.recipe(), pbb.layer_names)
    return _PARENT_LAYOUTS[key]


def _from_parent(
    parent: "ZooEntry",
    bb: Backbone,
    data: TargetData,
    groups: dict[str, list[Reducer]],
    amp: bool,
    root: Path,
) -> dict[str, dict[str, np.ndarray]] | None:
    """``bb``'s arrays of ``groups`` cut from ``parent``'s finished cache entries on ``data``, or
    None when ``parent`` cannot stand in for it: it cannot be built here, its pass is not
    (wholly) in the cache, or ``bb``'s probed layers are not its first layers. ``bb`` must be
    headless (a truncation), so its arrays are exactly its layers' entries."""
    if bb.head is not None or bb.entry.source == "hf":
        return None
    layout = _parent_layout(parent, bb.preprocess)
    names = bb.layer_names
    if layout is None or layout[1][: len(names)] != names:
        return None
    out = {}
    for g, st in _stores(root, *layout, data, groups, amp).items():
        arrays = st.complete()
        if arrays is None:
            return None
        try:
            out[g] = {f"{g}:{n}": arrays[f"{g}:{n}"] for n in names}
        except KeyError:
            return None
    return out


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not chunks:
        return {}
    return {k: np.concatenate([c[k] for c in chunks], axis=0) for k in chunks[0]}


def _run(
    bb,
    data,
    *,
    reducers,
    want_head,
    start,
    batch_size,
    dev,
    amp,
    stores,
    first,
    chunk_images,
    on_progress,
    use_cache,
    prefetch,
) -> dict[str, list[dict[str, np.ndarray]]]:
    """One forward pass over ``data`` from image ``start`` on, feeding every reducer.

    ``stores`` and ``first`` are per reducer group: where its chunks are saved and the first
    image it still lacks (an earlier, interrupted run kept the ones before). Returns, per group,
    the chunks computed now ({array name: (n_images, ...)} each), in image order.
    """
    transform = make_transform(bb.preprocess)
    threaded = any(
        isinstance(r, CubicalBettiReducer) and r.engine_on(dev) == "numpy" for r in reducers
    )
    workers = max(1, torch.get_num_threads())
    pool = ThreadPoolExecutor(workers, thread_name_prefix="betti") if threaded else None
    col = _Collector(bb, reducers, want_head, pool, workers)
    parts: dict[str, list[dict[str, np.ndarray]]] = {g: [] for g in stores}
    pending: dict[str, list[dict[str, np.ndarray]]] = {g: [] for g in stores}
    pend_start = {g: max(first[g], start) for g in stores}
    n = len(data)
    bb.model.to(dev)
    autocast = torch.autocast(
        dev.type, dtype=torch.float16 if dev.type == "cuda" else torch.bfloat16, enabled=amp
    )

    def load(b0: int) -> torch.Tensor:
        return torch.stack([transform(data.images[i]) for i in range(b0, min(n, b0 + batch_size))])

    def finish_batch(b0: int, b1: int, out: dict[str, np.ndarray]) -> None:
        for g in stores:
            if b1 <= first[g]:
                continue  # this group already has these images from an earlier run
            lo = max(0, first[g] - b0)
            piece = {k: v[lo:] for k, v in out.items() if k.startswith(g + ":")}
            pending[g].append(piece)
            done = b1 - pend_start[g]
            if use_cache and (done >= chunk_images or b1 == n):
                merged = _concat(pending[g])
                stores[g].save_chunk(pend_start[g], b1, merged)
                parts[g].append(merged)
                pending[g], pend_start[g] = [], b1
        tell(on_progress, bb.entry.name, b1, n)

    # Decoding and resizing the next batch (PIL releases the GIL) overlaps this batch's
    # forward pass: for folders of photos it costs a fair share of a CPU forward pass.
    loader = ThreadPoolExecutor(1, thread_name_prefix="decode") if prefetch else None
    starts = list(range(start, n, batch_size))
    # A batch's host-side Betti counts are collected only after the next batch's forward pass,
    # so they run beside it instead of holding it up.
    in_flight: tuple[int, int, dict[str, list]] | None = None
    try:
        with torch.inference_mode(), autocast:
            ahead = loader.submit(load, starts[0]) if loader is not None and starts else None
            for j, b0 in enumerate(starts):
                b1 = min(n, b0 + batch_size)
                x = (ahead.result() if ahead is not None else load(b0)).to(dev)
                if loader is not None and j + 1 < len(starts):
                    ahead = loader.submit(load, starts[j + 1])
                bb.run(x)
                batch = col.detach()
                if in_flight is not None:
                    finish_batch(in_flight[0], in_flight[1], col.resolve(in_flight[2]))
                in_flight = (b0, b1, batch)
            if in_flight is not None:
                finish_batch(in_flight[0], in_flight[1], col.resolve(in_flight[2]))
    finally:
        col.close()
        for p in (pool, loader):
            if p is not None:
                p.shutdown(cancel_futures=True)
    for g in stores:
        if pending[g]:
            parts[g].append(_concat(pending[g]))
    return parts
