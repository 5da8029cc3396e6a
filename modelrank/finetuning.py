"""Ground truth: fine-tune (or linear-probe) backbones on a target and measure test accuracy.

Full fine-tuning follows the transferability benchmark protocol (docs/methods.md §5): SGD with
Nesterov momentum 0.9, cosine learning-rate schedule, a grid of learning rates x weight decays
(weight decay = w / lr), the best pair chosen on validation, retrained on train + validation,
reported on test. The grid and the step budget are parameters; :data:`CPU_BUDGET` is a small
default that runs on a laptop CPU. Linear probing trains only a logistic-regression head on the
probe's cached features.

Every (backbone, hyper-parameters, phase) run is a unit of work (:func:`finetune_run`) that an
executor runs in this process or as a Ray task; the driver appends each finished run to a
JSON-lines run log, so a killed evaluation started again skips the finished runs and, since every
run is seeded, ends with the same numbers as an uninterrupted one. A pair's retrain is submitted
as soon as its grid is complete.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from modelrank.backbone import Backbone, make_transform
from modelrank.checks import check_whole_number
from modelrank.correctness import pack_correct
from modelrank.data import TargetData, load_target
from modelrank.digest import digest
from modelrank.errors import ConfigError, ModelrankError, ParameterError, WeightsUnavailableError
from modelrank.progress import OnProgress, tell
from modelrank.zoo import Preprocess, ZooEntry, load_zoo, select, truncation_parent

if TYPE_CHECKING:
    from modelrank.execution import Executor

#: Targets whose published ground truth is mean per-class accuracy (docs/methods.md §5).
MEAN_PER_CLASS = {"aircraft", "caltech101", "flowers102", "pets"}


def accuracy_kind(dataset: str, published: bool = False) -> str:
    """What an accuracy on ``dataset`` measures: "mean_per_class" for the targets in
    :data:`MEAN_PER_CLASS`, "map_11pt" for VOC2007's published numbers (our own VOC evaluation
    is single-label top-1), "top1" otherwise. A class subset (``NAME[...]``) counts as NAME."""
    from modelrank.data.class_subsets import base_name

    if not Path(dataset).is_dir():
        dataset = base_name(dataset)
    if dataset in MEAN_PER_CLASS:
        return "mean_per_class"
    if published and dataset == "voc2007":
        return "map_11pt"
    return "top1"


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
                ok = (isinstance(v, (int, float)) and not isinstance(v, bool)
                      and math.isfinite(v) and (v > 0 if positive else v >= 0))
                if not ok:
                    raise ConfigError(f"FinetuneConfig.{name} must hold finite numbers "
                                      f"{'> 0' if positive else '≥ 0'}, got {v!r}")

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
            raise ConfigError(f"FinetuneConfig.val_fraction must lie strictly between 0 and 1, "
                              f"got {self.val_fraction!r}")

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


def budget_config(budget: str | FinetuneConfig = "cpu", *, steps: int | None = None,
                  image_size: int | None = None, amp: bool = False,
                  channels_last: bool = False) -> FinetuneConfig:
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


@dataclass
class EvalResult:
    """Outcome for one backbone on one target.

    Attributes:
        model, dataset, protocol: what was evaluated ("full" or "linear").
        accuracy: test accuracy in percent.
        accuracy_kind: "top1" or "mean_per_class".
        best: the chosen hyper-parameters.
        grid: every grid run with its validation accuracy (percent).
        runs_computed: runs trained in this call (0 when everything came from the run log).
        test_correct: the per-image test outcomes behind ``accuracy``, in the test split's
            order (:func:`modelrank.correctness.pack_correct`); None where not recorded.
    """

    model: str
    dataset: str
    protocol: str
    accuracy: float
    accuracy_kind: str
    best: dict[str, float]
    grid: list[dict[str, Any]] = field(default_factory=list)
    runs_computed: int = 0
    recipe: dict[str, Any] = field(default_factory=dict)
    test_correct: str | None = None


@dataclass
class Evaluation:
    """The ground truth of one target: what :func:`evaluate` returns, shaped like
    :class:`~modelrank.ranking.Ranking`.

    Attributes:
        dataset, protocol: the target and "full" or "linear".
        results: one :class:`EvalResult` per backbone evaluated, in zoo order.
        failed: (model, reason) for backbones with a unit that failed after its retries.
        skipped: (model, reason) for backbones that could not be built here.
    """

    dataset: str
    protocol: str
    results: list[EvalResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def accuracies(self) -> dict[str, float]:
        """{model: test accuracy in percent}."""
        return {r.model: r.accuracy for r in self.results}


#: The label of a fine-tuning run's steps in progress callbacks (one bar, reused run after run).
STEPS = "steps of this run"


def runs_label(model: str) -> str:
    """The label of a backbone's fine-tuning runs in progress callbacks."""
    return f"{model} fine-tune runs"


def accuracy(pred: np.ndarray, labels: np.ndarray, kind: str, num_classes: int) -> float:
    """Top-1 or mean per-class accuracy in percent (classes absent from ``labels`` ignored)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if kind == "top1":
        return float(100.0 * np.mean(pred == labels))
    per = [np.mean(pred[labels == c] == c) for c in range(num_classes) if np.any(labels == c)]
    return float(100.0 * np.mean(per))


class RunLog:
    """Append-only JSON-lines file of finished runs, keyed by a digest of what determines them.

    ``measured``: a read-only run log of the same form (a suite's committed measurement) whose
    runs count as done; new runs are appended to ``path`` only."""

    def __init__(self, path: Path, measured: Path | None = None):
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        for source in (measured, path):
            if source is None or not source.is_file():
                continue
            for line in source.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                self.done[rec["key"]] = rec

    def get(self, key: str) -> dict[str, Any] | None:
        return self.done.get(key)

    def add(self, key: str, rec: dict[str, Any]) -> None:
        rec = {"key": key, **rec}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
        self.done[key] = rec


def runs_root() -> Path:
    """Where run logs live: ``<embedding cache>/runs``."""
    from modelrank.probe import cache_root

    return cache_root() / "runs"


#: Hex digits of run-log keys (as in the logs written so far).
RUN_KEY_LENGTH = 24


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the features are captured."""


class FinetuneNet(nn.Module):
    """Backbone up to its feature vector + a new linear head of ``num_classes`` outputs.

    Features are the input of the backbone's classifier, or for truncated / headless backbones
    the global-average-pooled output of the last probed layer; the forward pass stops there.
    """

    def __init__(self, bb: Backbone, num_classes: int, image_size: int):
        super().__init__()
        self.bb = bb
        self.body = bb.model
        mods = dict(self.body.named_modules())
        self._feat: torch.Tensor | None = None
        if bb.head is not None:
            self._hook = mods[bb.head].register_forward_pre_hook(self._pre)
        elif bb.entry.source == "hf":
            self._hook = mods["head_features"].register_forward_pre_hook(self._pre)
        else:
            self._hook = mods[bb.layers[-1].name].register_forward_hook(self._post)
        with torch.no_grad():
            was = self.body.training
            self.body.eval()
            dim = self._features(torch.zeros(1, 3, image_size, image_size)).shape[1]
            self.body.train(was)
        self.head = nn.Linear(dim, num_classes)

    def _pre(self, mod, inp):
        self._feat = inp[0]
        raise _Stop

    def _post(self, mod, inp, out):
        from modelrank.probe import canonical

        a = canonical(out[0] if isinstance(out, tuple) else out, self.bb.layers[-1])
        self._feat = a.mean(dim=(2, 3)) if a.ndim == 4 else a.mean(dim=1)
        raise _Stop

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        try:
            self.bb.run(x)
        except _Stop:
            pass
        f, self._feat = self._feat, None
        return f.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self._features(x))


def _tensors(data: TargetData, pre: Preprocess, idx: np.ndarray) -> torch.Tensor:
    t = make_transform(pre)
    return torch.stack([t(data.images[int(i)]) for i in idx])


def _train_eval(entry: ZooEntry, pre: Preprocess, x_tr, y_tr, evals: dict[str, tuple],
                num_classes: int, lr, w, cfg: FinetuneConfig, device,
                step_cb: Callable[[int, int], None] | None
                ) -> tuple[dict[str, np.ndarray | None], float]:
    """Fine-tune a fresh copy of ``entry`` on (x_tr, y_tr) of ``num_classes`` labels.

    Returns ({name: (n,) predicted labels} for each of ``evals`` ({name: (x, y)}), the last
    step's training loss); a run whose loss diverges predicts None on every set."""
    from modelrank.loaders import build_backbone

    torch.manual_seed(cfg.seed)
    bb = build_backbone(replace(entry, preprocess=pre), device="cpu")
    torch.manual_seed(cfg.seed)
    net = FinetuneNet(bb, num_classes, pre.size).to(device)
    layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
    if cfg.channels_last:
        net = net.to(memory_format=layout)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=(w / lr) if w else 0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    rng = np.random.default_rng(cfg.seed)
    n = x_tr.shape[0]
    order, pos = rng.permutation(n), 0
    use_amp = cfg.amp and torch.device(device).type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    net.train()
    for step in range(cfg.steps):
        if pos + cfg.batch_size > n:
            order, pos = rng.permutation(n), 0
        b = order[pos: pos + cfg.batch_size]
        pos += cfg.batch_size
        xb = x_tr[b].to(device).contiguous(memory_format=layout)
        yb = torch.as_tensor(y_tr[b]).to(device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
            loss = nn.functional.cross_entropy(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        last_loss = float(loss.detach())
        if not math.isfinite(last_loss):
            return {name: None for name in evals}, last_loss  # diverged at this learning rate
        if step_cb:
            step_cb(step + 1, cfg.steps)
    net.eval()
    out: dict[str, np.ndarray | None] = {}
    with torch.inference_mode():
        for name, (x_ev, _) in evals.items():
            preds = [net(x_ev[b0: b0 + 128].to(device).contiguous(memory_format=layout))
                     .argmax(1).cpu().numpy()
                     for b0 in range(0, x_ev.shape[0], 128)]
            out[name] = np.concatenate(preds)
    return out, last_loss


def _splits(dataset: str, per_class: int | None, seed: int, val_fraction: float,
            test_per_class: int | None = None):
    """(train, val, test) TargetData; val carved from train when the target has none; the test
    split sampled ``test_per_class`` with seed 0 when given."""
    from modelrank.data import folder_splits, registry
    from modelrank.data.class_subsets import base_name
    from modelrank.data.content import evaluation_splits

    base = dataset if Path(dataset).is_dir() else base_name(dataset)
    if base not in registry() and Path(base).is_dir():
        splits = folder_splits(base)
        if "train" not in splits or not {"test", "val", "valid", "validation"} & set(splits):
            raise ConfigError(
                f"{dataset!r} needs a train split and a test (or val) split to fine-tune and "
                "measure accuracy on images it did not train on: DIR/train/<class>/<image> and "
                f"DIR/test/<class>/<image> (it has {', '.join(splits) or 'no split directories'})")
    test_name, val_name = evaluation_splits(dataset)
    test = (load_target(dataset, split=test_name, seed=seed) if test_per_class is None
            else load_target(dataset, split=test_name, per_class=test_per_class, seed=0))
    train = load_target(dataset, split="train", per_class=per_class, seed=seed)
    _same_classes(dataset, train, test)
    if val_name is not None and test_name != val_name:
        val = load_target(dataset, split=val_name, seed=seed)
        _same_classes(dataset, train, val)
        return train, val, test, None
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train))
    try:
        tr, va = train_test_split(idx, test_size=val_fraction, stratify=train.labels,
                                  random_state=seed)
    except ValueError:
        raise ConfigError(
            f"{len(train)} training images of {dataset} are too few to hold out a validation "
            f"share of {val_fraction:g} with every one of its {train.num_classes} classes in "
            "it; use more images per class") from None
    return train, train, test, (np.sort(tr), np.sort(va))


def _same_classes(dataset: str, train: TargetData, other: TargetData) -> None:
    """Labels are indices into each split's class list: the lists must be the same, by name."""
    if train.class_names != other.class_names:
        missing = sorted(set(train.class_names) - set(other.class_names))
        extra = sorted(set(other.class_names) - set(train.class_names))
        raise ConfigError(
            f"{dataset}: the {other.split} split's classes differ from train's"
            + (f"; not in {other.split}: {', '.join(missing[:5])}" if missing else "")
            + (f"; not in train: {', '.join(extra[:5])}" if extra else ""))


#: Pre-processed tensors of the last few (splits, preprocessing) a worker process has seen, so
#: that the grid runs of one backbone x target landing on one worker decode the images once.
_TENSOR_CACHE: dict[str, tuple] = {}


def _split_tensors(splits: tuple, pre: Preprocess) -> tuple:
    """(x_tr, y_tr, x_va, y_va, x_te, y_te) for ``splits`` = (train, val, test, carve)."""
    train, val, test, carve = splits
    key = digest([train.fingerprint(), val.fingerprint(), test.fingerprint(), pre.as_dict(),
                  None if carve is None else [c.tolist() for c in carve]])
    hit = _TENSOR_CACHE.get(key)
    if hit is not None:
        return hit
    if carve is not None:
        tr_idx, va_idx = carve
        x_all, y_all = _tensors(train, pre, np.arange(len(train))), train.labels
        x_tr, y_tr, x_va, y_va = x_all[tr_idx], y_all[tr_idx], x_all[va_idx], y_all[va_idx]
    else:
        x_tr, y_tr = _tensors(train, pre, np.arange(len(train))), train.labels
        x_va, y_va = _tensors(val, pre, np.arange(len(val))), val.labels
    x_te, y_te = _tensors(test, pre, np.arange(len(test))), test.labels
    while len(_TENSOR_CACHE) >= 2:
        _TENSOR_CACHE.pop(next(iter(_TENSOR_CACHE)))
    _TENSOR_CACHE[key] = out = (x_tr, y_tr, x_va, y_va, x_te, y_te)
    return out


def finetune_run(entry: ZooEntry, pre: Preprocess, splits: tuple, cfg: FinetuneConfig,
                 phase: str, lr: float, w: float,
                 on_progress: OnProgress | None = None,
                 device: str | None = None) -> dict[str, Any]:
    """One fine-tuning unit: a grid run (train on train, accuracy on val, and on test when
    there is no retrain) or the final run (train on train + val, accuracy on test).

    Returns the run-log record: {"phase", "lr", "w", "val_accuracy" (grid runs),
    "test_accuracy"} (percent; None for a grid run that is retrained), "test_correct" (the
    per-image test outcomes, :func:`modelrank.correctness.pack_correct`; absent when there
    was no test or the run diverged), "final_loss" (the last step's training loss, exactly),
    the "device" it ran on, the "float_order" it fixed and the "protocol_version";
    {"skipped": reason} when the weights are unavailable there.
    ``on_progress`` is told (:data:`STEPS`, step, steps) as the run trains.
    """
    from modelrank.float_order import fixed_float_order
    from modelrank.probe import resolve_device

    on_step = None if on_progress is None else (lambda d, t: on_progress(STEPS, d, t))

    dev = resolve_device(device)
    x_tr, y_tr, x_va, y_va, x_te, y_te = _split_tensors(splits, pre)
    train, dataset = splits[0], splits[0].name
    kind, k = accuracy_kind(dataset), train.num_classes

    def score(preds, labels) -> float:
        return 0.0 if preds is None else accuracy(preds, labels, kind, k)

    with fixed_float_order(cfg.threads) as float_order:
        try:
            if phase == "grid":
                evals = ({"val": (x_va, y_va)} if cfg.retrain
                         else {"val": (x_va, y_va), "test": (x_te, y_te)})
                preds, loss = _train_eval(entry, pre, x_tr, y_tr, evals, k, lr, w, cfg, dev,
                                          on_step)
            else:
                x_fit, y_fit = torch.cat([x_tr, x_va]), np.concatenate([y_tr, y_va])
                preds, loss = _train_eval(entry, pre, x_fit, y_fit, {"test": (x_te, y_te)}, k,
                                          lr, w, cfg, dev, on_step)
        except WeightsUnavailableError as exc:
            return {"skipped": str(exc)}
    rec: dict[str, Any] = {"phase": phase, "lr": lr, "w": w}
    if phase == "grid":
        rec["val_accuracy"] = score(preds["val"], y_va)
    rec["test_accuracy"] = score(preds["test"], y_te) if "test" in preds else None
    if preds.get("test") is not None:
        rec["test_correct"] = pack_correct(preds["test"], y_te)
    rec.update({"final_loss": loss, "device": str(dev), "float_order": float_order,
                "protocol_version": PROTOCOL_VERSION})
    return rec


def training_path_digest() -> str:
    """A digest of the source of everything a fine-tuning run executes in modelrank (the
    network wrapper, the training loop, the tensors, the float-order pin): recorded in each
    result's recipe beside :data:`PROTOCOL_VERSION`, and pinned by a test so that a change of
    the path cannot land without a decision on the version."""
    import inspect

    from modelrank import float_order

    parts = [FinetuneNet, _tensors, _train_eval, _split_tensors, finetune_run, accuracy,
             pack_correct, float_order.fixed_float_order]
    return digest([inspect.getsource(p) for p in parts], 16)


def finetune(entry: ZooEntry, dataset: str, *, cfg: FinetuneConfig = CPU_BUDGET,
             per_class: int | None = None, device: str | None = None, log: RunLog | None = None,
             executor: "Executor | None" = None,
             on_progress: OnProgress | None = None) -> EvalResult:
    """Full fine-tuning protocol for one backbone on one target (see module docstring).
    ``on_progress``: as for :func:`evaluate`.

    Raises WeightsUnavailableError when the backbone cannot be built here and
    :class:`~modelrank.errors.ModelrankError` when one of its runs failed after its retries.
    """
    job = _FinetuneJob(cfg, device, executor, on_progress)
    job.add(entry, dataset, per_class, log=log)
    results, failures, skipped = job.run()
    if skipped:
        raise WeightsUnavailableError(skipped[0][2])
    if failures:
        raise ModelrankError(f"fine-tuning {entry.name} on {dataset} failed: {failures[0][2]}")
    return results[0]


@dataclass
class _Plan:
    """Driver-side state of one backbone x target under the full protocol."""

    entry: ZooEntry
    dataset: str
    pre: Preprocess
    splits: Any  # Shared((train, val, test, carve))
    log: RunLog
    common: dict[str, Any]
    grid: dict[tuple[float, float], dict[str, Any]] = field(default_factory=dict)
    final: dict[str, Any] | None = None
    computed: int = 0
    error: str | None = None
    skipped: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)  # device: the one asked for
    points: list[tuple[float, float]] = field(default_factory=list)  # the (lr, w) it runs

    def key(self, phase: str, lr: float, w: float) -> str:
        return digest({**self.common, "phase": phase, "lr": lr, "w": w}, RUN_KEY_LENGTH)


class _FinetuneJob:
    """Fine-tuning of many backbone x target pairs as one job of run-sized units.

    The driver reads each pair's run log, submits only the runs not in it, appends every
    finished run to the log, and submits a pair's retrain as soon as its grid is complete.
    """

    def __init__(self, cfg: FinetuneConfig, device: str | None, executor: "Executor | None",
                 on_progress: OnProgress | None = None,
                 cache_dir: str | Path | None = None, measured: str | Path | None = None):
        from modelrank.execution import LocalExecutor

        self.cfg, self.on_progress = cfg, on_progress
        self.ex = executor if executor is not None else LocalExecutor()
        self.device = self.ex.check_device(device)
        self.plans: list[_Plan] = []
        self.runs_dir = Path(cache_dir) / "runs" if cache_dir is not None else runs_root()
        self.measured = None if measured is None else Path(measured)
        self.skipped: list[tuple[str, str, str]] = []
        self._pre: dict[str, Preprocess] = {}
        self._splits: dict[tuple, tuple] = {}

    def _preprocess(self, entry: ZooEntry) -> Preprocess:
        from modelrank.loaders import build_backbone

        if entry.name not in self._pre:
            # The loaders use an entry's own preprocessing when it has one; only otherwise is it
            # resolved by building the backbone here (which also needs its weights here).
            pre = entry.preprocess or build_backbone(entry, device="cpu").preprocess
            cfg = self.cfg
            self._pre[entry.name] = pre if cfg.image_size is None else replace(
                pre, size=cfg.image_size, resize=cfg.image_size)
        return self._pre[entry.name]

    def add(self, entry: ZooEntry, dataset: str, per_class: int | None,
            log: RunLog | None = None,
            points: Sequence[tuple[float, float]] | None = None) -> None:
        """Plan ``entry`` on ``dataset``; ``points``: the (lr, w) pairs it runs (default: the
        whole grid of the config). A run's key does not depend on ``points``, so a run made as
        part of the whole grid is reused when only its point is asked for, and vice versa."""
        from modelrank.execution import Shared

        try:
            pre = self._preprocess(entry)
        except WeightsUnavailableError as exc:
            self.skipped.append((entry.name, dataset, str(exc)))
            return
        sk = (dataset, per_class)
        if sk not in self._splits:
            data_seed = self.cfg.seed if self.cfg.sample_seed is None else self.cfg.sample_seed
            sp = _splits(dataset, per_class, data_seed, self.cfg.val_fraction,
                         self.cfg.test_per_class)
            self._splits[sk] = (Shared(sp), sp)
        shared, (train, _, test, _) = self._splits[sk]
        common = {"entry": entry.recipe(), "train": train.fingerprint(), "test": test.fingerprint(),
                  "cfg": self.cfg.key_fields(), "pre": pre.as_dict(), "protocol": "full",
                  "protocol_version": PROTOCOL_VERSION}
        self.plans.append(_Plan(
            entry, dataset, pre, shared,
            log or RunLog(self.runs_dir / f"{entry.name}__{dataset}.jsonl",
                          None if self.measured is None
                          else self.measured / f"{entry.name}__{dataset}.jsonl"), common,
            recipe={"train": train.recipe(), "test": test.recipe(), "config": self.cfg.key_fields(),
                    "preprocess": pre.as_dict(), "device": self.device,
                    "protocol_version": PROTOCOL_VERSION,
                    "training_path": training_path_digest()},
            points=list(points) if points is not None else self.cfg.grid()))

    def _total(self, plan: _Plan) -> int:
        return len(plan.points) + (1 if self.cfg.retrain else 0)

    def _task(self, plan: _Plan, phase: str, lr: float, w: float):
        from modelrank.execution import Task

        args: tuple = (plan.entry, plan.pre, plan.splits, self.cfg, phase, lr, w)
        if self.ex.in_process and self.on_progress is not None:
            args += (self.on_progress,)
        label = f"fine-tune {plan.entry.name} x {plan.dataset} {phase} lr={lr:g} w={w:g}"
        return Task(plan.key(phase, lr, w), label, finetune_run, args,
                    num_cpus=self.ex.cpus_per_task, device=self.device, context=(plan, phase, lr, w))

    def _progress(self, plan: _Plan, done: int | None = None) -> None:
        if done is None:
            done = len(plan.grid) + (plan.final is not None)
        tell(self.on_progress, runs_label(plan.entry.name), done, self._total(plan))

    def _after_grid(self, plan: _Plan) -> list:
        """The retrain task once the grid is complete (or nothing when it is logged / off)."""
        if (not self.cfg.retrain or len(plan.grid) < len(plan.points) or plan.error
                or plan.skipped):
            return []
        best = self._best(plan)
        key = plan.key("final", best["lr"], best["w"])
        rec = plan.log.get(key)
        if rec is None:
            return [self._task(plan, "final", best["lr"], best["w"])]
        plan.final = rec
        self._progress(plan)
        return []

    def _best(self, plan: _Plan) -> dict[str, Any]:
        grid = [plan.grid[g] for g in plan.points]
        return max(grid, key=lambda g: g["val_accuracy"])  # first of equals: grid order

    def run(self) -> tuple[list[EvalResult], list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """Run every missing unit. Returns (results, failures, skipped); the last two as
        (model, dataset, reason)."""
        tasks = []
        for plan in self.plans:
            for lr, w in plan.points:
                rec = plan.log.get(plan.key("grid", lr, w))
                if rec is None:
                    tasks.append(self._task(plan, "grid", lr, w))
                else:
                    plan.grid[(lr, w)] = rec
            tasks += self._after_grid(plan)

        def collect(oc):
            plan, phase, lr, w = oc.task.context
            if not oc.ok:
                plan.error = plan.error or f"{phase} run lr={lr:g} w={w:g}: {oc.error}"
                return []
            if "skipped" in oc.value:
                plan.skipped = oc.value["skipped"]
                return []
            plan.log.add(oc.task.key, oc.value)
            plan.computed += 1
            if phase == "final":
                plan.final = oc.value
                self._progress(plan)
                return []
            plan.grid[(lr, w)] = oc.value
            self._progress(plan)
            return self._after_grid(plan)

        self.ex.run(tasks, collect)
        execution = self.ex.describe()
        results, failures = [], []
        for plan in self.plans:
            if plan.skipped:
                self.skipped.append((plan.entry.name, plan.dataset, plan.skipped))
                continue
            if plan.error:
                failures.append((plan.entry.name, plan.dataset, plan.error))
                continue
            best = self._best(plan)
            rec = plan.final if self.cfg.retrain else best
            grid = [{"lr": lr, "w": w, "val_accuracy": plan.grid[(lr, w)]["val_accuracy"],
                     "test_accuracy": plan.grid[(lr, w)].get("test_accuracy")}
                    for lr, w in plan.points]
            self._progress(plan, self._total(plan))
            results.append(EvalResult(plan.entry.name, plan.dataset, "full", rec["test_accuracy"],
                                      accuracy_kind(plan.dataset),
                                      {"lr": best["lr"], "w": best["w"]}, grid, plan.computed,
                                      {**plan.recipe, "device": rec.get("device", self.device),
                                       "float_order": rec.get("float_order"),
                                       "execution": execution},
                                      rec.get("test_correct")))
        return results, failures, self.skipped


def linear_probe(entry: ZooEntry, dataset: str, per_class: int | None = None, seed: int = 0,
                 device: str | None = None, cs: Sequence[float] = tuple(10.0 ** np.arange(-3, 4)),
                 image_size: int | None = None, log: RunLog | None = None,
                 cache_dir: str | Path | None = None,
                 test_per_class: int | None = None,
                 parent: ZooEntry | None = None) -> EvalResult:
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
    train, val, test, carve = _splits(dataset, per_class, seed, 0.2, test_per_class)
    ftr = probe(bb, train, device=device, cache_dir=cache_dir, parent=parent).features
    fte = probe(bb, test, device=device, cache_dir=cache_dir, parent=parent).features
    if carve is None:
        fva, yva, ytr = (probe(bb, val, device=device, cache_dir=cache_dir, parent=parent).features,
                         val.labels, train.labels)
    else:
        tr, va = carve
        ftr, fva, ytr, yva = ftr[tr], ftr[va], train.labels[tr], train.labels[va]
    kind = accuracy_kind(dataset)
    k = train.num_classes

    def fit(c, x, y):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)

    grid = [{"C": c, "val_accuracy": accuracy(fit(c, ftr, ytr).predict(fva), yva, kind, k)}
            for c in cs]
    best = max(grid, key=lambda g: g["val_accuracy"])
    model = fit(best["C"], np.concatenate([ftr, fva]), np.concatenate([ytr, yva]))
    pred = model.predict(fte)
    acc = accuracy(pred, test.labels, kind, k)
    return EvalResult(entry.name, dataset, "linear", acc, kind, {"C": float(best["C"])}, grid, 0,
                      {"train": train.recipe(), "test": test.recipe(),
                       "preprocess": bb.preprocess.as_dict()},
                      pack_correct(pred, test.labels))


def _linear_key(entry: ZooEntry, train: TargetData, test: TargetData, cfg: FinetuneConfig) -> str:
    """Journal key of one linear-probe unit: everything that determines its accuracy."""
    from modelrank import __version__

    return digest({"unit": "linear-v2", "version": __version__, "entry": entry.recipe(),
                   "train": train.fingerprint(), "test": test.fingerprint(), "seed": cfg.seed,
                   "image_size": cfg.image_size, "test_per_class": cfg.test_per_class,
                   "threads": cfg.threads}, 32)


def _linear_unit(entry: ZooEntry, dataset: str, per_class: int | None, seed: int,
                 image_size: int | None, cache_dir: str | None,
                 test_per_class: int | None = None, parent: ZooEntry | None = None,
                 threads: int = 1, device: str | None = None) -> EvalResult | str:
    """One linear-probe unit with ``threads`` torch and BLAS threads (the logistic regression's
    sums, and the forward pass when the features are not cached); the reason as a string when
    the weights are unavailable."""
    from modelrank.float_order import fixed_float_order

    with fixed_float_order(threads) as float_order:
        try:
            res = linear_probe(entry, dataset, per_class, seed, device, image_size=image_size,
                               cache_dir=cache_dir, test_per_class=test_per_class, parent=parent)
        except WeightsUnavailableError as exc:
            return str(exc)
    res.recipe["float_order"] = float_order
    return res


def evaluate(dataset: str, *, zoo: str | Path | dict[str, ZooEntry] | None = None,
             models: str | Iterable[str] | None = None, protocol: str = "full",
             budget: str | FinetuneConfig = "cpu", per_class: int | None = None,
             device: str | None = None, cache_dir: str | Path | None = None,
             executor: "Executor | None" = None,
             on_progress: OnProgress | None = None,
             on_skip: Callable[[str, str], None] | None = None,
             store: bool | str | Path = False) -> Evaluation:
    """Ground-truth accuracy of every selected backbone on ``dataset`` (see module docstring).

    Args:
        zoo, models: the zoo and which of its backbones (default: the ``offline`` tag).
        protocol: "full" (fine-tune everything) or "linear" (logistic head on cached features).
        budget: "cpu" (default, small), "published" (the full docs/methods.md §5 grid, 5000 steps)
            or a FinetuneConfig.
        per_class: training images per class (default: all).
        device: "cpu", "cuda", or None/"auto".
        cache_dir: run logs and linear-probe embeddings (see :func:`evaluate_targets`).
        executor: where the units run (default: this process). Units are the single runs of
            the grid and the retrain (full) or one backbone each (linear).
        on_progress: told (:func:`runs_label` of a model, runs done, runs) and (:data:`STEPS`,
            step, steps) (:mod:`modelrank.progress`).
        on_skip: called (model, reason) for a backbone whose weights are unavailable.
        store: also record the accuracies in the results database (True: the default one,
            ``$MODELRANK_DB``; a path: that file), where ``leaderboard`` finds them.

    Returns:
        :class:`Evaluation`: the results, and the backbones that failed or were skipped.
    """
    ev = evaluate_targets(
        [(dataset, per_class)], zoo=zoo, models=models, protocol=protocol, budget=budget,
        device=device, cache_dir=cache_dir, executor=executor, on_progress=on_progress,
        on_skip=on_skip)[0]
    if store:
        from modelrank.recording import record_evaluation

        record_evaluation(ev, db=None if store is True else store,
                          command=f"python: modelrank.evaluate({dataset!r}, models={models!r}, "
                                  f"protocol={protocol!r})")
    return ev


def evaluate_targets(targets: Sequence[tuple[str, int | None]], *,
                     zoo: str | Path | dict[str, ZooEntry] | None = None,
                     models: str | Iterable[str] | None = None, protocol: str = "full",
                     budget: str | FinetuneConfig = "cpu", device: str | None = None,
                     cache_dir: str | Path | None = None,
                     points: Mapping[tuple[str, str], Sequence[tuple[float, float]]] | None = None,
                     executor: "Executor | None" = None,
                     on_progress: OnProgress | None = None,
                     on_skip: Callable[[str, str], None] | None = None,
                     measured: str | Path | None = None,
                     ) -> list[Evaluation]:
    """:func:`evaluate` on several (dataset, per_class) targets as one job.

    ``measured`` (full protocol only): a directory of committed run logs (a suite's measured
    ground truth, ``<model>__<dataset>.jsonl``) whose runs are taken as done; runs missing
    from it are trained and logged under ``cache_dir`` as usual.

    ``points`` (full protocol only): {(model, dataset): [(lr, w), ...]}, the grid points a pair
    runs instead of the budget's whole grid (the repeat of a chosen learning rate with another
    seed); pairs not in it run the whole grid.

    ``cache_dir`` (default: ``$MODELRANK_CACHE``) holds the run logs (``runs/``, written by this
    process only) and the linear probe's embeddings (written where the units run: give a
    directory every node mounts at the same path to share them).

    Returns one :class:`Evaluation` per target, in order.
    """
    from modelrank.execution import LocalExecutor, Task

    if protocol not in ("full", "linear"):
        raise ParameterError("protocol", f"must be full or linear, got {protocol!r}")
    cfg = budget_config(budget)
    parsed = zoo if isinstance(zoo, dict) else load_zoo(zoo)
    entries = select(parsed, models if models is not None else "offline")
    ex = executor if executor is not None else LocalExecutor()
    out: dict[str, list[EvalResult]] = {d: [] for d, _ in targets}
    if protocol == "full":
        job = _FinetuneJob(cfg, device, ex, on_progress, cache_dir, measured)
        for dataset, per_class in targets:
            for entry in entries:
                job.add(entry, dataset, per_class,
                        points=(points or {}).get((entry.name, dataset)))
        results, failures, skipped = job.run()
        for r in results:
            out[r.dataset].append(r)
    else:
        from modelrank.journal import Journal
        from modelrank.probe import cache_root

        task_device = ex.check_device(device)
        journal = Journal((Path(cache_dir) if cache_dir is not None else cache_root()) / "units")
        failures, skipped, got, tasks = [], [], {}, []
        for dataset, per_class in targets:
            train, _, test, _ = _splits(dataset, per_class, cfg.seed, 0.2, cfg.test_per_class)
            # full-depth networks first, so that their truncations find their pass in the cache
            for entry in sorted(entries, key=lambda e: e.truncate is not None):
                key = _linear_key(entry, train, test, cfg)
                hit = journal.get(key, expect=EvalResult)
                if hit is not None:
                    got[(entry.name, dataset)] = hit
                    continue
                tasks.append(Task(key, f"linear probe {entry.name} x {dataset}", _linear_unit,
                                  (entry, dataset, per_class, cfg.seed, cfg.image_size,
                                   None if cache_dir is None else str(cache_dir),
                                   cfg.test_per_class, truncation_parent(entry, entries),
                                   cfg.threads),
                                  num_cpus=ex.cpus_per_task, device=task_device,
                                  context=(entry.name, dataset)))
        for oc in ex.run(tasks):
            model, dataset = oc.task.context
            if not oc.ok:
                failures.append((model, dataset, oc.error))
            elif isinstance(oc.value, str):
                skipped.append((model, dataset, oc.value))
            else:
                journal.put(oc.task.key, oc.value)  # as computed: a later read trained nothing
                got[(model, dataset)] = replace(oc.value, runs_computed=1)
        for dataset, _ in targets:
            out[dataset] = [got[(e.name, dataset)] for e in entries if (e.name, dataset) in got]
    evaluations = [Evaluation(d, protocol, out[d]) for d, _ in targets]
    by_dataset = {e.dataset: e for e in evaluations}
    for model, dataset, why in skipped:
        by_dataset[dataset].skipped.append((model, why))
        if on_skip:
            on_skip(model, why)
    for model, dataset, why in failures:
        by_dataset[dataset].failed.append((model, why))
    return evaluations
