"""Hugging Face data sets: a saved directory gives the images of the ImageFolder it was made
from; columns found from the features or named; a Hub name offline is one line."""

import numpy as np
import pytest
from PIL import Image

from modelrank.data import load_target
from modelrank.errors import DatasetUnavailableError
from modelrank.ranking import ScoreOptions

datasets = pytest.importorskip("datasets")
CLASSES = ("cat", "dog", "owl")


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for c in CLASSES:
        (root / c).mkdir(parents=True)
        for i in range(7):
            Image.fromarray((rng.random((12, 12, 3)) * 255).astype(np.uint8)).save(
                root / c / f"{i:02d}.png"
            )
    return root


def _rows(folder):
    files = [f for c in CLASSES for f in sorted((folder / c).iterdir())]  # the folder's order
    return [str(f) for f in files], [CLASSES.index(f.parent.name) for f in files]


def test_a_saved_dataset_ranks_the_same_images_as_its_folder(folder, tmp_path):
    import modelrank
    from modelrank.zoo import parse_entry

    paths, labels = _rows(folder)
    feats = datasets.Features(
        {"img": datasets.Image(), "y": datasets.ClassLabel(names=list(CLASSES))}
    )
    ds = datasets.Dataset.from_dict({"img": paths, "y": labels}, features=feats)
    ds.save_to_disk(str(tmp_path / "saved"))
    a = load_target(str(folder), split="all", per_class=4, seed=3)
    b = load_target(str(tmp_path / "saved"), split="all", per_class=4, seed=3)
    assert b.class_names == list(CLASSES) == a.class_names and np.array_equal(a.labels, b.labels)
    for i in range(len(a)):
        assert np.array_equal(np.asarray(a.images[i]), np.asarray(b.images[i]))
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
    kw = dict(
        zoo=zoo,
        models="all",
        metrics=["knn", "logme"],
        options=ScoreOptions(cache_dir=tmp_path / "c"),
    )
    assert modelrank.rank(a, **kw).rows[0].raw == modelrank.rank(b, **kw).rows[0].raw
    # a class subset of it, as of any target
    sub = load_target(f"{tmp_path / 'saved'}[cat,owl]", split="all")
    assert sub.class_names == ["cat", "owl"] and len(sub) == 14


def test_splits_of_a_saved_dict_and_columns_named_by_hand(folder, tmp_path):
    paths, labels = _rows(folder)
    names = [CLASSES[y] for y in labels]
    ds = datasets.Dataset.from_dict(
        {"picture": paths, "kind": names},
        features=datasets.Features({"picture": datasets.Image(), "kind": datasets.Value("string")}),
    )
    dd = datasets.DatasetDict(
        {"train": ds.select(range(0, 21, 2)), "test": ds.select(range(1, 21, 2))}
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DatasetUnavailableError, match="no label column in its features"):
        load_target(str(tmp_path / "dd"), split="train")
    tr = load_target(str(tmp_path / "dd"), split="train", label_column="kind")
    assert len(tr) == 11 and tr.class_names == list(CLASSES)
    assert len(load_target(str(tmp_path / "dd"), split="all", label_column="kind")) == 21
    with pytest.raises(DatasetUnavailableError, match="has splits train, test, not 'val'"):
        load_target(str(tmp_path / "dd"), split="val", label_column="kind")
    with pytest.raises(DatasetUnavailableError, match="no column 'nope'"):
        load_target(str(tmp_path / "dd"), split="train", label_column="nope")


def test_a_hub_data_set_offline_and_not_cached_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "dcache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(
        DatasetUnavailableError,
        match=r"hf:beans: not loadable .* offline it must "
        r"be there already",
    ):
        load_target("hf:beans", split="train")


def test_the_cli_reads_a_saved_dataset_with_a_named_label_column(cli, folder, tmp_path):
    paths, labels = _rows(folder)
    ds = datasets.Dataset.from_dict(
        {"picture": paths, "kind": [CLASSES[y] for y in labels]},
        features=datasets.Features({"picture": datasets.Image(), "kind": datasets.Value("string")}),
    )
    ds.save_to_disk(str(tmp_path / "one"))
    zoo = tmp_path / "zoo.yaml"
    zoo.write_text(
        "models:\n  r: {source: torchvision, id: resnet18, weights: random, seed: 1, "
        "preprocess: {size: 32, resize: 32}}\n"
    )
    base = (
        "score",
        "--dataset",
        str(tmp_path / "one"),
        "--zoo",
        str(zoo),
        "--models",
        "r",
        "--split",
        "all",
        "--per-class",
        "5",
        "--stability",
        "0",
        "--db",
        str(tmp_path / "r.db"),
    )
    code, out, err = cli(
        *base, "--label-column", "kind", env_extra={"MODELRANK_CACHE": str(tmp_path / "c")}
    )
    assert code == 0, err
    assert "(all, 15 images, 3 classes)" in " ".join(out.split())  # the title may wrap
    code, _, err = cli(*base, env_extra={"MODELRANK_CACHE": str(tmp_path / "c")})
    assert code == 1 and "name it with the label column option" in err and "Traceback" not in err
