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
    return [pkg.__name__] + [
        m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    ]


def test_every_metrics_and_topology_module_imports_without_torch():
    names = _modules(modelrank.metrics) + _modules(modelrank.topology)
    assert {
        "modelrank.metrics.logme",
        "modelrank.metrics.betti",
        "modelrank.topology.cubical",
        "modelrank.topology.barcode",
    } <= set(names)
    code = (
        "import importlib, json, sys\n"
        f"names = json.loads({json.dumps(json.dumps(names))})\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        "    assert 'torch' not in sys.modules, n + ' imported torch'\n"
        "print(len(names))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert int(p.stdout.strip()) == len(names)


def test_the_data_loaders_import_one_way():
    """Every loader of modelrank.data imports only data.target of its package (no circle through
    the package or data.loading); loading imports the loaders, and content (what a target's
    images are, for the history) sits above loading."""
    import ast
    from pathlib import Path

    import modelrank.data

    root = Path(modelrank.data.__file__).parent
    for f in sorted(root.glob("*.py")):
        if f.stem in ("__init__", "loading", "content"):
            continue
        found = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "modelrank.data"
            ):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("modelrank.data")}
        assert found <= {"modelrank.data.target"} or f.stem == "target" and not found, (
            f.name,
            found,
        )
