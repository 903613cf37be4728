"""``anthropic_request``: the canonical (OpenAI-shaped) request written as an Anthropic body.

One test per rule of the conversion (system, merged turns, tool calls and results,
native turns, content parts, tools, tool_choice, defaults), the :class:`InputError` of
each input that has no Anthropic form, and a hypothesis property: any sequence of
messages gives a body whose roles alternate and whose every ``tool_result`` answers a
``tool_use`` of the assistant turn just before it, or an error naming the message that
breaks the rule.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from clearance.errors import InputError
from clearance.providers.base import ChatRequest
from clearance.providers.lowering import lower_parameters
from clearance.providers.types import NATIVE_KEY
from clearance.providers.wire import anthropic_request, anthropic_tool_schemas
from clearance.providers.wire.anthropic_messages import DEFAULT_MAX_TOKENS

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _call(call_id: str, name: str = "get_weather", arguments: Any = '{"city": "Paris"}') -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _body(*messages: dict[str, Any], **options: Any) -> dict[str, Any]:
    return anthropic_request("claude-x", ChatRequest(messages=list(messages), **options))


# ------------------------------------------------------------ system, turns, defaults


def test_a_plain_exchange_and_the_defaults() -> None:
    body = _body({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"})
    assert body == {
        "model": "claude-x",
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "Hi"}],
        "system": "Be brief.",
    }
    assert DEFAULT_MAX_TOKENS == 4096


def test_max_tokens_temperature_stream_and_extra() -> None:
    body = _body(
        {"role": "user", "content": "Hi"},
        max_tokens=20000,
        temperature=0.2,
        stream=True,
        extra={"thinking": {"type": "enabled", "budget_tokens": 16000}, "top_k": 5},
    )
    assert body["max_tokens"] == 20000
    assert body["temperature"] == 0.2
    assert body["stream"] is True
    assert "stream_options" not in body  # OpenAI's; Anthropic streams usage anyway
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16000}
    assert body["top_k"] == 5
    assert _body({"role": "user", "content": "Hi"}, extra={"max_tokens": 7})["max_tokens"] == 7


def test_several_system_messages_become_a_list_of_blocks_in_order() -> None:
    cached = {"type": "text", "text": "Long rules.", "cache_control": {"type": "ephemeral"}}
    body = _body(
        {"role": "system", "content": "One."},
        {"role": "developer", "content": [cached]},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Late."},
    )
    assert body["system"] == [
        {"type": "text", "text": "One."},
        cached,
        {"type": "text", "text": "Late."},
    ]
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_a_system_message_with_an_image_is_refused() -> None:
    with pytest.raises(InputError, match=r"messages\[0\] \(system\) content\[0\] is not text"):
        _body(
            {
                "role": "system",
                "content": [{"type": "image_url", "image_url": {"url": "http://i"}}],
            },
            {"role": "user", "content": "Hi"},
        )


def test_consecutive_turns_of_one_role_are_merged() -> None:
    body = _body(
        {"role": "user", "content": "First."},
        {"role": "user", "content": [{"type": "text", "text": "Second."}]},
        {"role": "assistant", "content": "A."},
        {"role": "assistant", "content": "B."},
        {"role": "user", "content": "Third."},
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "A."}, {"type": "text", "text": "B."}],
        },
        {"role": "user", "content": "Third."},
    ]


def test_an_assistant_message_with_nothing_said_is_left_out() -> None:
    body = _body(
        {"role": "user", "content": "One"},
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Two"},
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "One"}, {"type": "text", "text": "Two"}],
        }
    ]


@pytest.mark.parametrize(
    ("messages", "pattern"),
    [
        ([], "no user or assistant message"),
        ([{"role": "system", "content": "Only rules."}], "no user or assistant message"),
        ([{"role": "user", "content": ""}], r"messages\[0\] \(user\) has no content"),
        ([{"role": "function", "content": "x"}], r"messages\[0\] has role 'function'"),
        (["hello"], r"messages\[0\] is a str, not a message object"),
        (
            [{"role": "user", "content": {"text": "x"}}],
            r"messages\[0\] \(user\) has content of type dict",
        ),
        ([{"role": "user", "content": [{"text": "x"}]}], r"content\[0\] is not a content part"),
        ([{"role": "user", "content": [{"type": "text"}]}], r"content\[0\] has no text"),
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
            r"content\[0\] is an 'input_audio' part",
        ),
        (
            [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}],
            r"content\[0\] is an 'file' part",
        ),
    ],
)
def test_messages_with_no_anthropic_form_are_refused(messages: list[Any], pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as caught:
        anthropic_request("claude-x", ChatRequest(messages=messages))
    assert caught.value.fix


def test_image_parts_become_image_blocks() -> None:
    body = _body(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "x"},
                },
            ],
        }
    )
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}},
    ]
    with pytest.raises(InputError, match="not base64"):
        _body({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,x"}}]})


# ------------------------------------------------------------ tool calls and results


def test_tool_calls_become_tool_use_and_tool_messages_one_user_turn() -> None:
    body = _body(
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": "Checking both.",
            "tool_calls": [
                _call("toolu_1"),
                _call("toolu_2", arguments={"city": "Oslo"}),  # an object is taken as it is
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "boom", "is_error": True},
        {"role": "user", "content": "Thanks; which is warmer?"},
    )
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking both."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"temp": 21}'},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "boom",
                    "is_error": True,
                },
                {"type": "text", "text": "Thanks; which is warmer?"},
            ],
        },
    ]


def test_tool_results_go_before_the_text_of_their_user_turn() -> None:
    body = _body(
        {"role": "user", "content": "Go"},
        {"role": "assistant", "tool_calls": [_call("a")]},
        {"role": "user", "content": "(still there?)"},
        {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "sunny"}]},
    )
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "sunny"}]},
        {"type": "text", "text": "(still there?)"},
    ]


def test_arguments_are_decoded_as_normalize_reads_them() -> None:
    body = _body(
        {"role": "user", "content": "Go"},
        {
            "role": "assistant",
            "tool_calls": [
                _call("a", arguments=json.dumps('{"city": "Rome"}')),  # double-encoded
                _call("b", arguments=""),  # no arguments
                _call("c", arguments=None),
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "x"},
        {"role": "tool", "tool_call_id": "b", "content": "x"},
        {"role": "tool", "tool_call_id": "c"},
    )
    assert [block["input"] for block in body["messages"][1]["content"]] == [
        {"city": "Rome"},
        {},
        {},
    ]
    assert body["messages"][2]["content"][2] == {"type": "tool_result", "tool_use_id": "c"}


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (_call("a", arguments="{not json"), r"tool_calls\[0\] has arguments that are not a JSON"),
        (_call("a", arguments="[1, 2]"), r"tool_calls\[0\] has arguments that are not a JSON"),
        (
            {"type": "function", "function": {"name": "f", "arguments": "{}"}},
            r"tool_calls\[0\] has no id",
        ),
        (
            {"id": "a", "type": "function", "function": {"arguments": "{}"}},
            r"tool_calls\[0\] has no function name",
        ),
        ({"id": "a", "type": "function"}, r"tool_calls\[0\] is not a function call"),
    ],
)
def test_tool_calls_with_no_anthropic_form_are_refused(call: dict[str, Any], pattern: str) -> None:
    with pytest.raises(InputError, match=r"messages\[1\] \(assistant\) " + pattern):
        _body({"role": "user", "content": "Go"}, {"role": "assistant", "tool_calls": [call]})


@pytest.mark.parametrize(
    ("messages", "pattern"),
    [
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "tool", "tool_call_id": "a", "content": "x"},
            ],
            r"messages\[1\] \(tool\) answers tool_call_id 'a', which the assistant turn before it "
            r"did not call \(it called no tool\)",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "tool_calls": [_call("a"), _call("b")]},
                {"role": "tool", "tool_call_id": "z", "content": "x"},
            ],
            r"messages\[2\] \(tool\) answers tool_call_id 'z'.*\(it called a, b\)",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "tool_calls": [_call("a")]},
                {"role": "tool", "tool_call_id": "a", "content": "x"},
                {"role": "assistant", "content": "Done."},
                {"role": "tool", "tool_call_id": "a", "content": "again"},
            ],
            r"messages\[4\] \(tool\) answers tool_call_id 'a', which the assistant turn before",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "tool_calls": [_call("a")]},
                {"role": "tool", "tool_call_id": "a", "content": "x"},
                {"role": "tool", "tool_call_id": "a", "content": "y"},
            ],
            r"messages\[3\] \(tool\) answers tool_call_id 'a' a second time",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "tool_calls": [_call("a")]},
                {"role": "tool", "content": "x"},
            ],
            r"messages\[2\] \(tool\) has no tool_call_id",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "tool_calls": [_call("a")]},
                {"role": "tool", "tool_call_id": "a", "content": {"temp": 21}},
            ],
            r"messages\[2\] \(tool\) has content of type dict",
        ),
    ],
)
def test_tool_messages_that_answer_no_call_before_them_are_refused(
    messages: list[dict[str, Any]], pattern: str
) -> None:
    with pytest.raises(InputError, match=pattern) as caught:
        anthropic_request("claude-x", ChatRequest(messages=messages))
    assert caught.value.fix


# ------------------------------------------------------------ native turns


def test_a_native_anthropic_turn_is_sent_unchanged() -> None:
    content = [
        {"type": "thinking", "thinking": "Let me look.", "signature": "EqQBCkgIBxABGAIiQ=="},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}},
    ]
    assistant = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [_call("toolu_9", arguments='{"city": "Oslo"}')],
        NATIVE_KEY: {"protocol": "anthropic", "content": content},
    }
    body = _body(
        {"role": "user", "content": "Weather?"},
        assistant,
        {"role": "tool", "tool_call_id": "toolu_9", "content": "cold"},
    )
    sent = body["messages"][1]["content"]
    assert sent == content
    assert all(a is b for a, b in zip(sent, content, strict=True))  # the very blocks
    assert NATIVE_KEY not in json.dumps(body)


def test_a_native_turn_of_another_protocol_is_converted_from_the_openai_fields() -> None:
    body = _body(
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call("call_0")],
            NATIVE_KEY: {"protocol": "gemini", "content": [{"functionCall": {"name": "x"}}]},
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "cold"},
    )
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {"city": "Paris"}}
    ]


def test_a_native_turn_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(InputError, match=r"messages\[1\] \(assistant\) carries a native Anthropic"):
        _body(
            {"role": "user", "content": "Hi"},
            {"role": "assistant", NATIVE_KEY: {"protocol": "anthropic", "content": "text"}},
        )


# ------------------------------------------------------------ tools and tool_choice


def test_function_tools_become_anthropic_tools_with_lowered_schemas() -> None:
    bare = {"type": "function", "function": {"name": "now"}}
    strict = {
        "type": "function",
        "function": {"name": "pick", "parameters": {"type": "object"}, "strict": True},
    }
    server = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    body = _body({"role": "user", "content": "Hi"}, tools=[WEATHER, bare, strict, server])
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "input_schema": lower_parameters(WEATHER["function"]["parameters"], "anthropic"),
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        {"name": "pick", "input_schema": {"type": "object"}, "strict": True},
        server,
    ]
    assert anthropic_tool_schemas(body) == {
        "get_weather": WEATHER["function"]["parameters"],
        "now": {"type": "object", "properties": {}},
        "pick": {"type": "object"},
    }
    assert anthropic_tool_schemas({"tools": "nonsense"}) == {}
    assert anthropic_tool_schemas({}) == {}


def test_tools_changed_in_place_are_converted_again() -> None:
    tool = json.loads(json.dumps(WEATHER))
    first = _body({"role": "user", "content": "Hi"}, tools=[tool])["tools"]
    tool["function"]["description"] = "Changed."
    tool["function"]["parameters"]["properties"]["unit"] = {"type": "string"}
    second = _body({"role": "user", "content": "Hi"}, tools=[tool])["tools"]
    assert first[0]["description"] == "Weather for a city."
    assert second[0]["description"] == "Changed."
    assert set(second[0]["input_schema"]["properties"]) == {"city", "unit"}
    assert second is not _body({"role": "user", "content": "Hi"}, tools=[tool])["tools"]


@pytest.mark.parametrize(
    "tool", ["get_weather", {"type": "function"}, {"type": "function", "function": {"name": ""}}]
)
def test_tools_with_no_anthropic_form_are_refused(tool: Any) -> None:
    with pytest.raises(InputError, match=r"tools\[0\]"):
        _body({"role": "user", "content": "Hi"}, tools=[tool])


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"type": "any", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_tool_choice(choice: Any, sent: dict[str, Any]) -> None:
    body = _body({"role": "user", "content": "Hi"}, tools=[WEATHER], tool_choice=choice)
    assert body["tool_choice"] == sent


@pytest.mark.parametrize(
    "choice", ["always", {"type": "function"}, {"type": "allowed_tools", "tools": []}]
)
def test_a_tool_choice_with_no_anthropic_form_is_refused(choice: Any) -> None:
    with pytest.raises(InputError, match="tool_choice"):
        _body({"role": "user", "content": "Hi"}, tools=[WEATHER], tool_choice=choice)


# ------------------------------------------------------------ the property

IDS = ["a", "b", "c"]

_message = st.one_of(
    st.builds(
        lambda text: {"role": "system", "content": text}, st.sampled_from(["Rules.", "More."])
    ),
    st.builds(lambda text: {"role": "user", "content": text}, st.sampled_from(["Hi", "Go on", ""])),
    st.builds(
        lambda text, ids: {
            "role": "assistant",
            "content": text,
            **({"tool_calls": [_call(i) for i in ids]} if ids else {}),
        },
        st.sampled_from([None, "", "Sure."]),
        st.lists(st.sampled_from(IDS), unique=True, max_size=3),
    ),
    st.builds(
        lambda ids: {
            "role": "assistant",
            "content": None,
            NATIVE_KEY: {
                "protocol": "anthropic",
                "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}]
                + [{"type": "tool_use", "id": i, "name": "f", "input": {}} for i in ids],
            },
        },
        st.lists(st.sampled_from(IDS), unique=True, max_size=2),
    ),
    st.builds(
        lambda call_id, error: {
            "role": "tool",
            "tool_call_id": call_id,
            "content": "result",
            **({"is_error": True} if error else {}),
        },
        st.sampled_from(IDS),
        st.booleans(),
    ),
)


@st.composite
def _round(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A well-formed round: a call or several, then their results in any order."""
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, min_size=1, max_size=3))
    native = draw(st.booleans())
    if native:
        assistant: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            NATIVE_KEY: {
                "protocol": "anthropic",
                "content": [{"type": "tool_use", "id": i, "name": "f", "input": {}} for i in ids],
            },
        }
    else:
        assistant = {"role": "assistant", "content": "Sure.", "tool_calls": [_call(i) for i in ids]}
    answers = draw(st.permutations(ids))
    return [assistant, *({"role": "tool", "tool_call_id": i, "content": "r"} for i in answers)]


_messages = st.lists(st.one_of(_round(), _message.map(lambda message: [message])), max_size=8).map(
    lambda parts: [message for part in parts for message in part]
)


def _first_break(messages: list[dict[str, Any]]) -> int | str | None:
    """The spec, stated directly: the index of the first message that breaks it, ``"empty"``
    when nothing but system messages remain, ``None`` when the request is fine."""
    turns: list[dict[str, Any]] = []  # {"role", "calls": set, "answered": set}

    def join(role: str) -> dict[str, Any]:
        if not turns or turns[-1]["role"] != role:
            turns.append({"role": role, "calls": set(), "answered": set()})
        return turns[-1]

    for index, message in enumerate(messages):
        role = message["role"]
        if role == "user":
            if not message["content"]:
                return index
            join("user")
        elif role == "assistant":
            native = message.get(NATIVE_KEY)
            if native is not None:
                ids = {block["id"] for block in native["content"] if block["type"] == "tool_use"}
                said = bool(native["content"])
            else:
                ids = {call["id"] for call in message.get("tool_calls", [])}
                said = bool(message["content"]) or bool(ids)
            if said:
                join("assistant")["calls"] |= ids
        elif role == "tool":
            here = turns[-1] if turns and turns[-1]["role"] == "user" else None
            before_index = len(turns) - (2 if here is not None else 1)
            before = turns[before_index] if before_index >= 0 else None
            call_id = message["tool_call_id"]
            if before is None or call_id not in before["calls"]:
                return index
            if here is not None and call_id in here["answered"]:
                return index
            join("user")["answered"].add(call_id)
    return None if turns else "empty"


@settings(max_examples=400, deadline=None)
@given(_messages)
def test_any_message_sequence_alternates_and_answers_only_calls_just_made(
    messages: list[dict[str, Any]],
) -> None:
    expected_break = _first_break(messages)
    if expected_break is not None:
        event("refused")
        with pytest.raises(InputError) as caught:
            anthropic_request("claude-x", ChatRequest(messages=messages))
        if expected_break == "empty":
            assert "no user or assistant message" in str(caught.value)
            return
        found = re.match(r"messages\[(\d+)\] \((\w+)\)", str(caught.value))
        assert found is not None, str(caught.value)
        assert int(found.group(1)) == expected_break
        assert found.group(2) == messages[expected_break]["role"]
        return
    body = anthropic_request("claude-x", ChatRequest(messages=messages))
    sent = body["messages"]
    event(f"sent, with tool results: {any(m['role'] == 'tool' for m in messages)}")
    roles = [message["role"] for message in sent]
    assert all(first != second for first, second in itertools.pairwise(roles))
    assert set(roles) <= {"user", "assistant"}
    results = 0
    for position, message in enumerate(sent):
        if not isinstance(message["content"], list):
            assert message["content"], message  # never an empty text
            continue
        assert message["content"], message
        kinds = [block["type"] for block in message["content"]]
        answered = [b["tool_use_id"] for b in message["content"] if b["type"] == "tool_result"]
        results += len(answered)
        if not answered:
            continue
        # results come first, each answers a tool_use of the turn just before, once
        assert kinds[: len(answered)] == ["tool_result"] * len(answered)
        assert len(set(answered)) == len(answered)
        assert position > 0
        called = {
            b["id"]
            for b in sent[position - 1]["content"]
            if isinstance(b, dict) and b["type"] == "tool_use"
        }
        assert set(answered) <= called
    assert results == sum(message["role"] == "tool" for message in messages)
    # what the user said reaches the body, in order
    said = [m["content"] for m in messages if m["role"] == "user"]
    texts = [
        block["text"] if isinstance(block, dict) else block
        for message in sent
        if message["role"] == "user"
        for block in (
            message["content"] if isinstance(message["content"], list) else [message["content"]]
        )
        if not isinstance(block, dict) or block["type"] == "text"
    ]
    assert texts == said
    systems = [m["content"] for m in messages if m["role"] == "system"]
    if len(systems) == 1:
        assert body["system"] == systems[0]
    elif systems:
        assert [block["text"] for block in body["system"]] == systems
    else:
        assert "system" not in body


# -- OpenAI options a cross-protocol fallback may carry -----------------------------------


def _with(extra: dict[str, Any], **fields: Any) -> dict[str, Any]:
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], extra=extra, **fields)
    return anthropic_request("claude-x", request)


def test_openai_options_are_written_as_anthropic_fields() -> None:
    body = _with({"stop": "END", "user": "u-7", "max_completion_tokens": 99})
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-7"}
    assert body["max_tokens"] == 99
    assert not {"stop", "user", "max_completion_tokens"} & set(body)
    assert _with({"stop": ["a", "b"]})["stop_sequences"] == ["a", "b"]
    # metadata given as Anthropic's own field keeps its keys beside the user id
    assert _with({"metadata": {"x": 1}, "user": "u"})["metadata"] == {"x": 1, "user_id": "u"}


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    body = _with({"parallel_tool_calls": False}, tools=tools)
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    body = _with({"parallel_tool_calls": False}, tools=tools, tool_choice="required")
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert "tool_choice" not in _with({"parallel_tool_calls": True}, tools=tools)
    body = _with({"parallel_tool_calls": False}, tools=tools, tool_choice="none")
    assert body["tool_choice"] == {"type": "none"}


def test_sampling_hints_anthropic_lacks_are_left_out() -> None:
    hints = {
        "seed": 7,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.1,
        "logit_bias": {"1": 2},
        "logprobs": False,
        "top_logprobs": 0,
        "n": 1,
        "stream_options": {"include_usage": True},
    }
    body = _with(hints)
    assert not set(hints) & set(body)
    # Anthropic's own fields still pass through unchanged
    assert _with({"top_k": 5, "thinking": {"type": "enabled"}})["top_k"] == 5


@pytest.mark.parametrize(
    "extra", [{"response_format": {"type": "json_object"}}, {"n": 2}], ids=["format", "n"]
)
def test_options_with_no_anthropic_form_are_refused_by_name(extra: dict[str, Any]) -> None:
    with pytest.raises(InputError) as raised:
        _with(extra)
    (key,) = extra
    assert f"OpenAI option {key}=" in raised.value.message
    assert key in (raised.value.fix or "")
