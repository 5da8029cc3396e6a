"""The closed sets of values the command line accepts, as Enums, so typer lists them in
``--help`` and refuses anything else as a usage error. Their values are the library's
(pinned by tests/test_api_contract.py); they are spelled here so that ``modelrank --help``
does not import torch."""

from __future__ import annotations

from enum import Enum
from typing import Any


class Layout(str, Enum):
    """:data:`modelrank.topology.cubical.LAYOUTS`"""

    whc = "whc"
    channel_mean = "channel-mean"
    per_channel = "per-channel"


class BettiEngine(str, Enum):
    """:data:`modelrank.probe.BETTI_ENGINES`"""

    auto = "auto"
    numpy = "numpy"
    torch = "torch"


class Protocol(str, Enum):
    """The ``protocol`` of :func:`modelrank.finetuning.evaluate`."""

    full = "full"
    linear = "linear"


class Budget(str, Enum):
    """:data:`modelrank.finetuning.BUDGETS`"""

    cpu = "cpu"
    published = "published"


class ExecutorName(str, Enum):
    """:data:`modelrank.execution.EXECUTORS`"""

    local = "local"
    ray = "ray"


class Format(str, Enum):
    """:data:`modelrank.leaderboard.FORMATS`"""

    md = "md"
    csv = "csv"
    json = "json"
    html = "html"


class Catalogue(str, Enum):
    """:data:`modelrank.model_specs.CATALOGUES`"""

    timm = "timm"
    tv = "tv"
    hf = "hf"


class BarcodeData(str, Enum):
    """:data:`modelrank.studies.loss_barcode.DATASETS`"""

    digits = "digits"
    moons = "moons"
    circles = "circles"
    d1 = "d1"


class LayersData(str, Enum):
    """:data:`modelrank.studies.layers.DATASETS`"""

    d1 = "d1"
    d2 = "d2"
    d3 = "d3"


class Activation(str, Enum):
    """:data:`modelrank.studies.layers.ACTIVATIONS`"""

    relu = "relu"
    leaky_relu = "leaky_relu"
    tanh = "tanh"


def plain(value: Any) -> Any:
    """An Enum member's value (what the library takes); anything else as it is."""
    return value.value if isinstance(value, Enum) else value
