"""The package graph has no cycle: facts compute, rules decide, renderers explain, and each layer imports only the
layers below it. The graph is read from the source with ``ast`` (every import counts, ``TYPE_CHECKING`` and
function-level ones too): a unit is a subpackage of mtls_doctor (``facts``, ``engine`` ...) or a top-level module
(``diagnosis``, ``vocabulary`` ...)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "mtls_doctor"
BOTTOM = ("vocabulary", "record")
"""Import nothing of the project but each other (vocabulary builds on record)."""


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    """The mtls_doctor modules a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mtls_doctor":
                found.update(f"mtls_doctor.{a.name}" for a in node.names)
            elif node.module.startswith("mtls_doctor."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mtls_doctor."))
    return found


def import_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> the files that import it."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        source = _unit(module)
        for target in map(_unit, _imports(path)):
            if target != source:
                graph[source][target].append(str(path.relative_to(REPO)))
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(graph.get(root, {})))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_package_level_import_cycle() -> None:
    graph = import_graph()
    found = cycles(graph)
    detail = [
        f"{a} -> {b} ({', '.join(graph[a][b])})"
        for component in found
        for a in component
        for b in component
        if b in graph[a]
    ]
    assert not found, f"import cycles {found}: " + "; ".join(detail)


def test_the_vocabulary_is_at_the_bottom() -> None:
    graph = import_graph()
    for unit in BOTTOM:
        assert set(graph.get(unit, {})) <= set(BOTTOM) - {unit}, f"{unit} imports {sorted(graph[unit])}"
    assert "vocabulary" not in graph.get("record", {})


def test_the_detector_finds_a_cycle() -> None:
    """The check itself can fail: a two-unit loop is reported."""
    graph: dict[str, dict[str, list[str]]] = {"a": {"b": ["a.py"]}, "b": {"a": ["b.py"]}, "c": {"a": ["c.py"]}}
    assert cycles(graph) == [["a", "b"]]
