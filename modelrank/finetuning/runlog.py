"""The run log: an append-only JSON-lines file of finished fine-tuning runs, so that a killed
evaluation resumes without losing one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelrank.util.paths import cache_root


class RunLog:
    """Append-only JSON-lines file of finished runs, keyed by a digest of what determines them.

    ``measured``: a read-only run log of the same form (a suite's committed measurement) whose
    runs count as done; new runs are appended to ``path`` only."""

    def __init__(self, path: Path, measured: Path | None = None):
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        for source in (measured, path):
            if source is None or not source.is_file():
                continue
            for line in source.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                self.done[rec["key"]] = rec

    def get(self, key: str) -> dict[str, Any] | None:
        return self.done.get(key)

    def add(self, key: str, rec: dict[str, Any]) -> None:
        rec = {"key": key, **rec}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
        self.done[key] = rec


def runs_root() -> Path:
    """Where run logs live: ``<embedding cache>/runs``."""
    return cache_root() / "runs"


#: Hex digits of run-log keys (as in the logs written so far).
RUN_KEY_LENGTH = 24
