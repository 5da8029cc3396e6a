"""Every option shared by two or more commands, declared once as a typed ``Annotated`` alias,
and the one map from library parameter names to flags.

A command gives its own default in its signature (``per_class: PerClass = "20"``); the flag,
its type and its help are the same in every command.
"""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from modelrank.cli.choices import BettiEngine, ExecutorName, Layout
from modelrank.errors import ParameterError

ZOO_HELP = (
    "Zoo file (default: zoo.yaml, shipped with the package), a packaged zoo by name "
    "(fmnist-imagenet, offline, ...) or trained:NAME. Each entry: source "
    "(timm | torchvision | hf | file), id, weights, preprocess, layers, imagenet_top1, "
    "tags, truncate, seed; zoo.yaml's header explains them."
)

Dataset = Annotated[
    str,
    typer.Option(
        "--dataset",
        "-d",
        help="Target: a registered name, some of its classes, or an ImageFolder / "
        "manifest path (`modelrank datasets` lists them).",
    ),
]
Datasets = Annotated[
    Optional[List[str]],
    typer.Option(
        "--dataset", "-d", help="Only these targets (repeat or comma list; default: all)."
    ),
]
Zoo = Annotated[Optional[str], typer.Option("--zoo", help=ZOO_HELP)]
Models = Annotated[
    Optional[str],
    typer.Option("--models", "-m", help="Comma list of zoo names, tags and shell patterns; 'all'."),
]
Model = Annotated[str, typer.Option("--model", "-m", help="One zoo entry (a name, not a tag).")]
Metrics = Annotated[
    Optional[str],
    typer.Option(
        "--metric",
        help="Comma list of registered scores (`modelrank metrics`), or 'all'; the first ranks.",
    ),
]
PerClass = Annotated[
    Optional[str],
    typer.Option("--per-class", help="Images per class (a whole number ≥ 1), or 'all'."),
]
Split = Annotated[
    str,
    typer.Option(
        "--split", help="Which split the command sees (train, test, all, or one the data set has)."
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the per-class sampling (and of the command's own randomness)."
    ),
]
Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto (CUDA when present).")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")]
Amp = Annotated[
    bool,
    typer.Option(
        "--amp", metavar="", help="Mixed precision (bfloat16 on the CPU, float16 on CUDA)."
    ),
]
Eta = Annotated[
    float, typer.Option("--eta", help="Cubical Betti threshold, in the activations' units.")
]
LayoutOpt = Annotated[
    Layout, typer.Option("--layout", case_sensitive=False, help="Cubical volume of a layer.")
]
BettiEngineOpt = Annotated[
    BettiEngine,
    typer.Option(
        "--betti-engine",
        case_sensitive=False,
        help="Where cubical Betti numbers are counted: auto "
        "(on the GPU when the backbones run there, else numpy on the host), numpy or torch. Same "
        "numbers.",
    ),
]
CacheDir = Annotated[
    Optional[str],
    typer.Option(
        "--cache-dir",
        help="Embedding cache, journal and run logs (default: $MODELRANK_CACHE, else "
        "the user cache); with --executor ray, a directory every node mounts at the same path.",
    ),
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", metavar="", help="Neither read nor write the embedding cache.")
]
Output = Annotated[
    Optional[str],
    typer.Option(
        "--output",
        "-o",
        help="Write the result to FILE; the suffix picks the format (the command's "
        "help lists the ones it writes).",
    ),
]
Plot = Annotated[
    Optional[str],
    typer.Option("--plot", help="Write a figure to FILE.png/.pdf/.svg (or into a directory)."),
]
Db = Annotated[
    Optional[str],
    typer.Option("--db", help="Results database (default: $MODELRANK_DB, else the user data dir)."),
]
History = Annotated[
    Optional[str],
    typer.Option(
        "--history",
        help="Past fine-tunes to show the history prior from, beside the scores: "
        "published (the SFDA table; published:GROUP), db (the results database; db:PATH), or a "
        ".json / .csv file of target, backbone, accuracy.",
    ),
]
Executor = Annotated[
    ExecutorName,
    typer.Option(
        "--executor",
        case_sensitive=False,
        help="Where units of work run: local (this process, one "
        "after another) or ray (Ray tasks, in parallel).",
    ),
]
RayAddress = Annotated[
    Optional[str],
    typer.Option(
        "--ray-address",
        help="Ray cluster to join ('auto', 'host:6379', 'ray://host:10001'); "
        "default: start a local Ray instance.",
    ),
]
Workers = Annotated[
    Optional[int], typer.Option("--workers", help="CPUs of a local Ray instance (default: all).")
]
Retries = Annotated[
    int,
    typer.Option(
        "--retries",
        help="Retries of a unit that raises or whose worker dies, before it is reported as failed.",
    ),
]
CpusPerTask = Annotated[
    float, typer.Option("--cpus-per-task", help="CPUs (and torch threads) each Ray task declares.")
]
GpusPerTask = Annotated[
    float,
    typer.Option(
        "--gpus-per-task",
        help="GPUs each Ray task on cuda declares; 0.25 packs four tasks onto one GPU.",
    ),
]

#: Library parameters whose flag is not ``--`` + the name with dashes.
_FLAG_OF = {
    "metrics": "--metric",
    "candidates": "--models",
    "max_retries": "--retries",
    "use_cache": "--no-cache",
    "fmt": "--format",
    "path": "--output",
}


def flag_for(parameter: str) -> str:
    """The command-line flag of a library parameter (``per_class`` -> ``--per-class``)."""
    return _FLAG_OF.get(parameter, "--" + parameter.replace("_", "-"))


def worded_for_the_command_line(exc: Exception) -> str:
    """An error's message as the command line shows it: a :class:`ParameterError` names the
    flag instead of the library parameter."""
    if isinstance(exc, ParameterError):
        return exc.reworded(flag_for(exc.parameter))
    return str(exc)


def per_class_value(text: str | None) -> int | None:
    """--per-class: a whole number ≥ 1, or 'all' (None: every image)."""
    if text is None or text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ParameterError(
            "per_class", f"must be a whole number of at least 1 or 'all', got {text!r}"
        )
    return value


def comma_list(text: str | None) -> list[str]:
    """The words of a comma list ('' and None: none)."""
    return [w.strip() for w in (text or "").split(",") if w.strip()]
