"""Test-wide settings (offline, a private embedding cache, few threads) and the fixtures many
test files share: small zoo files and the command line in a subprocess."""

import os
import subprocess
import sys

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


#: Two random-weight ResNet-18s at 32 px (tag ``tiny``: scored in seconds, offline) and one whose
#: weights only the Hub has (tag ``hub``: skipped offline, with the reason).
TINY_ZOO = """
models:
  r18a: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}, tags: [tiny]}
  r18b: {source: torchvision, id: resnet18, weights: random, seed: 2, preprocess: {size: 32, resize: 32}, tags: [tiny]}
  hubonly: {source: timm, id: resnet18, weights: a1_in1k, tags: [hub]}
"""

#: Three random-weight ResNet-18s at 32 px, for fine-tuning and the executors.
RANDOM_ZOO = """
models:
  ra: {source: torchvision, id: resnet18, weights: random, seed: 1, preprocess: {size: 32, resize: 32}}
  rb: {source: torchvision, id: resnet18, weights: random, seed: 2, preprocess: {size: 32, resize: 32}}
  rc: {source: torchvision, id: resnet18, weights: random, seed: 3, preprocess: {size: 32, resize: 32}}
"""


@pytest.fixture
def tiny_zoo(tmp_path):
    """:data:`TINY_ZOO` as ``tmp_path/zoo.yaml``."""
    p = tmp_path / "zoo.yaml"
    p.write_text(TINY_ZOO)
    return p


@pytest.fixture
def random_zoo(tmp_path):
    """:data:`RANDOM_ZOO` as ``tmp_path/zoo.yaml``."""
    p = tmp_path / "zoo.yaml"
    p.write_text(RANDOM_ZOO)
    return p


def _run_cli(*args, env_extra=None, cwd=None):
    env = {**os.environ, "MODELRANK_OFFLINE": "1", "COLUMNS": "250", **(env_extra or {})}
    p = subprocess.run(
        [sys.executable, "-m", "modelrank.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def cli():
    """``cli(*args, env_extra=None, cwd=None) -> (exit code, stdout, stderr)``: the command line
    in a subprocess, offline, 250 columns wide."""
    return _run_cli
