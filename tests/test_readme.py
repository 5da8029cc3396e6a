"""README's Python examples run as written (each ```python block, in order, in a fresh
interpreter, offline, with an empty cache)."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_every_python_block_of_the_readme_runs(tmp_path):
    blocks = _blocks()
    assert blocks, "README has no Python example"
    env = {
        **os.environ,
        "MODELRANK_CACHE": str(tmp_path / "cache"),
        "MODELRANK_DB": str(tmp_path / "r.db"),
        "MODELRANK_OFFLINE": "1",
    }
    for i, code in enumerate(blocks, 1):
        p = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
        assert p.returncode == 0, f"README's Python block {i} failed:\n{p.stderr[-3000:]}"
        assert p.stdout.strip(), f"README's Python block {i} printed nothing"
