"""A CSV manifest of path,label rows: the same images as the ImageFolder it lists."""

import csv
import random

import numpy as np
import pytest
from PIL import Image

from modelrank.data import load_target
from modelrank.errors import DatasetUnavailableError
from modelrank.ranking import ScoreOptions


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for c in ("cat", "dog", "owl"):
        (root / c).mkdir(parents=True)
        for i in range(7):
            arr = (rng.random((12, 12, 3)) * 255).astype(np.uint8)
            Image.fromarray(arr).save(root / c / f"{i:02d}.png")
    return root


def _write(path, rows, header=("path", "label")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_a_manifest_samples_and_ranks_the_same_images_as_its_folder(folder, tmp_path):
    import modelrank

    rows = [
        (str((folder / c / f.name).relative_to(tmp_path)), c)
        for c in ("cat", "dog", "owl")
        for f in sorted((folder / c).iterdir())
    ]
    random.Random(1).shuffle(rows)  # any row order
    manifest = tmp_path / "list.csv"
    _write(manifest, rows, header=("Path", "Class"))
    a = load_target(str(folder), split="all", per_class=4, seed=3)
    b = load_target(str(manifest), split="all", per_class=4, seed=3)
    assert a.class_names == b.class_names == ["cat", "dog", "owl"]
    assert np.array_equal(a.labels, b.labels)
    for i in range(len(a)):
        assert np.array_equal(np.asarray(a.images[i]), np.asarray(b.images[i]))
    from modelrank.zoo import parse_entry

    zoo = {
        "r": parse_entry(
            "r",
            {
                "source": "torchvision",
                "id": "resnet18",
                "weights": "random",
                "seed": 1,
                "preprocess": {"size": 32, "resize": 32},
            },
        )
    }
    ra = modelrank.rank(
        a,
        zoo=zoo,
        models="all",
        metrics=["knn", "logme"],
        options=ScoreOptions(cache_dir=tmp_path / "c"),
    )
    rb = modelrank.rank(
        b,
        zoo=zoo,
        models="all",
        metrics=["knn", "logme"],
        options=ScoreOptions(cache_dir=tmp_path / "c"),
    )
    assert ra.rows[0].raw == rb.rows[0].raw


def test_a_split_column_selects_rows_and_bad_manifests_are_one_line(folder, tmp_path):
    rows = [
        (str(folder / c / f"{i:02d}.png"), c, "train" if i < 5 else "test")
        for c in ("cat", "dog", "owl")
        for i in range(7)
    ]
    m = tmp_path / "s.csv"
    _write(m, rows, header=("file", "label", "split"))
    assert (
        len(load_target(str(m), split="test")) == 6
        and len(load_target(str(m), split="train")) == 15
    )
    with pytest.raises(DatasetUnavailableError, match="has splits test, train, not 'val'"):
        load_target(str(m), split="val")
    bad = tmp_path / "bad.csv"
    _write(bad, [("x.png", "a")], header=("where", "label"))
    with pytest.raises(DatasetUnavailableError, match="has no path column"):
        load_target(str(bad))
    gone = tmp_path / "gone.csv"
    _write(gone, [("nowhere.png", "a")])
    with pytest.raises(DatasetUnavailableError, match="lists 'nowhere.png', which does not exist"):
        load_target(str(gone))
