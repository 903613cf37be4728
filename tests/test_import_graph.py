"""The import graph of clearance, read from the source with ``ast`` (nothing is imported).

Two rules (issue 17, point 2):

* the catalog's stores import no domain module above them: of the rest of clearance, a
  module of ``clearance.catalog`` imports only the neutral leaves and the known
  exceptions listed below;
* imports at module level form no cycle.

Imports are read at three depths and kept apart: at module level (``module``: they run
on import), under ``if TYPE_CHECKING:`` (``typing``: only the type checker follows them)
and inside a function (``local``: they run when it is called). The layering rule counts
all three, as each is a dependency on the module imported; the cycle rule counts only
the first, the only ones that run while a module is being imported.

An edge goes to the module imported: ``from clearance.catalog import tables`` to
``clearance.catalog.tables``, ``from clearance.modelpolicy import resolve_model`` to
``clearance.modelpolicy``. The packages above it, which Python also runs, are left out: they
are a line of docstring (``clearance.catalog``) or import lazily (``clearance``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "clearance"
# Files `clearance init` copies into a new project: data, not modules of the package.
NOT_MODULES = (PACKAGE / "scaffold" / "files",)

Kind = Literal["module", "typing", "local"]

CATALOG = "clearance.catalog"
NEUTRAL = frozenset(
    {
        "clearance.errors",  # the error tree
        "clearance.identifiers",  # what the call log may store, from the column sizes
        "clearance.config",  # the settings objects (tiers, gate, policy sections)
        "clearance.modelid",  # the one parser of model ids
    }
)
"""Modules any catalog module may import: leaves that import nothing of the domain (at
run time: ``errors`` names ``policy.Rejection`` for the type checker only)."""

LEAF_CALLS_UP: frozenset[tuple[str, str]] = frozenset(
    {
        # ProviderError.retryable reads the router's rules (retryplan.RULES, the one place
        # retrying is decided) when it is asked, inside the property: importing errors
        # still imports nothing of the domain.
        ("clearance.errors", "clearance.retryplan"),
    }
)
"""Function-local imports a neutral leaf may make, each with its reason."""

KNOWN_EXCEPTIONS: dict[tuple[str, str], frozenset[Kind]] = {}
"""(catalog module, module outside the catalog) -> the kinds of import allowed: none
today (the price records moved into catalog/pricerecords.py). List one here only with a
comment saying why and when it goes."""

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Import cycles among module-level imports that exist today: none (checked 2026-12-07).
A cycle found later fails the test; list one here only with a comment saying why."""


@dataclass(frozen=True, slots=True)
class Import:
    """One import of a clearance module by another."""

    source: str
    target: str
    kind: Kind
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.kind}, line {self.line})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {
        _module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(folder) for folder in NOT_MODULES)
    }


def _resolve(name: str) -> str | None:
    """The module ``name`` imports: itself, or the package it is a name in."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(source: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The dotted names an import statement brings in (a module or a name in one)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        name = f"{base}.{alias.name}"
        yield name if name in modules() else base


def _walk(source: str, path: Path, node: ast.AST, kind: Kind) -> Iterator[Import]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [
            name for name in _imported(source, path, node) if name.split(".")[0] == "clearance"
        ]
        for target in dict.fromkeys(_resolve(name) for name in names):
            if target is not None and target != source:
                yield Import(source, target, kind, node.lineno)
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for statement in node.body:
            yield from _walk(source, path, statement, "typing")
        for statement in node.orelse:
            yield from _walk(source, path, statement, kind)
        return
    if kind == "module" and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        kind = "local"
    for child in ast.iter_child_nodes(node):
        yield from _walk(source, path, child, kind)


@cache
def imports() -> tuple[Import, ...]:
    """Every import of a clearance module by another, in the whole package."""
    found: list[Import] = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.extend(_walk(name, path, tree, "module"))
    return tuple(found)


def _in_catalog(name: str) -> bool:
    return name == CATALOG or name.startswith(CATALOG + ".")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def _a_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the component's first module, for the message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for successor in sorted(edges.get(node, set()) & members):
            if successor == start:
                return [*paths[node], start]
            if successor not in paths:
                paths[successor] = [*paths[node], successor]
                queue.append(successor)
    return component  # not reached: a component of two or more modules has a cycle


def _module_level_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for found in imports():
        if found.kind == "module":
            edges.setdefault(found.source, set()).add(found.target)
    return edges


def test_the_graph_is_read_at_each_depth() -> None:
    found = {(i.source, i.target, i.kind) for i in imports()}
    assert len(modules()) > 100
    assert "clearance.catalog.orgstore" in modules()
    assert ("clearance.routerstate", "clearance.catalog.orgstore", "module") in found
    # the router imports the catalog's stores when it needs them (issue 20: a cheap import)
    assert ("clearance.router", "clearance.catalog.orgstore", "local") in found
    # `from clearance.catalog import tables` imports the module, not the package
    assert ("clearance.catalog.orgstore", "clearance.catalog", "module") not in found
    # discovery names the snapshot type for the type checker, and imports it when reading
    assert ("clearance.discovery", "clearance.catalog_snapshot", "typing") in found
    assert ("clearance.discovery", "clearance.catalog_snapshot", "local") in found
    assert ("clearance.catalog.orgstore", "clearance.catalog.tables", "module") in found
    assert not any(path.is_relative_to(NOT_MODULES[0]) for path in modules().values())


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(_cycles(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert _a_cycle(["a", "b", "c"], edges) == ["a", "b", "c", "a"]


def test_the_catalog_imports_no_module_above_it() -> None:
    upward = [
        found
        for found in imports()
        if _in_catalog(found.source)
        and not _in_catalog(found.target)
        and found.target not in NEUTRAL
        and found.kind not in KNOWN_EXCEPTIONS.get((found.source, found.target), ())
    ]
    assert not upward, (
        "catalog modules import domain modules above them; pass plain values, or move "
        "the plain types they need into catalog/:\n" + "\n".join(map(str, upward))
    )


def test_every_known_exception_is_still_needed() -> None:
    found = {(i.source, i.target, i.kind) for i in imports()}
    stale = [
        (source, target, kind)
        for (source, target), kinds in KNOWN_EXCEPTIONS.items()
        for kind in kinds
        if (source, target, kind) not in found
    ]
    assert not stale, f"remove these from KNOWN_EXCEPTIONS, they are gone: {stale}"


def test_the_neutral_leaves_import_nothing_of_the_domain() -> None:
    runtime = [
        found
        for found in imports()
        if found.source in NEUTRAL
        and found.kind != "typing"
        and not (_in_catalog(found.target) or found.target in NEUTRAL)
        and not (found.kind == "local" and (found.source, found.target) in LEAF_CALLS_UP)
    ]
    assert not runtime, "\n".join(map(str, runtime))


def test_module_level_imports_form_no_new_cycle() -> None:
    edges = _module_level_edges()
    cycles = {frozenset(component): component for component in _cycles(edges)}
    new = [
        " -> ".join(_a_cycle(component, edges))
        for members, component in cycles.items()
        if members not in KNOWN_CYCLES
    ]
    assert not new, "import cycles at module level:\n" + "\n".join(new)
    gone = KNOWN_CYCLES - cycles.keys()
    assert not gone, f"remove these from KNOWN_CYCLES, they are broken: {sorted(map(sorted, gone))}"
