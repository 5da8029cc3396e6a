"""A built backbone: torch module, preprocessing, probe layers and the classifier head.

Layer resolution ("blocks" / "stages") traces one forward pass on a dummy input and keeps the
modules that actually ran, in execution order, so it works for any architecture built from
``nn.Sequential`` / ``nn.ModuleList`` containers of blocks (timm, torchvision, most others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from modelrank.errors import ConfigError
from modelrank.zoo_entry import Preprocess, ZooEntry

_CONTAINERS = (nn.Sequential, nn.ModuleList)
_STEM_LEAVES = (
    nn.Conv2d,
    nn.modules.batchnorm._BatchNorm,
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.LayerNorm,
    nn.GroupNorm,
)


@dataclass
class LayerInfo:
    """A probed layer: module name, per-image output shape (no batch axis) and its layout
    ("NCHW", "NHWC" for channels-last feature maps, "NTD" for token sequences)."""

    name: str
    shape: tuple[int, ...]
    layout: str = "NCHW"


@dataclass
class Backbone:
    """A ready-to-probe backbone.

    Attributes:
        entry: the zoo entry it was built from (preprocess and top-1 resolved).
        model: the torch module in eval mode.
        preprocess: resolved preprocessing.
        layers: probed layers in depth order, with per-image output shapes.
        head: name of the classifier module whose input is the final feature vector and whose
            output are the source logits; None when the backbone has no classification head.
        forward: callable running the model on a batch (handles HF models' output objects).
        param_count: number of parameters.
        info: extra facts recorded with results (weights file, library versions, ...).
    """

    entry: ZooEntry
    model: nn.Module
    preprocess: Preprocess
    layers: list[LayerInfo]
    head: str | None
    forward: Callable[[torch.Tensor], Any] | None = None
    param_count: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def layer_names(self) -> list[str]:
        return [li.name for li in self.layers]

    def run(self, x: torch.Tensor) -> Any:
        return self.forward(x) if self.forward is not None else self.model(x)


def make_transform(pre: Preprocess) -> Callable:
    """PIL image -> normalised float tensor (3, size, size): resize short side, centre crop."""
    from torchvision import transforms as T

    modes = {
        "bilinear": T.InterpolationMode.BILINEAR,
        "bicubic": T.InterpolationMode.BICUBIC,
        "nearest": T.InterpolationMode.NEAREST,
    }
    if pre.interpolation not in modes:
        raise ConfigError(
            f"unknown interpolation {pre.interpolation!r}; use one of {sorted(modes)}"
        )
    return T.Compose(
        [
            T.Lambda(lambda im: im.convert("RGB")),
            T.Resize(pre.resize, interpolation=modes[pre.interpolation]),
            T.CenterCrop(pre.size),
            T.ToTensor(),
            T.Normalize(pre.mean, pre.std),
        ]
    )


def find_head(model: nn.Module) -> str | None:
    """Name of the last ``nn.Linear`` that runs last in the model (the classifier), or None."""
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not named:
        return None
    for attr in ("fc", "classifier", "head", "heads.head", "head.fc"):
        for n, _m in named:
            if n == attr:
                return n
    return named[-1][0]


def trace_modules(
    model: nn.Module, x: torch.Tensor, forward: Callable | None = None
) -> list[tuple[str, nn.Module, tuple[int, ...] | None]]:
    """Run ``model`` once and list (name, module, output shape) in the order modules *finished*."""
    order: list[tuple[str, nn.Module, tuple[int, ...] | None]] = []
    handles = []
    for name, mod in model.named_modules():
        if not name:
            continue

        def hook(m, inp, out, name=name):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
            order.append((name, m, shape))

        handles.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            (forward or model)(x)
    finally:
        for h in handles:
            h.remove()
    return order


def _is_plain_container(m: nn.Module) -> bool:
    return type(m) in _CONTAINERS


def _holds_block_list(m: nn.Module) -> bool:
    """True when ``m`` has a plain container child of >= 2 non-leaf modules (a list of blocks)."""
    for child in m.children():
        if _is_plain_container(child):
            inner = [c for c in child.children() if len(list(c.children())) > 0]
            if len(inner) >= 2:
                return True
    return False


def _is_timm_wrapper(m: nn.Module) -> bool:
    """transformers' TimmWrapperModel (an ``hf:`` timm checkpoint): one timm model inside, whose
    blocks are the probe layers, as for ``timm:``."""
    return type(m).__name__ == "TimmWrapperModel" and isinstance(
        getattr(m, "timm_model", None), nn.Module
    )


def _block_names(model: nn.Module) -> list[str]:
    """Top-most modules that are blocks, reached by descending through plain containers
    (``nn.Sequential`` / ``nn.ModuleList`` of exactly those types), through wrappers that
    hold a list of blocks (a ResNet-like stage, a transformer encoder, a Swin stage) and through
    transformers' wrapper of a timm model.
    Leaves met on the way are returned too; the caller keeps stem leaves and drops the rest.
    """
    out: list[str] = []

    def walk(mod: nn.Module, prefix: str) -> None:
        for cname, child in mod.named_children():
            full = f"{prefix}{cname}"
            if _is_plain_container(child) or _holds_block_list(child) or _is_timm_wrapper(child):
                walk(child, full + ".")
            else:
                out.append(full)

    walk(model, "")
    return out


def _layout(shape: tuple[int, ...]) -> str:
    """ "NCHW", "NHWC" or "NTD" for a per-image output shape (no batch axis)."""
    if len(shape) == 2:
        return "NTD"
    c, h, w = shape
    if h == w or c != h:
        return "NCHW"
    return "NHWC"


def resolve_layers(
    model: nn.Module,
    spec: str | tuple[str, ...],
    image_size: int,
    forward: Callable | None = None,
    head: str | None = None,
) -> list[LayerInfo]:
    """Probe layers for ``spec`` ("blocks", "stages" or explicit names), with output shapes.

    "blocks": the stem (conv / norm / activation leaves that run before the first block) then
    every block, keeping only modules whose output is spatial (4-D) or a token sequence (3-D).
    "stages": of those blocks, the last one at each distinct spatial resolution (token models:
    every fourth block and the last).
    """
    x = torch.zeros(1, 3, image_size, image_size)
    traced = trace_modules(model, x, forward)
    ran = {}
    for name, mod, shape in traced:
        ran.setdefault(name, (mod, shape))  # first call wins (modules reused later keep it)
    if isinstance(spec, tuple):
        missing = [n for n in spec if n not in dict(model.named_modules())]
        if missing:
            raise ConfigError(f"probe layers not found in the model: {', '.join(missing)}")
        not_run = [n for n in spec if n not in ran]
        if not_run:
            raise ConfigError(f"probe layers never run in a forward pass: {', '.join(not_run)}")
        return [
            LayerInfo(n, tuple(ran[n][1][1:]), _layout(tuple(ran[n][1][1:])))
            for n in spec
            if ran[n][1] is not None and len(ran[n][1]) in (3, 4)
        ]

    finish = {name: i for i, (name, _, _) in enumerate(traced)}
    candidates = [n for n in _block_names(model) if n in ran and ran[n][1] is not None]
    candidates.sort(key=lambda n: finish[n])
    layers: list[LayerInfo] = []
    seen_block = False
    for n in candidates:
        mod, shape = ran[n]
        if head is not None and (n == head or n.startswith(head + ".")):
            continue
        if len(shape) not in (3, 4):
            continue
        is_leaf = len(list(mod.children())) == 0
        if is_leaf:
            if seen_block or not isinstance(mod, _STEM_LEAVES):
                continue
        else:
            seen_block = True
        layers.append(LayerInfo(n, tuple(shape[1:]), _layout(tuple(shape[1:]))))
    if not layers:
        raise ConfigError("could not find probe layers automatically; list them in the zoo entry")
    if spec == "stages":
        layers = _stage_ends(layers)
    return layers


def _stage_ends(layers: list[LayerInfo]) -> list[LayerInfo]:
    spatial = [li for li in layers if li.layout != "NTD"]
    if not spatial:  # token sequences: no resolution change to cut at
        picked = layers[3::4]
        return picked if picked and picked[-1] is layers[-1] else picked + [layers[-1]]
    ends = []
    for i, li in enumerate(layers):
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if nxt is None or _hw(nxt) != _hw(li):
            ends.append(li)
    return ends


def _hw(li: LayerInfo) -> tuple[int, ...]:
    if li.layout == "NTD":
        return ()
    return li.shape[1:] if li.layout == "NCHW" else li.shape[:2]
