"""BFCL's answer key for one case: what the ``bfcl`` scoring profile judges by.

``clearance contracts import-bfcl`` writes it into each imported case, under the flow's
``bfcl:`` key (``contracts/FORMAT.md``), next to the matchers the ``clearance``
profile uses. It keeps exactly what BFCL's AST checker reads, as BFCL wrote it:

- ``category``: the BFCL category (``simple_python``, ``live_parallel``...), which
  decides how calls are counted and compared and in which language values are read;
- ``functions``: each offered tool (by contract name, in the order offered) with the
  parameter types BFCL declared (``float``, ``tuple``, ``any``, Java's ``long``...; an
  array's element type after ``items``) and its required parameters;
- ``ground_truth``: the expected calls, each ``{tool: {parameter: [acceptable values]}}``,
  where ``""`` among the values means the parameter may be left out (empty for the
  relevance categories, which have no possible answers).

The document is read once per flow, when the flow is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from clearance.errors import ContractError
from clearance.flows.matchers import escape_pointer, line_for

__all__ = [
    "SINGLE_TURN_CATEGORIES",
    "BfclFunction",
    "BfclKey",
    "BfclParameter",
    "CategoryKind",
    "Language",
    "case_category",
    "category_kind",
    "category_language",
    "parse_bfcl_key",
]

CategoryKind = Literal["simple", "multiple", "parallel", "irrelevance", "relevance"]
Language = Literal["python", "java", "javascript"]

SINGLE_TURN_CATEGORIES = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
)
"""BFCL v4's single-turn categories, in its order."""
_BY_LENGTH = sorted(SINGLE_TURN_CATEGORIES, key=len, reverse=True)


def case_category(case_id: str) -> str | None:
    """The BFCL category of an imported case, read from its id (``bfcl_live_simple_3-2-0``:
    ``live_simple``); ``None`` for an id no category starts."""
    bfcl_id = case_id.removeprefix("bfcl_")
    return next((c for c in _BY_LENGTH if bfcl_id.startswith(f"{c}_")), None)


def category_kind(category: str) -> CategoryKind:
    """How BFCL checks a category, read from its name as BFCL reads it.

    ``irrelevance`` (no call expected) and ``relevance`` (any call) come first; then a
    name holding ``parallel`` (several calls, any order), then ``multiple`` (one call,
    among several tools); anything else is ``simple`` (one call of the first tool).
    """
    if "irrelevance" in category:
        return "irrelevance"
    if "relevance" in category:
        return "relevance"
    if "parallel" in category:
        return "parallel"
    if "multiple" in category:
        return "multiple"
    return "simple"


def category_language(category: str) -> Language:
    """The language a category's arguments are written in (``simple_java``: Java)."""
    if "javascript" in category:
        return "javascript"
    if "java" in category:
        return "java"
    return "python"


@dataclass(frozen=True, slots=True)
class BfclParameter:
    """A parameter as BFCL declared it."""

    type: str
    """BFCL's type name (``string``, ``float``, ``tuple``, ``any``, ``long``, ``HashMap``...)."""
    items: str | None = None
    """The element type of an array (``items.type``), when declared."""


@dataclass(frozen=True, slots=True)
class BfclFunction:
    """What BFCL's checker reads of one function's declaration."""

    parameters: Mapping[str, BfclParameter]
    required: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BfclKey:
    """One case's answer key (see the module docstring)."""

    category: str
    functions: Mapping[str, BfclFunction]
    """Offered tool (contract name) → its declaration, in the order offered."""
    ground_truth: tuple[tuple[str, Mapping[str, tuple[Any, ...]]], ...] = ()
    """The expected calls: (tool, parameter → acceptable values)."""
    kind: CategoryKind = field(init=False)
    language: Language = field(init=False)
    first: str | None = field(init=False, compare=False, repr=False)
    """The first offered tool (what BFCL checks a ``simple`` case's call against)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", category_kind(self.category))
        object.__setattr__(self, "language", category_language(self.category))
        object.__setattr__(self, "first", next(iter(self.functions), None))

    def document(self) -> dict[str, Any]:
        """The key as written under a flow's ``bfcl:`` (what :func:`parse_bfcl_key` reads)."""
        functions: dict[str, Any] = {}
        for name, function in self.functions.items():
            parameters: dict[str, Any] = {}
            for parameter, declared in function.parameters.items():
                parameters[parameter] = (
                    declared.type
                    if declared.items is None
                    else {"type": declared.type, "items": declared.items}
                )
            functions[name] = {"required": list(function.required), "parameters": parameters}
        return {
            "category": self.category,
            "functions": functions,
            "ground_truth": [
                {tool: {p: list(values) for p, values in arguments.items()}}
                for tool, arguments in self.ground_truth
            ],
        }


def parse_bfcl_key(
    data: object, *, path: str, pointer: str = "/bfcl", lines: Mapping[str, int] | None = None
) -> BfclKey:
    """Read a flow's ``bfcl:`` value.

    Args:
        data: the value as read from the flow file.
        path: the flow file, for errors.
        pointer: where the value is in the file.
        lines: JSON pointer → line in the file, when known.

    Raises:
        ContractError: anything that is not the document :meth:`BfclKey.document` writes.
    """
    reader = _Reader(path, lines or {})
    document = reader.mapping(data, pointer, ("category", "functions", "ground_truth"))
    category = document.get("category")
    if not isinstance(category, str) or not category:
        raise reader.fail(
            "bfcl.category must be a BFCL category name", f"{pointer}/category", "e.g. simple"
        )
    functions: dict[str, BfclFunction] = {}
    raw_functions = reader.mapping(document.get("functions", {}), f"{pointer}/functions", None)
    for name, raw in raw_functions.items():
        functions[str(name)] = reader.function(raw, f"{pointer}/functions/{escape_pointer(name)}")
    truth: list[tuple[str, Mapping[str, tuple[Any, ...]]]] = []
    raw_truth = document.get("ground_truth", [])
    if not isinstance(raw_truth, list):
        raise reader.fail("bfcl.ground_truth must be a list", f"{pointer}/ground_truth")
    for index, call in enumerate(raw_truth):
        where = f"{pointer}/ground_truth/{index}"
        if not isinstance(call, Mapping) or len(call) != 1:
            raise reader.fail(
                "each expected call is {tool: {parameter: [acceptable values]}}", where
            )
        ((tool, arguments),) = call.items()
        here = f"{where}/{escape_pointer(str(tool))}"
        if str(tool) not in functions:
            raise reader.fail(
                f"expected tool {tool!r} is not among bfcl.functions",
                where,
                "import the case again with clearance contracts import-bfcl",
            )
        values = reader.mapping(arguments, here, None)
        for parameter, accepted in values.items():
            if not isinstance(accepted, list):
                raise reader.fail(
                    "acceptable values must be a list", f"{here}/{escape_pointer(str(parameter))}"
                )
        truth.append((str(tool), {str(p): tuple(v) for p, v in values.items()}))
    key = BfclKey(category, functions, tuple(truth))
    if key.kind in ("simple", "multiple", "parallel") and not truth:
        raise reader.fail(
            f"category {category!r} needs the expected calls (ground_truth)",
            f"{pointer}/ground_truth",
        )
    return key


@dataclass(frozen=True, slots=True)
class _Reader:
    path: str
    lines: Mapping[str, int]

    def fail(self, message: str, pointer: str, fix: str | None = None) -> ContractError:
        line = line_for(self.lines, pointer)
        return ContractError(message, path=self.path, line=line, pointer=pointer, fix=fix)

    def mapping(
        self, value: object, pointer: str, allowed: tuple[str, ...] | None
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail("expected an object", pointer)
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.fail(
                        f"unknown key {key!r}",
                        f"{pointer}/{escape_pointer(str(key))}",
                        f"allowed: {', '.join(allowed)}",
                    )
        return value

    def function(self, raw: object, pointer: str) -> BfclFunction:
        document = self.mapping(raw, pointer, ("required", "parameters"))
        required = document.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise self.fail("required must be a list of parameter names", f"{pointer}/required")
        parameters: dict[str, BfclParameter] = {}
        raw_parameters = self.mapping(document.get("parameters", {}), f"{pointer}/parameters", None)
        for name, declared in raw_parameters.items():
            where = f"{pointer}/parameters/{escape_pointer(str(name))}"
            if isinstance(declared, str):
                parameters[str(name)] = BfclParameter(declared)
                continue
            spec = self.mapping(declared, where, ("type", "items"))
            kind, items = spec.get("type"), spec.get("items")
            if not isinstance(kind, str) or not (items is None or isinstance(items, str)):
                raise self.fail("a parameter is TYPE or {type: TYPE, items: TYPE}", where)
            parameters[str(name)] = BfclParameter(kind, items)
        return BfclFunction(parameters, tuple(required))
