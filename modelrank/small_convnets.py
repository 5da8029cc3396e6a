"""Small convolutional networks of five families, for a model zoo trained here.

An architecture is a string ``FAMILY:key=value,...`` (the ``id`` of a zoo entry with ``source:
file``, prefixed ``modelrank:``), e.g. ``resnet:depth=4,width=16,act=gelu,classes=5``:

- ``plain``: VGG-like, 3x3 conv + batch norm + activation blocks, max-pooling every 2 blocks.
- ``resnet``: basic residual blocks (two 3x3 convs), stride 2 and double width every 2 blocks.
- ``mobile``: MobileNet-v2-like inverted residuals (1x1 expand x2, 3x3 depthwise, 1x1 project).
- ``dense``: DenseNet-like, blocks of ``layers`` 3x3 convs of ``width`` (the growth rate) whose
  outputs are concatenated, each block followed by a 1x1 transition and average pooling.
- ``convmixer``: a patch embedding (conv of kernel = stride = ``patch``), then blocks of a
  residual depthwise conv (kernel 5) and a pointwise conv (Trockman & Kolter's ConvMixer).

Keys: ``depth`` (blocks), ``width`` (channels of the first block), ``act`` (relu, tanh, gelu),
``classes`` (outputs of the head), ``patch`` (convmixer), ``layers`` (dense). Every network has
``stem``, ``blocks`` (an ``nn.Sequential`` of :class:`Block`) and ``fc``, the classifier on
globally pooled features; :meth:`SmallConvNet.probe_layers` names the stem and the blocks for a
zoo entry's ``layers``. Inputs are 3-channel images of any size ≥ 16 px.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from modelrank.errors import ConfigError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
FAMILIES = ("plain", "resnet", "mobile", "dense", "convmixer")
_KEYS = {"depth", "width", "act", "classes", "patch", "layers"}


def parse_arch(spec: str) -> tuple[str, dict[str, Any]]:
    """(family, {key: value}) of ``FAMILY:key=value,...``; ConfigError when malformed."""
    family, _, rest = spec.partition(":")
    if family not in FAMILIES:
        raise ConfigError(f"architecture {spec!r}: family must be one of {', '.join(FAMILIES)}")
    out: dict[str, Any] = {
        "depth": 4,
        "width": 16,
        "act": "relu",
        "classes": 10,
        "patch": 2,
        "layers": 3,
    }
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key not in _KEYS:
            raise ConfigError(
                f"architecture {spec!r}: {item!r} is not key=value with a key in "
                f"{', '.join(sorted(_KEYS))}"
            )
        if key == "act":
            if value not in ACTIVATIONS:
                raise ConfigError(
                    f"architecture {spec!r}: act must be one of {', '.join(ACTIVATIONS)}"
                )
            out[key] = value
        elif not value.isdigit() or int(value) < 1:
            raise ConfigError(f"architecture {spec!r}: {key} must be a whole number ≥ 1")
        else:
            out[key] = int(value)
    return family, out


def _conv_bn(
    cin: int, cout: int, act: type[nn.Module], *, k: int = 3, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        act(),
    )


class _Residual(nn.Module):
    def __init__(
        self, body: nn.Module, shortcut: nn.Module | None = None, after: nn.Module | None = None
    ):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.after = after if after is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(self.body(x) + self.shortcut(x))


class _DenseBlock(nn.Module):
    def __init__(self, cin: int, growth: int, layers: int, act: type[nn.Module]):
        super().__init__()
        self.convs = nn.ModuleList([_conv_bn(cin + i * growth, growth, act) for i in range(layers)])
        cout = cin + layers * growth
        self.transition = nn.Sequential(
            nn.Conv2d(cout, cout // 2, 1, bias=False), nn.BatchNorm2d(cout // 2), act()
        )
        self.out_channels = cout // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = torch.cat([x, conv(x)], dim=1)
        return self.transition(x)


class Block(nn.Module):
    """One block: a module of its own (not a bare container), so that the probe's "blocks"
    layers are the blocks themselves, not the convolutions inside them."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.body = layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SmallConvNet(nn.Module):
    """stem → blocks → global average pool → fc; see the module docstring for the families."""

    def __init__(self, spec: str):
        super().__init__()
        family, p = parse_arch(spec)
        act, w, depth = ACTIVATIONS[p["act"]], p["width"], p["depth"]
        blocks: list[nn.Module] = []
        if family == "convmixer":
            self.stem = _conv_bn(3, w, act, k=p["patch"], stride=p["patch"])
            for _ in range(depth):
                blocks.append(
                    nn.Sequential(
                        _Residual(_conv_bn(w, w, act, k=5, groups=w)), _conv_bn(w, w, act, k=1)
                    )
                )
            c = w
        else:
            self.stem = _conv_bn(3, w, act)
            c = w
            for i in range(depth):
                down = i > 0 and i % 2 == 0  # halve the resolution every second block
                if family == "plain":
                    cout = c * 2 if down else c
                    blocks.append(
                        nn.Sequential(*([nn.MaxPool2d(2)] if down else []), _conv_bn(c, cout, act))
                    )
                elif family == "resnet":
                    cout, stride = (c * 2, 2) if down else (c, 1)
                    body = nn.Sequential(
                        _conv_bn(c, cout, act, stride=stride),
                        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                        nn.BatchNorm2d(cout),
                    )
                    short = (
                        None
                        if not down
                        else nn.Sequential(
                            nn.Conv2d(c, cout, 1, 2, bias=False), nn.BatchNorm2d(cout)
                        )
                    )
                    blocks.append(_Residual(body, short, act()))
                elif family == "mobile":
                    cout, stride = (c * 2, 2) if down else (c, 1)
                    body = nn.Sequential(
                        _conv_bn(c, 2 * c, act, k=1),
                        _conv_bn(2 * c, 2 * c, act, stride=stride, groups=2 * c),
                        nn.Conv2d(2 * c, cout, 1, bias=False),
                        nn.BatchNorm2d(cout),
                    )
                    blocks.append(_Residual(body) if cout == c and stride == 1 else body)
                else:  # dense
                    block = _DenseBlock(c, w, p["layers"], act)
                    cout = block.out_channels
                    blocks.append(nn.Sequential(block, *([nn.AvgPool2d(2)] if down else [])))
                c = cout
        self.blocks = nn.Sequential(*(Block(b) for b in blocks))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, p["classes"])
        self.family, self.params = family, p

    def probe_layers(self) -> list[str]:
        """The stem and every block, in depth order (what a zoo entry lists as its layers;
        "blocks" would descend into the blocks' own containers)."""
        return ["stem"] + [f"blocks.{i}" for i in range(len(self.blocks))]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(self.stem(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x))
