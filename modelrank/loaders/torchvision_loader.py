"""torchvision backbones: ``torchvision.models.get_model(id, weights=<enum member>)``."""

from __future__ import annotations

from modelrank.errors import ConfigError, UnknownModelError, WeightsUnavailableError
from modelrank.util.network import TORCH_HOST, reachable
from modelrank.zoo_entry import Preprocess, ZooEntry


def weights_enum(arch: str, tag: str):
    """The torchvision weights enum member ``tag`` of ``arch`` (e.g. IMAGENET1K_V1)."""
    import torchvision.models as tvm

    try:
        enum = tvm.get_model_weights(arch)
    except (ValueError, KeyError):
        raise UnknownModelError(f"torchvision has no model {arch!r}") from None
    try:
        return enum[tag]
    except KeyError:
        known = ", ".join(m.name for m in enum)
        raise ConfigError(f"torchvision {arch}: no weights {tag!r}; available: {known}") from None


def weights_preprocess(weights) -> Preprocess:
    """Preprocessing read from a weights enum's own transform."""
    t = weights.transforms()
    return Preprocess(
        size=int(t.crop_size[0]),
        resize=int(t.resize_size[0]),
        mean=tuple(float(v) for v in t.mean),
        std=tuple(float(v) for v in t.std),
        interpolation=t.interpolation.value,
    )


def weights_cached(weights) -> bool:
    """Whether torchvision ``weights`` (a weights enum member) are in torch's hub cache."""
    import os

    from torch.hub import get_dir

    path = os.path.join(get_dir(), "checkpoints", os.path.basename(weights.url))
    return os.path.isfile(path)


def build(entry: ZooEntry):
    """(model, preprocess, imagenet_top1, forward, info) for a torchvision entry."""
    import torchvision.models as tvm

    if entry.id not in tvm.list_models():
        raise UnknownModelError(f"torchvision has no model {entry.id!r}")
    tag = entry.weights or "DEFAULT"
    if entry.random_init:
        kwargs = {"init_weights": True} if entry.id in ("googlenet", "inception_v3") else {}
        if entry.id in ("googlenet", "inception_v3"):
            kwargs["aux_logits"] = False
        model = tvm.get_model(entry.id, weights=None, **kwargs)
        default = Preprocess(size=299, resize=342) if entry.id == "inception_v3" else Preprocess()
        pre = entry.preprocess or default
        return model, pre, None, None, {"weights_tag": "random"}
    w = weights_enum(entry.id, tag)
    if not weights_cached(w) and not reachable(TORCH_HOST):
        raise WeightsUnavailableError(
            f"torchvision weights {entry.id}.{w.name} are not cached and the download site "
            "is unreachable (offline)"
        )
    try:
        model = tvm.get_model(entry.id, weights=w)
    except OSError as exc:
        raise WeightsUnavailableError(f"torchvision weights {entry.id}.{w.name}: {exc}") from None
    pre = entry.preprocess or weights_preprocess(w)
    top1 = entry.imagenet_top1
    if top1 == "auto":
        top1 = float(w.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1", float("nan")))
    return model, pre, top1, None, {"weights_tag": w.name, "weights_url": w.url}
