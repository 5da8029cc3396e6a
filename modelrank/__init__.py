"""modelrank: which pre-trained backbone to fine-tune for an image-classification target."""

from importlib import metadata as _metadata

try:  # one place for the version: pyproject.toml, read back from the installed metadata
    __version__ = _metadata.version("modelrank")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

from modelrank import cpu_runtime as _cpu_runtime  # noqa: E402

_cpu_runtime.configure()  # before torch is imported or allocates; see modelrank/cpu_runtime.py

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

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'modelrank' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["ModelrankError", "ScoreOptions", "__version__", "correlate", "evaluate",
           "pick_backbone", "rank"]
