"""Hugging Face transformers vision backbones: AutoModel + AutoImageProcessor (transformers'
own architectures, and timm checkpoints on the Hub through its TimmWrapper).

The probe reads the model's ``hidden_states`` (embeddings output, then every encoder layer) by
forward hooks on the encoder's layer modules; the final feature vector is ``pooler_output``
when the model has one, else the mean of the last hidden state. No source logits.
"""

from __future__ import annotations

import torch

from modelrank.errors import ConfigError, UnknownModelError, WeightsUnavailableError
from modelrank.loaders.timm_loader import data_config_preprocess
from modelrank.util.network import hf_offline_mode, hub_reachable
from modelrank.zoo_entry import Preprocess, ZooEntry


class HFBackbone(torch.nn.Module):
    """Wraps an AutoModel so that ``forward(pixels)`` returns the final feature vector (N, D)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.head_features = torch.nn.Identity()  # its input is the final feature vector

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixel_values)
        pooled = getattr(out, "pooler_output", None)
        if pooled is None or pooled.ndim != 2:
            last = out.last_hidden_state
            pooled = last.mean(dim=1) if last.ndim == 3 else last.mean(dim=(2, 3))
        return self.head_features(pooled)


def processor_preprocess(proc) -> Preprocess:
    """Preprocessing read from an AutoImageProcessor (resize / crop sizes, mean, std); for a
    timm checkpoint on the Hub (transformers' TimmWrapper), from its timm data config, the
    same preprocessing as ``timm:`` gives it."""
    data_config = getattr(proc, "data_config", None)
    if isinstance(data_config, dict) and "input_size" in data_config:
        return data_config_preprocess(data_config)
    crop = getattr(proc, "crop_size", None) or getattr(proc, "size", None) or {}
    size = int(crop.get("height") or crop.get("shortest_edge") or 224)
    rs = getattr(proc, "size", None) or {}
    resize = int(rs.get("shortest_edge") or rs.get("height") or round(size / 0.875))
    resample = {2: "bilinear", 3: "bicubic", 0: "nearest"}.get(
        int(getattr(proc, "resample", 3)), "bicubic"
    )
    return Preprocess(
        size=size,
        resize=resize,
        mean=tuple(float(v) for v in proc.image_mean),
        std=tuple(float(v) for v in proc.image_std),
        interpolation=resample,
    )


def build(entry: ZooEntry):
    """(model, preprocess, imagenet_top1, forward, info) for a Hugging Face entry.

    ``options.config`` (a dict) builds a randomly initialised model from an AutoConfig of
    ``id``'s model type instead of downloading: used for offline tests and random controls.
    """
    try:
        import transformers
    except ImportError:
        raise ConfigError(
            "Hugging Face backbones need transformers: pip install 'modelrank[hf]'"
        ) from None
    cfg_kwargs = entry.options.get("config")
    if entry.random_init or cfg_kwargs is not None:
        if not cfg_kwargs or "model_type" not in cfg_kwargs:
            raise ConfigError(
                f"zoo entry {entry.name!r}: a random HF model needs options.config with a model_type"
            )
        kw = dict(cfg_kwargs)
        config = transformers.AutoConfig.for_model(kw.pop("model_type"), **kw)
        model = transformers.AutoModel.from_config(config)
        pre = entry.preprocess or Preprocess(size=int(getattr(config, "image_size", 224)))
        info = {"weights_tag": "random", "hf_config": dict(cfg_kwargs)}
    else:
        if not hub_reachable():
            hf_offline_mode()
        rev = entry.weights or "main"
        try:
            model = transformers.AutoModel.from_pretrained(entry.id, revision=rev)
            proc = transformers.AutoImageProcessor.from_pretrained(entry.id, revision=rev)
        except OSError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "is not a local folder and is not a valid model identifier" in str(exc):
                raise UnknownModelError(f"Hugging Face has no model {entry.id!r}") from None
            raise WeightsUnavailableError(
                f"Hugging Face model {entry.id!r} unavailable (offline and not cached?): {first}"
            ) from None
        pre = entry.preprocess or processor_preprocess(proc)
        info = {"weights_tag": rev, "hf_id": entry.id}
    wrapped = HFBackbone(model)
    top1 = None if entry.imagenet_top1 == "auto" else entry.imagenet_top1
    return wrapped, pre, top1, None, info
