"""Lazy re-exports for a package's ``__init__``: one mapping of module -> names.

``import clearance`` (or ``clearance.evaluation``) must stay cheap, so exported names are
imported on first use through a module ``__getattr__``. Both packages build theirs here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["homes", "lazy_exports"]


def homes(exports: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Exported name -> the module it is imported from."""
    return {name: module for module, names in exports.items() for name in names}


def lazy_exports(
    package: str, home: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose globals are ``namespace``.

    A name is imported from its module (``home``) on first use and kept as an ordinary
    global.
    """
    names = sorted(home)

    def getattr_(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(names))

    return getattr_, dir_
