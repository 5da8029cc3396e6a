"""The linear-probe ground truth: a logistic-regression head on a backbone's cached features,
its regularisation chosen on a validation share; one journaled unit per backbone x target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from modelrank import __version__
from modelrank.accuracy import accuracy, accuracy_kind
from modelrank.correctness import pack_correct
from modelrank.data import TargetData
from modelrank.errors import WeightsUnavailableError
from modelrank.finetuning.config import FinetuneConfig
from modelrank.finetuning.results import EvalResult
from modelrank.finetuning.runlog import RunLog
from modelrank.finetuning.splits import load_splits
from modelrank.float_order import fixed_float_order
from modelrank.util.digest import digest
from modelrank.zoo_entry import ZooEntry


def linear_probe(
    entry: ZooEntry,
    dataset: str,
    per_class: int | None = None,
    seed: int = 0,
    device: str | None = None,
    cs: Sequence[float] = tuple(10.0 ** np.arange(-3, 4)),
    image_size: int | None = None,
    log: RunLog | None = None,
    cache_dir: str | Path | None = None,
    test_per_class: int | None = None,
    parent: ZooEntry | None = None,
) -> EvalResult:
    """Logistic regression on the probe's cached final features: C chosen on val, refit on
    train + val, tested on test (``test_per_class`` images of each class, seed 0, when given).
    ``parent``: the full-depth network ``entry`` is a truncation of (its cached pass may stand
    in for ``entry``'s, :func:`modelrank.probe.probe`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelrank.loaders import build_backbone
    from modelrank.probe import probe

    bb = build_backbone(entry, device="cpu")
    if image_size is not None:
        bb.preprocess = replace(bb.preprocess, size=image_size, resize=image_size)
        bb.entry = replace(bb.entry, preprocess=bb.preprocess)
    train, val, test, carve = load_splits(dataset, per_class, seed, 0.2, test_per_class)
    ftr = probe(bb, train, device=device, cache_dir=cache_dir, parent=parent).features
    fte = probe(bb, test, device=device, cache_dir=cache_dir, parent=parent).features
    if carve is None:
        fva, yva, ytr = (
            probe(bb, val, device=device, cache_dir=cache_dir, parent=parent).features,
            val.labels,
            train.labels,
        )
    else:
        tr, va = carve
        ftr, fva, ytr, yva = ftr[tr], ftr[va], train.labels[tr], train.labels[va]
    kind = accuracy_kind(dataset)
    k = train.num_classes

    def fit(c, x, y):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)

    grid = [
        {"C": c, "val_accuracy": accuracy(fit(c, ftr, ytr).predict(fva), yva, kind, k)} for c in cs
    ]
    best = max(grid, key=lambda g: g["val_accuracy"])
    model = fit(best["C"], np.concatenate([ftr, fva]), np.concatenate([ytr, yva]))
    pred = model.predict(fte)
    acc = accuracy(pred, test.labels, kind, k)
    return EvalResult(
        entry.name,
        dataset,
        "linear",
        acc,
        kind,
        {"C": float(best["C"])},
        grid,
        0,
        {"train": train.recipe(), "test": test.recipe(), "preprocess": bb.preprocess.as_dict()},
        pack_correct(pred, test.labels),
    )


def linear_key(entry: ZooEntry, train: TargetData, test: TargetData, cfg: FinetuneConfig) -> str:
    """Journal key of one linear-probe unit: everything that determines its accuracy."""
    return digest(
        {
            "unit": "linear-v2",
            "version": __version__,
            "entry": entry.recipe(),
            "train": train.fingerprint(),
            "test": test.fingerprint(),
            "seed": cfg.seed,
            "image_size": cfg.image_size,
            "test_per_class": cfg.test_per_class,
            "threads": cfg.threads,
        },
        32,
    )


def linear_unit(
    entry: ZooEntry,
    dataset: str,
    per_class: int | None,
    seed: int,
    image_size: int | None,
    cache_dir: str | None,
    test_per_class: int | None = None,
    parent: ZooEntry | None = None,
    threads: int = 1,
    device: str | None = None,
) -> EvalResult | str:
    """One linear-probe unit with ``threads`` torch and BLAS threads (the logistic regression's
    sums, and the forward pass when the features are not cached); the reason as a string when
    the weights are unavailable."""
    with fixed_float_order(threads) as float_order:
        try:
            res = linear_probe(
                entry,
                dataset,
                per_class,
                seed,
                device,
                image_size=image_size,
                cache_dir=cache_dir,
                test_per_class=test_per_class,
                parent=parent,
            )
        except WeightsUnavailableError as exc:
            return str(exc)
    res.recipe["float_order"] = float_order
    return res
