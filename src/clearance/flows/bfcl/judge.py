"""One model turn judged as BFCL judges it: the ``bfcl`` scoring profile's turn verdict.

The answer is first read as BFCL's function-calling handlers read it (bfcl-eval's
OpenAI handlers, whose ``decode_ast`` runs ``json.loads`` on each call's arguments):

- a call whose arguments are not a JSON object (invalid JSON, a blank string, a JSON
  string holding an object, an array) makes the whole answer undecodable;
- an answer without calls is text, whatever the text (empty included).

Then, by the case's category (:func:`~clearance.flows.bfcl.key.category_kind`):

- ``irrelevance``: passes unless the answer decodes to at least one call; so text, no
  text, and calls BFCL cannot decode all pass;
- ``relevance``: passes when it decodes to at least one call, of any tool, any arguments;
- ``simple``, ``multiple``, ``parallel``: an undecodable answer fails, else
  :func:`~clearance.flows.bfcl.checker.check_calls` decides.

Failures use clearance's codes (``missing_call``, ``extra_call``, ``wrong_tool``,
``invented_tool``, ``invalid_json``, ``argument_mismatch``) so reports read as for any
profile; each one's evidence carries BFCL's own ``bfcl_error_type`` and message.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from clearance.flows.bfcl.checker import BfclError, BfclOutcome, check_calls
from clearance.flows.bfcl.key import BfclKey
from clearance.flows.matchers import Mismatch, escape_pointer
from clearance.flows.matching import Assignment, Pair
from clearance.flows.scoring import Failure, FailureCode, TurnVerdict
from clearance.providers.types import ChatResponse, ToolCall

__all__ = ["bfcl_arguments", "score_bfcl_turn"]

_NOT_DECODED = frozenset({"empty_arguments", "double_encoded"})


def bfcl_arguments(call: ToolCall) -> dict[str, Any] | None:
    """The call's arguments as BFCL's ``json.loads`` reads them (``None``: not an object).

    clearance reads a blank arguments string as ``{}`` and unwraps a JSON string that
    holds an object; ``json.loads`` does neither, so BFCL sees no function call there.
    """
    if call.arguments is None or not _NOT_DECODED.isdisjoint(call.quirks):
        return None
    return call.arguments


def score_bfcl_turn(
    key: BfclKey, response: ChatResponse | None, *, offered: Sequence[str] = ()
) -> TurnVerdict:
    """Judge one turn by BFCL's rules (see the module docstring).

    Args:
        key: the case's answer key.
        response: the model's answer (``None``: it gave none).
        offered: the tools offered (a call to any other tool is ``invented_tool``).
    """
    calls: tuple[ToolCall, ...] = response.tool_calls if response is not None else ()
    decoded: list[tuple[str, dict[str, Any]]] = []
    broken: list[ToolCall] = []
    for call in calls:
        arguments = call.arguments
        if arguments is None or (call.quirks and not _NOT_DECODED.isdisjoint(call.quirks)):
            broken.append(call)
        else:
            decoded.append((call.name, arguments))
    kind = key.kind
    if kind == "irrelevance":
        if calls and not broken:
            failures = [
                _failure("extra_call", call, "irrelevance_error:decoder_success",
                         "Valid syntax. Successfully decode AST when it should not.")
                for call in calls
            ]  # fmt: skip
            return TurnVerdict(False, tuple(failures), _unpaired(0, len(calls)), response)
        return TurnVerdict(True, (), _unpaired(0, len(calls)), response)
    if kind == "relevance":
        if calls and not broken:
            return TurnVerdict(True, (), _unpaired(0, len(calls)), response)
        evidence = {
            "bfcl_error_type": "relevance_error:decoder_failed",
            "message": "Invalid syntax. Failed to decode AST when it should have.",
        }
        failures = [Failure("missing_call", {"tool": None, **evidence})]
        failures.extend(_invalid(call) for call in broken)
        return TurnVerdict(False, tuple(failures), _unpaired(0, len(calls)), response)
    if broken:
        failures = [_invalid(call) for call in broken]
        expected = len(key.ground_truth)
        return TurnVerdict(False, tuple(failures), _unpaired(expected, len(calls)), response)
    outcome = check_calls(key, decoded)
    if outcome.valid:
        return TurnVerdict(True, (), _paired(outcome.pairs), response)
    return _failed(key, calls, outcome, set(offered) or set(key.functions), response)


@functools.lru_cache(maxsize=256)
def _unpaired(expected: int, actual: int) -> Assignment:
    return Assignment((), tuple(range(expected)), tuple(range(actual)))


@functools.lru_cache(maxsize=1024)
def _paired(pairs: tuple[tuple[int, int], ...]) -> Assignment:
    return Assignment(tuple(Pair(i, j, ()) for i, j in pairs), (), ())


def _where(call: ToolCall) -> dict[str, Any]:
    return {"tool": call.name, "call_id": call.id, "index": call.index}


def _failure(code: FailureCode, call: ToolCall, error_type: str, message: str) -> Failure:
    return Failure(code, {**_where(call), "bfcl_error_type": error_type, "message": message})


def _invalid(call: ToolCall) -> Failure:
    return Failure(
        "invalid_json",
        {
            **_where(call),
            "raw_arguments": call.raw_arguments,
            "quirks": list(call.quirks),
            "bfcl_error_type": "ast_decoder:decoder_failed",
            "message": "Invalid syntax. Failed to decode AST.",
        },
    )


def _failed(
    key: BfclKey,
    calls: tuple[ToolCall, ...],
    outcome: BfclOutcome,
    offered: set[str],
    response: ChatResponse | None,
) -> TurnVerdict:
    error = outcome.error
    assert error is not None
    truth = key.ground_truth
    if error.error_type.endswith(":wrong_count"):
        failures: list[Failure] = []
        evidence = {"bfcl_error_type": error.error_type, "message": error.message}
        expected = 1 if key.kind == "simple" else len(truth)
        if len(calls) < expected:
            failures.extend(
                Failure("missing_call", {"tool": tool, **evidence})
                for tool, _ in truth[len(calls) : expected]
            )
        else:
            failures.extend(
                Failure("extra_call", {**_where(c), **evidence}) for c in calls[expected:]
            )
        return TurnVerdict(False, tuple(failures), _unpaired(len(truth), len(calls)), response)
    pairs = [Pair(i, j, ()) for i, j in outcome.pairs]
    first_tool = next(iter(key.functions))
    failures = []
    for i, (j, found) in sorted((outcome.errors or {}).items()):
        call = calls[j]
        if found.error_type.endswith(":wrong_func_name"):
            code: FailureCode = "wrong_tool" if call.name in offered else "invented_tool"
            failures.append(
                Failure(
                    code,
                    {
                        "expected_tool": first_tool if key.kind == "simple" else truth[i][0],
                        "actual_tool": call.name,
                        "call_id": call.id,
                        "index": call.index,
                        "bfcl_error_type": found.error_type,
                        "message": found.message,
                    },
                )
            )
            continue
        mismatch = _mismatch(found)
        pairs.append(Pair(i, j, (mismatch,)))
        failures.append(
            Failure(
                "argument_mismatch",
                {
                    **_where(call),
                    "pointer": mismatch.pointer,
                    "expected": mismatch.expected,
                    "actual": mismatch.actual,
                    "reason": mismatch.reason,
                    "bfcl_error_type": found.error_type,
                    "message": found.message,
                },
            )
        )
    paired_e = {p.expected for p in pairs}
    paired_a = {p.actual for p in pairs}
    assignment = Assignment(
        tuple(sorted(pairs, key=lambda p: p.expected)),
        tuple(i for i in range(len(truth)) if i not in paired_e),
        tuple(j for j in range(len(calls)) if j not in paired_a),
    )
    return TurnVerdict(False, tuple(failures), assignment, response)


def _mismatch(error: BfclError) -> Mismatch:
    pointer = "" if error.parameter is None else "/" + escape_pointer(error.parameter)
    kind = error.error_type
    if kind.endswith(("missing_required", "missing_optional")):
        return Mismatch(pointer, error.message, None, "missing")
    if kind.endswith("unexpected_param"):
        return Mismatch(pointer, "no such argument (BFCL)", _json(error.value), "unexpected")
    return Mismatch(pointer, error.message, _json(error.value), "mismatch")


def _json(value: Any) -> Any:
    """A value as evidence: JSON (a Java or JavaScript conversion may give a tuple or set)."""
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    return value
