"""Target data: digits, shapes, ImageFolder directories, sampling, offline behaviour."""

import numpy as np
import pytest
from PIL import Image

from modelrank.data import load_target, sample_per_class
from modelrank.errors import DatasetUnavailableError, UnknownDatasetError


def test_digits_splits_are_disjoint_stratified_and_cover_the_set():
    tr, te, al = (load_target("digits", split=s) for s in ("train", "test", "all"))
    assert len(al) == 1797 and len(tr) + len(te) == 1797
    assert np.all(np.abs(np.bincount(tr.labels) / len(tr) - np.bincount(al.labels) / 1797) < 0.01)
    assert tr.images[0].size == (8, 8)
    from collections import Counter

    from sklearn.datasets import load_digits

    d = load_digits()
    truth = Counter(
        (np.clip(im * 255 / 16, 0, 255).astype(np.uint8).tobytes(), int(y))
        for im, y in zip(d.images, d.target)
    )
    got = Counter(
        (np.asarray(t.images[i]).tobytes(), int(t.labels[i]))
        for t in (tr, te)
        for i in range(len(t))
    )
    assert got == truth  # train + test is exactly the data set, image by image


def test_per_class_sampling_is_seeded_and_recorded():
    a = load_target("digits", per_class=7, seed=3)
    b = load_target("digits", per_class=7, seed=3)
    c = load_target("digits", per_class=7, seed=4)
    assert np.array_equal(a.indices, b.indices) and not np.array_equal(a.indices, c.indices)
    assert np.all(np.bincount(a.labels) == 7)
    assert a.recipe()["per_class"] == 7 and a.recipe()["seed"] == 3
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_sample_per_class_keeps_small_classes_whole():
    y = np.array([0] * 10 + [1] * 2)
    idx = sample_per_class(y, 5, 0)
    assert np.bincount(y[idx]).tolist() == [5, 2]


def test_shapes_target_is_deterministic():
    a, b = load_target("shapes", split="test"), load_target("shapes", split="test")
    assert len(a) == 320 and a.num_classes == 8
    assert np.array_equal(np.asarray(a.images[17]), np.asarray(b.images[17]))


def _folder(tmp_path, counts, corrupt=0):
    rng = np.random.default_rng(0)
    for c, n in counts.items():
        d = tmp_path / c
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(d / f"{i}.png")
    for i in range(corrupt):
        (tmp_path / next(iter(counts)) / f"bad{i}.jpg").write_bytes(b"not an image at all")
    return tmp_path


def test_image_folder_reads_classes_and_skips_corrupt_files(tmp_path):
    root = _folder(tmp_path, {"cat": 4, "dog": 3}, corrupt=2)
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        t = load_target(str(root), split="all")
    assert t.class_names == ["cat", "dog"] and len(t) == 7 and len(t.skipped) == 2
    assert t.images[0].mode == "RGB" and t.recipe()["skipped"] == 2


def test_image_folder_with_an_empty_class_is_an_error(tmp_path):
    root = _folder(tmp_path, {"cat": 3})
    (root / "dog").mkdir()
    with pytest.raises(DatasetUnavailableError, match="class 'dog' has no images"):
        load_target(str(root), split="all")


def test_a_class_with_one_image_is_an_error(tmp_path):
    root = _folder(tmp_path, {"cat": 3, "dog": 1})
    with pytest.raises(DatasetUnavailableError, match="'dog' has 1 image"):
        load_target(str(root), split="all")


def test_unknown_dataset_and_bad_split():
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'nope'"):
        load_target("nope")
    with pytest.raises(DatasetUnavailableError, match="splits train, test, all"):
        load_target("digits", split="validation")


def test_torchvision_set_offline_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="could not be downloaded|downloading is off"):
        load_target("dtd", split="train")
    with pytest.raises(DatasetUnavailableError, match="downloading is off"):
        load_target("cifar10", split="train", download=False)


def test_a_failed_download_names_the_layout_and_leaves_no_empty_directory(tmp_path, monkeypatch):
    """Issue 30, item 7: the error says which torchvision call writes the files and where; the
    attempt's empty directories are removed."""
    root = tmp_path / "data" / "here"
    monkeypatch.setenv("MODELRANK_DATA", str(root))
    with pytest.raises(DatasetUnavailableError) as info:
        load_target("cifar10", split="train", download=False)
    msg = str(info.value)
    assert f"torchvision.datasets.CIFAR10(root='{root}', train=True, download=True)" in msg
    assert "in the same layout" in msg
    assert not (tmp_path / "data").exists()  # nothing left behind
    keep = tmp_path / "kept"
    (keep / "note.txt").parent.mkdir()
    (keep / "note.txt").write_text("x")
    monkeypatch.setenv("MODELRANK_DATA", str(keep))
    with pytest.raises(DatasetUnavailableError):
        load_target("cifar10", split="train", download=False)
    assert (keep / "note.txt").is_file()  # a directory that was there stays


# ---------------------------------------------------------------- splits of image folders


def _split_folder(tmp_path, layout):
    """layout: {split: {class: n_images}} under tmp_path/<split>/<class>/."""
    for split, counts in layout.items():
        _folder(tmp_path / split, counts)
    return tmp_path


def test_split_folder_reads_one_split_and_never_takes_splits_for_classes(tmp_path):
    root = _split_folder(tmp_path, {"train": {"cat": 4, "dog": 3}, "test": {"cat": 2, "dog": 2}})
    train = load_target(str(root), split="train")
    assert train.class_names == ["cat", "dog"] and len(train) == 7 and train.split == "train"
    test = load_target(str(root), split="test")
    assert test.class_names == ["cat", "dog"] and len(test) == 4
    both = load_target(str(root), split="all")
    assert both.class_names == ["cat", "dog"] and len(both) == 11 and both.split == "all"
    assert np.bincount(both.labels).tolist() == [6, 5]
    assert len({train.fingerprint(), test.fingerprint(), both.fingerprint()}) == 3


def test_a_split_the_folder_does_not_have_is_an_error(tmp_path):
    root = _split_folder(tmp_path, {"train": {"cat": 3, "dog": 3}, "test": {"cat": 2, "dog": 2}})
    with pytest.raises(DatasetUnavailableError, match="has splits train, test, not 'tran'"):
        load_target(str(root), split="tran")
    flat = _folder(tmp_path / "flat", {"cat": 3, "dog": 3})
    with pytest.raises(DatasetUnavailableError, match="no split directories"):
        load_target(str(flat), split="test")
    assert load_target(str(flat), split="train").split == "all"  # the whole flat folder


def test_split_directories_beside_class_directories_are_refused(tmp_path):
    root = _split_folder(tmp_path, {"train": {"cat": 3, "dog": 3}})
    _folder(tmp_path / "bird", {"x": 2})
    with pytest.raises(DatasetUnavailableError, match="mixes split directories"):
        load_target(str(root), split="train")


# ---------------------------------------------------------------- image files


def test_a_truncated_jpeg_is_skipped_with_a_warning_that_names_it(tmp_path):
    root = _folder(tmp_path, {"cat": 3, "dog": 3})
    rng = np.random.default_rng(1)
    good = tmp_path / "cat" / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good, quality=95)
    cut = tmp_path / "dog" / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with Image.open(cut) as im:
        im.verify()  # the header is intact: verify() alone does not see the damage
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file.*cut\.jpg"):
        t = load_target(str(root), split="all")
    assert len(t) == 7 and t.skipped == [str(cut)]
    assert all(t.images[i].size for i in range(len(t)))  # every kept image decodes


@pytest.mark.parametrize("bits", [16, 8])
def test_deep_grey_pngs_are_scaled_not_clipped(tmp_path, bits):
    ramp = np.linspace(0, 1, 64).reshape(8, 8)
    if bits == 16:
        arr = np.rint(ramp * 65535).astype(np.uint16)
        Image.fromarray(arr).save(tmp_path / "x.png")
    else:
        Image.fromarray(np.rint(ramp * 255).astype(np.uint8)).save(tmp_path / "x.png")
    from modelrank.data import to_rgb

    with Image.open(tmp_path / "x.png") as im:
        got = np.asarray(to_rgb(im))
    assert got.shape == (8, 8, 3) and got.dtype == np.uint8
    np.testing.assert_allclose(got[..., 0], np.rint(ramp * 255), atol=1)  # a ramp, not white


def test_evaluate_splits_of_a_folder_never_test_on_training_images(tmp_path):
    from modelrank.errors import ConfigError
    from modelrank.finetuning import load_splits

    flat = _folder(tmp_path / "flat", {"cat": 4, "dog": 4})
    with pytest.raises(ConfigError, match="needs a train split and a test"):
        load_splits(str(flat), None, 0, 0.2)
    only_train = _split_folder(tmp_path / "t", {"train": {"cat": 4, "dog": 4}})
    with pytest.raises(ConfigError, match=r"it has train\)"):
        load_splits(str(only_train), None, 0, 0.2)
    ok = _split_folder(
        tmp_path / "ok", {"train": {"cat": 5, "dog": 5}, "test": {"cat": 2, "dog": 3}}
    )
    train, val, test, carve = load_splits(str(ok), None, 0, 0.2)
    assert (train.split, test.split, len(test)) == ("train", "test", 5) and carve is not None
    assert set(train.source.split("/")[-1:]) == {"train"} and test.source.endswith("/test")
    with_val = _split_folder(
        tmp_path / "v",
        {"train": {"a": 4, "b": 4}, "valid": {"a": 2, "b": 2}, "test": {"a": 2, "b": 2}},
    )
    train, val, test, carve = load_splits(str(with_val), None, 0, 0.2)
    assert (val.split, test.split, carve) == ("valid", "test", None)


def test_train_and_test_classes_must_match_by_name(tmp_path):
    from modelrank.errors import ConfigError
    from modelrank.finetuning import load_splits

    root = _split_folder(
        tmp_path, {"train": {"ant": 4, "bee": 4, "cat": 4}, "test": {"bee": 2, "cat": 2}}
    )  # indices would shift by one
    with pytest.raises(
        ConfigError, match="test split's classes differ from train's; not in test: ant"
    ):
        load_splits(str(root), None, 0, 0.2)


def test_joined_splits_are_the_union_sampled_after_joining():
    from collections import Counter

    tr, te = load_target("digits", split="train"), load_target("digits", split="test")
    both = load_target("digits", split="train+test")
    assert len(both) == len(tr) + len(te) and both.split == "train+test"
    got = Counter(np.asarray(both.images[i]).tobytes() for i in range(len(both)))
    want = Counter(np.asarray(d.images[i]).tobytes() for d in (tr, te) for i in range(len(d)))
    assert got == want
    few = load_target("digits", split="train+test", per_class=3, seed=2)
    assert np.all(np.bincount(few.labels) == 3) and few.fingerprint() != both.fingerprint()
    with pytest.raises(DatasetUnavailableError, match="distinct split names"):
        load_target("digits", split="train+train")
    with pytest.raises(DatasetUnavailableError, match="splits"):
        load_target("digits", split="train+nope")


@pytest.mark.parametrize(
    "name, split, message",
    [
        ("country211", "valid", "country211 is not in"),
        ("imagenette", "val", "imagenette is not in"),
        ("fer2013", "test", "FER-2013 is on Kaggle only"),
        ("pcam", "val", "pcam"),  # "needs h5py" without it, "is not in" with it
    ],
)
def test_the_vtab_style_sets_are_registered_and_offline_are_one_line(
    name, split, message, tmp_path, monkeypatch
):
    from modelrank.data import registry
    from modelrank.errors import DatasetUnavailableError

    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    monkeypatch.setenv("MODELRANK_OFFLINE", "1")
    assert split in registry()[name].splits
    with pytest.raises(DatasetUnavailableError, match=message) as exc:
        load_target(name, split=split, download=False)
    assert "\n" not in str(exc.value)


def test_the_recipe_records_the_images_per_class_actually_held(tmp_path):
    """Issue 30, item 3: --per-class 100 on a folder of 4 images a class is recorded as 4, with
    what was asked beside it."""
    from PIL import Image

    from modelrank.data import load_target

    rng = np.random.default_rng(0)
    for c in ("a", "b", "c"):
        (tmp_path / c).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
                tmp_path / c / f"{i}.png"
            )
    rec = load_target(str(tmp_path), per_class=100).recipe()
    assert rec["per_class"] == 4 and rec["per_class_requested"] == 100 and rec["n_images"] == 12
    rec = load_target(str(tmp_path), per_class=3).recipe()
    assert rec["per_class"] == 3 and "per_class_requested" not in rec
    assert "per_class_requested" not in load_target(str(tmp_path)).recipe()
