"""Where BFCL's ground truth and its own function declarations disagree.

The import keeps every such case as it is (its ground truth is the leaderboard's), and
lists each disagreement in the import report, because the two profiles judge them
differently:

- ``schema``: an acceptable value the converted parameter schema refuses: a type it does
  not have (``null`` for a number, a string for an array), or a value outside the
  schema's ``enum`` or ``format``. BFCL's checker takes a value of the possible answer's
  type (its "variable" rule) and never reads ``enum`` or ``format``, so the ``bfcl``
  profile accepts it; the ``clearance`` profile refuses it (``schema_violation``).
- ``undeclared``: the ground truth names a parameter the function does not declare. BFCL
  fails any call that sends it ("Unexpected parameter"), so only an answer that leaves it
  out can pass, and only when ``""`` allows that; the ``clearance`` profile accepts it.
- ``unanswerable``: a required parameter the ground truth does not name, or a parameter
  whose list of acceptable values is empty. BFCL fails every answer: leaving it out is a
  missing parameter, sending it an unexpected or unmatched one.

Values of the Java and JavaScript categories are BFCL's converted values, not what a model
sends: there, an acceptable value no source text reads back as (BFCL reads an
``ArrayList`` of ``any`` element by element as text, so ``true`` in it never matches) is
``unanswerable`` when the parameter cannot be left out (:func:`source_conflicts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import Draft202012Validator

from clearance.contracts.bfcl_matchers import TooManyAlternatives, alternatives
from clearance.flows.bfcl.checker import check_call
from clearance.flows.bfcl.key import BfclFunction, Language
from clearance.flows.bfcl.values import java_source, js_source

__all__ = ["ConflictKind", "GroundTruthConflict", "find_conflicts", "source_conflicts"]

ConflictKind = Literal["schema", "undeclared", "unanswerable"]


@dataclass(frozen=True, slots=True)
class GroundTruthConflict:
    """One disagreement between a case's ground truth and a function's declaration."""

    case_id: str
    """The BFCL id."""
    call: int
    """Index of the expected call in the ground truth."""
    tool: str
    """The BFCL function name."""
    parameter: str
    kind: ConflictKind
    message: str
    value: Any = None
    """The acceptable value at fault (``schema``), as BFCL wrote it."""


def find_conflicts(
    case_id: str,
    call: int,
    tool: str,
    arguments: Mapping[str, list[Any]],
    schema: Mapping[str, Any],
    *,
    check_values: bool,
) -> list[GroundTruthConflict]:
    """Every conflict of one expected call with its function's converted schema.

    Args:
        case_id: the BFCL id.
        call: the call's index in the ground truth.
        tool: the BFCL function name.
        arguments: parameter → acceptable values.
        schema: the function's converted parameter schema (JSON Schema).
        check_values: whether to validate each acceptable value (not for Java, JavaScript).
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    found: list[GroundTruthConflict] = []

    def conflict(parameter: str, kind: ConflictKind, detail: str, value: Any = None) -> None:
        found.append(GroundTruthConflict(case_id, call, tool, parameter, kind, detail, value))

    for parameter in schema.get("required", []):
        if parameter not in arguments:
            conflict(
                parameter,
                "unanswerable",
                f"required parameter {parameter!r} is not in the ground truth: BFCL fails "
                "every answer (missing if left out, unexpected if sent)",
            )
    for parameter, values in arguments.items():
        if not values:
            conflict(
                parameter,
                "unanswerable",
                f"no acceptable value for {parameter!r}: BFCL fails every answer (missing "
                "if left out, no value matches if sent)",
            )
            continue
        if parameter not in properties:
            conflict(
                parameter,
                "undeclared",
                f"{tool} declares no parameter {parameter!r}: BFCL fails a call that "
                + (
                    "sends it (leaving it out passes)"
                    if "" in values
                    else "sends it, and leaving it out is not allowed: no answer passes"
                ),
            )
            continue
        if not check_values:
            continue
        validator = Draft202012Validator(
            properties[parameter], format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for value in values:
            if isinstance(value, str) and value == "":
                continue
            try:
                concrete = alternatives(value)
            except TooManyAlternatives:
                continue
            for form in concrete:
                error = next(iter(validator.iter_errors(form)), None)
                if error is not None:
                    conflict(
                        parameter,
                        "schema",
                        f"acceptable value {form!r} breaks the schema ({error.validator}): "
                        f"{error.message}",
                        value,
                    )
                    break
    return found


def source_conflicts(
    case_id: str,
    call: int,
    tool: str,
    arguments: Mapping[str, list[Any]],
    declared: BfclFunction,
    language: Language,
) -> list[GroundTruthConflict]:
    """Java or JavaScript parameters no answer can pass: BFCL's own check (with its
    conversion of source text) refuses the text written for every acceptable value, and
    ``""`` does not allow leaving the parameter out."""
    write = java_source if language == "java" else js_source
    found: list[GroundTruthConflict] = []
    for parameter, values in arguments.items():
        spec = declared.parameters.get(parameter)
        if spec is None or not values or "" in values:
            continue  # reported by find_conflicts, or it may be left out
        alone = BfclFunction({parameter: spec})
        answers = {parameter: tuple(values)}
        readable = False
        for value in values:
            try:
                forms = alternatives(value)
            except TooManyAlternatives:
                readable = True  # not for this check to say
                break
            texts = [write(form, spec.type, spec.items) for form in forms]
            if any(
                check_call(tool, alone, tool, {parameter: text}, answers, language) is None
                for text in texts
            ):
                readable = True
                break
        if not readable:
            found.append(
                GroundTruthConflict(
                    case_id,
                    call,
                    tool,
                    parameter,
                    "unanswerable",
                    f"no {language} text for {values[0]!r} passes BFCL's check of a "
                    f"{spec.type}{' of ' + spec.items if spec.items else ''} parameter (it "
                    "reads the text back by that type): BFCL fails every answer",
                    values[0],
                )
            )
    return found
