"""A model zoo trained here: many small convnets pre-trained on a source task, so that transfer
can be studied over far more architectures than any published pool, with no network.

:data:`RECIPES` names the zoos. ``fmnist``: 25 networks of the five :mod:`modelrank.small_convnets`
families (5 each), varying depth, width, activation (ReLU, tanh, GELU) and training length,
pre-trained on Fashion-MNIST's first five classes (T-shirt/top, Trouser, Pullover, Dress, Coat;
the official train split, 30,000 images at 32 px), for transfer to other targets (its last five
classes, digits, shapes).

:func:`build_zoo` trains every network of a recipe (deterministic for a seed: each network's seed
is derived from the recipe seed and its name, and it trains with :data:`BUILD_THREADS` torch
threads whatever the machine has, since the thread count changes the sums), saves each state
dict as soon as it is trained (a killed build resumes with the next network), measures its
source-task test accuracy, and writes a zoo file (``zoo.yaml``) that every command accepts with
``--zoo``. :func:`built_zoo_path` builds it when it is missing.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import yaml

from modelrank import cpu_runtime
from modelrank.data import load_target
from modelrank.errors import ConfigError
from modelrank.float_order import fixed_float_order
from modelrank.util.digest import digest
from modelrank.util.paths import cache_root
from modelrank.util.writable import write_atomically


@dataclass(frozen=True)
class Net:
    """One network of a recipe: its name, architecture string and training steps."""

    name: str
    arch: str
    steps: int


@dataclass(frozen=True)
class Recipe:
    """A trained zoo: the source task, the input size, the optimiser budget and the networks."""

    source: str
    image_size: int
    batch_size: int
    lr: float
    weight_decay: float
    nets: tuple[Net, ...]


def _fmnist_nets() -> tuple[Net, ...]:
    rows = [
        # family, depth, width, activation, steps, extra
        ("plain", 4, 16, "relu", 400, ""),
        ("plain", 4, 32, "tanh", 800, ""),
        ("plain", 6, 16, "gelu", 800, ""),
        ("plain", 6, 32, "relu", 200, ""),
        ("plain", 8, 24, "relu", 800, ""),
        ("resnet", 2, 16, "relu", 400, ""),
        ("resnet", 4, 32, "gelu", 800, ""),
        ("resnet", 4, 16, "tanh", 400, ""),
        ("resnet", 6, 24, "relu", 800, ""),
        ("resnet", 6, 16, "gelu", 200, ""),
        ("mobile", 4, 16, "relu", 400, ""),
        ("mobile", 6, 24, "gelu", 800, ""),
        ("mobile", 6, 16, "tanh", 400, ""),
        ("mobile", 8, 16, "relu", 800, ""),
        ("mobile", 4, 32, "gelu", 200, ""),
        ("dense", 2, 12, "relu", 400, "layers=3"),
        ("dense", 4, 12, "gelu", 800, "layers=3"),
        ("dense", 4, 8, "tanh", 400, "layers=4"),
        ("dense", 4, 16, "relu", 800, "layers=2"),
        ("dense", 6, 8, "gelu", 200, "layers=2"),
        ("convmixer", 4, 32, "gelu", 400, "patch=2"),
        ("convmixer", 6, 32, "relu", 800, "patch=2"),
        ("convmixer", 4, 48, "tanh", 400, "patch=4"),
        ("convmixer", 8, 48, "gelu", 800, "patch=4"),
        ("convmixer", 6, 64, "relu", 200, "patch=4"),
    ]
    nets = []
    for family, depth, width, act, steps, extra in rows:
        arch = f"{family}:depth={depth},width={width},act={act},classes=5" + (
            f",{extra}" if extra else ""
        )
        nets.append(Net(f"{family}-d{depth}-w{width}-{act}-s{steps}", arch, steps))
    return tuple(nets)


RECIPES: dict[str, Recipe] = {
    "fmnist": Recipe(
        source="fashion-mnist[first-five]",
        image_size=32,
        batch_size=64,
        lr=0.05,
        weight_decay=5e-4,
        nets=_fmnist_nets(),
    ),
}


def zoo_dir(name: str, seed: int, root: str | Path | None = None) -> Path:
    """Where a built zoo lives: ``ROOT/zoos/<name>-seed<seed>`` (ROOT: the embedding cache)."""
    base = Path(root) if root is not None else cache_root()
    return base / "zoos" / f"{name}-seed{seed}"


#: Source-task test images per class behind ``source_top1`` (1,000 for 5 classes: ±1.3 points).
SOURCE_TEST_PER_CLASS = 200


def _source_tensors(recipe: Recipe, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, S, S) float images normalised to [-1, 1] (mean = std = 0.5) and (n,) labels:
    the whole train split, or :data:`SOURCE_TEST_PER_CLASS` test images of each class (seed 0);
    remembered per process, read-only to callers."""
    return _tensors(recipe.source, recipe.image_size, split)


@functools.lru_cache(maxsize=2)
def _tensors(source: str, size: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:

    d = load_target(
        source, split=split, per_class=None if split == "train" else SOURCE_TEST_PER_CLASS
    )
    pix = np.stack([np.asarray(d.images[i].convert("L")) for i in range(len(d))])
    x = torch.from_numpy(pix).float().div_(255.0).unsqueeze(1)
    x = torch.nn.functional.interpolate(x, size=(size,) * 2, mode="bilinear", align_corners=False)
    return x.sub_(0.5).div_(0.5).expand(-1, 3, -1, -1).contiguous(), torch.from_numpy(d.labels)


def train_net(
    net: Net,
    recipe: Recipe,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    seed: int,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.nn.Module:
    """SGD (Nesterov momentum 0.9, cosine schedule, ``recipe`` lr and weight decay) for
    ``net.steps`` steps of ``recipe.batch_size`` images drawn without replacement per epoch."""
    from modelrank.small_convnets import SmallConvNet

    torch.manual_seed(seed)
    model = SmallConvNet(net.arch).train()
    opt = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=0.9,
        nesterov=True,
        weight_decay=recipe.weight_decay,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=net.steps)
    gen = torch.Generator().manual_seed(seed)
    order, pos = torch.randperm(x.shape[0], generator=gen), 0
    for step in range(net.steps):
        if pos + recipe.batch_size > order.numel():
            order, pos = torch.randperm(x.shape[0], generator=gen), 0
        idx = order[pos : pos + recipe.batch_size]
        pos += recipe.batch_size
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        if not torch.isfinite(loss):
            raise ConfigError(f"training {net.name} diverged at step {step} (loss {loss.item()})")
        loss.backward()
        opt.step()
        sched.step()
        if on_step:
            on_step(step + 1, net.steps)
    return model.eval()


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    pred = torch.cat([model(x[i : i + 512]).argmax(1) for i in range(0, x.shape[0], 512)])
    return float((pred == y).float().mean()) * 100.0


#: Torch threads every network of a trained zoo is trained with (the zoos committed so far were
#: built with 2, the default of the 2-core machines they were measured on).
BUILD_THREADS = 2


def build_zoo(
    name: str = "fmnist",
    *,
    seed: int = 0,
    root: str | Path | None = None,
    nets: int | None = None,
    steps: int | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Train the recipe's networks and write the zoo; returns the path of the zoo file.

    Args:
        nets: only the first ``nets`` networks (a trial build).
        steps: train every network this many steps instead of its own (a trial build).

    A network whose state dict and record are already there (same architecture, steps, seed,
    recipe and build threads) is not trained again.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)
    if name not in RECIPES:
        raise ConfigError(f"unknown trained zoo {name!r}; known: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    chosen = recipe.nets if nets is None else recipe.nets[:nets]
    if steps is not None:
        chosen = tuple(Net(n.name, n.arch, steps) for n in chosen)
    out = zoo_dir(name, seed, root)
    (out / "weights").mkdir(parents=True, exist_ok=True)
    records_path = out / "records.json"
    records = json.loads(records_path.read_text()) if records_path.is_file() else {}
    x_tr = y_tr = x_te = y_te = None
    for i, net in enumerate(chosen):
        key = digest(
            {
                "net": net.arch,
                "steps": net.steps,
                "seed": seed,
                "recipe": [
                    recipe.source,
                    recipe.image_size,
                    recipe.batch_size,
                    recipe.lr,
                    recipe.weight_decay,
                ],
                "threads": BUILD_THREADS,
            },
            16,
        )
        weights = out / "weights" / f"{net.name}.pt"
        if records.get(net.name, {}).get("key") == key and weights.is_file():
            continue
        if x_tr is None:
            x_tr, y_tr = _source_tensors(recipe, "train")
            x_te, y_te = _source_tensors(recipe, "test")
        net_seed = int(digest({"seed": seed, "net": net.name}, 8), 16)
        with fixed_float_order(BUILD_THREADS):
            model = train_net(
                net,
                recipe,
                x_tr,
                y_tr,
                seed=net_seed,
                on_step=(lambda d, t, n=net.name: on_progress(f"train {n}", d, t))
                if on_progress
                else None,
            )
        # Saved through memory: torch.save names the archive inside the file after the file it
        # writes, and the temporary file's name is random, so the bytes (and the content digest
        # that keys results of these weights, ZooEntry.recipe) would differ from build to build.
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        write_atomically(weights, lambda p, data=buf.getvalue(): p.write_bytes(data))
        records[net.name] = {
            "key": key,
            "arch": net.arch,
            "steps": net.steps,
            "seed": net_seed,
            "source_top1": round(accuracy(model, x_te, y_te), 2),
            "params": sum(p.numel() for p in model.parameters()),
        }
        write_atomically(records_path, lambda p: p.write_text(json.dumps(records, indent=1)))
        if on_progress:
            on_progress("networks", i + 1, len(chosen))
    return write_zoo_file(name, recipe, chosen, records, out)


def write_zoo_file(name: str, recipe: Recipe, nets, records: dict, out: Path) -> Path:
    """``out/zoo.yaml`` listing the trained networks with their source-task accuracy."""
    from modelrank.small_convnets import SmallConvNet

    models = {}
    for net in nets:
        rec = records[net.name]
        family, act = net.arch.split(":")[0], net.arch.split("act=")[1].split(",")[0]
        models[net.name] = {
            "source": "file",
            "id": f"modelrank:{net.arch}",
            "weights": str((out / "weights" / f"{net.name}.pt").resolve()),
            "layers": SmallConvNet(net.arch).probe_layers(),
            "source_top1": rec["source_top1"],
            "tags": [family, act, "trained"],
        }
    doc = {
        "defaults": {
            "preprocess": {
                "size": recipe.image_size,
                "resize": recipe.image_size,
                "mean": [0.5] * 3,
                "std": [0.5] * 3,
                "interpolation": "bilinear",
            }
        },
        "models": models,
    }
    header = (
        f"# Generated by `modelrank zoo build {name}`: {len(models)} small convnets "
        f"pre-trained on {recipe.source} ({recipe.image_size} px); source_top1 = their test "
        "accuracy there (%).\n"
    )
    path = out / "zoo.yaml"
    write_atomically(path, lambda p: p.write_text(header + yaml.safe_dump(doc, sort_keys=False)))
    return path


def built_zoo_path(
    spec: str,
    *,
    root: str | Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """The zoo file of ``trained:NAME`` (or ``trained:NAME:SEED``), built when missing."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[0] != "trained" or parts[1] not in RECIPES:
        raise ConfigError(
            f"a trained zoo is written trained:NAME[:SEED] with NAME one of "
            f"{', '.join(RECIPES)}, got {spec!r}"
        )
    seed = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 0
    path = zoo_dir(parts[1], seed, root) / "zoo.yaml"
    if path.is_file() and _complete(path, parts[1]):
        return path
    return build_zoo(parts[1], seed=seed, root=root, on_progress=on_progress)


def _complete(path: Path, name: str) -> bool:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    have = set((doc or {}).get("models") or {})
    return have >= {n.name for n in RECIPES[name].nets} and all(
        Path(m["weights"]).is_file() for m in doc["models"].values()
    )
