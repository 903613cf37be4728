"""Read a YAML or JSON flow file, keeping the line of every value (by JSON pointer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clearance.errors import ContractError
from clearance.flows.matchers import escape_pointer

__all__ = ["Document", "read_document"]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


# libyaml's loader when PyYAML has it (several times faster; same nodes and marks).
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader that keeps dates as strings: arguments are JSON, and JSON has no dates."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Document:
    """A decoded file and the 1-based line of each value, by JSON pointer."""

    data: Any
    lines: dict[str, int]


def read_document(path: Path) -> Document:
    """Read a ``.yaml``/``.yml``/``.json`` file.

    Raises:
        ContractError: unreadable, not UTF-8, not valid YAML/JSON, or a duplicated key.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"cannot read: {exc.strerror}", path=source) from None
    except UnicodeDecodeError as exc:
        raise ContractError(f"not UTF-8 text: {exc.reason}", path=source) from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(
                f"not valid JSON: {exc.msg}", path=source, line=exc.lineno
            ) from None
        lines: dict[str, int] = {}
        try:  # JSON is (nearly) YAML: use the YAML composer for line numbers only
            node = _compose(text)
            if node is not None:
                lines = _lines(node, source)
        except (yaml.YAMLError, ContractError):
            pass
        return Document(data, lines)
    try:
        node = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(
            f"not valid YAML: {problem}",
            path=source,
            line=None if mark is None else mark.line + 1,
        ) from None
    if node is None:
        return Document(None, {})
    lines = _lines(node, source)
    loader = _Loader("")
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ContractError(f"not valid YAML: {exc}", path=source) from None
    finally:
        loader.dispose()
    return Document(data, lines)


def _compose(text: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def _lines(root: yaml.Node, source: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, pointer = stack.pop()
        lines.setdefault(pointer, node.start_mark.line + 1)
        if id(node) in seen:  # an alias: its children were walked already
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = f"{pointer}/{escape_pointer(key)}"
                if key in keys:
                    raise ContractError(
                        f"duplicate key {key!r}",
                        path=source,
                        line=key_node.start_mark.line + 1,
                        pointer=child,
                        fix="keep one of them",
                    )
                keys.add(key)
                lines[child] = key_node.start_mark.line + 1
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, f"{pointer}/{index}"))
    return lines
