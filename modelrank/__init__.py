"""modelrank: which pre-trained backbone to fine-tune for an image-classification target."""

from importlib import metadata as _metadata

try:  # one place for the version: pyproject.toml, read back from the installed metadata
    __version__ = _metadata.version("modelrank")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

from modelrank import cpu_runtime as _cpu_runtime  # noqa: E402

_cpu_runtime.configure()  # before torch is imported or allocates; see modelrank/cpu_runtime.py

from modelrank.errors import ModelrankError  # noqa: E402


def rank(*args, **kwargs):
    """See :func:`modelrank.ranking.rank` (imported lazily: torch loads on first use; the module is
    ``modelrank.ranking`` so that ``modelrank.rank`` stays this function)."""
    from modelrank.ranking import rank as _rank

    return _rank(*args, **kwargs)


def pick_backbone(*args, **kwargs):
    """See :func:`modelrank.ranking.pick_backbone`."""
    from modelrank.ranking import pick_backbone as _pick

    return _pick(*args, **kwargs)


def evaluate(*args, **kwargs):
    """See :func:`modelrank.finetuning.evaluate`: fine-tune or linear-probe backbones on a target
    (the module is not called ``evaluate`` so that importing it cannot replace this function)."""
    from modelrank.finetuning import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def correlate(scores, accuracies):
    """See :func:`modelrank.correlation.correlate`: weighted tau, Kendall, Spearman, Pearson, rel@k."""
    from modelrank.correlation import correlate as _correlate

    return _correlate(scores, accuracies)


__all__ = ["ModelrankError", "__version__", "correlate", "evaluate", "pick_backbone", "rank"]
