"""A YAML file as clearance reads its policies: exact numbers, the line of every key.

Gate policies (``gates/*.yaml``) and the SLO objectives (``gates/slo.yaml``) are read
the same way: every float as the exact :class:`~decimal.Decimal` of its text, a
duplicate key refused (YAML would keep the last silently), and the 1-based line of
every key kept so an error can say where it is. :func:`validate_file` runs the
pydantic model and turns the keys the loader sets itself into errors.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from clearance.errors import ConfigError

__all__ = [
    "RESERVED",
    "Loc",
    "at_line",
    "lower_first",
    "parse_document",
    "read_bytes",
    "read_mapping",
    "show_value",
    "validate_file",
]

Loc = tuple[str | int, ...]
"""A key path: mapping keys and list indexes."""
RESERVED = ("path", "source_hash")
"""Fields the loader sets from the file itself; a file may not set them."""
M = TypeVar("M", bound=BaseModel)

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader that reads floats as the exact Decimal of their text."""


def _construct_decimal(loader: Any, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf, .nan, 1:30.5 (sexagesimal): let YAML read them
        return loader.construct_yaml_float(node)


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a ConfigError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror}",
            source=str(path),
            fix="check the path; `clearance init` writes the default gates/default.yaml "
            "and gates/slo.yaml (it overwrites nothing)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror}", source=str(path), fix="check the path"
        ) from None


def parse_document(raw: bytes, source: str) -> tuple[Any, dict[Loc, int]]:
    """The document and the 1-based line of every key, by key path."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text: {exc.reason}", source=source, fix="save it as UTF-8"
        ) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = _lines(node, source)
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        raise ConfigError(
            f"not valid YAML{where}: {problem}", source=source, fix="fix the YAML syntax there"
        ) from None
    finally:
        loader.dispose()


def _lines(root: yaml.Node, source: str) -> dict[Loc, int]:
    lines: dict[Loc, int] = {}
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in keys:
                    raise ConfigError(
                        f"duplicate key {key!r} at line {line}",
                        source=source,
                        key=".".join(map(str, (*loc, key))),
                        fix="keep one of them (YAML would silently use the last)",
                    )
                keys.add(key)
                lines[(*loc, key)] = line
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, (*loc, index)))
    return lines


def at_line(lines: dict[Loc, int], loc: Loc) -> str:
    """`` at line N`` for a key path, or nothing when it is not in the file."""
    # Keys are stored as written; pydantic reports them the same way.
    line = lines.get(loc)
    return "" if line is None else f" at line {line}"


def show_value(value: Any) -> str:
    """A value as an error message quotes it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def lower_first(text: str) -> str:
    """pydantic's message as the rest of a sentence (``Input should`` -> ``input should``)."""
    return re.sub(r"^[A-Z](?=[a-z])", lambda m: m.group(0).lower(), text)


def read_mapping(path: Path, *, fix: str) -> tuple[bytes, dict[str, Any], dict[Loc, int]]:
    """The file's bytes, its top-level mapping and the line of every key.

    Raises:
        ConfigError: unreadable, not UTF-8, not YAML, or not a mapping (``fix`` says how
            the file should start).
    """
    raw = read_bytes(path)
    data, lines = parse_document(raw, str(path))
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(f"the file is {kind}", source=str(path), fix=fix)
    return raw, data, lines


def validate_file(
    model: type[M],
    data: dict[str, Any],
    *,
    path: Path,
    raw: bytes,
    lines: dict[Loc, int],
    explain: Callable[[ValidationError, str, dict[Loc, int]], ConfigError],
) -> M:
    """``model`` from a file's mapping, with ``path`` and ``source_hash`` set from the file.

    Raises:
        ConfigError: the file sets a reserved key, or ``explain``'s error for the first
            validation error.
    """
    source = str(path)
    for reserved in RESERVED:
        if reserved in data:
            raise ConfigError(
                f"unknown key {reserved!r}" + at_line(lines, (reserved,)),
                source=source,
                key=reserved,
                fix="remove it: the loader sets it from the file itself",
            )
    try:
        return model.model_validate(
            {**data, "path": path, "source_hash": hashlib.sha256(raw).hexdigest()}
        )
    except ValidationError as exc:
        raise explain(exc, source, lines) from None
