"""Test-wide settings: offline, a private embedding cache, few threads."""

import os

import pytest

os.environ.setdefault("MODELRANK_OFFLINE", "1")  # behave the same with or without a network
os.environ.setdefault("OMP_NUM_THREADS", "1")  # pytest -n 2 on 2 cores: one thread per worker

import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MODELRANK_CACHE", str(tmp_path_factory.getbasetemp() / "embeddings"))
    monkeypatch.setenv("MODELRANK_DATA", str(tmp_path_factory.getbasetemp() / "data"))
    monkeypatch.setenv("MODELRANK_DB", str(tmp_path_factory.getbasetemp() / "results.sqlite"))


#: Node ids of the tests measured as slow (their file says how); marked `slow`, so that
#: `pytest -m "not slow"` is the fast subset README names.
SLOW_LIST = os.path.join(os.path.dirname(__file__), "slow_tests.txt")


def slow_ids() -> set[str]:
    with open(SLOW_LIST, encoding="utf-8") as f:
        return {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}


def pytest_collection_modifyitems(config, items):
    slow = slow_ids()
    for item in items:
        if item.nodeid.split("@")[0] in slow:  # "@group": pytest-xdist's loadgroup suffix
            item.add_marker(pytest.mark.slow)
