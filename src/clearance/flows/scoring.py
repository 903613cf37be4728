"""Score a model's turns against a flow, and drive a flow against any model callable.

Scoring is pure: :func:`score_turn` and :func:`score_final` look at a response and
return data (a verdict and its failures); nothing raises for a bad model answer.
:func:`run_flow` plays the flow's script turn by turn against a callable that takes
(messages, tools) in OpenAI wire form and returns a :class:`ChatResponse`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import orjson

from clearance.errors import ContractError
from clearance.flows.bfcl.key import BfclKey
from clearance.flows.dropped import explain
from clearance.flows.matching import Assignment, Pair, assign
from clearance.flows.model import Flow, Step
from clearance.flows.scoring_profile import ScoringProfile
from clearance.providers.types import NATIVE_KEY, ChatResponse, Protocol, ToolCall

__all__ = [
    "FAILURE_CODES",
    "FAILURE_MEANINGS",
    "AsyncModel",
    "Failure",
    "FailureCode",
    "FlowVerdict",
    "Model",
    "TurnVerdict",
    "arun_flow",
    "assistant_message",
    "flow_tools",
    "play_flow",
    "run_flow",
    "schema_violations",
    "score_final",
    "score_turn",
    "tool_definition",
]

FailureCode = Literal[
    "wrong_tool",
    "missing_call",
    "extra_call",
    "invented_tool",
    "invalid_json",
    "schema_violation",
    "dropped_constraint",
    "argument_mismatch",
    "no_final_answer",
    "final_answer_mismatch",
    "turn_limit",
    "forbidden_tool",
]
FAILURE_CODES: tuple[FailureCode, ...] = get_args(FailureCode)
"""Every code, in the order above."""
FAILURE_MEANINGS: Mapping[FailureCode, str] = {
    "wrong_tool": "a call to another tool than the one expected",
    "missing_call": "an expected call was not made",
    "extra_call": "a call no expectation asked for",
    "invented_tool": "a call to a tool that was not offered",
    "invalid_json": "arguments that are not a JSON object",
    "schema_violation": "arguments the contract's input schema refuses",
    "dropped_constraint": "arguments the contract's input schema refuses for a constraint the "
    "model was not shown: its provider was sent the schema lowered, without that keyword or "
    "with it weakened (the evidence names the keyword, its path and the lowering)",
    "argument_mismatch": "arguments valid for the schema that the case's matchers refuse",
    "no_final_answer": "no text answer where one was expected",
    "final_answer_mismatch": "a final answer an assertion of the flow refuses",
    "turn_limit": "the flow needed more model turns than it allows",
    "forbidden_tool": "a call to a tool the flow forbids",
}
"""What each code means, one line each (reports show it)."""

Model = Callable[[list[dict[str, Any]], list[dict[str, Any]]], ChatResponse]
"""A model under test: (messages, tools), both in OpenAI wire form → its answer."""
AsyncModel = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Awaitable[ChatResponse]]
"""The same, awaited."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One reason a turn or a flow failed, with the evidence a report shows."""

    code: FailureCode
    evidence: dict[str, Any]
    turn: int | None = None
    """1-based model turn it happened in (``None``: the flow as a whole)."""


@dataclass(frozen=True, slots=True)
class TurnVerdict:
    """How one model turn went against its step."""

    passed: bool
    failures: tuple[Failure, ...]
    assignment: Assignment
    """Expected calls ↔ the response's calls (``actual`` indexes ``response.tool_calls``)."""
    response: ChatResponse | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FlowVerdict:
    """How a whole flow went: pass/fail, every failure, per-turn partial credit."""

    passed: bool
    failures: tuple[Failure, ...]
    turns_passed: int
    """Turns whose step passed."""
    turns_total: int
    """Turns the script has (steps, plus the answer turn when the last step has results)."""
    transcript: list[dict[str, Any]]
    """Every message exchanged, in OpenAI wire form."""
    turns: tuple[TurnVerdict, ...] = ()
    final_text: str | None = None


_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
"""id(schema) → (schema, its validator): contracts hand out the same schema object for
every case, and building a validator costs far more than using one."""


def _validator(schema: Mapping[str, Any]) -> Any:
    found = _VALIDATORS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    if len(_VALIDATORS) >= 4096:
        _VALIDATORS.clear()
    _VALIDATORS[id(schema)] = (schema, validator)  # holding schema keeps its id unique
    return validator


_VIOLATIONS: dict[tuple[int, bytes], tuple[dict[str, str], ...]] = {}
_VIOLATIONS_SIZE = 8_192


def schema_violations(
    schema: Mapping[str, Any], arguments: Mapping[str, Any]
) -> tuple[dict[str, str], ...]:
    """Every way ``arguments`` break ``schema``: JSON pointer, schema pointer, validator,
    message; sorted by pointer, ``()`` when they validate.

    Validation is pure, and trials of a case often send the same arguments, so results
    are memoized per (schema object, canonical arguments); jsonschema costs far more
    than the lookup.
    """
    try:
        key = (id(schema), orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # not JSON (cannot come from a wire answer): validate uncached
        key = None
    if key is not None:
        found = _VIOLATIONS.get(key)
        if found is not None and _VALIDATORS.get(id(schema), (None,))[0] is schema:
            return found
    errors = sorted(_validator(schema).iter_errors(arguments), key=lambda e: list(e.path))
    violations = tuple(
        {
            "pointer": _pointer(list(error.absolute_path)),
            "schema_pointer": _pointer(list(error.absolute_schema_path)),
            "validator": str(error.validator),
            "message": error.message,
        }
        for error in errors
    )
    if key is not None:
        if len(_VIOLATIONS) >= _VIOLATIONS_SIZE:
            _VIOLATIONS.clear()
        _VIOLATIONS[key] = violations
    return violations


def _pointer(parts: Sequence[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _violations(
    schema: Mapping[str, Any],
    arguments: Mapping[str, Any],
    where: dict[str, Any],
    protocol: Protocol,
) -> list[Failure]:
    """One failure per violation: ``dropped_constraint`` when the lowering for
    ``protocol`` explains it, else ``schema_violation``."""
    violations = schema_violations(schema, arguments)
    if not violations:
        return []
    if protocol == "openai":  # the OpenAI-compatible provider sends the schema as written
        return [Failure("schema_violation", {**where, **v}) for v in violations]
    # the same errors, in the same order, as schema_violations lists them
    errors = sorted(_validator(schema).iter_errors(arguments), key=lambda e: list(e.path))
    failures = []
    for violation, loss in zip(
        violations, explain(schema, arguments, errors, protocol), strict=True
    ):
        if loss is None:
            failures.append(Failure("schema_violation", {**where, **violation}))
            continue
        failures.append(
            Failure(
                "dropped_constraint",
                {
                    **where,
                    **violation,
                    "protocol": protocol,
                    "keyword": loss.keyword,
                    "keyword_path": loss.path,
                    "lowering": loss.action,
                    "detail": loss.detail,
                },
            )
        )
    return failures


def score_turn(
    step: Step,
    response: ChatResponse | None,
    *,
    tool_schemas: Mapping[str, Mapping[str, Any]],
    offered: set[str],
    forbidden: set[str] | frozenset[str],
    protocol: Protocol = "openai",
) -> TurnVerdict:
    """Judge one model turn against its step.

    Args:
        step: what the turn should do.
        response: the model's answer (``None`` when it gave none).
        tool_schemas: tool name → input JSON Schema (a tool without one is not validated).
        offered: the tool names offered this turn.
        forbidden: tool names never to be called.
        protocol: the wire protocol the model was called over. Its provider was sent
            each schema lowered for it; a violation of a constraint that lowering took
            away is ``dropped_constraint``, not ``schema_violation``.

    Forbidden and invented calls are reported as such and left out of the matching;
    a call whose arguments are not JSON is reported as ``invalid_json`` (never also as
    an argument mismatch); leftover expected and actual calls of different tools pair
    up, in order, as ``wrong_tool``.
    """
    calls: tuple[ToolCall, ...] = response.tool_calls if response is not None else ()
    failures: list[Failure] = []
    candidates: list[int] = []
    for index, call in enumerate(calls):
        where = {"tool": call.name, "call_id": call.id, "index": index}
        if call.name in forbidden:
            failures.append(Failure("forbidden_tool", where))
            continue
        if call.name not in offered:
            failures.append(Failure("invented_tool", {**where, "offered": sorted(offered)}))
            continue
        candidates.append(index)
        if call.arguments is None:
            failures.append(
                Failure(
                    "invalid_json",
                    {**where, "raw_arguments": call.raw_arguments, "quirks": list(call.quirks)},
                )
            )
            continue
        schema = tool_schemas.get(call.name)
        if schema is None:
            continue
        failures.extend(_violations(schema, call.arguments, where, protocol))

    local = assign(step.calls, [calls[k] for k in candidates], any_order=step.any_order)
    assignment = Assignment(
        tuple(Pair(p.expected, candidates[p.actual], p.mismatches) for p in local.pairs),
        local.unmatched_expected,
        tuple(candidates[j] for j in local.unmatched_actual),
    )
    for pair in assignment.pairs:
        call = calls[pair.actual]
        if call.arguments is None:
            continue  # already reported as invalid_json
        for mismatch in pair.mismatches:
            failures.append(
                Failure(
                    "argument_mismatch",
                    {
                        "tool": call.name,
                        "call_id": call.id,
                        "index": pair.actual,
                        "pointer": mismatch.pointer,
                        "expected": mismatch.expected,
                        "actual": mismatch.actual,
                        "reason": mismatch.reason,
                    },
                )
            )
    missing = list(assignment.unmatched_expected)
    extra = list(assignment.unmatched_actual)
    while missing and extra:
        expected, actual = step.calls[missing.pop(0)], calls[extra.pop(0)]
        failures.append(
            Failure(
                "wrong_tool",
                {
                    "expected_tool": expected.tool,
                    "actual_tool": actual.name,
                    "call_id": actual.id,
                    "index": actual.index,
                },
            )
        )
    for i in missing:
        expected = step.calls[i]
        failures.append(
            Failure(
                "missing_call",
                {
                    "tool": expected.tool,
                    "expected_args": {k: m.describe() for k, m in expected.args.items()},
                },
            )
        )
    if not step.allow_extra_calls:
        for j in extra:
            failures.append(
                Failure(
                    "extra_call",
                    {"tool": calls[j].name, "call_id": calls[j].id, "index": j},
                )
            )
    if not step.calls and not calls:
        content = response.content if response is not None else None
        if content is None or not content.strip():
            failures.append(Failure("no_final_answer", {"content": content}))
    return TurnVerdict(not failures, tuple(failures), assignment, response)


def score_final(flow: Flow, final_text: str | None) -> list[Failure]:
    """Check the flow's final assertions on the model's last text answer."""
    if not flow.final:
        return []
    if final_text is None or not final_text.strip():
        return [Failure("no_final_answer", {"content": final_text})]
    failures = []
    for assertion in flow.final:
        reason = assertion.failure(final_text)
        if reason is not None:
            failures.append(
                Failure(
                    "final_answer_mismatch",
                    {
                        "assertion": assertion.describe(),
                        "reason": reason,
                        "answer": final_text[:2000],
                    },
                )
            )
    return failures


def tool_definition(
    name: str, schema: Mapping[str, Any], description: str | None = None
) -> dict[str, Any]:
    """A tool as the OpenAI chat API takes it."""
    function: dict[str, Any] = {"name": name, "parameters": dict(schema)}
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def assistant_message(response: ChatResponse) -> dict[str, Any]:
    """The model's answer as an assistant message, its tool calls in OpenAI wire form.

    A native protocol's turn rides along under :data:`NATIVE_KEY`, so that its provider
    gets back its own blocks (thinking signatures, Gemini's ``thoughtSignature``)
    unchanged; the OpenAI-compatible provider leaves that key out of what it sends."""
    message: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.native is not None:
        message[NATIVE_KEY] = response.native.as_message_field()
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_text(call)},
            }
            for call in response.tool_calls
        ]
    return message


def _arguments_text(call: ToolCall) -> str:
    raw = call.raw_arguments
    if isinstance(raw, str):
        return raw
    return json.dumps(raw if raw is not None else call.arguments or {}, ensure_ascii=False)


def _tool_messages(
    step: Step, response: ChatResponse, assignment: Assignment
) -> list[dict[str, Any]]:
    """One tool message per call: the scripted result of the expectation it matched."""
    messages = []
    for index, call in enumerate(response.tool_calls):
        expected = assignment.expected_for(index)
        content: object
        if expected is not None and expected < len(step.results):
            content = step.results[expected].content
        else:
            content = {"error": f"no scripted result: the call to {call.name!r} was not expected"}
        messages.append(
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": json.dumps(content, ensure_ascii=False),
            }
        )
    return messages


def run_flow(
    flow: Flow,
    model: Model,
    *,
    tool_schemas: Mapping[str, Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
    stop_on_failure: bool = True,
    protocol: Protocol = "openai",
    profile: ScoringProfile = "clearance",
) -> FlowVerdict:
    """Play ``flow`` against ``model``, turn by turn, and judge it.

    Each turn: the step's user message (if any) is added, the model answers, the answer
    is scored and added, and every tool call gets a tool message (the scripted result
    of the expectation it was paired with, else an error). When the last step has
    results, the model gets one more turn to answer; at most ``flow.max_turns`` turns
    are played (``turn_limit`` beyond). Final assertions are checked on the last
    answer once every turn has been played.

    Args:
        flow: the flow.
        model: the model under test.
        tool_schemas: tool name → input JSON Schema, for every tool the flow offers.
        descriptions: tool name → description shown to the model (optional).
        stop_on_failure: stop at the first failed turn (the script no longer fits).
        protocol: the wire protocol ``model`` is called over (see :func:`score_turn`).
        profile: the scoring profile that judges each turn
            (:mod:`~clearance.flows.scoring_profile`): ``clearance`` (:func:`score_turn`)
            or ``bfcl`` (BFCL's checker, by the case's ``bfcl:`` answer key).

    Raises:
        ContractError: a tool the flow offers has no schema in ``tool_schemas``, or the
            ``bfcl`` profile judges a case without an answer key.
    """
    play = play_flow(
        flow,
        tool_schemas=tool_schemas,
        descriptions=descriptions,
        stop_on_failure=stop_on_failure,
        protocol=protocol,
        profile=profile,
    )
    try:
        messages, tools = next(play)
        while True:
            messages, tools = play.send(model(messages, tools))
    except StopIteration as stop:
        verdict: FlowVerdict = stop.value
        return verdict


async def arun_flow(
    flow: Flow,
    model: AsyncModel,
    *,
    tool_schemas: Mapping[str, Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
    stop_on_failure: bool = True,
    protocol: Protocol = "openai",
    profile: ScoringProfile = "clearance",
) -> FlowVerdict:
    """The same as :func:`run_flow` with a model that is awaited."""
    play = play_flow(
        flow,
        tool_schemas=tool_schemas,
        descriptions=descriptions,
        stop_on_failure=stop_on_failure,
        protocol=protocol,
        profile=profile,
    )
    try:
        messages, tools = next(play)
        while True:
            messages, tools = play.send(await model(messages, tools))
    except StopIteration as stop:
        verdict: FlowVerdict = stop.value
        return verdict


def _bfcl_key(flow: Flow) -> BfclKey:
    if flow.bfcl is None:
        raise ContractError(
            f"case {flow.id!r} has no bfcl answer key, which the bfcl scoring profile judges by",
            path=flow.path,
            pointer="/bfcl",
            fix="import it again with `clearance contracts import-bfcl`, or judge its suite "
            "with `scoring: clearance` in the folder's suite.yaml",
        )
    return flow.bfcl


def flow_tools(
    flow: Flow,
    tool_schemas: Mapping[str, Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The tools ``flow`` offers, in OpenAI wire form.

    Raises:
        ContractError: a tool the flow offers has no schema in ``tool_schemas``.
    """
    tools = []
    for ref, name in zip(flow.tools, flow.tool_names, strict=True):
        if name not in tool_schemas:
            raise ContractError(
                f"no input schema for tool {ref}",
                path=flow.path,
                pointer="/tools",
                fix="load the tool contracts and pass each input_schema in tool_schemas",
            )
        tools.append(tool_definition(name, tool_schemas[name], (descriptions or {}).get(name)))
    return tools


_Request = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def play_flow(
    flow: Flow,
    *,
    tool_schemas: Mapping[str, Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
    stop_on_failure: bool = True,
    protocol: Protocol = "openai",
    profile: ScoringProfile = "clearance",
) -> Generator[_Request, ChatResponse, FlowVerdict]:
    """The flow as a generator: yields each (messages, tools) to send, takes the answer.

    One implementation of the rules of :func:`run_flow` for every way of calling a model
    (sync, async, batched); the generator's return value is the verdict.
    """
    bfcl = _bfcl_key(flow) if profile == "bfcl" else None
    tools = flow_tools(flow, tool_schemas, descriptions)
    messages: list[dict[str, Any]] = []
    if flow.system:
        messages.append({"role": "system", "content": flow.system})
    messages.append({"role": "user", "content": flow.user})
    script = list(flow.steps)
    if flow.needs_answer_turn:
        script.append(Step(calls=()))
    offered = set(flow.tool_names)
    failures: list[Failure] = []
    verdicts: list[TurnVerdict] = []
    last: ChatResponse | None = None
    completed = False
    for number, step in enumerate(script, start=1):
        if number > flow.max_turns:
            failures.append(
                Failure(
                    "turn_limit",
                    {"max_turns": flow.max_turns, "turns_needed": len(script)},
                    turn=number,
                )
            )
            break
        if step.user is not None:
            messages.append({"role": "user", "content": step.user})
        response = yield list(messages), [dict(tool) for tool in tools]
        if bfcl is not None:
            from clearance.flows.bfcl.judge import score_bfcl_turn

            verdict = score_bfcl_turn(bfcl, response, offered=flow.tool_names)
        else:
            verdict = score_turn(
                step,
                response,
                tool_schemas=tool_schemas,
                offered=offered,
                forbidden=flow.forbidden_tools,
                protocol=protocol,
            )
        if verdict.failures:
            verdict = dataclasses.replace(
                verdict,
                failures=tuple(dataclasses.replace(f, turn=number) for f in verdict.failures),
            )
        verdicts.append(verdict)
        failures.extend(verdict.failures)
        last = response
        messages.append(assistant_message(response))
        if response.tool_calls and (step.results or number < len(script)):
            messages.extend(_tool_messages(step, response, verdict.assignment))
        if not verdict.passed and stop_on_failure:
            break
    else:
        completed = True
    final_text = last.content if last is not None else None
    if completed:
        already = any(f.code == "no_final_answer" for f in failures)
        for failure in score_final(flow, final_text):
            if not (already and failure.code == "no_final_answer"):
                failures.append(failure)
    turns_passed = sum(v.passed for v in verdicts)
    return FlowVerdict(
        passed=completed and not failures,
        failures=tuple(failures),
        turns_passed=turns_passed,
        turns_total=len(script),
        transcript=messages,
        turns=tuple(verdicts),
        final_text=final_text,
    )
