"""The Gemini wire format against the 19 real recorded cassettes.

``tests/data/realdata/cassettes/gemini`` (pydantic-ai, MIT; openinference, Apache-2.0;
see tests/data/NOTICE) holds real ``generativelanguage.googleapis.com/v1beta`` traffic.
Every request is rebuilt from a canonical (OpenAI-shaped) form, which a translator of the
test's own writes from the recorded body, and :func:`gemini_request` must give the
recorded body back (its model turns unchanged, each ``functionResponse`` named after its
call); :func:`gemini_tool_schemas` must read its tools. Every answer, JSON or SSE, is
parsed and checked against expectations computed from the recorded JSON directly (calls,
ids, usage sums, parts), then each cassette's known facts and each Gemini quirk the
realdata README names get a test of their own.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from clearance.errors import ModelNotFound
from clearance.flows.scoring import assistant_message
from clearance.pricing import Usage
from clearance.providers.base import ChatRequest
from clearance.providers.types import NATIVE_KEY, ChatResponse, ToolCall
from clearance.providers.wire import (
    gemini_request,
    gemini_tool_schemas,
    normalize_tool_call,
    parse_gemini_response,
    parse_gemini_sse,
)
from clearance.retryplan import rule_for

ROOT = Path(__file__).parents[1] / "data" / "realdata" / "cassettes" / "gemini"
FILES = sorted(ROOT.rglob("*.yaml"))
P = {"provider": "gemini", "model_id": "gemini:recorded"}


@dataclass(frozen=True)
class Exchange:
    """One recorded ``POST .../models/{m}:generateContent`` (or stream) and its answer."""

    cassette: str
    number: int
    uri: str
    request: dict[str, Any]
    status: int
    body: Any
    """The decoded JSON answer, or the SSE text."""
    streamed: bool

    @property
    def where(self) -> str:
        return f"{self.cassette} #{self.number}"


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def _exchanges(path: Path) -> tuple[Exchange, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for number, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        uri = request["uri"]
        if ":generateContent" not in uri and ":streamGenerateContent" not in uri:
            continue  # cachedContents, and the replay cassette's Anthropic half
        sent = request.get("parsed_body")
        if sent is None:
            sent = json.loads(request["body"])
        streamed = "alt=sse" in uri
        if "parsed_body" in response:
            body: Any = response["parsed_body"]
        else:
            body = response["body"]["string"]
            if not streamed:
                body = json.loads(body)
        status = response["status"]["code"]
        found.append(Exchange(_name(path), number, uri, sent, status, body, streamed))
    return tuple(found)


def _exchange(cassette: str, number: int) -> Exchange:
    found = [e for e in _exchanges(ROOT / cassette) if e.number == number]
    assert found, f"{cassette} has no exchange #{number}"
    return found[0]


def _parse(exchange: Exchange) -> ChatResponse:
    if exchange.streamed:
        return parse_gemini_sse(exchange.body, **P)
    return parse_gemini_response(exchange.body, status_code=exchange.status, **P)


def _chunks(exchange: Exchange) -> list[dict[str, Any]]:
    """The answer as the list of GenerateContentResponse objects it was sent as."""
    if not exchange.streamed:
        return [exchange.body]
    return [json.loads(line[5:]) for line in exchange.body.splitlines() if line.startswith("data:")]


def _parts(exchange: Exchange) -> list[dict[str, Any]]:
    """Every part of the first candidate, across all chunks, as sent."""
    return [
        part
        for chunk in _chunks(exchange)
        for candidate in chunk.get("candidates", [])[:1]
        for part in candidate.get("content", {}).get("parts", [])
    ]


# ------------------------------------------------------------ the request, rebuilt


def _canonical(sent: dict[str, Any]) -> ChatRequest:
    """The recorded native body, written back as the OpenAI-shaped request it stands for."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": part["text"]}
        for part in sent.get("systemInstruction", {}).get("parts", [])
    ]
    calls: list[dict[str, Any]] = []
    answered: set[str] = set()
    for turn, content in enumerate(sent["contents"]):
        parts = content["parts"]
        if content["role"] == "model":
            calls = []
            for index, part in enumerate(p for p in parts if "functionCall" in p):
                function = part["functionCall"]
                calls.append(
                    {
                        "id": function.get("id") or f"made_{turn}_{index}",
                        "type": "function",
                        "function": {
                            "name": function["name"],
                            "arguments": json.dumps(function.get("args", {})),
                        },
                    }
                )
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(p["text"] for p in parts if "text" in p) or None,
                NATIVE_KEY: {"protocol": "gemini", "content": parts},
            }
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
            continue
        for part in parts:
            if "text" in part:
                messages.append({"role": "user", "content": part["text"]})
                continue
            result = part["functionResponse"]
            call = next(
                c
                for c in calls
                if c["id"] not in answered
                and (c["id"] == result.get("id") or c["function"]["name"] == result["name"])
            )
            answered.add(call["id"])
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": json.dumps(result["response"]),
                }
            )

    tools: list[dict[str, Any]] = []
    recorded_tools = sent.get("tools", [])
    for tool in [recorded_tools] if isinstance(recorded_tools, dict) else recorded_tools:
        if "functionDeclarations" not in tool:
            tools.append(tool)  # a native tool (codeExecution)
            continue
        schemas = gemini_tool_schemas({"tools": [tool]})
        for declaration in tool["functionDeclarations"]:
            function = {"name": declaration["name"], "parameters": schemas[declaration["name"]]}
            if declaration.get("description"):
                function["description"] = declaration["description"]
            tools.append({"type": "function", "function": function})

    extra = {k: v for k, v in sent.items() if k not in ("contents", "systemInstruction", "tools")}
    config = dict(extra.pop("generationConfig", {}) or {})
    temperature = config.pop("temperature", None)
    max_tokens = config.pop("maxOutputTokens", None)
    if "generationConfig" in sent:
        extra["generationConfig"] = config
    choice: str | dict[str, Any] | None = None
    calling = extra.get("toolConfig", {}).get("functionCallingConfig", {})
    if calling == {"mode": "ANY"}:
        choice = "required"
        del extra["toolConfig"]
    return ChatRequest(
        messages=messages,
        tools=tools or None,
        tool_choice=choice,
        temperature=temperature,
        max_tokens=max_tokens,
        extra=extra,
    )


def _merged(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded turns with consecutive turns of one role joined, as they are sent."""
    merged: list[dict[str, Any]] = []
    for content in contents:
        if merged and merged[-1]["role"] == content["role"]:
            merged[-1]["parts"] = [*merged[-1]["parts"], *content["parts"]]
        else:
            merged.append({"role": content["role"], "parts": list(content["parts"])})
    return merged


# ------------------------------------------------------------ every cassette


def test_all_cassettes_are_found_and_read() -> None:
    assert len(FILES) == 19, [_name(path) for path in FILES]
    assert all(_exchanges(path) for path in FILES)
    assert sum(len(_exchanges(path)) for path in FILES) == 38


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_request_is_rebuilt_from_its_canonical_form(path: Path) -> None:
    for exchange in _exchanges(path):
        sent = exchange.request
        ours = gemini_request("recorded", _canonical(sent))
        assert ours["contents"] == _merged(sent["contents"]), exchange.where
        if "systemInstruction" in sent:
            assert ours["systemInstruction"]["parts"] == sent["systemInstruction"]["parts"]
        for key in ("generationConfig", "toolConfig", "cachedContent", "safetySettings"):
            assert ours.get(key) == sent.get(key), (exchange.where, key)
        recorded = gemini_tool_schemas(sent)
        assert list(gemini_tool_schemas(ours)) == list(recorded), exchange.where


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_request_names_its_tools(path: Path) -> None:
    for exchange in _exchanges(path):
        tools = exchange.request.get("tools", [])
        declared = [
            declaration
            for tool in ([tools] if isinstance(tools, dict) else tools)
            for declaration in tool.get("functionDeclarations", [])
        ]
        schemas = gemini_tool_schemas(exchange.request)
        assert list(schemas) == [d["name"] for d in declared], exchange.where
        for declaration in declared:
            if "parameters_json_schema" in declaration:
                assert schemas[declaration["name"]] == declaration["parameters_json_schema"]
            else:  # the OpenAPI subset, its upper-case types read as JSON Schema's
                assert schemas[declaration["name"]] == _lower_types(declaration["parameters"])
            Draft202012Validator.check_schema(schemas[declaration["name"]])


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: value.lower() if key == "type" else _lower_types(value)
            for key, value in schema.items()
        }
    return schema


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_recorded_call_satisfies_the_schema_its_request_sent(path: Path) -> None:
    """What the cassette audit does with these schemas: each call Gemini made is judged
    against the schema sent, upper-case OpenAPI spellings included."""
    for exchange in _exchanges(path):
        if exchange.status >= 400:
            continue
        schemas = gemini_tool_schemas(exchange.request)
        for call in _parse(exchange).tool_calls:
            assert call.name in schemas, exchange.where
            errors = list(Draft202012Validator(schemas[call.name]).iter_errors(call.arguments))
            assert errors == [], (exchange.where, call.name, errors)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_answer_parses_like_the_openai_path(path: Path) -> None:
    for exchange in _exchanges(path):
        if exchange.status >= 400:
            continue  # the 404 has a test of its own
        response = _parse(exchange)
        parts = _parts(exchange)
        sent_calls = [part["functionCall"] for part in parts if "functionCall" in part]
        assert [(c.name, c.arguments) for c in response.tool_calls] == [
            (c["name"], c.get("args") or {}) for c in sent_calls
        ], exchange.where
        for call, sent in zip(response.tool_calls, sent_calls, strict=True):
            assert isinstance(call, ToolCall)
            if "id" in sent:
                assert call.id == sent["id"]
                assert "missing_id" not in call.quirks
            else:
                assert call.id
                assert "missing_id" in call.quirks
            assert ("empty_arguments" in call.quirks) == (not sent.get("args"))
            assert "object_arguments" not in call.quirks
            # The same ToolCall the OpenAI path makes of the same call.
            twin = normalize_tool_call(call.index, call.id, sent["name"], json.dumps(sent["args"]))
            assert (twin.id, twin.name, twin.arguments) == (call.id, call.name, call.arguments)
        assert len({call.id for call in response.tool_calls}) == len(response.tool_calls)
        assert response.finish_reason == ("tool_calls" if sent_calls else response.finish_reason)
        assert "stop_with_tool_calls" not in response.quirks

        chunks = _chunks(exchange)
        usage = chunks[-1]["usageMetadata"]
        assert isinstance(response.usage, Usage)
        assert response.usage.prompt_tokens == usage["promptTokenCount"] + usage.get(
            "toolUsePromptTokenCount", 0
        )
        thoughts = usage.get("thoughtsTokenCount", 0)
        assert response.usage.completion_tokens == usage.get("candidatesTokenCount", 0) + thoughts
        assert response.usage.reasoning_tokens == thoughts
        assert response.usage.cached_tokens == usage.get("cachedContentTokenCount", 0)
        assert response.model == chunks[-1]["modelVersion"] == response.snapshot
        assert response.response_id == chunks[-1]["responseId"]

        texts = [p["text"] for p in parts if "text" in p and not p.get("thought")]
        assert (response.content or "") == "".join(texts), exchange.where
        thoughts_text = "".join(p["text"] for p in parts if p.get("thought"))
        assert (response.reasoning or "") == thoughts_text
        assert response.native is not None
        assert response.native.protocol == "gemini"
        native = list(response.native.content)
        if not exchange.streamed:
            assert native == parts  # as decoded, unchanged
        else:
            # Calls whole and in order; each signature on the part it came with.
            assert [p for p in native if "functionCall" in p] == [
                p for p in parts if "functionCall" in p
            ]
            signed = [
                (p["thoughtSignature"], p.get("text") is None)
                for p in parts
                if "thoughtSignature" in p
            ]
            assert [
                (p["thoughtSignature"], p.get("text") is None)
                for p in native
                if "thoughtSignature" in p
            ] == signed


# ------------------------------------------------------------ what each cassette is known for


def test_gemini_2_calls_have_no_id_and_get_a_stable_unique_one() -> None:
    exchange = _exchange("openinference/test_response_with_multiple_tool_calls[True].yaml", 0)
    first, second = _parse(exchange), _parse(exchange)
    assert [c.arguments for c in first.tool_calls] == [
        {"location": "Boston"},
        {"location": "New Delhi"},
    ]
    assert [c.id for c in first.tool_calls] == [c.id for c in second.tool_calls]
    assert first.tool_calls[0].id != first.tool_calls[1].id
    assert all(c.quirks == ("missing_id",) for c in first.tool_calls)
    # the answer's own responseId makes the ids unique across the turns of a conversation
    assert all("l9cEarvcAfjC7_UPtZea-Aw" in c.id for c in first.tool_calls)


def test_gemini_3_calls_keep_their_id_streamed_in_two_chunks() -> None:
    exchange = _exchange("openinference/test_streaming_reasoning_with_multiple_tool_calls.yaml", 0)
    assert len(_chunks(exchange)) == 3
    response = _parse(exchange)
    assert [(c.id, c.arguments, c.quirks) for c in response.tool_calls] == [
        ("dv8szvqe", {"location": "Boston"}, ()),
        ("j80tal12", {"location": "New Delhi"}, ()),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.finish_reason_raw == "STOP"
    assert response.usage == Usage(71, 33 + 93, reasoning_tokens=93)
    # the signature stays on the first call's part; the final {"text": ""} is dropped
    native = response.native.content if response.native else ()
    assert len(native) == 2
    assert "thoughtSignature" in native[0]
    assert "thoughtSignature" not in native[1]


def test_a_gemini_3_answer_may_still_leave_ids_out() -> None:
    # gemini-3-flash-preview, three parallel calls to a tool without parameters
    exchange = _exchange("pydantic-ai/test_google_instructions_only_with_tool_calls.yaml", 0)
    response = _parse(exchange)
    assert [c.name for c in response.tool_calls] == ["generate_topic"] * 3
    assert len({c.id for c in response.tool_calls}) == 3
    assert all(c.quirks == ("missing_id", "empty_arguments") for c in response.tool_calls)
    assert all(c.arguments == {} and c.raw_arguments == {} for c in response.tool_calls)


def test_empty_args_read_as_no_arguments() -> None:
    exchange = _exchange("pydantic-ai/test_google_tool_config_any_with_tool_without_args.yaml", 0)
    (call,) = _parse(exchange).tool_calls
    assert (call.name, call.arguments, call.quirks) == (
        "bar",
        {},
        ("missing_id", "empty_arguments"),
    )
    streamed = _exchange("pydantic-ai/test_native_output_with_function_tools_stream.yaml", 0)
    (call,) = _parse(streamed).tool_calls
    assert (call.id, call.arguments, call.quirks) == ("96c1su3s", {}, ("empty_arguments",))


def test_cached_content_tokens_are_the_cached_part_of_the_prompt() -> None:
    exchange = _exchange("pydantic-ai/test_google_model_cached_content.yaml", 1)
    assert exchange.request["cachedContent"].startswith("cachedContents/")
    response = _parse(exchange)
    assert response.content == "Paris."
    assert response.usage == Usage(
        prompt_tokens=3520, completion_tokens=2 + 42, cached_tokens=3512, reasoning_tokens=42
    )
    implicit = _parse(
        _exchange("pydantic-ai/test_google_validated_accepts_what_auto_accepts[validated].yaml", 1)
    )
    assert implicit.usage is not None
    assert implicit.usage.cached_tokens == 594


def test_thoughts_are_reasoning_and_billed_as_output() -> None:
    exchange = _exchange("pydantic-ai/test_google_model_thinking_part_iter.yaml", 0)
    response = _parse(exchange)
    assert response.reasoning is not None
    assert response.reasoning.startswith("**Clarifying User Goals**")
    assert "**Crafting Safe Instructions**" in response.reasoning
    assert response.content is not None
    assert response.content.startswith("This is a great question!")
    assert "**Clarifying" not in response.content
    assert response.usage == Usage(34, 469 + 787, reasoning_tokens=787)
    thought, answer = response.native.content if response.native else ((), ())
    assert thought["thought"] is True
    assert "thoughtSignature" not in thought
    assert answer["text"] == response.content
    assert answer["thoughtSignature"].startswith("CiIB")


def test_safety_finish_is_a_content_filter_without_content() -> None:
    response = _parse(_exchange("pydantic-ai/test_google_model_safety_settings.yaml", 0))
    assert (response.finish_reason, response.finish_reason_raw) == ("content_filter", "SAFETY")
    assert response.content is None
    assert response.tool_calls == ()
    assert response.usage == Usage(14, 0)
    assert response.model == "gemini-1.5-flash"


def test_max_tokens_finish_is_length() -> None:
    response = _parse(_exchange("pydantic-ai/test_google_model_max_tokens.yaml", 0))
    assert (response.finish_reason, response.content) == ("length", "The capital of France is")
    assert response.usage == Usage(15, 5)


def test_the_404_is_a_typed_model_not_found_that_falls_back() -> None:
    exchange = _exchange("pydantic-ai/test_model_name_suggestion[google].yaml", 0)
    assert exchange.status == 404
    with pytest.raises(ModelNotFound) as caught:
        _parse(exchange)
    error = caught.value
    assert (error.status_code, error.code) == (404, "NOT_FOUND")
    assert "gemini-3.6-flahs is not found" in error.detail
    assert (rule_for(error).retry, rule_for(error).fall_back) == (False, True)


def test_the_retry_cassette_round_trips_a_tool_error_and_the_signature() -> None:
    """pydantic-ai's retry: the tool answers with an error, the model calls it again."""
    first = _exchange("pydantic-ai/test_google_model_retry.yaml", 0)
    second = _exchange("pydantic-ai/test_google_model_retry.yaml", 1)
    answer = _parse(first)
    (call,) = answer.tool_calls
    recorded_error = second.request["contents"][2]["parts"][0]["functionResponse"]["response"]
    messages = [
        {"role": "system", "content": "You are a helpful chatbot."},
        {"role": "user", "content": "What is the capital of France?"},
        assistant_message(answer),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(recorded_error)},
    ]
    body = gemini_request("gemini-2.5-pro", ChatRequest(messages))
    model_turn, result_turn = body["contents"][1], body["contents"][2]
    # the parts go back exactly as Gemini sent them, signature included
    assert model_turn == {"role": "model", "parts": first.body["candidates"][0]["content"]["parts"]}
    assert model_turn["parts"][0]["thoughtSignature"].startswith("CpYEAXLI2nxHJhy3")
    # gemini-2.5 gave no id: the response names the function and carries no made-up id
    assert result_turn == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_capital", "response": recorded_error}}],
    }
    retried = _parse(second)
    assert [c.arguments for c in retried.tool_calls] == [{"country": "La France"}]
    final = _parse(_exchange("pydantic-ai/test_google_model_retry.yaml", 2))
    assert final.content == "Paris"
    assert final.finish_reason == "stop"
    assert final.native is not None
    assert "thoughtSignature" in final.native.content[0]


def test_a_gemini_3_call_id_goes_back_in_its_function_response() -> None:
    exchange = _exchange(
        "pydantic-ai/test_cross_provider_capability_replay"
        "[google-gemini-3-flash-preview-anthropic-claude-sonnet-4-5].yaml",
        0,
    )
    answer = _parse(exchange)
    messages = [
        {"role": "user", "content": "Can I get a refund on order-123?"},
        assistant_message(answer),
        {"role": "tool", "tool_call_id": "0usajhl5", "content": '{"instructions": "..."}'},
    ]
    body = gemini_request("gemini-3-flash-preview", ChatRequest(messages))
    assert body["contents"][1]["parts"] == exchange.body["candidates"][0]["content"]["parts"]
    assert body["contents"][2]["parts"] == [
        {
            "functionResponse": {
                "name": "load_capability",
                "response": {"instructions": "..."},
                "id": "0usajhl5",
            }
        }
    ]
    # what pydantic-ai sent next, id and name alike
    recorded = _exchange(exchange.cassette, 1).request["contents"][2]["parts"][0]
    assert recorded["functionResponse"]["id"] == "0usajhl5"
    assert recorded["functionResponse"]["name"] == "load_capability"


def test_code_execution_parts_are_kept_raw_and_named() -> None:
    exchange = _exchange("pydantic-ai/test_code_execution_stream.yaml", 0)
    assert exchange.request["tools"] == [{"codeExecution": {}}]
    response = _parse(exchange)
    assert response.quirks == ("unknown_part:executableCode", "unknown_part:codeExecutionResult")
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    native = response.native.content if response.native else ()
    assert native[0]["executableCode"]["id"] == "8xju7mua"
    assert "thoughtSignature" in native[0]
    assert native[1]["codeExecutionResult"]["output"] == "-428330955.97745\n"
    assert native[2] == {"text": response.content}
    assert native[3]["text"] == ""
    assert native[3]["thoughtSignature"].startswith("EoECCv4B")
    assert (
        response.content
        == "The result of $65465 - 6544 \\times 65464 - 6 + 1.02255$ is **-428,330,955.97745**."
    )
    # toolUsePromptTokenCount (the code run's input) is billed as prompt
    assert response.usage == Usage(147 + 360, 108 + 168, reasoning_tokens=168)


def test_usage_is_read_from_the_last_chunk() -> None:
    exchange = _exchange("pydantic-ai/test_google_model_iter_stream.yaml", 2)
    first, _last = _chunks(exchange)
    assert first["usageMetadata"]["promptTokenCount"] == 169
    response = _parse(exchange)
    assert response.usage == Usage(79, 12)
    assert response.content == "The temperature in Paris is 30°C.\n"
    assert response.native is not None
    assert response.native.content == ({"text": response.content},)


def test_schemas_in_every_spelling_and_tools_as_one_object() -> None:
    drop = _exchange("pydantic-ai/test_gemini_drop_exclusive_maximum.yaml", 0).request
    assert isinstance(drop["tools"], dict)  # the old raw-httpx client: one tool object
    assert gemini_tool_schemas(drop) == {
        "get_chinese_zodiac": {
            "additionalProperties": False,
            "properties": {"age": {"type": "integer"}},
            "required": ["age"],
            "type": "object",
        }
    }
    upper = _exchange("openinference/test_generate_content_with_automatic_tool_calling.yaml", 0)
    recorded = upper.request["tools"][0]["functionDeclarations"][0]["parameters"]
    assert recorded["type"] == "OBJECT"
    assert recorded["properties"]["location"] == {"type": "STRING"}
    assert gemini_tool_schemas(upper.request)["get_weather"] == {
        "properties": {
            "location": {"type": "string"},
            "unit": {"default": "fahrenheit", "type": "string"},
        },
        "required": ["location"],
        "type": "object",
    }
    nullable = {
        "tools": [
            {
                "function_declarations": [
                    {
                        "name": "g",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {
                                "unit": {"type": "STRING", "enum": ["C", "F"], "nullable": True},
                                "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
                            },
                        },
                    }
                ]
            }
        ]
    }
    assert gemini_tool_schemas(nullable)["g"]["properties"] == {
        "unit": {"type": ["string", "null"], "enum": ["C", "F", None]},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    camel = {
        "tools": [
            {"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}
        ]
    }
    assert gemini_tool_schemas(camel) == {"f": {"type": "object"}}


def test_a_stand_in_signature_was_accepted_on_replayed_calls() -> None:
    """The recorded requests that replay calls Gemini did not make carry Google's stand-in
    signature, which is what gemini_request puts on a call rebuilt from an OpenAI message."""
    from clearance.providers.wire.gemini_content import SKIP_SIGNATURE

    replayed = _exchange("pydantic-ai/test_gemini_drop_exclusive_maximum.yaml", 1).request
    model_turn = replayed["contents"][1]["parts"][0]
    assert model_turn["thoughtSignature"] == "skip_thought_signature_validator"
    import base64

    assert base64.b64decode(SKIP_SIGNATURE) == b"skip_thought_signature_validator"
    body = gemini_request(
        "m",
        ChatRequest(
            [
                {"role": "user", "content": "How old?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_chinese_zodiac", "arguments": '{"age": 20}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "Dragon"},
            ]
        ),
    )
    assert body["contents"][1]["parts"] == [
        {
            "functionCall": {"name": "get_chinese_zodiac", "args": {"age": 20}, "id": "c1"},
            "thoughtSignature": SKIP_SIGNATURE,
        }
    ]
    assert body["contents"][2]["parts"] == [
        {
            "functionResponse": {
                "name": "get_chinese_zodiac",
                "response": {"result": "Dragon"},
                "id": "c1",
            }
        }
    ]
