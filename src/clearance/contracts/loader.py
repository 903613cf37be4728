"""Read tool contracts from ``contracts/tools/<name>/<version>.yaml|.yml|.json``.

One module past 600 lines, on purpose for now: every check reports the line and JSON
pointer of the node it rejects, which only the parser here keeps, and PyYAML and
jsonschema errors are converted in this one place. If it grows, split off the parser that
keeps line numbers first (``_parse``, ``_Document``: ``acknowledgements.py`` uses it too).

Every check in ``contracts/FORMAT.md`` ("Tool contract") runs here, and every
failure is a :class:`~clearance.errors.ContractError` naming the file, the 1-based
line (YAML and JSON alike), the JSON pointer of the offending value and the fix.
PyYAML and jsonschema exceptions are converted here and nowhere else.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, overload

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from clearance.contracts.model import ContractSet, Criticality, ToolContract
from clearance.contracts.semver import Version, parse_version
from clearance.errors import ContractError

__all__ = ["CONTRACT_SUFFIXES", "NAME_PATTERN", "load_contract", "load_contracts"]

NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
"""What a tool name must match (what OpenAI, Anthropic and Gemini all accept)."""
CONTRACT_SUFFIXES = (".yaml", ".yml", ".json")

_TOP_KEYS = (
    "name",
    "version",
    "description",
    "criticality",
    "input_schema",
    "output_schema",
    "examples",
)
_REQUIRED_KEYS = _TOP_KEYS[:-1]
_EXAMPLE_KEYS = ("valid", "invalid")
_INVALID_EXAMPLE_KEYS = ("args", "reason")
_CRITICALITIES = ("critical", "standard")
_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


# Parsing with line numbers -------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str | int) -> str:
    return "".join(f"/{_escape(str(t))}" for t in tokens)


@dataclass
class _Document:
    """A parsed file: its data and the line of every JSON pointer in it."""

    path: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, pointer: str) -> int | None:
        """The line of ``pointer``, or of its nearest ancestor that has one."""
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def error(self, message: str, pointer: str = "", fix: str | None = None) -> ContractError:
        return ContractError(
            message, path=str(self.path), line=self.line(pointer), pointer=pointer, fix=fix
        )


class _NodeReader:
    """Turns a composed YAML node tree into JSON-compatible data, noting each line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        self._constructor = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, message: str, pointer: str, fix: str) -> ContractError:
        return ContractError(
            message, path=str(self.path), line=node.start_mark.line + 1, pointer=pointer, fix=fix
        )

    def read(self, node: yaml.Node, pointer: str = "") -> Any:
        self.lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(
                        key_node,
                        "YAML merge keys (<<) are not supported",
                        pointer,
                        "write the keys out",
                    )
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise self.fail(
                        key_node,
                        f"key {key!r} is a {type(key).__name__}, not a string",
                        pointer,
                        "quote the key (JSON objects have string keys only)",
                    )
                child = f"{pointer}/{_escape(key)}"
                if key in result:
                    raise self.fail(
                        key_node, f"duplicate key {key!r}", child, "keep only one of them"
                    )
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.read(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
        value = self._constructor.construct_object(node, deep=True)
        if value is None or isinstance(value, str | bool | int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(
                    node, f"{value!r} is not a JSON number", pointer, "use a finite number"
                )
            return value
        raise self.fail(
            node,
            f"{node.value!r} reads as a YAML {type(value).__name__}, which JSON does not have",
            pointer,
            f"quote it: '{node.value}'",
        )


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ContractError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return ContractError(
        message,
        path=str(path),
        line=None if mark is None else mark.line + 1,
        fix="fix the YAML syntax (check indentation, colons and quotes)",
    )


def _parse(path: Path) -> _Document:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(
            f"cannot read the file: {exc}", path=str(path), fix="check it exists and is UTF-8"
        ) from None
    if path.suffix == ".json":
        return _parse_json(path, text)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if node is None:
        raise ContractError(
            "the file is empty",
            path=str(path),
            fix="write a tool contract (see contracts/FORMAT.md)",
        )
    reader = _NodeReader(path)
    data = reader.read(node)
    return _Document(path, data, reader.lines)


def _parse_json(path: Path, text: str) -> _Document:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ContractError(
                    f"duplicate key {key!r}", path=str(path), fix="keep only one of them"
                )
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise ContractError(
            f"{name} is not a JSON number", path=str(path), fix="use a finite number"
        )

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"JSON syntax error: {exc.msg} (column {exc.colno})",
            path=str(path),
            line=exc.lineno,
            fix="fix the JSON syntax",
        ) from None
    # JSON is (nearly) YAML: composing it gives the line of every value. The values
    # themselves come from json.loads, which reads numbers the JSON way.
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
        if node is not None:
            reader = _NodeReader(path)
            reader.read(node)
            lines = reader.lines
    except (yaml.YAMLError, ContractError):
        lines = {}
    return _Document(path, data, lines)


# Checks -------------------------------------------------------------------------------


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _check_keys(
    doc: _Document,
    mapping: dict[str, Any],
    pointer: str,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    what: str,
) -> Iterator[ContractError]:
    for key in mapping:
        if key not in allowed:
            fix = _did_you_mean(key, allowed) or f"remove it; {what} takes {', '.join(allowed)}"
            yield doc.error(f"unknown key {key!r} in {what}", _pointer_join(pointer, key), fix)
    for key in required:
        if key not in mapping:
            yield doc.error(
                f"missing key {key!r} in {what}",
                pointer,
                f"add {key!r} (see contracts/FORMAT.md)",
            )


def _pointer_join(pointer: str, *tokens: str | int) -> str:
    return pointer + _pointer(*tokens)


_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it: several times faster, the same nodes and marks."""
_METASCHEMA: Any = None


_VALID_SCHEMAS: set[str] = set()
"""Canonical JSON of schemas already found valid (output schemas and unchanged versions
repeat across a suite; the 2020-12 metaschema costs milliseconds per schema)."""


_FLAT_METASCHEMA: Any = None
_VOCABULARIES = (
    "core",
    "applicator",
    "unevaluated",
    "validation",
    "meta-data",
    "format-annotation",
    "content",
)


def _flatten(node: Any) -> Any:
    """A metaschema fragment with ``$dynamicRef: #meta`` as ``$ref: #`` and refs made local."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$id", "$schema", "$vocabulary", "$dynamicAnchor"):
                continue
            if key == "$dynamicRef" and value == "#meta":
                out["$ref"] = "#"
            elif key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                out["$ref"] = "#/$defs/" + value.split("#/$defs/", 1)[1]
            else:
                out[key] = _flatten(value)
        return out
    if isinstance(node, list):
        return [_flatten(item) for item in node]
    return node


def _flat_metaschema() -> Any:
    """The 2020-12 metaschema with its vocabularies inlined into one schema.

    Without ``$dynamicRef``, jsonschema checks a schema against it about five times
    faster. It is only a fast path: a schema it rejects is checked again against the
    official metaschema, which decides (and gives the error).
    """
    global _FLAT_METASCHEMA
    if _FLAT_METASCHEMA is None:
        from jsonschema_specifications import REGISTRY

        base = "https://json-schema.org/draft/2020-12/"
        properties: dict[str, Any] = {}
        definitions: dict[str, Any] = {}
        parts = [REGISTRY.contents(f"{base}meta/{name}") for name in _VOCABULARIES]
        parts.append(REGISTRY.contents(f"{base}schema"))
        for part in parts:
            properties.update(_flatten(part.get("properties", {})))
            definitions.update(_flatten(part.get("$defs", {})))
        _FLAT_METASCHEMA = Draft202012Validator(
            {"type": ["object", "boolean"], "properties": properties, "$defs": definitions},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
    return _FLAT_METASCHEMA


def _check_against_metaschema(schema: Any) -> None:
    """``Draft202012Validator.check_schema``, fast for schemas that are valid."""
    global _METASCHEMA
    key = json.dumps(schema, sort_keys=True, default=str)
    if key in _VALID_SCHEMAS:
        return
    if _flat_metaschema().is_valid(schema):
        _VALID_SCHEMAS.add(key)
        return
    if _METASCHEMA is None:
        _METASCHEMA = Draft202012Validator(
            Draft202012Validator.META_SCHEMA,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
    for error in _METASCHEMA.iter_errors(schema):
        raise SchemaError.create_from(error)
    _VALID_SCHEMAS.add(key)


def _check_schema(doc: _Document, key: str) -> Iterator[ContractError]:
    schema = doc.data[key]
    if not isinstance(schema, dict):
        yield doc.error(
            f"{key} must be a JSON Schema object, got {type(schema).__name__}",
            _pointer(key),
            "write the schema as a mapping (type: object, properties: ...)",
        )
        return
    declared = schema.get("$schema")
    if declared is not None and str(declared).rstrip("#") != _DRAFT_2020_12:
        yield doc.error(
            f"{key} declares $schema {declared!r}; contracts are JSON Schema 2020-12",
            _pointer(key, "$schema"),
            f"remove $schema, or set it to {_DRAFT_2020_12!r}",
        )
        return
    try:
        _check_against_metaschema(schema)
    except SchemaError as exc:
        pointer = _pointer(key, *exc.path)
        yield doc.error(
            f"{key} is not a valid JSON Schema 2020-12: {exc.message}",
            pointer,
            f"fix the schema at {pointer} (validator {exc.validator!r})",
        )


def _validation_message(error: ValidationError) -> str:
    where = _pointer(*error.absolute_path)
    return f"{error.message} (at {where or '/'})"


def _check_examples(doc: _Document, schema: dict[str, Any]) -> Iterator[ContractError]:
    examples = doc.data.get("examples")
    if examples is None:
        return
    if not isinstance(examples, dict):
        yield doc.error(
            "examples must be a mapping with 'valid' and/or 'invalid'",
            "/examples",
            "write examples: {valid: [...], invalid: [...]}",
        )
        return
    yield from _check_keys(doc, examples, "/examples", _EXAMPLE_KEYS, (), "examples")
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    valid = examples.get("valid", [])
    if not isinstance(valid, list):
        yield doc.error("examples.valid must be a list", "/examples/valid", "write a list")
        valid = []
    for index, args in enumerate(valid):
        pointer = _pointer("examples", "valid", index)
        if not isinstance(args, dict):
            yield doc.error(
                f"valid example {index} must be an object of arguments, got {type(args).__name__}",
                pointer,
                "write the arguments as a mapping",
            )
            continue
        error = _first_error(validator, args)
        if error is not None:
            yield doc.error(
                f"valid example {index} does not validate against input_schema: "
                f"{_validation_message(error)}",
                _pointer_join(pointer, *error.absolute_path),
                "fix the example, or the schema if the example is right",
            )
    invalid = examples.get("invalid", [])
    if not isinstance(invalid, list):
        yield doc.error("examples.invalid must be a list", "/examples/invalid", "write a list")
        invalid = []
    for index, item in enumerate(invalid):
        pointer = _pointer("examples", "invalid", index)
        if not isinstance(item, dict):
            yield doc.error(
                f"invalid example {index} must be a mapping with 'args' and 'reason'",
                pointer,
                "write {args: {...}, reason: why it must be rejected}",
            )
            continue
        problems = list(
            _check_keys(
                doc,
                item,
                pointer,
                _INVALID_EXAMPLE_KEYS,
                _INVALID_EXAMPLE_KEYS,
                f"invalid example {index}",
            )
        )
        args, reason = item.get("args"), item.get("reason")
        if "args" in item and not isinstance(args, dict):
            problems.append(
                doc.error(
                    f"invalid example {index}: args must be an object, got {type(args).__name__}",
                    _pointer_join(pointer, "args"),
                    "write the arguments as a mapping",
                )
            )
        if "reason" in item and (not isinstance(reason, str) or not reason.strip()):
            problems.append(
                doc.error(
                    f"invalid example {index}: reason must be a non-empty string",
                    _pointer_join(pointer, "reason"),
                    "say why these arguments must be rejected",
                )
            )
        yield from problems
        if problems:
            continue
        if _first_error(validator, args) is None:
            yield doc.error(
                f"invalid example {index} unexpectedly validates against input_schema "
                f"(it should fail because: {reason})",
                _pointer_join(pointer, "args"),
                "tighten the schema so it rejects these arguments, or fix the example",
            )


def _first_error(validator: Draft202012Validator, instance: Any) -> ValidationError | None:
    error: ValidationError | None = best_match(validator.iter_errors(instance))
    return error


def _check_document(
    doc: _Document, *, check_location: bool
) -> tuple[ToolContract | None, list[ContractError]]:
    path = doc.path
    data = doc.data
    if not isinstance(data, dict):
        return None, [
            doc.error(
                f"a tool contract must be a mapping, got {type(data).__name__}",
                "",
                "start the file with name:, version:, description: ... (see contracts/FORMAT.md)",
            )
        ]
    errors = list(_check_keys(doc, data, "", _TOP_KEYS, _REQUIRED_KEYS, "a tool contract"))

    name = data.get("name")
    if "name" in data:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            errors.append(
                doc.error(
                    f"tool name {name!r} is invalid: it must match {NAME_PATTERN.pattern}",
                    "/name",
                    "use letters, digits, '_' and '-', starting with a letter or '_', "
                    "at most 64 characters",
                )
            )
            name = None
        elif check_location and path.parent.name != name:
            errors.append(
                doc.error(
                    f"tool name {name!r} differs from its folder {path.parent.name!r}",
                    "/name",
                    f"move the file to tools/{name}/, or rename the tool",
                )
            )

    version: Version | None = None
    if "version" in data:
        try:
            version = parse_version(data["version"])
        except ValueError as exc:
            errors.append(
                doc.error(str(exc), "/version", "write the version as MAJOR.MINOR.PATCH, quoted")
            )
        else:
            if check_location and path.stem != str(version):
                errors.append(
                    doc.error(
                        f"version {version} differs from the file name {path.name!r}",
                        "/version",
                        f"rename the file to {version}{path.suffix}, or fix the version",
                    )
                )

    description = data.get("description")
    if "description" in data and (not isinstance(description, str) or not description.strip()):
        errors.append(
            doc.error(
                "description must be a non-empty string",
                "/description",
                "say what the tool does and when to use it: the model reads it",
            )
        )

    criticality = data.get("criticality")
    if "criticality" in data and criticality not in _CRITICALITIES:
        errors.append(
            doc.error(
                f"criticality {criticality!r} is not one of {', '.join(_CRITICALITIES)}",
                "/criticality",
                _did_you_mean(str(criticality), _CRITICALITIES) or "write critical or standard",
            )
        )

    schemas_ok = True
    for key in ("input_schema", "output_schema"):
        if key in data:
            problems = list(_check_schema(doc, key))
            schemas_ok = schemas_ok and not problems
            errors.extend(problems)
        else:
            schemas_ok = False
    input_schema = data.get("input_schema")
    if schemas_ok and isinstance(input_schema, dict):
        if input_schema.get("type") != "object":
            pointer = "/input_schema/type" if "type" in input_schema else "/input_schema"
            errors.append(
                doc.error(
                    f"input_schema must have type: object at the top level, "
                    f"got {input_schema.get('type')!r}",
                    pointer,
                    "tool arguments are an object: set type: object and list them under properties",
                )
            )
        else:
            errors.extend(_check_examples(doc, input_schema))
    if errors:
        return None, errors

    examples = data.get("examples") or {}
    contract = ToolContract(
        name=cast(str, name),
        version=cast(Version, version),
        description=cast(str, description),
        criticality=cast(Criticality, criticality),
        input_schema=data["input_schema"],
        output_schema=data["output_schema"],
        valid_examples=tuple(examples.get("valid", ())),
        invalid_examples=tuple(
            (item["args"], item["reason"]) for item in examples.get("invalid", ())
        ),
        path=path,
        content_hash=content_hash(data),
    )
    return contract, []


def content_hash(document: Any) -> str:
    """SHA-256 (hex) of a document's canonical JSON: sorted keys, no spaces, ASCII escapes.

    The same digest as ``clearance.contracts.lock.document_hash`` for any JSON document.
    """
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _load_one(
    path: Path, *, check_location: bool
) -> tuple[ToolContract | None, list[ContractError]]:
    try:
        doc = _parse(path)
    except ContractError as exc:
        return None, [exc]
    return _check_document(doc, check_location=check_location)


# Public API ---------------------------------------------------------------------------


def load_contract(path: Path | str, *, check_location: bool = True) -> ToolContract:
    """Load and check one contract file.

    Args:
        path: a ``.yaml``, ``.yml`` or ``.json`` file.
        check_location: also check that the file is named ``<version>.<ext>`` inside a
            folder named after the tool (what ``load_contracts`` requires).

    Raises:
        ContractError: the first problem found (file, line, pointer, fix).
    """
    path = Path(path)
    if path.suffix not in CONTRACT_SUFFIXES:
        raise ContractError(
            f"not a contract file: the name must end in {', '.join(CONTRACT_SUFFIXES)}",
            path=str(path),
            fix=f"rename it to <version>{CONTRACT_SUFFIXES[0]}",
        )
    contract, errors = _load_one(path, check_location=check_location)
    if errors:
        raise errors[0]
    assert contract is not None
    return contract


@overload
def load_contracts(root: Path | str, *, collect: Literal[False] = False) -> ContractSet: ...
@overload
def load_contracts(
    root: Path | str, *, collect: Literal[True]
) -> tuple[ContractSet, list[ContractError]]: ...
def load_contracts(
    root: Path | str, *, collect: bool = False
) -> ContractSet | tuple[ContractSet, list[ContractError]]:
    """Load every contract under ``root/tools/<name>/<version>.yaml|.yml|.json``.

    Args:
        root: the ``contracts/`` folder.
        collect: return ``(contracts, errors)`` with every problem of every file, and the
            contracts that loaded cleanly, instead of raising the first problem.

    Raises:
        ContractError: (when ``collect`` is false) the first problem, files in sorted order.
    """
    root = Path(root)
    if not root.is_dir():
        raise ContractError(
            "the contracts folder does not exist",
            path=str(root),
            fix="create it, with tools/<name>/<version>.yaml inside",
        )
    errors: list[ContractError] = []
    loaded: dict[tuple[str, Version], ToolContract] = {}
    tools = root / "tools"
    entries = sorted(tools.iterdir()) if tools.is_dir() else []
    for folder in entries:
        if folder.name.startswith("."):
            continue
        if not folder.is_dir():
            errors.append(
                ContractError(
                    "a file directly under tools/; contracts live in tools/<name>/",
                    path=str(folder),
                    fix=f"move it to tools/<name>/{folder.name}",
                )
            )
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if path.suffix not in CONTRACT_SUFFIXES or not path.is_file():
                errors.append(
                    ContractError(
                        f"not a contract file: names end in {', '.join(CONTRACT_SUFFIXES)}",
                        path=str(path),
                        fix="rename it to <version>.yaml, or move it out of tools/",
                    )
                )
                continue
            contract, problems = _load_one(path, check_location=True)
            errors.extend(problems)
            if contract is None:
                continue
            ident = (contract.name, contract.version)
            if ident in loaded:
                first = loaded[ident].path
                errors.append(
                    ContractError(
                        f"tool {contract.name!r} version {contract.version} is defined twice: "
                        f"in {first.name} and in {path.name}",
                        path=str(path),
                        fix=f"keep one of {first.name} and {path.name}",
                    )
                )
                continue
            loaded[ident] = contract
    contracts = ContractSet(loaded.values(), root=root)
    if collect:
        return contracts, errors
    if errors:
        raise errors[0]
    return contracts
