"""Importing the Berkeley Function Calling Leaderboard (BFCL v4) as contracts and cases.

Each BFCL function becomes a tool contract and each question a single-turn ``kind: case``
flow, both in the formats of ``contracts/FORMAT.md``; the folder gets a ``suite.yaml``
that judges it by the ``bfcl`` scoring profile (:mod:`clearance.flows.scoring_profile`).
Reading the files is :mod:`~clearance.contracts.bfcl_files`; parameter schemas,
:mod:`~clearance.contracts.bfcl_schemas`; acceptable values as matchers,
:mod:`~clearance.contracts.bfcl_matchers`; ground truth that breaks its own schema,
:mod:`~clearance.contracts.bfcl_conflicts`.

Conversion decisions:

- **Tool names.** Contract names must match ``^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$``; BFCL
  names contain dots (``math.factorial``). Every character outside ``[A-Za-z0-9_-]``
  becomes ``_`` (``math_factorial``, as BFCL itself renames for function-calling APIs);
  a name that would start with a digit or ``-`` gets a leading ``_``; a name longer than
  64 is cut and suffixed with a hash. The original name is kept in the case's
  ``description`` (``math_factorial = math.factorial``) and in :attr:`ImportReport.name_map`.
- **Versions.** Every contract is ``1.0.0``, ``criticality: standard``, and its
  ``output_schema`` is ``{type: object}`` (BFCL describes no results).
- **Shared and clashing definitions.** One contract per distinct function definition
  (the canonical JSON of BFCL's function object). When a later case defines a function of
  the same (sanitized) name differently, that definition is named
  ``<name>__<first 8 hex of its SHA-256>`` and listed in :attr:`ImportReport.renamed`.
- **Types.** Python categories: the parameter schema is converted recursively through
  ``properties``, ``items`` and ``additionalProperties`` (a property may itself be called
  ``type``): ``dict`` → ``object``, ``float`` → ``number``, ``tuple`` → ``array``,
  ``any`` → no ``type`` at all; ``integer``, ``number``, ``boolean``, ``string``,
  ``array``, ``object`` and ``null`` stay as they are (``int``, ``str``, ``bool``,
  ``list`` map to their JSON Schema names too). BFCL's non-standard ``optional`` keyword
  is dropped (``required`` already says it); ``default``, ``enum``, ``format`` and the
  descriptions are kept; ``additionalProperties`` stays absent: BFCL schemas are open.
  Java and JavaScript categories are shown to the model as BFCL shows them to
  function-calling models: every parameter is a ``string`` of source text, its
  description says of which Java or JavaScript type (and an array's element type, a
  dict's entries), and the function's description says which language it is in.
- **Examples.** ``valid`` holds the ground-truth arguments of the first call to the
  function whose arguments validate (first acceptable value of each parameter, ``""``
  meaning "leave it out"); functions never called, or whose ground truth does not
  validate (a known BFCL quirk), get none. ``invalid`` holds ``{}`` when the schema
  requires parameters.
- **Cases.** ``id`` is ``bfcl_`` plus the BFCL id, lower-cased, with characters outside
  ``[a-z0-9_.-]`` turned into ``_``. ``user`` is the text of the user messages of the
  question's first turn (joined by a blank line), ``system`` that of its system
  messages; assistant messages inside a question (a few ``live_irrelevance`` ones) are
  left out and listed in :attr:`ImportReport.quirks`. One step expects the ground-truth
  calls (:mod:`~clearance.contracts.bfcl_matchers`), with ``any_order: true`` when there
  are several. ``irrelevance`` cases expect no call; a ``live_relevance`` case (any call
  passes BFCL) expects, under the ``clearance`` profile, a call of its first tool with
  any arguments.
- **The answer key.** Each case keeps, under ``bfcl:``, what BFCL's checker reads
  (:mod:`clearance.flows.bfcl.key`): its category, each offered tool's declared types
  and required parameters, and the ground truth as BFCL wrote it (contract names).
- **Conflicts.** Ground truth that its own declaration refuses is kept, and listed in
  :attr:`ImportReport.conflicts` (:mod:`~clearance.contracts.bfcl_conflicts`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from clearance.contracts.bfcl_conflicts import (
    GroundTruthConflict,
    find_conflicts,
    source_conflicts,
)
from clearance.contracts.bfcl_files import (
    DEFAULT_CATEGORIES,
    BfclCase,
    categories_in,
    read_bfcl,
)
from clearance.contracts.bfcl_matchers import (
    MAX_ALTERNATIVES,
    ground_truth_arguments,
    parameter_matcher,
    source_values,
)
from clearance.contracts.bfcl_schemas import (
    convert_parameters,
    declared_function,
    source_text_parameters,
)
from clearance.errors import SourceFormatError
from clearance.flows.bfcl.key import (
    BfclFunction,
    BfclKey,
    BfclParameter,
    Language,
    category_kind,
    category_language,
)
from clearance.flows.scoring_profile import SUITE_FILE, suite_file_text

__all__ = [
    "DEFAULT_CATEGORIES",
    "MAX_ALTERNATIVES",
    "BfclCase",
    "GroundTruthConflict",
    "ImportQuirk",
    "ImportReport",
    "RenamedTool",
    "answer_key",
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

CONTRACT_VERSION = "1.0.0"
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when installed: 10x faster
_LANGUAGE_NOTE = {
    "python": " Note that the provided function is in Python 3 syntax.",
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
}


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
class ImportQuirk:
    """Something in a BFCL question the conversion could not keep as it was."""

    case_id: str
    kind: str
    """``assistant_message`` (dropped), ``later_turns`` (dropped)."""
    detail: str


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
    conflicts: tuple[GroundTruthConflict, ...] = ()
    """Every place the ground truth disagrees with its own declaration (kept as it is)."""
    quirks: tuple[ImportQuirk, ...] = ()
    skipped: dict[str, str] | None = None
    """Categories found in the folder and not imported → why (multi-turn ones)."""
    scoring: str = "bfcl"
    """The scoring profile the written ``suite.yaml`` selects."""


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


# -- the answer key ---------------------------------------------------------------


def answer_key(case: BfclCase, names: Mapping[str, str]) -> BfclKey:
    """The case's answer key (see :mod:`clearance.flows.bfcl.key`), tools by contract name."""
    functions = {
        names[str(f.get("name", ""))]: declared_function(f.get("parameters"))
        for f in case.functions
    }
    truth = []
    for call in case.ground_truth:
        ((original, arguments),) = call.items()
        truth.append((names[original], {p: tuple(v) for p, v in arguments.items()}))
    return BfclKey(case.category, functions, tuple(truth))


# -- conversion -----------------------------------------------------------------------


@dataclass(slots=True)
class _Converted:
    contracts: list[tuple[dict[str, Any], dict[str, Any]]]
    """(BFCL function, contract document)."""
    case: dict[str, Any]
    loose: bool
    missing_example: list[str]
    conflicts: list[GroundTruthConflict]
    quirks: list[ImportQuirk]


def _messages(case: BfclCase) -> tuple[str | None, str, list[ImportQuirk]]:
    if not case.question or not isinstance(case.question[0], list):
        raise SourceFormatError("a BFCL question needs at least one turn", source=case.source)
    first = case.question[0]
    system = [str(m.get("content", "")) for m in first if m.get("role") == "system"]
    user = [str(m.get("content", "")) for m in first if m.get("role") == "user"]
    if not user:
        raise SourceFormatError(
            "the question's first turn has no user message",
            source=case.source,
            pointer="/question/0",
        )
    quirks = []
    dropped = sum(1 for m in first if m.get("role") == "assistant")
    if dropped:
        quirks.append(
            ImportQuirk(case.id, "assistant_message", f"{dropped} assistant message(s) left out")
        )
    if len(case.question) > 1:
        quirks.append(
            ImportQuirk(case.id, "later_turns", f"{len(case.question) - 1} later turn(s) left out")
        )
    return ("\n\n".join(system) if system else None), "\n\n".join(user), quirks


def _schema(function: Mapping[str, Any], language: str, source: str, pointer: str) -> Any:
    if language == "python":
        return convert_parameters(function.get("parameters", {}), source=source, pointer=pointer)
    return source_text_parameters(function.get("parameters", {}), language, source, pointer)


def _arguments(
    arguments: Mapping[str, list[Any]], declared: BfclFunction, language: Language
) -> dict[str, list[Any]]:
    """The acceptable values as a model sends them (Java and JavaScript: source text)."""
    if language == "python":
        return dict(arguments)
    out: dict[str, list[Any]] = {}
    for parameter, values in arguments.items():
        spec = declared.parameters.get(parameter, BfclParameter("any"))
        out[parameter] = source_values(values, language, spec.type, spec.items)
    return out


def _convert(case: BfclCase, names: Mapping[str, str]) -> _Converted:
    language = category_language(case.category)
    schemas: dict[str, dict[str, Any]] = {}
    for index, function in enumerate(case.functions):
        original = str(function.get("name", ""))
        schemas[original] = _schema(
            function, language, case.source, f"/function/{index}/parameters"
        )
    declared = {
        str(f.get("name", "")): declared_function(f.get("parameters")) for f in case.functions
    }
    calls: list[dict[str, Any]] = []
    loose: list[bool] = []
    examples: dict[str, dict[str, Any]] = {}
    conflicts: list[GroundTruthConflict] = []
    for index, call in enumerate(case.ground_truth):
        ((original, arguments),) = call.items()
        if original not in names:
            raise SourceFormatError(
                f"the ground truth calls {original!r}, which the question does not offer",
                source=case.source,
                pointer=f"/ground_truth/{index}",
            )
        conflicts.extend(
            find_conflicts(
                case.id,
                index,
                original,
                arguments,
                schemas[original],
                check_values=language == "python",
            )
        )
        if language != "python":
            conflicts.extend(
                source_conflicts(case.id, index, original, arguments, declared[original], language)
            )
        sent = _arguments(arguments, declared[original], language)
        args = {p: parameter_matcher(values, loose=loose) for p, values in sent.items()}
        calls.append({"tool": names[original], "args": args})
        if original not in examples:
            candidate = ground_truth_arguments(sent)
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
        if language != "python":
            description = (description + _LANGUAGE_NOTE[language]).strip()
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
    system, user, quirks = _messages(case)
    expect: dict[str, Any] = {"calls": calls}
    if len(calls) > 1:
        expect["any_order"] = True
    if category_kind(case.category) == "relevance" and case.functions:
        first = names[str(case.functions[0].get("name", ""))]
        expect = {
            "calls": [{"tool": first, "allow_extra_args": True}],
            "allow_extra_calls": True,
        }
    document: dict[str, Any] = {
        "id": sanitize_case_id(case.id),
        "description": f"BFCL v4 {case.category} case {case.id}. Tools (contract = BFCL name): "
        f"{mapping or 'none'}.",
        "kind": "case",
        "tags": ["bfcl", case.category],
        "tools": [f"{names[str(f.get('name', ''))]}@{CONTRACT_VERSION}" for f in case.functions],
    }
    if system is not None:
        document["system"] = system
    document["user"] = user
    document["steps"] = [{"expect": expect}]
    document["bfcl"] = answer_key(case, names).document()
    return _Converted(
        contracts=contracts,
        case=document,
        loose=bool(loose),
        missing_example=sorted(names[o] for o in called if o not in examples),
        conflicts=conflicts,
        quirks=quirks,
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
        self.conflicts: list[GroundTruthConflict] = []
        self.quirks: list[ImportQuirk] = []
        self.by_category: dict[str, int] = {}
        self.shared = 0

    def documents(self, cases: Iterable[BfclCase]) -> Iterator[tuple[str, dict[str, Any]]]:
        for case in cases:
            names: dict[str, str] = {}
            fresh: set[str] = set()
            language = category_language(case.category)
            for function in case.functions:
                original = str(function.get("name", ""))
                # a Java or JavaScript function is shown differently: never shared with Python
                definition = _digest(function if language == "python" else [language, function])
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
            self.conflicts.extend(converted.conflicts)
            self.quirks.extend(converted.quirks)
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

    What :func:`import_bfcl` writes (``suite.yaml`` aside): one contract per distinct
    function definition (clashing names suffixed with a hash), one case per BFCL case.
    """
    return _Importer().documents(cases)


def import_bfcl(
    directory: Path,
    out_root: Path,
    *,
    categories: Sequence[str] | None = None,
    limit: int | None = None,
) -> ImportReport:
    """Write ``out_root/tools/<name>/1.0.0.yaml``, ``out_root/flows/<id>.yaml`` and
    ``out_root/suite.yaml`` (``scoring: bfcl``).

    Args:
        directory: the BFCL folder (question files and ``possible_answer/``).
        out_root: a contracts folder; existing files of the same names are replaced.
        categories: which categories to import, in this order (``None``: every
            single-turn one in the folder; the others are listed in the report's ``skipped``).
        limit: import at most this many cases of each category (all when ``None``).
    """
    out_root = Path(out_root)
    skipped: dict[str, str] = {}
    if categories is None:
        categories, skipped = categories_in(Path(directory))
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
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / SUITE_FILE).write_text(
        suite_file_text("bfcl", written_by="clearance contracts import-bfcl"), encoding="utf-8"
    )
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
        conflicts=tuple(importer.conflicts),
        quirks=tuple(importer.quirks),
        skipped=skipped,
    )
