"""The package's version has one source: pyproject.toml, read back from the installed metadata."""

import tomllib
from pathlib import Path

import modelrank


def test_the_version_is_the_one_in_pyproject():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert modelrank.__version__ == project["version"]
