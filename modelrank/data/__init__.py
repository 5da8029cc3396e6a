"""Target datasets by name or path, with splits and per-class sampling recorded.

Names: ``digits`` (scikit-learn, offline, the default), ``shapes`` (generated offline), the
MNIST-format sets (``fashion-mnist`` — offline where a distribution package installed it —,
``mnist``, ``kmnist``; :mod:`modelrank.data.idx`) and the torchvision classification sets
(downloaded into the data directory when online; :mod:`modelrank.data.torchvision_sets`). Any other
argument that is a directory is read as an ImageFolder (:mod:`modelrank.data.folders`), a
``.csv`` / ``.parquet`` file as a manifest (:mod:`modelrank.data.manifest`), ``hf:NAME`` as a
Hugging Face data set (:mod:`modelrank.data.huggingface`). Any of them followed by
``[class,...]`` is that subset of its classes (:mod:`modelrank.data.class_subsets`).

The modules import one way: every loader imports :mod:`modelrank.data.target` (the
:class:`TargetData` they return and the pieces they share); :mod:`modelrank.data.loading` (the
registry of names, built once, and :func:`load_target`) imports the loaders.
"""

from modelrank.data.folders import folder_splits, load_image_folder
from modelrank.data.loading import DatasetInfo, load_target, registry
from modelrank.data.target import (
    IMAGE_SUFFIXES,
    MAX_PER_CLASS,
    LazyImages,
    TargetData,
    data_root,
    file_images,
    readable_files,
    sample_per_class,
    to_rgb,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PER_CLASS",
    "DatasetInfo",
    "LazyImages",
    "TargetData",
    "data_root",
    "file_images",
    "folder_splits",
    "load_image_folder",
    "load_target",
    "readable_files",
    "registry",
    "sample_per_class",
    "to_rgb",
]
