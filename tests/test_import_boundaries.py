"""The numeric core stays free of torch: every module of ``modelrank.metrics`` and
``modelrank.topology`` imports in a fresh interpreter without loading torch (so scores can be
computed from saved embeddings on a machine without it, and import fast)."""

import json
import pkgutil
import subprocess
import sys

import modelrank.metrics
import modelrank.topology


def _modules(pkg) -> list[str]:
    return [pkg.__name__] + [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]


def test_every_metrics_and_topology_module_imports_without_torch():
    names = _modules(modelrank.metrics) + _modules(modelrank.topology)
    assert {"modelrank.metrics.logme", "modelrank.metrics.topological",
            "modelrank.topology.cubical", "modelrank.topology.barcode"} <= set(names)
    code = ("import importlib, json, sys\n"
            f"names = json.loads({json.dumps(json.dumps(names))})\n"
            "for n in names:\n"
            "    importlib.import_module(n)\n"
            "    assert 'torch' not in sys.modules, n + ' imported torch'\n"
            "print(len(names))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert int(p.stdout.strip()) == len(names)
