"""The house's shape: layers that only look down, no import cycle, no room too big.

Imports are read from the source (``ast``), so an import inside a function counts as
much as one at the top of a module: hiding a cycle in a function body does not remove
it. Imports under ``if TYPE_CHECKING:`` and of the lazy top-level facade (``awsprobe``
itself) are not dependencies at run time and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "awsprobe"
MAX_LINES = 900

#: Leaves: plain data, exceptions and small utilities that import nothing of the project.
LEAVES = (
    "awsprobe.errors",
    "awsprobe.model",
    "awsprobe.redact",
    "awsprobe.arn",
    "awsprobe.strictjson",
    "awsprobe.files",
    "awsprobe.tables",
    "awsprobe.adapters",
    "awsprobe._version",
)
#: The two front ends sit on top: no library module imports them.
TOPS = (
    "awsprobe.cli",
    "awsprobe.cli_parser",
    "awsprobe.entry",
    "awsprobe.pytest_plugin",
    "awsprobe.pytest_options",
    "awsprobe.__main__",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node``, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for stmt in child.orelse for n in (stmt, *_walk(stmt)))
            continue
        yield child
        yield from _walk(child)


def _resolve(name: str) -> str | None:
    """The project module ``name`` loads (itself or its nearest enclosing module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """The project modules ``module`` imports at run time, anywhere in its body."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from awsprobe.x import y" loads awsprobe.x.y when y is a module of its own
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
            names = [n if n in MODULES else base for n in names]
        for name in names:
            target = _resolve(name)
            if target is not None and target not in ("awsprobe", module):
                found.add(target)
    return found


GRAPH: dict[str, set[str]] = {module: imports_of(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_reader_sees_imports_inside_functions_and_skips_type_checking() -> None:
    """The import reader counts a function-level import and ignores TYPE_CHECKING ones."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from awsprobe.cli import main\n"
        "def f():\n    from awsprobe.errors import AwsprobeError\n"
    )
    tree = ast.parse(source)
    seen = {
        node.module
        for node in _walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert seen == {"typing", "awsprobe.errors"}


def test_a_cycle_is_found_when_there_is_one() -> None:
    """The cycle finder reports a two-module cycle and nothing for a chain."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle() -> None:
    """No group of modules imports itself round, at any depth of any function."""
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_nothing_of_the_project(leaf: str) -> None:
    """Exceptions, the data model and small utilities sit at the bottom."""
    assert leaf in MODULES, f"{leaf} is missing"
    assert GRAPH[leaf] == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_library_module_imports_the_front_ends(module: str) -> None:
    """The CLI and the pytest plugin call the library; the library never calls them."""
    if module in TOPS:
        return
    assert not GRAPH[module] & set(TOPS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_900_lines(module: str) -> None:
    """A room that outgrows 900 lines becomes a package of single-purpose modules."""
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_the_data_model_loads_without_the_machinery() -> None:
    """Importing the matrix (results as data) loads no guard, catalog, decoder or client."""
    code = (
        "import sys, awsprobe.matrix\n"
        "heavy = ['awsprobe.guard', 'awsprobe.catalog', 'awsprobe.decode', 'botocore.client']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
