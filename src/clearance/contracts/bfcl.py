"""Importing the Berkeley Function Calling Leaderboard (BFCL v4) as contracts and cases.

One module past 600 lines, on purpose for now: it is one importer of one outside format,
read, converted and written in a single pass, with its conversion decisions written once
below; issue 19 reworks it, and will split it where that rework draws the seams.

BFCL ships each category as two JSON Lines files (named ``.json``): the questions
(``BFCL_v4_<category>.json``: ``id``, ``question``, ``function``) and, under
``possible_answer/``, the ground truth (``id``, ``ground_truth``). Each BFCL
function becomes a tool contract and each question a single-turn ``kind: case``
flow, both in the formats of ``contracts/FORMAT.md``.

Conversion decisions:

- **Tool names.** Contract names must match ``^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$``; BFCL
  names contain dots (``math.factorial``). Every character outside ``[A-Za-z0-9_-]``
  becomes ``_`` (``math_factorial``); a name that would start with a digit or ``-``
  gets a leading ``_``; a name longer than 64 is cut and suffixed with a hash.
  Contract files allow no extra keys, so the original name is kept in the case's
  ``description`` (``math_factorial = math.factorial``) and in
  :attr:`ImportReport.name_map`.
- **Versions.** Every contract is ``1.0.0``, ``criticality: standard``, and its
  ``output_schema`` is ``{type: object}`` (BFCL describes no results).
- **Shared and clashing definitions.** :func:`import_bfcl` writes one contract per
  distinct function definition (the canonical JSON of BFCL's function object). When
  a later case defines a function of the same (sanitized) name differently, that
  definition is named ``<name>__<first 8 hex of its SHA-256>`` and listed in
  :attr:`ImportReport.renamed`.
- **Types.** The parameter schema is converted recursively through ``properties``,
  ``items`` and ``additionalProperties`` (a property may itself be called ``type``):
  ``dict`` → ``object``, ``float`` → ``number``, ``tuple`` → ``array``, ``any`` →
  no ``type`` at all; ``integer``, ``number``, ``boolean``, ``string``, ``array``,
  ``object`` and ``null`` stay as they are (``int``, ``str``, ``bool``, ``list`` map
  to their JSON Schema names too). BFCL's non-standard ``optional`` keyword is
  dropped (``required`` already says it); ``default``, ``enum``, ``format`` and the
  descriptions are kept. ``additionalProperties`` stays absent: BFCL schemas are open.
- **Examples.** ``valid`` holds the ground-truth arguments of the first call to the
  function whose arguments validate (first acceptable value of each parameter, ``""``
  meaning "leave it out"); functions never called, or whose ground truth does not
  validate (a known BFCL quirk), get none. ``invalid`` holds ``{}`` when the schema
  requires parameters.
- **Cases.** ``id`` is ``bfcl_`` plus the BFCL id, lower-cased, with characters
  outside ``[a-z0-9_.-]`` turned into ``_``. ``user`` is the text of the user
  messages of the question's first turn (joined by a blank line), ``system`` that of
  its system messages. One step expects the ground-truth calls, with
  ``any_order: true`` when there are several (the parallel categories).
- **Matchers.** A parameter's list of acceptable values becomes: one value → that
  value (exact; numbers compare by value, so ``5`` also accepts ``5.0``); several →
  ``$one_of``; ``""`` in the list → wrapped in ``$optional``; ``""`` alone →
  ``{$optional: {$any: true}}``; ``null`` under ``$optional`` is written
  ``{$exact: null}``. BFCL's nested form (a dict, or a list of dicts, whose values
  are themselves lists of acceptable values) is expanded into every concrete
  alternative (keys with ``""`` present or absent) and matched exactly, which is what
  BFCL's ``dict_checker`` does (no unknown keys); past
  :data:`MAX_ALTERNATIVES` a dict becomes a looser ``$subset`` instead and the case
  is listed in :attr:`ImportReport.loose_matchers`. Strings are matched exactly,
  which is stricter than BFCL's checker (it lower-cases and strips spaces and
  ``,./-_*^`` before comparing). Quirks kept as they are: numbers written as
  strings, ground-truth parameters that the function does not declare (they are
  optional, the schema is open), acceptable values of the wrong type.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from clearance.errors import SourceFormatError

__all__ = [
    "DEFAULT_CATEGORIES",
    "MAX_ALTERNATIVES",
    "BfclCase",
    "ImportReport",
    "RenamedTool",
    "bfcl_documents",
    "convert_case",
    "convert_parameters",
    "ground_truth_arguments",
    "import_bfcl",
    "parameter_matcher",
    "read_bfcl",
    "sanitize_case_id",
    "sanitize_tool_name",
]

DEFAULT_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple")
"""The single-turn categories that :func:`read_bfcl` reads unless told otherwise."""

MAX_ALTERNATIVES = 64
"""The most concrete alternatives one nested BFCL value is expanded into."""

CONTRACT_VERSION = "1.0.0"
_TYPES = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "integer": "integer",
    "int": "integer",
    "boolean": "boolean",
    "bool": "boolean",
    "string": "string",
    "str": "string",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "null": "null",
}
_DROPPED_KEYWORDS = frozenset({"optional"})
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when installed: 10x faster
_ABSENT: Any = object()
"""A nested key left out (its acceptable values held ``""``)."""


@dataclass(frozen=True, slots=True)
class BfclCase:
    """One BFCL question with its ground truth, as read from the files."""

    id: str
    category: str
    question: list[list[dict[str, Any]]] = field(hash=False)
    """Turns, each a list of chat messages (``role``, ``content``)."""
    functions: list[dict[str, Any]] = field(hash=False)
    """The functions offered (``name``, ``description``, ``parameters``)."""
    ground_truth: list[dict[str, dict[str, list[Any]]]] = field(hash=False)
    """The expected calls: ``{function name: {parameter: [acceptable values]}}``."""
    source: str = ""
    """``file:line`` of the question."""


@dataclass(frozen=True, slots=True)
class RenamedTool:
    """A function whose name was already taken by a different definition."""

    original: str
    """The BFCL name."""
    contract_name: str
    """The name it was written under (``<sanitized>__<hash>``)."""
    case_id: str
    """The first BFCL case that offered this definition."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What :func:`import_bfcl` wrote."""

    cases: int
    by_category: dict[str, int]
    tools: int
    """Contract files written (distinct function definitions)."""
    shared: int
    """Function offers that reused a definition already written by an earlier case."""
    renamed: tuple[RenamedTool, ...]
    name_map: dict[str, str]
    """Contract name → original BFCL name, for every contract written."""
    without_valid_example: tuple[str, ...]
    """Contracts of called functions whose ground truth did not validate."""
    loose_matchers: tuple[str, ...]
    """Cases with a nested value too large to expand (matched with ``$subset``)."""
    tool_paths: tuple[Path, ...] = ()
    flow_paths: tuple[Path, ...] = ()


# -- reading --------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceFormatError(
            f"cannot read BFCL file: {exc.strerror or exc}",
            source=str(path),
            fix="point at the folder that holds BFCL_v4_<category>.json and possible_answer/",
        ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceFormatError(
                f"line is not JSON: {exc.msg} (column {exc.colno})",
                source=f"{path}:{number}",
                fix="BFCL files are JSON Lines: one JSON object per line",
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise SourceFormatError(
                "a BFCL record must be a JSON object with a string 'id'",
                source=f"{path}:{number}",
            )
        yield number, record


def _category_file(directory: Path, category: str) -> Path:
    exact = directory / f"BFCL_v4_{category}.json"
    if exact.is_file():
        return exact
    others = sorted(directory.glob(f"BFCL_v*_{category}.json"))
    if others:
        return others[-1]
    raise SourceFormatError(
        f"no question file for BFCL category {category!r}",
        source=str(directory),
        fix=f"expected {exact.name} in that folder (and possible_answer/{exact.name})",
    )


def read_bfcl(directory: Path, categories: Sequence[str] = DEFAULT_CATEGORIES) -> list[BfclCase]:
    """The cases of the given single-turn categories, each with its ground truth.

    Raises:
        SourceFormatError: a missing or unreadable file, a line that is not a BFCL
            record, a question without an answer, or a multi-turn category.
    """
    directory = Path(directory)
    cases: list[BfclCase] = []
    for category in categories:
        if category.startswith("multi_turn"):
            raise SourceFormatError(
                f"BFCL category {category!r} is multi-turn; only single-turn ones convert",
                source=str(directory),
                fix=f"use categories among {', '.join(DEFAULT_CATEGORIES)}",
            )
        questions = _category_file(directory, category)
        answers_path = directory / "possible_answer" / questions.name
        answers: dict[str, Any] = {}
        for number, record in _read_jsonl(answers_path):
            truth = record.get("ground_truth")
            if not isinstance(truth, list) or not all(
                isinstance(call, dict) and len(call) == 1 for call in truth
            ):
                raise SourceFormatError(
                    "ground_truth must be a list of {function: {parameter: [values]}}",
                    source=f"{answers_path}:{number}",
                    pointer="/ground_truth",
                )
            answers[record["id"]] = truth
        for number, record in _read_jsonl(questions):
            where = f"{questions}:{number}"
            if record["id"] not in answers:
                raise SourceFormatError(
                    f"question {record['id']!r} has no possible answer",
                    source=where,
                    fix=f"check {answers_path}",
                )
            question, functions = record.get("question"), record.get("function")
            if not isinstance(question, list) or not isinstance(functions, list):
                raise SourceFormatError(
                    "a BFCL question needs 'question' (turns) and 'function' (a list)",
                    source=where,
                )
            cases.append(
                BfclCase(
                    id=record["id"],
                    category=category,
                    question=question,
                    functions=functions,
                    ground_truth=answers[record["id"]],
                    source=where,
                )
            )
    return cases


# -- names ----------------------------------------------------------------------------


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sanitize_tool_name(name: str) -> str:
    """A contract name for a BFCL function name (``math.factorial`` → ``math_factorial``)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name) or "_"
    if not re.match(r"[A-Za-z_]", cleaned):
        cleaned = "_" + cleaned
    if len(cleaned) > 64:
        cleaned = f"{cleaned[:54]}__{_digest(name)[:8]}"
    return cleaned


def sanitize_case_id(bfcl_id: str) -> str:
    """A flow id for a BFCL id (``simple_python_0`` → ``bfcl_simple_python_0``)."""
    cleaned = re.sub(r"[^a-z0-9_.-]", "_", bfcl_id.lower())
    if not cleaned.startswith("bfcl"):
        cleaned = f"bfcl_{cleaned}"
    return cleaned


def _suffixed(name: str, definition_hash: str) -> str:
    return f"{name[:54]}__{definition_hash[:8]}"


def _default_names(case: BfclCase) -> dict[str, str]:
    """BFCL name → contract name within one case (a clash gets a hash suffix)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for function in case.functions:
        original = str(function.get("name", ""))
        name = sanitize_tool_name(original)
        if name in taken:
            name = _suffixed(name, _digest(function))
        names[original] = name
        taken.add(name)
    return names


# -- schemas --------------------------------------------------------------------------


def convert_parameters(schema: Any, *, source: str = "", pointer: str = "") -> dict[str, Any]:
    """A BFCL parameter schema as JSON Schema 2020-12 (see the module docstring).

    Raises:
        SourceFormatError: a schema that is not an object, or an unknown type name.
    """
    converted = _convert_schema(schema, source, pointer)
    converted.setdefault("type", "object")
    return converted


def _convert_type(value: Any, source: str, pointer: str) -> Any:
    if isinstance(value, list):
        mapped = [_convert_type(v, source, pointer) for v in value]
        return None if None in mapped else list(dict.fromkeys(mapped))
    if value == "any":
        return None
    if isinstance(value, str) and value in _TYPES:
        return _TYPES[value]
    raise SourceFormatError(
        f"unknown BFCL type {value!r}",
        source=source,
        pointer=pointer,
        fix=f"known types: {', '.join(sorted({*_TYPES, 'any'}))}",
    )


def _convert_schema(schema: Any, source: str, pointer: str) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise SourceFormatError(
            f"a schema must be an object, got {type(schema).__name__}",
            source=source,
            pointer=pointer,
        )
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "type":
            mapped = _convert_type(value, source, f"{pointer}/type")
            if mapped is not None:
                out["type"] = mapped
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {
                name: _convert_schema(sub, source, f"{pointer}/properties/{name}")
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _convert_schema(value, source, f"{pointer}/{key}")
        elif key == "items" and isinstance(value, list):
            out["prefixItems"] = [
                _convert_schema(sub, source, f"{pointer}/items/{i}") for i, sub in enumerate(value)
            ]
        else:
            out[key] = value
    return out


# -- matchers -------------------------------------------------------------------------


class _TooMany(Exception):
    """A nested value with more than MAX_ALTERNATIVES concrete forms."""


def _is_nested(value: Any) -> bool:
    """BFCL's nested form: a dict whose values are all lists of acceptable values."""
    return (
        isinstance(value, dict) and bool(value) and all(isinstance(v, list) for v in value.values())
    )


def _alternatives(value: Any) -> list[Any]:
    """Every concrete value an acceptable value stands for (nested forms expanded)."""
    if _is_nested(value):
        per_key: list[list[tuple[str, Any]]] = []
        for key, options in value.items():
            choices: list[tuple[str, Any]] = []
            for option in options:
                if option == "":
                    choices.append((key, _ABSENT))
                else:
                    choices.extend((key, alt) for alt in _alternatives(option))
            per_key.append(choices)
        return _product(per_key, lambda pairs: {k: v for k, v in pairs if v is not _ABSENT})
    if isinstance(value, list) and any(_is_nested(item) for item in value):
        per_item = [[(i, alt) for alt in _alternatives(item)] for i, item in enumerate(value)]
        return _product(per_item, lambda pairs: [v for _, v in pairs])
    return [value]


def _product(groups: list[list[tuple[Any, Any]]], build: Any) -> list[Any]:
    total = 1
    for group in groups:
        total *= max(len(group), 1)
        if total > MAX_ALTERNATIVES:
            raise _TooMany
    return _unique(build(combo) for combo in itertools.product(*groups))


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(k).startswith("$") for k in value) or any(
            _has_dollar_key(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_dollar_key(v) for v in value)
    return False


def _literal(value: Any) -> Any:
    """A value as an exact matcher (``$exact`` when it could be read as a matcher)."""
    return {"$exact": value} if _has_dollar_key(value) else value


def _loose(value: Any) -> Any:
    """A matcher for a nested value too large to expand: ``$subset`` per dict."""
    if _is_nested(value):
        return {"$subset": {key: parameter_matcher(options) for key, options in value.items()}}
    if isinstance(value, list) and any(_is_nested(item) for item in value):
        raise _TooMany  # a list of huge dicts: no matcher matches element-wise
    return _literal(value)


def parameter_matcher(values: Sequence[Any], *, loose: list[bool] | None = None) -> Any:
    """The matcher for one parameter's list of acceptable values (see the module docstring)."""
    optional = any(isinstance(v, str) and v == "" for v in values)
    options: list[Any] = []
    for value in values:
        if isinstance(value, str) and value == "":
            continue
        try:
            options.extend(_literal(alt) for alt in _alternatives(value))
        except _TooMany:
            if loose is not None:
                loose.append(True)
            options.append(_loose(value))
    options = _unique(options)
    if not options:
        matcher: Any = {"$any": True}
    elif len(options) == 1:
        matcher = options[0]
    else:
        matcher = {"$one_of": options}
    if not optional:
        return matcher
    return {"$optional": {"$exact": None} if matcher is None else matcher}


def _first_value(values: Sequence[Any]) -> Any:
    """The first acceptable value, concrete (``_ABSENT`` when only ``""`` is listed)."""
    for value in values:
        if isinstance(value, str) and value == "":
            continue
        return _concrete(value)
    return _ABSENT


def _concrete(value: Any) -> Any:
    if _is_nested(value):
        picked = {key: _first_value(options) for key, options in value.items()}
        return {k: v for k, v in picked.items() if v is not _ABSENT}
    if isinstance(value, list) and any(_is_nested(item) for item in value):
        return [_concrete(item) for item in value]
    return value


def ground_truth_arguments(arguments: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """One concrete set of arguments: each parameter's first acceptable value, ``""`` left out."""
    picked = {name: _first_value(values) for name, values in arguments.items()}
    return {name: value for name, value in picked.items() if value is not _ABSENT}


# -- conversion -----------------------------------------------------------------------


@dataclass(slots=True)
class _Converted:
    contracts: list[tuple[dict[str, Any], dict[str, Any]]]
    """(BFCL function, contract document)."""
    case: dict[str, Any]
    loose: bool
    missing_example: list[str]


def _messages(case: BfclCase) -> tuple[str | None, str]:
    if not case.question or not isinstance(case.question[0], list):
        raise SourceFormatError("a BFCL question needs at least one turn", source=case.source)
    system = [str(m.get("content", "")) for m in case.question[0] if m.get("role") == "system"]
    user = [str(m.get("content", "")) for m in case.question[0] if m.get("role") == "user"]
    if not user:
        raise SourceFormatError(
            "the question's first turn has no user message",
            source=case.source,
            pointer="/question/0",
        )
    return ("\n\n".join(system) if system else None), "\n\n".join(user)


def _convert(case: BfclCase, names: Mapping[str, str]) -> _Converted:
    schemas: dict[str, dict[str, Any]] = {}
    for index, function in enumerate(case.functions):
        original = str(function.get("name", ""))
        schemas[original] = convert_parameters(
            function.get("parameters", {}),
            source=case.source,
            pointer=f"/function/{index}/parameters",
        )
    calls: list[dict[str, Any]] = []
    loose: list[bool] = []
    examples: dict[str, dict[str, Any]] = {}
    for index, call in enumerate(case.ground_truth):
        ((original, arguments),) = call.items()
        if original not in names:
            raise SourceFormatError(
                f"the ground truth calls {original!r}, which the question does not offer",
                source=case.source,
                pointer=f"/ground_truth/{index}",
            )
        args = {p: parameter_matcher(values, loose=loose) for p, values in arguments.items()}
        calls.append({"tool": names[original], "args": args})
        if original not in examples:
            candidate = ground_truth_arguments(arguments)
            validator = Draft202012Validator(
                schemas[original], format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            if not any(True for _ in validator.iter_errors(candidate)):
                examples[original] = candidate
    called = {next(iter(call)) for call in case.ground_truth}
    contracts: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for function in case.functions:
        original = str(function.get("name", ""))
        schema = schemas[original]
        required = [str(r) for r in schema.get("required", [])]
        invalid = (
            [{"args": {}, "reason": f"missing required parameters: {', '.join(required)}"}]
            if required
            else []
        )
        description = str(function.get("description") or "").strip()
        contracts.append(
            (
                function,
                {
                    "name": names[original],
                    "version": CONTRACT_VERSION,
                    "description": description or f"BFCL function {original}.",
                    "criticality": "standard",
                    "input_schema": schema,
                    "output_schema": {"type": "object"},
                    "examples": {
                        "valid": [examples[original]] if original in examples else [],
                        "invalid": invalid,
                    },
                },
            )
        )
    mapping = ", ".join(
        f"{names[o]} = {o}" for o in (str(f.get("name", "")) for f in case.functions)
    )
    system, user = _messages(case)
    expect: dict[str, Any] = {"calls": calls}
    if len(calls) > 1:
        expect["any_order"] = True
    document: dict[str, Any] = {
        "id": sanitize_case_id(case.id),
        "description": f"BFCL v4 {case.category} case {case.id}. Tools (contract = BFCL name): "
        f"{mapping}.",
        "kind": "case",
        "tags": ["bfcl", case.category],
        "tools": [f"{names[str(f.get('name', ''))]}@{CONTRACT_VERSION}" for f in case.functions],
    }
    if system is not None:
        document["system"] = system
    document["user"] = user
    document["steps"] = [{"expect": expect}]
    return _Converted(
        contracts=contracts,
        case=document,
        loose=bool(loose),
        missing_example=sorted(names[o] for o in called if o not in examples),
    )


def convert_case(case: BfclCase) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The contract documents of a case's functions, and its ``kind: case`` document.

    Names are sanitized per case; :func:`import_bfcl` also resolves clashes across
    cases. Raises :class:`~clearance.errors.SourceFormatError` on malformed data.
    """
    converted = _convert(case, _default_names(case))
    return [contract for _, contract in converted.contracts], converted.case


# -- writing --------------------------------------------------------------------------


def _dump(document: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(dict(document), Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")


class _Importer:
    """Names contracts across cases (sharing equal definitions) and collects the report."""

    def __init__(self) -> None:
        self.by_hash: dict[str, str] = {}  # definition hash → contract name
        self.taken: set[str] = set()
        self.name_map: dict[str, str] = {}
        self.renamed: list[RenamedTool] = []
        self.missing: set[str] = set()
        self.loose: list[str] = []
        self.by_category: dict[str, int] = {}
        self.shared = 0

    def documents(self, cases: Iterable[BfclCase]) -> Iterator[tuple[str, dict[str, Any]]]:
        for case in cases:
            names: dict[str, str] = {}
            fresh: set[str] = set()
            for function in case.functions:
                original = str(function.get("name", ""))
                definition = _digest(function)
                if definition in self.by_hash:
                    names[original] = self.by_hash[definition]
                    self.shared += 1
                    continue
                name = sanitize_tool_name(original)
                if name in self.taken:
                    name = _suffixed(name, definition)
                    self.renamed.append(RenamedTool(original, name, case.id))
                self.by_hash[definition] = name
                self.taken.add(name)
                self.name_map[name] = original
                names[original] = name
                fresh.add(name)
            converted = _convert(case, names)
            self.missing.update(n for n in converted.missing_example if n in fresh)
            if converted.loose:
                self.loose.append(case.id)
            for _, contract in converted.contracts:
                if contract["name"] in fresh:
                    fresh.discard(contract["name"])
                    yield f"tools/{contract['name']}/{CONTRACT_VERSION}.yaml", contract
            self.by_category[case.category] = self.by_category.get(case.category, 0) + 1
            yield f"flows/{converted.case['id']}.yaml", converted.case


def bfcl_documents(cases: Iterable[BfclCase]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path relative to a contracts folder, document) for every contract and case.

    What :func:`import_bfcl` writes: one contract per distinct function definition
    (clashing names suffixed with a hash), one case per BFCL case.
    """
    return _Importer().documents(cases)


def import_bfcl(
    directory: Path,
    out_root: Path,
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    limit: int | None = None,
) -> ImportReport:
    """Write ``out_root/tools/<name>/1.0.0.yaml`` and ``out_root/flows/<id>.yaml``.

    Args:
        directory: the BFCL folder (question files and ``possible_answer/``).
        out_root: a contracts folder; existing files of the same names are replaced.
        categories: which categories to import, in this order.
        limit: import at most this many cases of each category (all when ``None``).
    """
    out_root = Path(out_root)
    cases = read_bfcl(directory, categories)
    if limit is not None:
        counts: dict[str, int] = {}
        kept = []
        for case in cases:
            counts[case.category] = counts.get(case.category, 0) + 1
            if counts[case.category] <= limit:
                kept.append(case)
        cases = kept
    importer = _Importer()
    tool_paths: list[Path] = []
    flow_paths: list[Path] = []
    for relative, document in importer.documents(cases):
        path = out_root / relative
        _dump(document, path)
        (tool_paths if relative.startswith("tools/") else flow_paths).append(path)
    return ImportReport(
        cases=len(flow_paths),
        by_category=importer.by_category,
        tools=len(tool_paths),
        shared=importer.shared,
        renamed=tuple(importer.renamed),
        name_map=importer.name_map,
        without_valid_example=tuple(sorted(importer.missing)),
        loose_matchers=tuple(importer.loose),
        tool_paths=tuple(tool_paths),
        flow_paths=tuple(flow_paths),
    )
