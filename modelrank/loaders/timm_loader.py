"""timm backbones: ``timm.create_model("<id>.<weights tag>", pretrained=True)``."""

from __future__ import annotations

from typing import Any

from modelrank.errors import UnknownModelError, WeightsUnavailableError
from modelrank.util.network import hf_offline_mode, hub_reachable
from modelrank.zoo_entry import Preprocess, ZooEntry


def timm_preprocess(model: Any) -> Preprocess:
    """Preprocessing from a timm model's pretrained config (size, crop_pct, mean, std)."""
    from timm.data import resolve_data_config

    return data_config_preprocess(resolve_data_config({}, model=model))


def data_config_preprocess(cfg: dict[str, Any]) -> Preprocess:
    """Preprocessing from a timm data config (``input_size``, ``crop_pct``, ``mean``, ``std``,
    ``interpolation``): a centre crop of ``input_size`` after resizing to size / crop_pct."""
    size = int(cfg["input_size"][-1])
    crop_pct = float(cfg.get("crop_pct") or 0.875)
    return Preprocess(
        size=size,
        resize=int(round(size / crop_pct)),
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        interpolation=str(cfg.get("interpolation", "bicubic")),
    )


def create(arch: str, tag: str | None, pretrained: bool) -> Any:
    """``timm.create_model`` with clear errors for an unknown name or unreachable weights."""
    import timm

    if not timm.is_model(arch):
        raise UnknownModelError(f"timm has no model {arch!r}; see timm.list_models()")
    full = f"{arch}.{tag}" if tag else arch
    if not pretrained:
        return timm.create_model(full, pretrained=False)
    online = hub_reachable()
    if not online:
        hf_offline_mode()
    try:
        return timm.create_model(full, pretrained=True)
    except RuntimeError as exc:
        if "Unknown pretrained tag" in str(exc) or "Invalid pretrained tag" in str(exc):
            raise UnknownModelError(f"timm has no pretrained weights {full!r}") from None
        raise WeightsUnavailableError(f"could not load timm weights {full!r}: {exc}") from None
    except OSError as exc:
        why = (
            "the hub is unreachable (offline) and they are not in the local cache"
            if not online
            else str(exc).splitlines()[0]
        )
        raise WeightsUnavailableError(f"timm weights {full!r} unavailable: {why}") from None


def build(entry: ZooEntry):
    """(model, preprocess, imagenet_top1, forward, info) for a timm entry."""
    random_init = entry.random_init
    model = create(entry.id, None if random_init else entry.weights, pretrained=not random_init)
    pre = entry.preprocess or timm_preprocess(model)
    top1 = None if entry.imagenet_top1 == "auto" else entry.imagenet_top1
    return model, pre, top1, None, {"timm_name": entry.id, "weights_tag": entry.weights}
