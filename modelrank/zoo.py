"""The model zoo: read zoo files (packaged, trained here or the user's), select entries by name,
tag, backbone string or pattern.

A :class:`~modelrank.zoo_entry.ZooEntry` is plain data (what to build, :mod:`modelrank.zoo_entry`);
:func:`modelrank.loaders.build_backbone` turns it into a :class:`~modelrank.backbone.Backbone`
through the loader of its source.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

from modelrank import model_specs
from modelrank.errors import ConfigError, UnknownModelError
from modelrank.util.suggest import did_you_mean
from modelrank.zoo_entry import LAYER_MODES, SOURCES, Preprocess, ZooEntry, parse_entry

__all__ = [
    "LAYER_MODES",
    "SOURCES",
    "Preprocess",
    "ZooEntry",
    "default_zoo_path",
    "load_zoo",
    "packaged_zoo_names",
    "parse_entry",
    "read_yaml",
    "select",
    "truncation_parent",
    "zoo_path",
]


def default_zoo_path() -> Path:
    """Path of the zoo.yaml shipped inside the package."""
    return Path(str(resources.files("modelrank") / "zoo.yaml"))


def packaged_zoo_names() -> list[str]:
    """Short names of the zoo files shipped with modelrank (``modelrank/zoos/<name>.yaml``)."""
    return sorted(
        f.name[:-5]
        for f in (resources.files("modelrank") / "zoos").iterdir()
        if f.name.endswith(".yaml")
    )


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
    if (
        not p.is_file()
        and path is not None
        and "/" not in str(path)
        and not str(path).endswith((".yaml", ".yml"))
    ):
        raise ConfigError(
            f"unknown zoo {str(path)!r}: neither a file nor a packaged zoo "
            f"({', '.join(packaged_zoo_names())}, or trained:NAME)"
        )
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
                raise ConfigError(
                    f"the name {key!r} appears twice (line {key_node.start_mark.line + 1})"
                )
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
        if (
            c.truncate is None
            and c.name != entry.name
            and c.options == entry.options
            and (c.source, c.id, c.weights, c.seed, c.preprocess, c.layers) == same
        ):
            return c
    return None
