"""The public API: one list of exports, complete, importable, cheap to import.

``clearance`` and ``clearance.evaluation`` each keep one list of exports (``_EXPORTS``,
module -> names) from which ``__all__`` and the lazy ``__getattr__`` derive. The one
repetition, the ``if TYPE_CHECKING:`` imports a type checker reads, is checked here
against it. Complete means: every error a caller may catch is exported, and every
clearance class that an exported function or class names in its signature or its
attributes is importable from a public namespace (checked by walking the annotations,
with an allow-list that says why where not). ``tests/typing/api.py``, which mypy checks,
uses the API as a program would.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from functools import cache
from types import ModuleType
from typing import Any

import pytest

import clearance
import clearance.errors
import clearance.evaluation

LAZY_PACKAGES = ("clearance", "clearance.evaluation")
"""The packages whose exports are one lazy list (``_EXPORTS``)."""

PUBLIC_NAMESPACES = (
    *LAZY_PACKAGES,
    "clearance.catalog_snapshot",
    "clearance.contracts",
    "clearance.flows",
    "clearance.gate",
    "clearance.providers",
    "clearance.reports",
    "clearance.slo",
)
"""Where a program may import a name from: the package, and the subpackages that export
a family of their own (each with an ``__all__``)."""

_ROUTER_STATE = (
    "Router.state() and Router.decide(state=) hand the router's cached catalog state to "
    "the eval engine and the CLI, which pass it back or read .models; it is the cache's "
    "shape, not something a program builds on, so it stays out of the exports"
)
NOT_EXPORTED: dict[str, str] = {
    "clearance.router._State": _ROUTER_STATE,
    "clearance.routerstate.RouterState": _ROUTER_STATE,  # _State's name once it moves there
}
"""Clearance classes named in a public signature or attribute that are not exported, and
why. The walk does not enter them. An entry whose class does not exist (yet, or any more)
is ignored; every other one must be reached by the walk."""

NOT_LISTED_AT_HOME: dict[str, str] = {
    "Tier": "clearance.config defines it but its __all__ does not list it (yet)",
}
"""Exports whose home module does not list them in its own ``__all__``, and why."""


def _package(name: str) -> ModuleType:
    return importlib.import_module(name)


# -- one list -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_all_is_derived_from_the_one_list(name: str) -> None:
    package = _package(name)
    exports: dict[str, tuple[str, ...]] = package._EXPORTS
    listed = [export for names in exports.values() for export in names]
    assert len(listed) == len(set(listed)), "a name is listed under two modules"
    for names in exports.values():
        assert list(names) == sorted(names)
    assert package.__all__ == sorted(listed)
    homes = {export: module for module, names in exports.items() for export in names}
    assert homes == package._HOME


def _type_checking_imports(package: ModuleType) -> tuple[set[tuple[str, str]], list[str]]:
    """The (name, module) pairs the package imports under ``if TYPE_CHECKING:``, and the
    imports that would not count as a re-export to a strict type checker."""
    tree = ast.parse(inspect.getsource(package))
    pairs: set[tuple[str, str]] = set()
    not_reexported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                assert statement.module is not None
                for alias in statement.names:
                    pairs.add((alias.name, statement.module))
                    if alias.asname != alias.name:
                        not_reexported.append(ast.unparse(statement))
    return pairs, not_reexported


def _type_checking_block(package: ModuleType) -> str:
    """The ``if TYPE_CHECKING:`` block the package should have, to paste."""
    lines = sorted(
        f"    from {module} import {name} as {name}" for name, module in package._HOME.items()
    )
    return "if TYPE_CHECKING:  # pragma: no cover\n" + "\n".join(lines)


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_the_type_checkers_imports_match_the_one_list(name: str) -> None:
    """The one place the exports are written twice: checked, and printed when they differ."""
    package = _package(name)
    pairs, not_reexported = _type_checking_imports(package)
    expected = set(package._HOME.items())
    paste = (
        f"replace the block at the end of {package.__file__} with\n{_type_checking_block(package)}"
    )
    assert not_reexported == [], f"import each name as itself (`X as X`): {paste}"
    extra, missing = sorted(pairs - expected), sorted(expected - pairs)
    assert extra == [], f"imported for type checkers, not in _EXPORTS: {extra}; {paste}"
    assert missing == [], f"in _EXPORTS, not imported for type checkers: {missing}; {paste}"


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_name_resolves_from_the_module_that_exports_it(name: str) -> None:
    package = _package(name)
    for export, module_name in package._HOME.items():
        value = getattr(package, export)
        module = importlib.import_module(module_name)
        assert getattr(module, export) is value
        if export not in NOT_LISTED_AT_HOME:
            assert export in module.__all__, f"{module_name} does not list {export} as public"
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__name__ == export
            assert value.__module__.startswith("clearance.")
        assert export in dir(package)


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_unknown_attribute(name: str) -> None:
    with pytest.raises(AttributeError, match="nope"):
        _package(name).nope  # noqa: B018


def test_import_loads_no_heavy_dependency_and_opens_no_socket() -> None:
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise SystemExit('network access at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import clearance, clearance.evaluation\n"
        "heavy = [m for m in ('sqlalchemy', 'pydantic', 'httpx', 'pandas', 'alembic', 'typer',"
        " 'vcr', 'clearance.evaluation.engine') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# -- complete -------------------------------------------------------------------------------


def test_every_error_a_caller_may_catch_is_exported() -> None:
    errors = {
        name
        for name, value in vars(clearance.errors).items()
        if inspect.isclass(value)
        and issubclass(value, clearance.errors.ClearanceError)
        and value.__module__ == "clearance.errors"
    }
    assert errors == set(clearance.errors.__all__)
    assert errors <= set(clearance.__all__)
    for name in errors:
        assert getattr(clearance, name) is getattr(clearance.errors, name)


def test_errors_share_one_root() -> None:
    for name in clearance.__all__:
        value = getattr(clearance, name)
        if (
            isinstance(value, type)
            and issubclass(value, Exception)
            and not issubclass(value, Warning)
        ):
            assert issubclass(value, clearance.ClearanceError)


@cache
def _namespace(module_name: str) -> dict[str, Any]:
    """A module's globals plus what it imports under ``if TYPE_CHECKING:``, so that its
    postponed annotations resolve as the type checker resolves them."""
    module = importlib.import_module(module_name)
    namespace = dict(vars(module))
    for node in ast.parse(inspect.getsource(module)).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module is not None:
                source = importlib.import_module(statement.module)
                for alias in statement.names:
                    namespace[alias.asname or alias.name] = getattr(source, alias.name)
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    top = alias.name.partition(".")[0]
                    imported = importlib.import_module(alias.name)
                    namespace[alias.asname or top] = (
                        imported if alias.asname else importlib.import_module(top)
                    )
    return namespace


class _Annotations:
    """Holds one class body's own annotations, for ``typing.get_type_hints`` to resolve
    in that class's module (a subclass may live elsewhere)."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def _hints(owner: object, module: str) -> dict[str, Any]:
    return typing.get_type_hints(owner, globalns=_namespace(module))


def _classes_in(hint: Any) -> Iterator[type]:
    """The classes a resolved annotation names (``tuple[Attempt, ...] | None``: Attempt)."""
    if typing.get_origin(hint) is typing.Literal:
        return
    if isinstance(hint, type) and not isinstance(hint, types.GenericAlias):
        yield hint
    for argument in typing.get_args(hint):
        for item in argument if isinstance(argument, list) else [argument]:
            yield from _classes_in(item)


def _is_ours(cls: type) -> bool:
    return cls.__module__.partition(".")[0] == "clearance"


def _public_hints(value: Any) -> Iterator[tuple[str, Any]]:
    """(where, annotation) for a function's signature, or a class's public attributes
    and the signatures of its public methods and properties (inherited ones included)."""
    if not inspect.isclass(value):
        for key, hint in _hints(value, value.__module__).items():
            yield f"{value.__qualname__}({key})", hint
        return
    for base in value.__mro__:
        if not _is_ours(base):
            continue
        own = _Annotations(inspect.get_annotations(base))
        for key, hint in _hints(own, base.__module__).items():
            if not key.startswith("_"):
                yield f"{value.__name__}.{key}", hint
        for key, member in vars(base).items():
            if key.startswith("_") and key != "__init__":
                continue
            if isinstance(member, property):
                member = member.fget
            elif isinstance(member, classmethod | staticmethod):
                member = member.__func__
            if inspect.isfunction(member):
                for argument, hint in _hints(member, member.__module__).items():
                    yield f"{value.__name__}.{key}({argument})", hint


def _exported() -> set[type]:
    found: set[type] = set()
    for name in PUBLIC_NAMESPACES:
        namespace = importlib.import_module(name)
        found.update(
            v for v in (getattr(namespace, n) for n in namespace.__all__) if inspect.isclass(v)
        )
    return found


def _exists(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), name)
    except ModuleNotFoundError:
        return False


@cache
def _walk() -> tuple[dict[str, list[str]], set[str]]:
    """From the exports of the lazy packages, every clearance class their signatures and
    attributes name, transitively: the ones exported nowhere (where each is named), and
    the allow-listed ones reached."""
    exported = _exported()
    roots = [getattr(_package(p), n) for p in LAZY_PACKAGES for n in _package(p).__all__]
    todo = [v for v in roots if inspect.isclass(v) or inspect.isfunction(v)]
    seen = set(todo)
    missing: dict[str, list[str]] = {}
    allowed: set[str] = set()
    while todo:
        value = todo.pop()
        for where, hint in _public_hints(value):
            for cls in _classes_in(hint):
                if not _is_ours(cls):
                    continue
                qualified = f"{cls.__module__}.{cls.__qualname__}"
                if qualified in NOT_EXPORTED:
                    allowed.add(qualified)
                    continue
                if cls not in exported:
                    missing.setdefault(qualified, []).append(where)
                if cls not in seen:
                    seen.add(cls)
                    todo.append(cls)
    return missing, allowed


def test_every_type_a_public_call_takes_or_returns_is_exported() -> None:
    missing, _ = _walk()
    report = {name: sorted(set(where))[:3] for name, where in sorted(missing.items())}
    assert report == {}, (
        "export these (from clearance, or from the subpackage of their family), or add "
        "them to NOT_EXPORTED with the reason"
    )


def test_the_allow_list_names_only_unexported_types_the_api_reaches() -> None:
    _, allowed = _walk()
    assert allowed == {name for name in NOT_EXPORTED if _exists(name)}
    exported = {f"{c.__module__}.{c.__qualname__}" for c in _exported()}
    assert exported.isdisjoint(NOT_EXPORTED)


def test_the_walk_sees_through_unions_containers_and_postponed_annotations() -> None:
    """The walk finds what a reader sees in the signature (a check of the check)."""
    router = dict(_public_hints(clearance.Router))
    assert clearance.RouterResult in set(_classes_in(router["Router.complete(return)"]))
    result = dict(_public_hints(clearance.RouterResult))
    assert set(_classes_in(result["RouterResult.attempts"])) == {clearance.Attempt}
    error = dict(_public_hints(clearance.RateLimited))
    assert clearance.Attempt in set(_classes_in(error["RateLimited.attempts"]))
    simulator = dict(_public_hints(clearance.evaluation.SimulatorProviders))
    # Catalog is imported under TYPE_CHECKING there
    assert clearance.Catalog in set(
        _classes_in(simulator["SimulatorProviders.register_models(catalog)"])
    )


def test_the_typed_api_file_imports() -> None:
    """tests/typing/api.py is for mypy; importing it checks its names exist at run time."""
    importlib.import_module("tests.typing.api")
