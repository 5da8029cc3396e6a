"""modelrank: which pre-trained backbone to fine-tune for an image-classification target."""

from importlib import metadata as _metadata

try:  # one place for the version: pyproject.toml, read back from the installed metadata
    __version__ = _metadata.version("modelrank")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

from modelrank.errors import ModelrankError  # noqa: E402

#: The public functions, by the module that defines them. They are loaded on first use (PEP 562),
#: so ``import modelrank`` stays light (no torch) while ``modelrank.rank`` is the real function:
#: ``help(modelrank.rank)`` shows its own signature and docstring.
_PUBLIC = {
    "rank": "modelrank.ranking",
    "ScoreOptions": "modelrank.ranking",
    "pick_backbone": "modelrank.pick",
    "evaluate": "modelrank.finetuning",
    "correlate": "modelrank.correlation",
}


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        from modelrank import cpu_runtime

        # modelrank's work starts here: the CPU settings go in before the module (and torch)
        # is imported; ``import modelrank`` alone changes nothing in the process
        cpu_runtime.configure()

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'modelrank' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = [
    "ModelrankError",
    "ScoreOptions",
    "__version__",
    "correlate",
    "evaluate",
    "pick_backbone",
    "rank",
]
