"""Failing cases as a person reads them: what was expected, what the model sent, where.

The evidence the eval engine stores for a failing trial is a list of failures
(``code``, ``turn``, ``evidence``) and the transcript. Here it becomes, per
failing tool call, a side-by-side table of arguments: the expected value where a
failure names one, the value the model sent (from the transcript, by call id),
and a mark on the rows that differ; schema errors keep their JSON pointer and the
schema keyword that failed. Values are shown as JSON (a string in double quotes), and
where the expected value and the one sent are of different JSON types both types are
named, so the string ``"true"`` never reads like the boolean ``true``. Model output
stays text: nothing here is markup, the templates escape it.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.evaluation.scrub import Scrubber, redact_secrets

__all__ = [
    "ArgRow",
    "CallDiff",
    "FailingCase",
    "Problem",
    "failing_case",
    "json_type",
    "pointer_items",
]

_TEXT_LIMIT = 2000


def _cut(text: str) -> str:
    if len(text) <= _TEXT_LIMIT:
        return text
    text = redact_secrets(Scrubber.from_environ(os.environ).text(text))
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"… [{len(text)} chars]"


def _text(value: Any) -> str:
    """A value as the report prints it (JSON for structures), cut when very long: secrets
    are redacted first, so a cut never leaves part of one behind (the templates redact
    what they print again)."""
    return _cut(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _json(value: Any) -> str:
    """A value the model sent, as JSON text (a string in double quotes), cut when very long."""
    return _cut(json.dumps(value, ensure_ascii=False, default=str))


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: string, number, boolean, null, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(map(_is_json, value))
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


_NOT_A_VALUE = object()


def _named_value(description: str) -> Any:
    """The plain value a matcher's description names, else :data:`_NOT_A_VALUE`.

    An exact matcher describes its value as JSON (``true``, ``3``, ``null``) or, for a
    string, as Python writes it (``'true'``), and a list of them as ``['a', 'b']``; any
    other description is words (``text like 'x'``, ``a number in [0, 5]``).
    """
    text = description.strip()
    if not text or len(text) > _TEXT_LIMIT:
        return _NOT_A_VALUE
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text[0] not in "'\"[{":
        return _NOT_A_VALUE
    try:  # a Python literal (strings, numbers, lists): parsed, never run
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_A_VALUE
    return value if _is_json(value) else _NOT_A_VALUE


def _expected(description: Any) -> tuple[str, str | None]:
    """What a failure expected, as shown, with the JSON type of the value it names
    (``None`` when it is a description in words): a plain value is shown as JSON, so the
    string ``'true'`` reads ``"true"`` beside the boolean ``true``."""
    if not isinstance(description, str):
        return _json(description), json_type(description)
    value = _named_value(description)
    if value is _NOT_A_VALUE:
        return _text(description), None
    return _json(value), json_type(value)


def _escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_items(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(JSON pointer, leaf value)`` of every leaf; an empty object or list is a leaf."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from pointer_items(item, f"{prefix}/{_escape_token(str(key))}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from pointer_items(item, f"{prefix}/{index}")
    else:
        yield prefix, value


@dataclass(frozen=True, slots=True)
class ArgRow:
    """One argument of one call, expected beside actual."""

    pointer: str
    expected: str | None
    """What the case expected (a matcher's description), ``None``: the failure did not say."""
    actual: str | None
    """What the model sent; ``None``: it sent nothing there."""
    mark: str
    """``""`` (no failure here), ``mismatch``, ``missing``, ``unexpected`` or ``schema``."""
    note: str = ""
    expected_type: str | None = None
    """The JSON type of the expected value, set when it differs from the actual one's."""
    actual_type: str | None = None
    """The JSON type of the value sent, set when it differs from the expected one's."""


@dataclass(frozen=True, slots=True)
class CallDiff:
    """One tool call (or one expected call the model did not make)."""

    tool: str
    call_id: str | None
    turn: int | None
    rows: tuple[ArgRow, ...]
    raw_arguments: str | None = None
    """The argument text as sent, when it was not JSON (``invalid_json``)."""
    expected_tool: str | None = None
    """The tool the step expected instead (``wrong_tool``)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One failure of the trial, in words."""

    code: str
    turn: int | None
    summary: str
    pointer: str | None = None
    """JSON pointer into the arguments (schema and argument failures)."""
    schema_pointer: str | None = None
    """JSON pointer into the schema of the keyword that failed."""


@dataclass(frozen=True, slots=True)
class FailingCase:
    """A failing trial of a case, ready to show."""

    case_id: str
    case_kind: str
    trial: int
    problems: tuple[Problem, ...]
    calls: tuple[CallDiff, ...]
    transcript: tuple[Mapping[str, Any], ...] = field(default=())
    failed_trials: int = 1
    trials: int = 1
    snapshots: tuple[str | None, ...] = ()
    """Each call's model snapshot, when the trial's calls reported different ones
    (``evidence["snapshots"]``); empty otherwise."""


_SUMMARY_KEYS = ("message", "reason", "detail")


def _summary(code: str, evidence: Mapping[str, Any]) -> str:
    tool = evidence.get("tool")
    parts = [f"tool {tool}" if tool else ""]
    for key in _SUMMARY_KEYS:
        if evidence.get(key):
            parts.append(_text(evidence[key]))
    if code == "invented_tool" and evidence.get("offered"):
        parts.append("offered: " + ", ".join(map(str, evidence["offered"])))
    if code == "argument_mismatch" and "pointer" in evidence:
        parts.append(f"at {evidence['pointer'] or '/'}: {_versus(evidence)}")
    if code == "wrong_tool":
        parts.append(
            f"called {evidence.get('actual_tool') or '?'}; "
            f"expected {evidence.get('expected_tool') or '?'}"
        )
    if code == "invalid_json" and evidence.get("quirks"):
        parts.append("quirks: " + ", ".join(map(str, evidence["quirks"])))
    text = "; ".join(part for part in parts if part)
    if text:
        return text
    rest = {k: v for k, v in evidence.items() if k not in ("call_id", "index")}
    return _text(rest) if rest else code


def _versus(evidence: Mapping[str, Any]) -> str:
    """``expected "true" (string), got true (boolean)``: JSON types named when they differ."""
    expected, wanted = _expected(evidence.get("expected"))
    if evidence.get("reason") == "missing":
        return f"expected {expected}, got nothing"
    actual = evidence.get("actual")
    sent = json_type(actual)
    if wanted is None or wanted == sent:
        return f"expected {expected}, got {_json(actual)}"
    return f"expected {expected} ({wanted}), got {_json(actual)} ({sent})"


def _sent_calls(transcript: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str, int]]:
    """call id -> (tool, argument text, model turn) from the assistant messages."""
    calls: dict[str, tuple[str, str, int]] = {}
    turn = 0
    for message in transcript:
        if message.get("role") != "assistant":
            continue
        turn += 1
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            arguments = function.get("arguments")
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls[str(call.get("id"))] = (str(function.get("name")), text or "", turn)
    return calls


def _at(value: Any, pointer: str) -> tuple[bool, Any]:
    """(whether ``pointer`` is in ``value``, the value there): also an object or a list."""
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False, None
    return True, value


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _call_diff(
    call_id: str,
    tool: str,
    turn: int | None,
    arguments: str | None,
    failures: Sequence[tuple[str, Mapping[str, Any]]],
) -> CallDiff:
    # pointer -> (expected, its JSON type, mark, note); the engine reports a pointer's
    # schema errors before its argument mismatch, and the row keeps both
    expected: dict[str, tuple[str | None, str | None, str, str]] = {}
    instead = None
    for code, evidence in failures:
        if code == "wrong_tool":
            instead = str(evidence.get("expected_tool") or "?")
            continue
        pointer = str(evidence.get("pointer") or "")
        old_expected, old_type, old_mark, old_note = expected.get(pointer, (None, None, "", ""))
        if code == "argument_mismatch":
            reason = str(evidence.get("reason") or "")
            mark = reason if reason in ("missing", "unexpected") else "mismatch"
            note = "" if reason == mark else reason
            text, kind = _expected(evidence.get("expected"))
            expected[pointer] = (text, kind, mark, _join(old_note, note))
        elif code in ("schema_violation", "dropped_constraint"):
            note = f"{evidence.get('validator', 'schema')}: {evidence.get('message', '')}"
            if code == "dropped_constraint":
                # the constraint broken was never sent to the model's provider: say so
                note = _join(note, f"not sent to the provider: {evidence.get('detail', '')}")
            expected[pointer] = (
                old_expected,
                old_type,
                old_mark or "schema",
                _join(old_note, note),
            )
    try:
        parsed = json.loads(arguments) if arguments is not None else None
        raw = None
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        parsed, raw = None, arguments
    structured = isinstance(parsed, Mapping | list)
    actual = dict(pointer_items(parsed)) if structured else {}
    rows = []
    for pointer in sorted(set(actual) | set(expected), key=lambda p: (p.count("/"), p)):
        exp, kind, mark, note = expected.get(pointer, (None, None, "", ""))
        # a failure may point at an object or a list the model sent, not only at a leaf
        found, value = (True, actual[pointer]) if pointer in actual else (False, None)
        if not found and structured:
            found, value = _at(parsed, pointer)
        sent = json_type(value) if found else None
        differ = kind is not None and sent is not None and kind != sent
        rows.append(
            ArgRow(
                pointer or "/",
                exp,
                _json(value) if found else None,
                mark,
                note,
                kind if differ else None,
                sent if differ else None,
            )
        )
    return CallDiff(tool, call_id, turn, tuple(rows), raw, instead)


def failing_case(
    case_id: str,
    case_kind: str,
    trial: int,
    evidence: Mapping[str, Any] | None,
    *,
    failed_trials: int = 1,
    trials: int = 1,
) -> FailingCase:
    """One failing trial's evidence as problems, per-call argument diffs and the transcript."""
    evidence = evidence or {}
    failures = [f for f in evidence.get("failures") or () if isinstance(f, Mapping)]
    transcript = tuple(m for m in evidence.get("transcript") or () if isinstance(m, Mapping))
    sent = _sent_calls(transcript)
    problems = []
    by_call: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    missing: list[CallDiff] = []
    for failure in failures:
        code = str(failure.get("code"))
        raw = failure.get("evidence")
        detail: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        turn = failure.get("turn") if isinstance(failure.get("turn"), int) else None
        problems.append(
            Problem(
                code,
                turn,
                _summary(code, detail),
                None if detail.get("pointer") is None else str(detail.get("pointer") or "/"),
                None if detail.get("schema_pointer") is None else str(detail["schema_pointer"]),
            )
        )
        call_id = detail.get("call_id")
        if call_id is not None:
            by_call.setdefault(str(call_id), []).append((code, detail))
        elif code == "missing_call" and isinstance(detail.get("expected_args"), Mapping):
            rows = tuple(
                ArgRow("/" + _escape_token(str(k)), _expected(v)[0], None, "missing")
                for k, v in detail["expected_args"].items()
            )
            missing.append(CallDiff(str(detail.get("tool")), None, turn, rows))
    calls = []
    for call_id, found in by_call.items():
        if call_id in sent:
            tool, arguments, at = sent[call_id]
            calls.append(_call_diff(call_id, tool, at, arguments, found))
        else:  # a call the transcript no longer holds: the failures still say what they can
            names = [detail.get("tool") or detail.get("actual_tool") for _, detail in found]
            tool = next((str(name) for name in names if name), "?")  # wrong_tool: actual_tool
            calls.append(_call_diff(call_id, tool, None, None, found))
    if not failures and evidence:  # an infra row or an unknown shape: show it whole
        problems.append(
            Problem(str(evidence.get("kind", "evidence")), None, _summary("", evidence))
        )
    snapshots = evidence.get("snapshots")
    return FailingCase(
        case_id,
        case_kind,
        trial,
        tuple(problems),
        tuple(calls + missing),
        transcript,
        failed_trials,
        trials,
        tuple(None if s is None else str(s) for s in snapshots)
        if isinstance(snapshots, list)
        else (),
    )
