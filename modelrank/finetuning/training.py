"""One fine-tuning run: the network with its new head, the training loop, the tensors it trains
on, and :func:`finetune_run`, the unit an executor runs. :func:`training_path_digest` pins the
source of all of it to :data:`~modelrank.finetuning.config.PROTOCOL_VERSION`."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from modelrank.backbone import Backbone, make_transform
from modelrank.correctness import pack_correct
from modelrank.data import TargetData
from modelrank.util.digest import digest
from modelrank.errors import WeightsUnavailableError
from modelrank.progress import OnProgress
from modelrank.zoo_entry import Preprocess, ZooEntry
from modelrank.accuracy import accuracy, accuracy_kind
from modelrank.finetuning.config import PROTOCOL_VERSION, FinetuneConfig
from modelrank.finetuning.results import STEPS


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
    from modelrank.devices import resolve_device

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
