"""The fine-tuning protocol's settings: the grid and budget (:class:`FinetuneConfig`), the named
budgets, and :data:`PROTOCOL_VERSION`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelrank.errors import ConfigError, ParameterError
from modelrank.util.checks import check_whole_number


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyper-parameter grid and budget of full fine-tuning.

    Attributes:
        lrs: learning rates tried.
        ws: weight-decay numerators; weight decay = w / lr.
        steps: SGD steps per run (cosine schedule over them).
        batch_size: images per step.
        image_size: overrides the backbone's input size (None: its own); recorded.
        retrain: retrain the best pair on train + val before testing (else test the grid run).
        val_fraction: share of train held out for validation when the target has no val split.
        seed: seeds weights of the new head, batch order and the validation split.
        amp: mixed precision (float16 autocast + gradient scaling) on CUDA; ignored on CPU.
        channels_last: train and test in the channels-last memory format. On a CPU it about
            halves the time of a step of a depthwise-separable network (convolutions then run in
            oneDNN; ``benchmarks/results/cpu_path.md``), but the sums run in another order, so
            the accuracies differ from the default run's; part of the run key and recipe when on.
        test_per_class: test on this many images of each class of the test split (chosen with
            seed 0 whatever ``seed`` is, so every seed is tested on the same images); None: the
            whole test split. Part of the run key and recipe when set.
        sample_seed: full fine-tuning only: the seed that draws the training images (``per_class``
            of each class) and the validation share, so that runs of different ``seed`` train on
            the same images and differ only in the new head's initialisation and the batch
            order; None (the default): ``seed`` draws them too. Part of the run key when set.
        threads: torch (and BLAS) threads a run trains and tests with, whatever the process or
            the executor has (:func:`modelrank.float_order.fixed_float_order`): the thread count
            sets the order of the sums, so runs with different counts differ by points, not
            digits. Part of the run key and recipe.
    """

    lrs: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0001)
    ws: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
    steps: int = 5000
    batch_size: int = 64
    image_size: int | None = None
    retrain: bool = True
    val_fraction: float = 0.2
    seed: int = 0
    amp: bool = False
    channels_last: bool = False
    test_per_class: int | None = None
    sample_seed: int | None = None
    threads: int = 1

    def key_fields(self) -> dict[str, Any]:
        """The fields as a dict for run keys and recipes; ``channels_last`` only when on and
        ``test_per_class`` and ``sample_seed`` only when set, so the keys of runs made before
        they existed stay valid."""
        out = asdict(self)
        if not out["channels_last"]:
            del out["channels_last"]
        if out["test_per_class"] is None:
            del out["test_per_class"]
        if out["sample_seed"] is None:
            del out["sample_seed"]
        return out

    def __post_init__(self) -> None:
        def numbers(name, values, *, positive):
            if not values:
                raise ConfigError(f"FinetuneConfig.{name} must not be empty")
            for v in values:
                ok = (
                    isinstance(v, (int, float))
                    and not isinstance(v, bool)
                    and math.isfinite(v)
                    and (v > 0 if positive else v >= 0)
                )
                if not ok:
                    raise ConfigError(
                        f"FinetuneConfig.{name} must hold finite numbers "
                        f"{'> 0' if positive else '≥ 0'}, got {v!r}"
                    )

        numbers("lrs", self.lrs, positive=True)
        numbers("ws", self.ws, positive=False)
        check_whole_number("steps", self.steps, least=1)
        check_whole_number("batch_size", self.batch_size, least=1)
        check_whole_number("seed", self.seed, least=0)
        check_whole_number("threads", self.threads, least=1)
        if self.image_size is not None:
            check_whole_number("image_size", self.image_size, least=8)
        if self.test_per_class is not None:
            check_whole_number("test_per_class", self.test_per_class, least=1)
        if self.sample_seed is not None:
            check_whole_number("sample_seed", self.sample_seed, least=0)
        if not (isinstance(self.val_fraction, (int, float)) and 0 < self.val_fraction < 1):
            raise ConfigError(
                f"FinetuneConfig.val_fraction must lie strictly between 0 and 1, "
                f"got {self.val_fraction!r}"
            )

    def grid(self) -> list[tuple[float, float]]:
        return [(lr, w) for lr in self.lrs for w in self.ws]


#: Version of what a fine-tuning run computes (network, optimiser, data order, float order,
#: what it records). Part of every run key and recipe, so runs of different code are never
#: mixed in one table; bump it with any change of the training path
#: (``tests/test_float_order.py`` fails until the digest of that path pinned there is renewed).
#: 1: before versions were recorded; 2: a run fixes its thread count and deterministic kernels,
#: and records its per-image test outcomes and its final loss.
PROTOCOL_VERSION = 2


PUBLISHED = FinetuneConfig()


CPU_BUDGET = FinetuneConfig(lrs=(0.01, 0.001), ws=(0.0,), steps=60, batch_size=32, image_size=64)


BUDGETS = {"published": PUBLISHED, "cpu": CPU_BUDGET}


def budget_config(
    budget: str | FinetuneConfig = "cpu",
    *,
    steps: int | None = None,
    image_size: int | None = None,
    amp: bool = False,
    channels_last: bool = False,
) -> FinetuneConfig:
    """A named budget (:data:`BUDGETS`) or a config, with these changes: ``steps`` (≥ 1) and
    ``image_size`` (pixels, ≥ 8) replace the budget's when given; ``amp`` and ``channels_last``
    turn those on."""
    cfg = BUDGETS.get(budget) if isinstance(budget, str) else budget
    if not isinstance(cfg, FinetuneConfig):
        raise ParameterError("budget", f"must be one of {', '.join(BUDGETS)}, got {budget!r}")
    changes: dict[str, Any] = {}  # checked by FinetuneConfig itself
    if steps is not None:
        changes["steps"] = steps
    if image_size is not None:
        changes["image_size"] = image_size
    if amp:
        changes["amp"] = True
    if channels_last:
        changes["channels_last"] = True
    return replace(cfg, **changes) if changes else cfg
