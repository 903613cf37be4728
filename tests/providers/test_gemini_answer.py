"""Gemini answers read into ChatResponse, whole and streamed, beyond the recorded cassettes.

Every part kind and oddity the format allows, bad bodies, and two properties: no answer
body crashes the reader (it returns a ChatResponse or raises a ProviderError), and a
whole answer cut into any stream of chunks assembles into the same ChatResponse and the
same native parts.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import MalformedResponse, ProviderError
from clearance.pricing import Usage
from clearance.providers.types import ChatResponse
from clearance.providers.wire import (
    GeminiStreamAssembler,
    parse_gemini_response,
    parse_gemini_sse,
)

P = {"provider": "gemini", "model_id": "gemini:gemini-2.5-flash"}


def _answer(parts: list[Any], finish: str | None = "STOP", **fields: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "modelVersion": "gemini-2.5-flash",
        "responseId": "R1",
        **fields,
    }


def _parse(parts: list[Any], finish: str | None = "STOP", **fields: Any) -> ChatResponse:
    return parse_gemini_response(_answer(parts, finish, **fields), **P)


def _sse(chunks: list[Any]) -> str:
    return "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)


# ------------------------------------------------------------ parts


def test_text_and_calls_are_both_kept() -> None:
    response = _parse(
        [
            {"text": "I'll check both. "},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"text": "One moment."},
            {"functionCall": {"name": "get_time", "args": {"zone": "CET"}, "id": "x1"}},
        ]
    )
    assert response.content == "I'll check both. One moment."
    assert [(c.index, c.id, c.name, c.arguments) for c in response.tool_calls] == [
        (0, "call_R1_0", "get_weather", {"city": "Paris"}),
        (1, "x1", "get_time", {"zone": "CET"}),
    ]
    assert response.tool_calls[0].quirks == ("missing_id",)
    assert response.tool_calls[1].quirks == ()
    assert response.finish_reason == "tool_calls"
    assert response.quirks == ()


def test_thought_parts_are_reasoning_not_content() -> None:
    response = _parse(
        [
            {"text": "The user wants ", "thought": True},
            {"text": "a number.", "thought": True},
            {"text": "42", "thoughtSignature": "c2ln"},
        ]
    )
    assert (response.reasoning, response.content) == ("The user wants a number.", "42")
    assert response.native is not None
    assert response.native.content[2] == {"text": "42", "thoughtSignature": "c2ln"}


def test_unknown_parts_are_kept_raw_and_named_never_a_crash() -> None:
    odd = [
        {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
        {"executableCode": {"language": "PYTHON", "code": "1+1"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "2"}},
        {"somethingNew": {"x": 1}, "thoughtSignature": "AAAA"},
        {"thoughtSignature": "BBBB"},  # a signature on its own: not unknown
        "not a part",
        {"text": 5},
        {"text": "done"},
    ]
    response = _parse(odd)
    assert response.content == "done"
    assert response.quirks == (
        "unknown_part:inlineData",
        "unknown_part:executableCode",
        "unknown_part:codeExecutionResult",
        "unknown_part:somethingNew",
        "malformed_part",
    )
    assert response.native is not None
    assert response.native.content == tuple(odd)


@pytest.mark.parametrize(
    ("call", "arguments", "raw", "quirks"),
    [
        ({"name": "f"}, {}, None, ("missing_id", "empty_arguments")),
        ({"name": "f", "args": None}, {}, None, ("missing_id", "empty_arguments")),
        ({"name": "f", "args": {}}, {}, {}, ("missing_id", "empty_arguments")),
        (
            {"name": "f", "args": '{"a": 1}'},
            {"a": 1},
            '{"a": 1}',
            ("missing_id", "string_arguments"),
        ),
        ({"name": "f", "args": [1]}, None, [1], ("missing_id", "non_object_arguments")),
        ({"name": "f", "args": {"a": 1}, "id": ""}, {"a": 1}, {"a": 1}, ("empty_id",)),
        ({"args": {"a": 1}, "id": "i"}, {"a": 1}, {"a": 1}, ("missing_name",)),
    ],
)
def test_odd_function_calls_are_normalized_and_named(
    call: dict[str, Any], arguments: Any, raw: Any, quirks: tuple[str, ...]
) -> None:
    (tool_call,) = _parse([{"functionCall": call}]).tool_calls
    assert (tool_call.arguments, tool_call.raw_arguments, tool_call.quirks) == (
        arguments,
        raw,
        quirks,
    )
    assert tool_call.id


def test_made_up_ids_are_stable_unique_and_safe() -> None:
    parts = [{"functionCall": {"name": "f", "args": {"i": i}}} for i in range(3)]
    once = _parse(parts, responseId="a/b c+d")
    again = _parse(parts, responseId="a/b c+d")
    assert [c.id for c in once.tool_calls] == ["call_abcd_0", "call_abcd_1", "call_abcd_2"]
    assert [c.id for c in again.tool_calls] == [c.id for c in once.tool_calls]
    no_response_id = parse_gemini_response({"candidates": [{"content": {"parts": parts}}]}, **P)
    assert [c.id for c in no_response_id.tool_calls] == ["call_0", "call_1", "call_2"]
    assert no_response_id.tool_calls[0].quirks == ("missing_id",)


def test_partial_function_call_arguments_are_flagged() -> None:
    response = _parse([{"functionCall": {"name": "f", "partialArgs": [], "willContinue": True}}])
    assert "partial_function_call" in response.quirks


# ------------------------------------------------------------ finish reasons


@pytest.mark.parametrize(
    ("raw", "calls", "finish", "quirks"),
    [
        ("STOP", True, "tool_calls", ()),  # how Gemini ends every call: no quirk
        ("STOP", False, "stop", ()),
        ("MAX_TOKENS", True, "length", ()),
        ("MAX_TOKENS", False, "length", ()),
        ("SAFETY", False, "content_filter", ()),
        ("RECITATION", False, "content_filter", ()),
        ("PROHIBITED_CONTENT", False, "content_filter", ()),
        ("SPII", False, "content_filter", ()),
        ("BLOCKLIST", False, "content_filter", ()),
        ("IMAGE_PROHIBITED_CONTENT", False, "content_filter", ()),
        ("IMAGE_RECITATION", False, "content_filter", ()),
        ("MALFORMED_FUNCTION_CALL", False, "other", ()),
        ("UNEXPECTED_TOOL_CALL", False, "other", ()),
        ("FINISH_REASON_UNSPECIFIED", False, "other", ()),
        (None, True, "tool_calls", ("missing_finish_reason",)),
        (None, False, "other", ("missing_finish_reason",)),
    ],
)
def test_finish_reasons(raw: str | None, calls: bool, finish: str, quirks: tuple[str, ...]) -> None:
    parts: list[Any] = [{"text": "x"}]
    if calls:
        parts.append({"functionCall": {"name": "f", "args": {"a": 1}}})
    response = _parse(parts, raw)
    assert (response.finish_reason, response.finish_reason_raw) == (finish, raw)
    assert response.quirks == quirks


def test_a_blocked_prompt_is_a_content_filter_without_candidates() -> None:
    body = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    response = parse_gemini_response(body, **P)
    assert (response.finish_reason, response.finish_reason_raw) == (
        "content_filter",
        "PROHIBITED_CONTENT",
    )
    assert response.quirks == ("prompt_blocked",)
    assert response.usage == Usage(9, 0)
    streamed = parse_gemini_sse(_sse([body]), **P)
    assert (streamed.finish_reason, streamed.quirks) == ("content_filter", ("prompt_blocked",))


def test_extra_candidates_are_named() -> None:
    body = _answer([{"text": "a"}])
    body["candidates"].append({"content": {"parts": [{"text": "b"}]}, "index": 1})
    response = parse_gemini_response(body, **P)
    assert (response.content, response.quirks) == ("a", ("multiple_candidates",))


# ------------------------------------------------------------ usage


def test_usage_counts_tool_prompt_cached_and_thought_tokens() -> None:
    usage = {
        "promptTokenCount": 100,
        "toolUsePromptTokenCount": 20,
        "cachedContentTokenCount": 60,
        "candidatesTokenCount": 7,
        "thoughtsTokenCount": 30,
        "totalTokenCount": 157,
    }
    response = _parse([{"text": "x"}], usageMetadata=usage)
    assert response.usage == Usage(
        prompt_tokens=120, completion_tokens=37, cached_tokens=60, reasoning_tokens=30
    )


@pytest.mark.parametrize(
    ("usage", "expected", "quirk"),
    [
        ({"promptTokenCount": 5, "cachedContentTokenCount": 9}, Usage(5, 0, cached_tokens=5),
         "inconsistent_usage"),
        ({"promptTokenCount": -1, "candidatesTokenCount": 2}, Usage(0, 2), "malformed_usage"),
        ({"promptTokenCount": "7", "candidatesTokenCount": 2}, Usage(0, 2), "malformed_usage"),
        ("lots", None, "malformed_usage"),
    ],
)  # fmt: skip
def test_odd_usage_is_repaired_and_named(usage: Any, expected: Usage | None, quirk: str) -> None:
    response = _parse([{"text": "x"}], usageMetadata=usage)
    assert response.usage == expected
    assert quirk in response.quirks


def test_model_version_and_response_id_are_the_snapshot() -> None:
    response = _parse([{"text": "x"}], modelVersion="gemini-2.5-flash-preview-05-20")
    assert response.model == response.snapshot == "gemini-2.5-flash-preview-05-20"
    assert response.response_id == "R1"
    assert response.raw is not None
    assert response.raw["responseId"] == "R1"


# ------------------------------------------------------------ bodies that are not answers


@pytest.mark.parametrize(
    "body",
    [
        "text",
        [],
        {},
        {"candidates": "x"},
        {"candidates": ["x"]},
        {"candidates": [{"content": {"parts": "x"}}]},
    ],
)
def test_a_body_that_is_no_answer_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse, match="not a Gemini GenerateContentResponse"):
        parse_gemini_response(body, **P)


def test_a_json_array_of_answers_is_read_as_a_stream() -> None:
    chunks = [
        _answer([{"text": "Hel"}], None),
        _answer([{"text": "lo"}, {"functionCall": {"name": "f", "args": {"a": 1}}}]),
    ]
    response = parse_gemini_response(chunks, **P)
    assert response.content == "Hello"
    assert [c.name for c in response.tool_calls] == ["f"]
    assert response.quirks == ("response_array",)


# ------------------------------------------------------------ streams


def test_a_stream_joins_text_and_keeps_parallel_calls_whole() -> None:
    chunks = [
        _answer([{"text": "Checking", "thoughtSignature": "SIG1"}], None),
        _answer([{"text": " both."}], None),
        _answer([{"functionCall": {"name": "a", "args": {"x": 1}, "id": "i1"}}], None),
        _answer([{"functionCall": {"name": "b", "args": {"y": 2}, "id": "i2"}}], None),
        _answer([{"text": ""}], "STOP", usageMetadata={"promptTokenCount": 4}),
    ]
    response = parse_gemini_sse(_sse(chunks), **P)
    assert response.content == "Checking both."
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("i1", "a", {"x": 1}),
        ("i2", "b", {"y": 2}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.native is not None
    assert response.native.content == (
        {"text": "Checking both.", "thoughtSignature": "SIG1"},
        {"functionCall": {"name": "a", "args": {"x": 1}, "id": "i1"}},
        {"functionCall": {"name": "b", "args": {"y": 2}, "id": "i2"}},
    )
    assert response.usage == Usage(4, 0)
    assert response.raw is None


def test_a_signature_on_its_own_empty_part_stays_there() -> None:
    chunks = [
        _answer([{"text": '{"city": '}], None),
        _answer([{"text": '"Paris"}'}], None),
        _answer([{"text": "", "thoughtSignature": "LAST"}], "STOP"),
    ]
    response = parse_gemini_sse(_sse(chunks), **P)
    assert response.native is not None
    assert response.native.content == (
        {"text": '{"city": "Paris"}'},
        {"text": "", "thoughtSignature": "LAST"},
    )


def test_thoughts_and_answer_are_never_joined() -> None:
    chunks = [
        _answer([{"text": "hmm", "thought": True}], None),
        _answer([{"text": " ok", "thought": True}], None),
        _answer([{"text": "Yes"}], None),
        _answer([{"text": "!"}], "STOP"),
    ]
    response = parse_gemini_sse(_sse(chunks), **P)
    assert (response.reasoning, response.content) == ("hmm ok", "Yes!")
    assert response.native is not None
    assert response.native.content == ({"text": "hmm ok", "thought": True}, {"text": "Yes!"})


def test_a_streamed_integer_past_64_bits_stays_exact() -> None:
    big = 2**64 + 1
    text = _sse([_answer([{"functionCall": {"name": "f", "args": {"n": big}}}])])
    (call,) = parse_gemini_sse(text, **P).tool_calls
    assert call.arguments == {"n": big}
    assert type(call.arguments["n"]) is int


def test_the_assembler_reports_each_chunk_and_ignores_sse_noise() -> None:
    assembler = GeminiStreamAssembler("gemini", "m")
    seen = []
    lines = [
        ": keep-alive",
        "event: message",
        "",
        f"data: {json.dumps(_answer([{'text': 'a'}], None))}",
        "",
        f"data:{json.dumps(_answer([{'text': 'b'}], 'STOP'))}\r",
        "what is this",
    ]
    for line in lines:
        assembler.feed_line(line)
        if assembler.last_chunk is not None:
            seen.append(assembler.last_chunk["candidates"][0]["content"]["parts"][0]["text"])
    assert seen == ["a", "b"]
    response = assembler.result()
    assert response.content == "ab"
    assert response.quirks == ("keepalive_comments", "unknown_sse_line")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "carried no chunk"),
        (_sse([_answer([{"text": "cut"}], None)]), "ended early"),
        ("data: {not json\n\n", "not valid JSON"),
        ("data: [1, 2]\n\n", "not a JSON object"),
        (_sse([{"candidates": {"x": 1}}]), "not a list"),
    ],
)
def test_a_broken_stream_is_malformed(text: str, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        parse_gemini_sse(text, **P)


# ------------------------------------------------------------ properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
PART_KEYS = st.sampled_from(
    ["text", "thought", "thoughtSignature", "functionCall", "executableCode", "inlineData", "x"]
)
PART = st.dictionaries(PART_KEYS, JSON, max_size=3) | JSON


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(PART, max_size=5),
    finish=st.none() | st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "ODD"]) | JSON,
    usage=st.none()
    | st.dictionaries(
        st.sampled_from(["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount"]), JSON
    ),
)
def test_no_answer_body_crashes_the_reader(parts: list[Any], finish: Any, usage: Any) -> None:
    body = {
        "candidates": [{"content": {"parts": parts}, "finishReason": finish}],
        "usageMetadata": usage,
    }
    for read in (
        lambda: parse_gemini_response(body, **P),
        lambda: parse_gemini_sse(_sse([body]), **P),
    ):
        try:
            response = read()
        except ProviderError:
            continue
        assert isinstance(response, ChatResponse)


TEXT_PART = st.builds(
    lambda text, thought: {"text": text, "thought": True} if thought else {"text": text},
    st.text(min_size=1, max_size=12),
    st.booleans(),
)
CALL_PART = st.builds(
    lambda name, args, signed: {
        "functionCall": {"name": name, "args": args},
        **({"thoughtSignature": "S" + name} if signed else {}),
    },
    st.sampled_from(["a", "b"]),
    st.dictionaries(st.sampled_from(["x", "y"]), st.integers(), max_size=2),
    st.booleans(),
)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)] or [""]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(TEXT_PART | CALL_PART, min_size=1, max_size=6).filter(
        # a whole answer never holds two adjacent text parts of one kind (a stream would
        # join them): the property is about answers Gemini sends
        lambda parts: all(
            not ("text" in a and "text" in b and a.get("thought") == b.get("thought"))
            for a, b in itertools.pairwise(parts)
        )
    ),
    cuts=st.lists(st.integers(0, 50), max_size=4),
)
def test_a_whole_answer_streamed_in_any_pieces_reads_the_same(
    parts: list[dict[str, Any]], cuts: list[int]
) -> None:
    usage = {"promptTokenCount": 3, "candidatesTokenCount": 2}
    whole = parse_gemini_response(_answer(parts, usageMetadata=usage), **P)
    chunks = []
    for part in parts:
        if "text" in part:
            for piece in _split(part["text"], cuts):
                chunks.append(_answer([{**part, "text": piece}], None))
        else:
            chunks.append(_answer([part], None))
    chunks.append(_answer([{"text": ""}], "STOP", usageMetadata=usage))
    streamed = parse_gemini_sse(_sse(chunks), **P)
    assert streamed == whole  # every compared field: content, calls, ids, finish, usage...
    assert whole.native is not None
    assert streamed.native is not None
    assert streamed.native.content == whole.native.content
