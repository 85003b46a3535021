"""The shape of UETF's code: small modules and classes, no import cycle, few ``Any``.

docs/architecture.md ("Figures") gives these figures and the commands behind them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
PACKAGES = ("uetf_core", "pytest_uetf")
MODULE_LINES = 600
CLASS_LINES = 400
# Lines naming Any in product code: 352 before the typed documents, at most half of it.
ANY_LINES = 176


def _modules() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((HOME / package).rglob("*.py")):
            parts = path.relative_to(HOME).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), str(path))


def test_no_module_is_over_600_lines() -> None:
    """Every module of uetf_core and pytest_uetf is at most 600 lines."""
    sizes = {name: len(path.read_text("utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MODULE_LINES} == {}


def test_no_class_is_over_400_lines() -> None:
    """Every class is at most 400 lines, docstring and methods included."""
    big = {}
    for name, path in MODULES.items():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > CLASS_LINES:
                    big[f"{name}.{node.name}"] = lines
    assert big == {}


def _import_time_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported: not those inside functions (run
    later) nor those under ``if TYPE_CHECKING`` (never run)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                pending += node.body
            pending += node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                pending += handler.body
        elif isinstance(node, ast.ClassDef):
            pending += node.body
    return found


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of the two packages an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parent = module.split(".")
            if MODULES[module].name != "__init__.py":
                parent = parent[:-1]
            parent = parent[: len(parent) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        # ``from package import module`` loads the module (and, first, its package:
        # a parent, not a cycle); ``from module import name`` needs the module run.
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    return {name for name in names if name in MODULES and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the two packages its import runs (and their packages')."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for node in _import_time_imports(_tree(path)):
            targets |= _imported(module, node)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check below can fail: two modules importing each other are one cycle."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle() -> None:
    """No module of uetf_core or pytest_uetf imports, on being imported, one that imports it."""
    graph = import_graph()
    assert graph["uetf_core.ledger.writes"] >= {"uetf_core.ledger.layouts"}
    assert cycles(graph) == []


def test_any_is_rare_in_product_code() -> None:
    """Lines naming ``Any`` in product code stay at most half of what they were."""
    word = re.compile(r"\bAny\b")
    count = sum(
        1
        for module in MODULES.values()
        for line in module.read_text("utf-8").splitlines()
        if word.search(line)
    )
    assert count <= ANY_LINES
