"""The list of slow tests (tests/slow_tests.txt) names tests that exist, and the hook marks them."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_slow_test_exists():
    from tests.conftest import slow_ids

    listed = slow_ids()
    assert len(listed) >= 20
    for node in sorted(listed):
        path, _, name = node.partition("::")
        func = re.sub(r"\[.*\]$", "", name)
        source = ROOT / path
        assert source.is_file(), node
        assert re.search(rf"^def {re.escape(func)}\(", source.read_text(), re.M), (
            f"tests/slow_tests.txt names a test that does not exist: {node}"
        )


class _Item:
    def __init__(self, nodeid):
        self.nodeid, self.markers = nodeid, []

    def add_marker(self, marker):
        self.markers.append(marker.name)


def test_the_hook_marks_listed_tests_whatever_their_xdist_group():
    from tests.conftest import pytest_collection_modifyitems, slow_ids

    some = sorted(slow_ids())[0]
    items = [_Item(some + "@ray"), _Item(some), _Item("tests/test_x.py::test_fast")]
    pytest_collection_modifyitems(None, items)
    assert [i.markers for i in items] == [["slow"], ["slow"], []]
    assert pytest.mark.slow.name == "slow"
