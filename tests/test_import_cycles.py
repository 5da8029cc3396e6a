"""No import cycle among modelrank's modules, counting the imports inside functions (only those
under ``if TYPE_CHECKING:`` are left out): the graph is built from the source, so a cycle that a
function-local import hides from Python is still found."""

import ast
from pathlib import Path

import modelrank

ROOT = Path(modelrank.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module that ``name`` (a module, or an attribute of one) lives in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def import_graph() -> dict[str, set[str]]:
    """{module: the modelrank modules it imports anywhere in its source}; importing a submodule
    also imports the packages above it (unless the importer is inside them)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for a in node.names:
                    full = f"{source}.{a.name}"
                    targets.add(full if full in modules else source)
        for name in targets:
            if not name.startswith("modelrank"):
                continue
            owner = _owner(name, modules)
            while owner:
                if owner != mod and not mod.startswith(owner + "."):
                    graph[mod].add(owner)
                owner = owner.rpartition(".")[0]
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_modelrank_imports_itself_through_others():
    graph = import_graph()
    assert len(graph) > 80 and "modelrank.zoo" in graph["modelrank.ranking"]  # it sees imports
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_that_a_function_local_import_hides():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_root_package_loads_its_public_functions_lazily():
    # modelrank/__init__.py maps names to modules and imports them on first use only (through
    # importlib, which the graph does not follow): every module may import the root for
    # __version__ without a cycle; this pins that it still does
    source = (ROOT / "__init__.py").read_text()
    assert "importlib.import_module" in source
    tree = ast.parse(source)
    eager = [
        n
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("modelrank.")
    ]
    assert {n.module for n in eager} <= {"modelrank.errors", "modelrank.cpu_runtime"}


#: Imports whose cost justifies importing them inside a function (torch and what pulls it in, the
#: optional extras): everywhere else a module's imports are at its top, where a reader sees them.
COSTLY = {
    "torch",
    "torchvision",
    "timm",
    "transformers",
    "ray",
    "matplotlib",
    "datasets",
    "sklearn",
    "huggingface_hub",
    "cripser",
    "gph",
    "gudhi",
    "ripser",
    "pandas",
}


def _top_level_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        for n in node.body if isinstance(node, ast.Try) else [node]:
            if isinstance(n, ast.Import):
                names |= {a.name for a in n.names}
            elif isinstance(n, ast.ImportFrom) and not n.level:
                names |= {f"{n.module}.{a.name}" for a in n.names} | {n.module or ""}
    return names


def _costly_modules() -> set[str]:
    """modelrank modules whose import (their own top, their packages', what they import at
    their top) imports one of :data:`COSTLY`."""
    modules = _modules()
    deps: dict[str, set[str]] = {}
    direct: set[str] = set()
    for mod, path in modules.items():
        names = _top_level_imports(ast.parse(path.read_text()))
        if any(n.split(".")[0] in COSTLY for n in names):
            direct.add(mod)
        deps[mod] = {o for n in names if n.startswith("modelrank") and (o := _owner(n, modules))}
        parent = mod.rpartition(".")[0]
        while parent:  # importing a module runs its packages' __init__ first
            deps[mod].add(parent)
            parent = parent.rpartition(".")[0]
        deps[mod].discard(mod)
    costly = set(direct)
    changed = True
    while changed:
        changed = False
        for mod, ds in deps.items():
            if mod not in costly and ds & costly:
                costly.add(mod)
                changed = True
    return costly


#: Modules whose source tests/test_float_order.py pins (the fine-tuning path): moving an import
#: out of a digested function would move the pin for nothing.
DIGESTED = {"modelrank.finetuning.training", "modelrank.accuracy"}


def test_imports_inside_functions_are_there_for_their_cost_only():
    """Outside the command line (which imports what a command runs inside the command, so that
    `modelrank --help` starts in half the time: benchmarks/results/cli_startup.md) and the package
    root's lazy loader, a modelrank import inside a function imports torch or an optional extra,
    or sits in a try block (an optional part)."""
    modules = _modules()
    costly = _costly_modules()
    assert "modelrank.probe" in costly and "modelrank.history" not in costly  # it sees torch
    light = []
    for mod, path in modules.items():
        if mod == "modelrank" or mod.startswith("modelrank.cli") or mod in DIGESTED:
            continue
        tree = ast.parse(path.read_text())
        guarded = {
            id(n)
            for t in ast.walk(tree)
            if isinstance(t, ast.Try)
            for s in t.body
            for n in ast.walk(s)
        }
        guarded |= _type_checking_nodes(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for n in ast.walk(fn):
                if (
                    isinstance(n, ast.ImportFrom)
                    and (n.module or "").startswith("modelrank")
                    and id(n) not in guarded
                ):
                    targets = {_owner(f"{n.module}.{a.name}", modules) for a in n.names}
                    if not targets & costly:
                        light.append(f"{mod}:{n.lineno} {n.module}")
    assert light == []
