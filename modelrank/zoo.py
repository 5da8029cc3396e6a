"""The model zoo: parse zoo.yaml, select entries by name or tag, build backbones.

A :class:`ZooEntry` is plain data (what to build); :func:`build_backbone` turns it into a
:class:`~modelrank.backbone.Backbone` through the loader of its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

from modelrank.errors import ConfigError, UnknownModelError

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


def default_zoo_path() -> Path:
    """Path of the zoo.yaml shipped inside the package."""
    return Path(str(resources.files("modelrank") / "zoo.yaml"))


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
            raise ConfigError(f"{where}: preprocess {key} must be 3 numbers (R, G, B), "
                              f"got {value!r}")
    if any(v <= 0 for v in stats["std"]):
        raise ConfigError(f"{where}: preprocess std must be positive, got {list(stats['std'])}")
    interpolation = str(raw.get("interpolation", "bilinear"))
    if interpolation not in ("bilinear", "bicubic", "nearest"):
        raise ConfigError(f"{where}: preprocess interpolation must be bilinear, bicubic or "
                          f"nearest, got {interpolation!r}")
    return Preprocess(size=size, resize=resize, mean=stats["mean"], std=stats["std"],
                      interpolation=interpolation)


def _whole(value: Any, what: str, low: int = 0) -> int:
    """``value`` as an int ≥ ``low``; ConfigError naming ``what`` otherwise (no bools, no 2.5)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value != int(value) or int(value) < low:
        raise ConfigError(f"{what} must be a whole number ≥ {low}, got {value!r}")
    return int(value)


def parse_entry(name: str, raw: dict[str, Any], defaults: dict[str, Any] | None = None) -> ZooEntry:
    """Validate one zoo.yaml mapping and return its entry; ConfigError on a malformed field."""
    where = f"zoo entry {name!r}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(raw).__name__}")
    merged = {**(defaults or {}), **raw}
    known = {
        "source", "id", "weights", "preprocess", "layers", "imagenet_top1", "source_top1",
        "tags", "seed", "truncate", "options",
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
            raise ConfigError(f"{where}: source_top1 must be a percentage from 0 to 100, got "
                              f"{merged.get('source_top1')!r}")
    weights = merged.get("weights")
    if source == "file" and isinstance(weights, str) and weights not in ("random",) \
            and not weights.startswith("package:") and not Path(weights).expanduser().is_file():
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


def packaged_zoo_names() -> list[str]:
    """Short names of the zoo files shipped with modelrank (``modelrank/zoos/<name>.yaml``)."""
    return sorted(f.name[:-5] for f in (resources.files("modelrank") / "zoos").iterdir()
                  if f.name.endswith(".yaml"))


def zoo_path(name: str | Path | None) -> str | None:
    """Where zoo ``name`` is: None (or "packaged") for the default zoo, a zoo trained here
    ("trained:fmnist", built when missing: :mod:`modelrank.trained_zoo`), a packaged zoo by
    short name ("offline", "fmnist-imagenet"), else ``name`` itself as a path. A file of that
    name in the working directory wins over a packaged zoo only when it has the .yaml suffix."""
    if name is None or str(name) == "packaged":
        return None
    name = str(name)
    if name.startswith("trained:"):
        from modelrank.trained_zoo import built_zoo_path

        return str(built_zoo_path(name))
    packaged = resources.files("modelrank") / "zoos" / f"{name}.yaml"
    return str(packaged) if packaged.is_file() and not Path(name).is_file() else name


def load_zoo(path: str | Path | None = None) -> dict[str, ZooEntry]:
    """Read a zoo (default: the packaged one) into ``{name: entry}`` in file order: a zoo file,
    or a packaged or trained zoo by name (:func:`zoo_path`)."""
    where = zoo_path(path)
    p = Path(where) if where is not None else default_zoo_path()
    if not p.is_file() and path is not None and "/" not in str(path) \
            and not str(path).endswith((".yaml", ".yml")):
        raise ConfigError(f"unknown zoo {str(path)!r}: neither a file nor a packaged zoo "
                          f"({', '.join(packaged_zoo_names())}, or trained:NAME)")
    doc = read_yaml(p, "zoo file")
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise ConfigError(f"zoo file {str(p)!r} must have a top-level 'models' mapping")
    if not doc["models"]:
        raise ConfigError(f"zoo file {str(p)!r} lists no models")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"zoo file {str(p)!r}: defaults must be a mapping")
    return {str(n): parse_entry(str(n), raw, defaults) for n, raw in doc["models"].items()}


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml's safe loader, refusing a mapping that repeats a key (plain YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"the name {key!r} appears twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file; one-line ConfigErrors for a missing file, non-UTF-8 text, bad YAML or
    a repeated key, each naming the file."""
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(f"{what} {str(path)!r}: {exc}") from None
    except yaml.YAMLError as exc:
        msg = str(exc).replace("\n", " ")
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML: {msg}") from None


def select(zoo: dict[str, ZooEntry], models: str | Iterable[str] | None = None) -> list[ZooEntry]:
    """Entries named by ``models``: a comma list of names and/or tags (None or "all": every one),
    backbones named by string (``timm:``, ``tv:``, ``hf:``, ``file:``) and shell-style patterns
    over names (:mod:`modelrank.model_specs`).

    Raises UnknownModelError for a word that is neither a name nor a tag of the zoo, nor a
    backbone string, nor a pattern that matches.
    """
    from modelrank import model_specs
    if models is None:
        return list(zoo.values())
    words = [w.strip() for w in (models.split(",") if isinstance(models, str) else models)]
    words = [w for w in words if w]
    if not words:
        raise UnknownModelError("no model named: models is empty (give names or tags, or 'all')")
    if words == ["all"]:
        return list(zoo.values())
    chosen: dict[str, ZooEntry] = {}
    expanded: list[str] = []
    for w in words:
        if w not in zoo and model_specs.is_pattern(w):
            expanded += model_specs.expand_pattern(w, list(zoo))
        else:
            expanded.append(w)
    for w in expanded:
        if w in zoo:
            chosen[w] = zoo[w]
            continue
        if model_specs.is_spec(w):
            chosen[w] = model_specs.entry_from_spec(w)
            continue
        tagged = [e for e in zoo.values() if w in e.tags]
        if not tagged:
            from modelrank.suggest import did_you_mean

            tags = sorted({t for e in zoo.values() for t in e.tags})
            raise UnknownModelError(
                f"unknown model or tag {w!r}{did_you_mean(w, [*zoo, *tags])}; see `modelrank zoo "
                f"list` (tags: {', '.join(tags)}), or name one as timm:NAME, tv:NAME, "
                "hf:ORG/REPO or file:ARCH=PATH"
            )
        for e in tagged:
            chosen[e.name] = e
    return list(chosen.values())


def truncation_parent(entry: ZooEntry, candidates: Iterable[ZooEntry]) -> ZooEntry | None:
    """The full-depth network of ``candidates`` that ``entry`` is a truncation of: same source,
    architecture, weights, seed, preprocessing and layer rule, and no truncation of its own; None
    when ``entry`` is not truncated or no such network is there. The truncated network's probed
    layers then compute the same arrays as that network's first layers (same modules, same
    input), so the probe (:func:`modelrank.probe.probe`, ``parent=``) and the topology study
    read them from that network's pass instead of repeating it."""
    if entry.truncate is None:
        return None
    same = (entry.source, entry.id, entry.weights, entry.seed, entry.preprocess, entry.layers)
    for c in candidates:
        if (c.truncate is None and c.name != entry.name and c.options == entry.options
                and (c.source, c.id, c.weights, c.seed, c.preprocess, c.layers) == same):
            return c
    return None
