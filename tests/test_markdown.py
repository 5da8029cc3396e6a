"""The one Markdown table writer (modelrank/markdown.py)."""

import pytest

from modelrank.util.markdown import table


def test_the_markdown_table_writer_escapes_cells_and_checks_widths():
    lines = table(["a", "b|c"], [[1, "x|y"], ["", "two\nlines"]], empty="—")
    assert lines == ["| a | b\\|c |", "|---|---|", "| 1 | x\\|y |", "| — | two lines |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells, the header 2"):
        table(["a", "b"], [["only one"]])
