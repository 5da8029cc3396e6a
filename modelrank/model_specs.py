"""Backbones named by one string, with no zoo file: a word of ``--models`` (or of
``pick_backbone(candidates=...)``) that is not a name or tag of the zoo can be

- ``timm:NAME[.TAG]`` — a timm model with pretrained weights (its default tag when none is
  given); preprocessing from timm's own pretrained config;
- ``tv:NAME[:WEIGHTS]`` — a ``torchvision.models`` builder with a member of its weights enum
  (``DEFAULT`` when omitted); preprocessing from that enum's transform;
- ``hf:ORG/REPO[@REVISION]`` — a Hugging Face vision backbone (``transformers``);
- ``file:ARCH=PATH`` — a local state dict in a timm or torchvision architecture
  (``ARCH`` = ``timm:NAME``, ``torchvision:NAME``, or a bare timm name);
- a shell-style pattern (``*``, ``?``, ``[...]``) over the zoo's names (``efficientnet_lite*``)
  or, after ``timm:``, over ``timm.list_pretrained()`` (``'timm:convnext_*.fb_in22k*'``).

Each string becomes a :class:`~modelrank.zoo.ZooEntry` named by the string itself, so results,
caches and the database key it exactly as it was written. Resolving a string never downloads:
weights that are neither cached nor reachable make that backbone *skipped, with the reason*
when it is built, as for zoo entries.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from modelrank.errors import ConfigError, ParameterError, UnknownModelError
from modelrank.zoo_entry import ZooEntry

PREFIXES = ("timm:", "tv:", "hf:", "file:")
#: The most backbones one pattern may name; more is refused with a message, not run.
MAX_MATCHES = 64
_WILDCARDS = ("*", "?", "[")


def is_spec(word: str) -> bool:
    """Whether ``word`` names a backbone by string (a prefix of :data:`PREFIXES`)."""
    return word.startswith(PREFIXES)


def is_pattern(word: str) -> bool:
    return any(c in word for c in _WILDCARDS)


def entry_from_spec(word: str) -> ZooEntry:
    """The zoo entry ``word`` (``timm:``, ``tv:``, ``hf:`` or ``file:``, see the module) stands
    for. Raises UnknownModelError for a name the library does not have, ConfigError for a
    malformed string; never touches the network."""
    kind, _, rest = word.partition(":")
    if not rest:
        raise ConfigError(f"{word!r}: nothing after {kind + ':'!r} (e.g. timm:resnet50.a1_in1k)")
    if kind == "timm":
        import timm

        name, _, tag = rest.partition(".")
        if not timm.is_model(name):
            close = timm.list_models(f"*{name[:6]}*")[:5]
            raise UnknownModelError(
                f"timm has no model {name!r}" + (f" (close: {', '.join(close)})" if close else "")
            )
        return ZooEntry(name=word, source="timm", id=name, weights=tag or None, tags=("timm",))
    if kind == "tv":
        import torchvision.models as tvm

        name, _, weights = rest.partition(":")
        if name not in tvm.list_models():
            raise UnknownModelError(
                f"torchvision has no model {name!r}; see torchvision.models.list_models()"
            )
        return ZooEntry(
            name=word,
            source="torchvision",
            id=name,
            weights=weights or "DEFAULT",
            imagenet_top1="auto",
            tags=("torchvision",),
        )
    if kind == "hf":
        repo, _, rev = rest.partition("@")
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ConfigError(f"{word!r}: a Hugging Face backbone is hf:ORG/REPO[@REVISION]")
        return ZooEntry(name=word, source="hf", id=repo, weights=rev or None, tags=("hf",))
    if kind == "file":
        arch, eq, path = rest.rpartition("=")
        if not eq or not arch or not path:
            raise ConfigError(
                f"{word!r}: a state dict is file:ARCH=PATH (e.g. file:timm:resnet50=./weights.pth)"
            )
        if not Path(path).expanduser().is_file():
            raise ConfigError(f"{word!r}: weights file {path!r} does not exist")
        if not arch.startswith(("timm:", "torchvision:")):
            arch = f"timm:{arch}"
        return ZooEntry(
            name=word, source="file", id=arch, weights=str(Path(path).expanduser()), tags=("file",)
        )
    raise ConfigError(f"{word!r}: unknown prefix {kind!r} (one of {', '.join(PREFIXES)})")


def expand_pattern(word: str, zoo_names: list[str]) -> list[str]:
    """The words a pattern stands for: zoo names for a bare pattern, ``timm:NAME.TAG`` strings
    for ``timm:PATTERN`` (over ``timm.list_pretrained()``). UnknownModelError when it matches
    nothing, ConfigError when it matches more than :data:`MAX_MATCHES`."""
    if word.startswith("timm:"):
        import timm

        names = [f"timm:{n}" for n in timm.list_pretrained(word[len("timm:") :])]
        where = "timm's pretrained models"
    elif is_spec(word):
        raise ConfigError(f"{word!r}: patterns work over zoo names and after timm: only")
    else:
        names = fnmatch.filter(zoo_names, word)
        where = "the zoo's names"
    if not names:
        raise UnknownModelError(f"pattern {word!r} matches none of {where}")
    if len(names) > MAX_MATCHES:
        raise ConfigError(
            f"pattern {word!r} matches {len(names)} of {where}, more than "
            f"{MAX_MATCHES}; narrow it (the first: {', '.join(names[:5])}, ...)"
        )
    return names


#: ``modelrank zoo list --source`` values.
CATALOGUES = ("timm", "tv", "hf")


def catalogue(source: str, pattern: str = "*") -> list[ZooEntry]:
    """Entries for what a library offers, by string: ``timm`` — ``timm.list_pretrained(pattern)``;
    ``tv`` — ``torchvision.models.list_models()`` matching ``pattern`` (default weights); ``hf`` —
    the Hugging Face models in the local cache matching ``pattern`` (the Hub itself cannot be
    listed offline). ConfigError for another source."""
    if source == "timm":
        import timm

        return [entry_from_spec(f"timm:{n}") for n in timm.list_pretrained(pattern)]
    if source == "tv":
        import torchvision.models as tvm

        return [entry_from_spec(f"tv:{n}") for n in fnmatch.filter(tvm.list_models(), pattern)]
    if source == "hf":
        try:
            from huggingface_hub import scan_cache_dir

            repos = sorted(r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model")
        except Exception:  # no cache directory yet
            repos = []
        return [
            entry_from_spec(f"hf:{r}")
            for r in fnmatch.filter(repos, pattern)
            if r.count("/") == 1 and not r.startswith("timm/")
        ]
    raise ParameterError("source", f"must be one of {', '.join(CATALOGUES)}, got {source!r}")
