"""The MNIST-format sets: Fashion-MNIST from the system's files, our IDX reader against
torchvision's, and one-line errors when the files are nowhere."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from modelrank.data import load_target, registry
from modelrank.data.idx import IDX_FILES, locate, read_idx
from modelrank.errors import DatasetUnavailableError

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
needs_fmnist = pytest.mark.skipif(
    locate("fashion-mnist", Path("/nonexistent")) is None,
    reason="Fashion-MNIST is not installed (Debian: apt install dataset-fashion-mnist)",
)


@needs_fmnist
def test_fashion_mnist_is_the_official_data_set_read_as_torchvision_reads_it(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    where = locate("fashion-mnist", Path("/nonexistent"))
    for split, (img, lab) in IDX_FILES.items():
        raw = {}
        for stem in (img, lab):  # torchvision's reader wants the uncompressed files
            src = where / stem if (where / stem).is_file() else where / f"{stem}.gz"
            raw[stem] = tmp_path / stem
            with (
                gzip.open(src) if src.suffix == ".gz" else open(src, "rb") as f,
                open(raw[stem], "wb") as g,
            ):
                shutil.copyfileobj(f, g)
        d = load_target("fashion-mnist", split=split)
        tv_images = read_image_file(str(raw[img])).numpy()
        tv_labels = read_label_file(str(raw[lab])).numpy()
        assert len(d) == {"train": 60000, "test": 10000}[split] == tv_labels.shape[0]
        assert np.array_equal(d.labels, tv_labels)
        for i in (0, 1, 12345 % len(d), len(d) - 1):
            assert np.array_equal(np.asarray(d.images[i]), tv_images[i])
        # the official set is balanced: 6,000 / 1,000 images of each of the 10 classes
        assert np.all(np.bincount(d.labels) == len(d) // 10)
    train = load_target("fashion-mnist", split="train")
    # the first ten training labels of the official files (ankle boot, T-shirt, T-shirt, dress...)
    assert train.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert train.class_names[9] == "Ankle boot" and train.images[0].size == (28, 28)
    assert train.recipe()["source"].startswith("idx:")


@needs_fmnist
def test_fashion_mnist_is_listed_as_available_offline():
    from modelrank.availability import dataset_status

    assert dataset_status(registry()["fashion-mnist"]).startswith("yes (")


def _write_idx(path: Path, arr: np.ndarray, *, gz: bool) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open(path, "wb") if gz else open(path, "wb")).write(data)


def test_idx_files_in_the_data_dir_are_found_in_torchvisions_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    raw = tmp_path / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 30)):
        img, lab = IDX_FILES[split]
        _write_idx(raw / img, rng.integers(0, 256, (n, 28, 28)), gz=split == "train")
        _write_idx(raw / (lab + ".gz"), np.arange(n) % 10, gz=True)
    d = load_target("kmnist", split="test", per_class=2)
    assert len(d) == 20 and d.class_names[0] == "o" and d.source == f"idx:{raw}"
    want = read_idx(raw / IDX_FILES["test"][0])[d.indices[3]]
    assert np.array_equal(np.asarray(d.images[3]), want)


def test_damaged_or_missing_idx_files_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="mnist is not in .*downloading is off"):
        load_target("mnist")
    bad = tmp_path / "x-idx1-ubyte"
    bad.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9]) + b"\x01\x02")  # says 9 bytes, has 2
    with pytest.raises(DatasetUnavailableError, match="truncated or damaged"):
        read_idx(bad)
    bad.write_bytes(b"PNG\x00....")
    with pytest.raises(DatasetUnavailableError, match="not an IDX file"):
        read_idx(bad)


def test_new_torchvision_sets_are_registered_and_fail_offline_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    reg = registry()
    for name in ("mnist", "kmnist", "svhn", "gtsrb", "eurosat"):
        assert name in reg
    with pytest.raises(DatasetUnavailableError, match="eurosat is not in"):
        load_target("eurosat", download=False)


@needs_fmnist
def test_score_runs_on_fashion_mnist_offline(cli, tmp_path):
    rc, out, err = cli(
        "score",
        "--dataset",
        "fashion-mnist",
        "--models",
        "efficientnet_lite0",
        "--per-class",
        "2",
        "--metric",
        "knn",
        "--db",
        str(tmp_path / "r.db"),
        env_extra={"MODELRANK_CACHE": str(tmp_path / "cache")},
    )
    assert rc == 0, err
    assert "fashion-mnist (train, 20 images, 10" in out and "efficientnet_lite0" in out


def test_a_failed_download_is_one_line_and_restores_the_socket_timeout(tmp_path, monkeypatch):
    import socket
    import urllib.error

    import torchvision.datasets as tvd

    def offline(*_, **__):
        assert socket.getdefaulttimeout() == 30  # a dead network fails fast, not never
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path))
    monkeypatch.delenv("MODELRANK_OFFLINE", raising=False)  # the download is faked below
    monkeypatch.setattr(tvd, "KMNIST", offline)
    before = socket.getdefaulttimeout()
    with pytest.raises(
        DatasetUnavailableError,
        match=r"kmnist is not in .* and could not be "
        r"downloaded \(<urlopen error .*name resolution>\); are you offline\? "
        r"Put its four IDX files there or set MODELRANK_DATA",
    ):
        load_target("kmnist", download=True)
    assert socket.getdefaulttimeout() == before
