"""One backbone of a zoo as plain data: :class:`ZooEntry` (what to build), its
:class:`Preprocess`, and :func:`parse_entry`, which validates one zoo.yaml mapping.

Torch-free and below every other zoo module: the loaders, the backbone and the model strings
(:mod:`modelrank.model_specs`) import it; :mod:`modelrank.zoo` reads whole zoo files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelrank.errors import ConfigError

SOURCES = ("timm", "torchvision", "hf", "file")
LAYER_MODES = ("blocks", "stages")


@dataclass(frozen=True)
class Preprocess:
    """Image preprocessing of a backbone.

    Attributes:
        size: side of the square input in pixels (after the centre crop).
        resize: the short side is resized to this many pixels before cropping.
        mean, std: per-channel normalisation of [0, 1] RGB values.
        interpolation: "bilinear" | "bicubic" | "nearest".
    """

    size: int = 224
    resize: int = 256
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "resize": self.resize,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }


@dataclass(frozen=True)
class ZooEntry:
    """One backbone of the zoo, as written in zoo.yaml (see the file's header for fields).

    ``preprocess`` is None until resolved ("auto"); ``imagenet_top1`` may be "auto" until the
    loader resolves it from library metadata. ``source_top1``: the test accuracy (%) on the task
    the backbone was pre-trained on, for backbones trained here (:mod:`modelrank.trained_zoo`).
    """

    name: str
    source: str
    id: str
    weights: str | None = None
    preprocess: Preprocess | None = None
    layers: str | tuple[str, ...] = "blocks"
    imagenet_top1: float | str | None = None
    source_top1: float | None = None
    tags: tuple[str, ...] = ()
    seed: int = 0
    truncate: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def random_init(self) -> bool:
        return self.weights == "random"

    def recipe(self) -> dict[str, Any]:
        """Everything that determines this backbone's outputs (for cache keys and records).

        A state-dict file given by path is identified by its content (SHA-256), not its path or
        time: replacing the file under the same name never reads results of the old one, and the
        same weights at another path or on another machine (a trained zoo rebuilt there) give
        the same keys, so committed run logs are found again."""
        weights = self.weights
        if self.source == "file" and self.weights and not self.weights.startswith("package:"):
            path = Path(self.weights).expanduser()
            if path.is_file():
                weights = f"sha256:{_file_digest(path)}"
        return {
            "name": self.name,
            "source": self.source,
            "id": self.id,
            "weights": weights,
            "preprocess": self.preprocess.as_dict() if self.preprocess else "auto",
            "layers": self.layers if isinstance(self.layers, str) else list(self.layers),
            "seed": self.seed if self.random_init else None,
            "truncate": self.truncate,
            "options": dict(sorted(self.options.items())),
        }


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    """The first 24 hex digits of the SHA-256 of a file's bytes, remembered per (path, size,
    modification time) within the process."""
    import hashlib

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()[:24]
    return _DIGESTS[key]


def _parse_preprocess(raw: Any, where: str) -> Preprocess | None:
    if raw in (None, "auto"):
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: preprocess must be 'auto' or a mapping, got {raw!r}")
    unknown = set(raw) - {"size", "resize", "mean", "std", "interpolation"}
    if unknown:
        raise ConfigError(f"{where}: unknown preprocess keys {sorted(unknown)}")
    size = _whole(raw.get("size", 224), f"{where}: preprocess size", low=1)
    resize = _whole(raw.get("resize", round(size / 0.875)), f"{where}: preprocess resize", low=1)
    stats = {}
    for key in ("mean", "std"):
        value = raw.get(key, getattr(Preprocess, key))
        try:
            stats[key] = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            stats[key] = ()
        if len(stats[key]) != 3 or not all(math.isfinite(v) for v in stats[key]):
            raise ConfigError(
                f"{where}: preprocess {key} must be 3 numbers (R, G, B), got {value!r}"
            )
    if any(v <= 0 for v in stats["std"]):
        raise ConfigError(f"{where}: preprocess std must be positive, got {list(stats['std'])}")
    interpolation = str(raw.get("interpolation", "bilinear"))
    if interpolation not in ("bilinear", "bicubic", "nearest"):
        raise ConfigError(
            f"{where}: preprocess interpolation must be bilinear, bicubic or "
            f"nearest, got {interpolation!r}"
        )
    return Preprocess(
        size=size, resize=resize, mean=stats["mean"], std=stats["std"], interpolation=interpolation
    )


def _whole(value: Any, what: str, low: int = 0) -> int:
    """``value`` as an int ≥ ``low``; ConfigError naming ``what`` otherwise (no bools, no 2.5)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
        or int(value) < low
    ):
        raise ConfigError(f"{what} must be a whole number ≥ {low}, got {value!r}")
    return int(value)


def parse_entry(name: str, raw: dict[str, Any], defaults: dict[str, Any] | None = None) -> ZooEntry:
    """Validate one zoo.yaml mapping and return its entry; ConfigError on a malformed field."""
    where = f"zoo entry {name!r}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(raw).__name__}")
    merged = {**(defaults or {}), **raw}
    known = {
        "source",
        "id",
        "weights",
        "preprocess",
        "layers",
        "imagenet_top1",
        "source_top1",
        "tags",
        "seed",
        "truncate",
        "options",
    }
    unknown = set(merged) - known
    if unknown:
        raise ConfigError(f"{where}: unknown fields {sorted(unknown)}")
    source = merged.get("source")
    if source not in SOURCES:
        raise ConfigError(f"{where}: source must be one of {', '.join(SOURCES)}, got {source!r}")
    if not merged.get("id"):
        raise ConfigError(f"{where}: 'id' is required")
    layers = merged.get("layers", "blocks")
    if isinstance(layers, list):
        layers = tuple(str(x) for x in layers)
    elif layers not in LAYER_MODES:
        raise ConfigError(f"{where}: layers must be 'blocks', 'stages' or a list, got {layers!r}")
    top1 = merged.get("imagenet_top1")
    if top1 not in (None, "auto"):
        try:
            top1 = float(top1)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: imagenet_top1 must be a number, 'auto' or null") from None
    source_top1 = merged.get("source_top1")
    if source_top1 is not None:
        try:
            source_top1 = float(source_top1)
        except (TypeError, ValueError):
            source_top1 = float("nan")
        if not 0 <= source_top1 <= 100:
            raise ConfigError(
                f"{where}: source_top1 must be a percentage from 0 to 100, got "
                f"{merged.get('source_top1')!r}"
            )
    weights = merged.get("weights")
    if (
        source == "file"
        and isinstance(weights, str)
        and weights not in ("random",)
        and not weights.startswith("package:")
        and not Path(weights).expanduser().is_file()
    ):
        raise ConfigError(f"{where}: weights file {weights!r} does not exist")
    tags = merged.get("tags", ()) or ()
    if not isinstance(tags, (list, tuple)):
        raise ConfigError(f"{where}: tags must be a list, got {tags!r}")
    options = merged.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: options must be a mapping, got {options!r}")
    return ZooEntry(
        name=name,
        source=source,
        id=str(merged["id"]),
        weights=None if weights is None else str(weights),
        preprocess=_parse_preprocess(merged.get("preprocess"), where),
        layers=layers,
        imagenet_top1=top1,
        source_top1=source_top1,
        tags=tuple(str(t) for t in tags),
        seed=_whole(merged.get("seed", 0), f"{where}: seed"),
        truncate=merged.get("truncate"),
        options=dict(options),
    )
