"""Build a :class:`~modelrank.backbone.Backbone` from a zoo entry, one loader per source."""

from __future__ import annotations

import torch

from modelrank.backbone import Backbone, find_head, resolve_layers
from modelrank.errors import ConfigError
from modelrank.zoo_entry import ZooEntry


def build_backbone(entry: ZooEntry, device: str | torch.device = "cpu") -> Backbone:
    """Instantiate ``entry``: weights, preprocessing, head and probe layers resolved.

    Raises WeightsUnavailableError when pretrained weights are neither cached nor downloadable,
    ConfigError for a malformed entry, UnknownModelError for an id the library does not know.
    """
    from modelrank.loaders import file as file_loader
    from modelrank.loaders import hf as hf_loader
    from modelrank.loaders import timm_loader, torchvision_loader

    builders = {
        "timm": timm_loader.build,
        "torchvision": torchvision_loader.build,
        "hf": hf_loader.build,
        "file": file_loader.build,
    }
    if entry.random_init:
        torch.manual_seed(entry.seed)
    model, preprocess, top1, forward, extra = builders[entry.source](entry)
    model.eval()
    head = None if entry.source == "hf" else find_head(model)
    layers = resolve_layers(model, entry.layers, preprocess.size, forward=forward, head=head)
    if entry.truncate is not None:
        names = [li.name for li in layers]
        inside = [
            i
            for i, n in enumerate(names)
            if n == entry.truncate or n.startswith(entry.truncate + ".")
        ]
        if not inside:
            raise ConfigError(
                f"zoo entry {entry.name!r}: truncate {entry.truncate!r} is neither a "
                "probe layer nor a module holding probe layers"
            )
        layers = layers[: inside[-1] + 1]
        head = None
    param_count = _param_count(
        model, preprocess.size, forward, layers[-1].name if entry.truncate is not None else None
    )
    resolved = ZooEntry(**{**entry.__dict__, "preprocess": preprocess, "imagenet_top1": top1})
    bb = Backbone(
        entry=resolved,
        model=model.to(device),
        preprocess=preprocess,
        layers=layers,
        head=head,
        forward=forward,
        param_count=param_count,
        info={"library": entry.source, **extra},
    )
    return bb


def _param_count(model: torch.nn.Module, size: int, forward, last: str | None) -> int:
    """Parameters of the whole model, or of the leaf modules that run up to ``last`` (inclusive)
    for a truncated backbone."""
    if last is None:
        return sum(p.numel() for p in model.parameters())
    from modelrank.backbone import trace_modules

    total, seen = 0, set()
    for name, mod, _ in trace_modules(model, torch.zeros(1, 3, size, size), forward):
        if len(list(mod.children())) == 0 and id(mod) not in seen:
            seen.add(id(mod))
            total += sum(p.numel() for p in mod.parameters(recurse=False))
        if name == last:
            break
    return total
