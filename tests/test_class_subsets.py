"""Targets made of some classes of a data set: NAME[class,...]."""

import numpy as np
import pytest
from PIL import Image

from modelrank.data import load_target
from modelrank.data.class_subsets import split_target
from modelrank.errors import UnknownDatasetError


def test_a_subset_is_exactly_the_images_of_those_classes_relabelled_in_order():
    whole = load_target("digits", split="test")
    sub = load_target("digits[7,2,4]", split="test")
    keep = np.flatnonzero(np.isin(whole.labels, [2, 4, 7]))
    assert sub.class_names == ["2", "4", "7"] and len(sub) == keep.size
    assert np.array_equal(sub.indices, keep)  # positions in the whole split
    assert np.array_equal(sub.labels, np.searchsorted([2, 4, 7], whole.labels[keep]))
    for i in (0, 5, len(sub) - 1):
        assert np.array_equal(np.asarray(sub.images[i]), np.asarray(whole.images[int(keep[i])]))
    assert sub.recipe()["classes"] == ["2", "4", "7"] and sub.recipe()["dataset"] == "digits[7,2,4]"
    assert "classes" not in whole.recipe()


def test_indices_ranges_and_names_mean_the_same_classes_and_sampling_comes_after():
    a = load_target("digits[0-2]", per_class=5, seed=1)
    b = load_target("digits[0,1,2]", per_class=5, seed=1)
    assert np.array_equal(a.indices, b.indices) and np.all(np.bincount(a.labels) == 5)
    # the name is part of the fingerprint, and so of every cache key
    assert a.fingerprint() != b.fingerprint() != load_target("digits", per_class=5).fingerprint()


def test_named_groups_and_folder_subsets(tmp_path):
    for c in ("cat", "dog", "eel"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (4, 4), (i * 40, 0, 0)).save(tmp_path / c / f"{i}.png")
    d = load_target(f"{tmp_path}[eel,cat]", split="all")
    assert d.class_names == ["cat", "eel"] and len(d) == 6
    from modelrank.data.class_subsets import CLASS_GROUPS

    assert CLASS_GROUPS["fashion-mnist"]["upper-body"] == (
        "T-shirt/top",
        "Pullover",
        "Coat",
        "Shirt",
    )


@pytest.mark.parametrize(
    "spec, why",
    [
        ("digits[]", "at least one class"),
        ("digits[1,,2]", "no empty item"),
        ("digits[3]", "at least 2 classes"),
        ("digits[1,1]", "more than once"),
        ("digits[10]", "'10' is not a class of digits"),
        ("digits[4-1]", "'4-1' is not a class"),
        ("digits[1,2", "one pair of brackets at the end"),
    ],
)
def test_bad_subsets_are_one_line_errors(spec, why):
    with pytest.raises(UnknownDatasetError, match=why.replace("(", r"\(")):
        load_target(spec)


def test_split_target():
    assert split_target("digits") == ("digits", None)
    assert split_target("fashion-mnist[ Coat , Shirt ]") == ("fashion-mnist", ["Coat", "Shirt"])


def test_cli_keeps_the_brackets_in_tables_and_errors(cli, tmp_path):
    rc, out, err = cli(
        "score",
        "--dataset",
        "digits[0-3]",
        "--models",
        "efficientnet_lite0",
        "--per-class",
        "3",
        "--metric",
        "knn",
        "--db",
        str(tmp_path / "r.db"),
    )
    assert rc == 0, err
    assert "digits[0-3] (train, 12 images, 4" in out
    rc, out, err = cli(
        "score",
        "--dataset",
        "digits[ten]",
        "--models",
        "efficientnet_lite0",
        "--db",
        str(tmp_path / "r.db"),
    )
    assert rc == 1 and "target 'digits[ten]': 'ten' is not a class of digits" in err
    assert "Traceback" not in err
