"""The package's version has one source: pyproject.toml, read back from the installed metadata."""

import tomllib
from pathlib import Path

import modelrank


def test_the_version_is_the_one_in_pyproject():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert modelrank.__version__ == project["version"]


def test_one_json_encoder_for_numpy_values():
    import json

    import numpy as np

    from modelrank.util.jsonable import jsonable

    got = json.loads(
        json.dumps(
            {
                "a": np.arange(3),
                "b": np.float32(0.5),
                "c": np.bool_(True),
                "d": {2, 1},
                "e": np.int64(7),
                "f": object,
            },
            default=jsonable,
        )
    )
    assert got["a"] == [0, 1, 2] and got["b"] == 0.5 and got["c"] is True and got["e"] == 7
    assert sorted(got["d"]) == [1, 2] and got["f"] == "<class 'object'>"
