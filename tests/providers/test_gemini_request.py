"""The Gemini request body built from the canonical (OpenAI-shaped) request.

The rules are :mod:`clearance.providers.wire.gemini_content`'s docstring; the real
recorded requests are rebuilt in ``test_gemini_real.py``. Here each rule gets a test of
its own, bad input gets a clear error, and a property: any conversation of OpenAI
messages with tool calls becomes contents whose every ``functionResponse`` names a
function called in the model turn before it.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import InputError
from clearance.providers.base import ChatRequest
from clearance.providers.lowering import lower_parameters
from clearance.providers.types import NATIVE_KEY
from clearance.providers.wire import gemini_request
from clearance.providers.wire.gemini_content import SKIP_SIGNATURE

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def _call(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _body(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return gemini_request("gemini-2.5-flash", ChatRequest(messages, **fields))


# ------------------------------------------------------------ messages


def test_system_messages_become_the_system_instruction() -> None:
    body = _body(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {"role": "user", "content": "Hi"},
        ]
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use tools."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]
    assert "generationConfig" not in body
    assert "tools" not in body


def test_user_media_become_inline_or_file_data() -> None:
    body = _body(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                    {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg?s=1"}},
                    {"type": "input_audio", "input_audio": {"data": "UklG", "format": "mp3"}},
                ],
            }
        ]
    )
    assert body["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}},
        {"fileData": {"fileUri": "https://x.test/cat.jpg?s=1", "mimeType": "image/jpeg"}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "UklG"}},
    ]


def test_an_assistant_message_becomes_a_model_turn_with_its_calls() -> None:
    body = _body(
        [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    _call("c1", "get_weather", '{"city": "Paris"}'),
                    _call("c2", "get_weather", '{"city": "Rome"}'),
                ],
            },
        ]
    )
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Checking."},
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"},
                "thoughtSignature": SKIP_SIGNATURE,
            },
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "c2"},
                "thoughtSignature": SKIP_SIGNATURE,
            },
        ],
    }


def test_a_native_gemini_turn_is_sent_back_unchanged() -> None:
    parts = [
        {"text": "Let me think about the city.", "thought": True},
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
            "thoughtSignature": "CpYE",
        },
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"text": "", "thoughtSignature": "EoEC"},
    ]
    assistant = {
        "role": "assistant",
        "content": "different text",  # ignored: the native parts are the turn
        "tool_calls": [_call("call_R1_0", "get_weather", '{"city": "London"}')],
        NATIVE_KEY: {"protocol": "gemini", "content": parts},
    }
    body = _body(
        [
            {"role": "user", "content": "Weather?"},
            assistant,
            {"role": "tool", "tool_call_id": "call_R1_0", "content": '{"temp": 21}'},
        ]
    )
    assert body["contents"][1] == {"role": "model", "parts": parts}
    assert body["contents"][1]["parts"] is not parts  # a copy: the message is not changed
    # the made-up id of a 2.x call never goes to Gemini
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}
    ]


def test_another_protocols_native_turn_is_rebuilt_from_the_message() -> None:
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [_call("toolu_1", "get_weather", '{"city": "Oslo"}')],
        NATIVE_KEY: {"protocol": "anthropic", "content": [{"type": "thinking", "thinking": "x"}]},
    }
    body = _body([{"role": "user", "content": "?"}, assistant])
    assert body["contents"][1]["parts"] == [
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_1"},
            "thoughtSignature": SKIP_SIGNATURE,
        }
    ]


def test_consecutive_tool_results_are_one_turn_named_after_their_calls() -> None:
    body = _body(
        [
            {"role": "user", "content": "Weather and time?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    _call("a", "get_weather", '{"city": "Paris"}'),
                    _call("b", "get_time", '{"zone": "CET"}'),
                ],
            },
            {"role": "tool", "tool_call_id": "b", "content": '"12:00"'},
            {"role": "tool", "tool_call_id": "a", "content": '{"temp": 20}'},
            {"role": "user", "content": "Thanks"},
        ]
    )
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_time", "response": {"result": "12:00"}, "id": "b"}},
            {"functionResponse": {"name": "get_weather", "response": {"temp": 20}, "id": "a"}},
            {"text": "Thanks"},
        ],
    }
    assert len(body["contents"]) == 3


@pytest.mark.parametrize(
    ("content", "response"),
    [
        ('{"ok": true}', {"ok": True}),
        ("42", {"result": 42}),
        ("[1, 2]", {"result": [1, 2]}),
        ("null", {"result": None}),
        ("plain words, not JSON", {"result": "plain words, not JSON"}),
        ("", {"result": ""}),
        ([{"type": "text", "text": '{"a": 1}'}], {"a": 1}),
        ({"already": "an object"}, {"already": "an object"}),
    ],
)
def test_a_tool_result_is_sent_as_an_object(content: Any, response: dict[str, Any]) -> None:
    body = _body(
        [
            {"role": "assistant", "content": None, "tool_calls": [_call("x", "f")]},
            {"role": "tool", "tool_call_id": "x", "content": content},
        ]
    )
    assert body["contents"][1]["parts"][0]["functionResponse"]["response"] == response


def test_a_result_answers_the_nearest_call_with_its_id() -> None:
    body = _body(
        [
            {"role": "assistant", "content": None, "tool_calls": [_call("call_0", "first")]},
            {"role": "tool", "tool_call_id": "call_0", "content": "1"},
            {"role": "assistant", "content": None, "tool_calls": [_call("call_0", "second")]},
            {"role": "tool", "tool_call_id": "call_0", "content": "2"},
        ]
    )
    names = [c["parts"][0].get("functionResponse", {}).get("name") for c in body["contents"]]
    assert names == [None, "first", None, "second"]


def test_a_result_without_its_call_needs_a_name() -> None:
    body = _body([{"role": "tool", "tool_call_id": "gone", "name": "lookup", "content": "{}"}])
    assert body["contents"] == [
        {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {}}}]}
    ]
    with pytest.raises(InputError) as caught:
        _body(
            [
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "gone", "content": "{}"},
            ]
        )
    assert "messages[1]" in str(caught.value)
    assert "'gone'" in str(caught.value)
    assert caught.value.fix is not None
    assert "name" in caught.value.fix


def test_an_empty_assistant_message_sends_no_empty_turn() -> None:
    body = _body(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": None},
            {"role": "assistant", "content": "", NATIVE_KEY: {"protocol": "gemini", "content": []}},
            {"role": "user", "content": "b"},
        ]
    )
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([{"role": "critic", "content": "x"}], "messages[0] has role 'critic'"),
        ([{"role": "user", "content": 5}], "messages[0].content is int"),
        (
            [{"role": "user", "content": [{"type": "video", "video": {}}]}],
            "messages[0].content[0]",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x.png"}}]}],
            "messages[0].content[0] names 'x.png'",
        ),
        ([{"role": "assistant", "tool_calls": ["not a call"]}], "messages[0].tool_calls[0]"),
    ],
)
def test_bad_messages_are_named_by_their_place(messages: list[Any], where: str) -> None:
    with pytest.raises(InputError) as caught:
        _body(messages)
    assert where in str(caught.value)
    assert caught.value.fix


# ------------------------------------------------------------ tools and options


def test_tools_are_one_function_declarations_tool_lowered_for_gemini() -> None:
    native_search = {"googleSearch": {}}
    body = _body([{"role": "user", "content": "?"}], tools=[WEATHER, native_search])
    (declarations, search) = body["tools"]
    assert search == native_search
    (declaration,) = declarations["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == "Weather in a city"
    parameters = WEATHER["function"]["parameters"]
    assert declaration["parameters"] == lower_parameters(parameters, "gemini")
    assert "additionalProperties" not in declaration["parameters"]  # Gemini has no such field
    assert declaration["parameters"]["properties"] == {"city": {"type": "string"}}


def test_a_tool_without_parameters_or_description_declares_only_its_name() -> None:
    tool = {"type": "function", "function": {"name": "ping"}}
    body = _body([{"role": "user", "content": "?"}], tools=[tool])
    assert body["tools"] == [{"functionDeclarations": [{"name": "ping"}]}]


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "function", "function": {"description": "no name"}},
        {"type": "function", "function": {"name": "f", "parameters": "object"}},
    ],
)
def test_a_tool_gemini_cannot_take_is_refused(tool: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=r"tools\[0\]"):
        _body([{"role": "user", "content": "?"}], tools=[tool])


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice_becomes_the_function_calling_mode(choice: Any, config: Any) -> None:
    body = _body([{"role": "user", "content": "?"}], tools=[WEATHER], tool_choice=choice)
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_an_unknown_tool_choice_is_refused() -> None:
    with pytest.raises(InputError, match="tool_choice 'sometimes'"):
        _body([{"role": "user", "content": "?"}], tool_choice="sometimes")


def test_sampling_options_go_in_generation_config() -> None:
    body = _body(
        [{"role": "user", "content": "?"}],
        temperature=0.2,
        max_tokens=64,
        extra={
            "top_p": 0.9,
            "seed": 7,
            "stop": "END",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}},
            },
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}, "temperature": 0.5},
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
            "toolConfig": {"retrievalConfig": {"languageCode": "en"}},
        },
        tool_choice="auto",
    )
    assert body["generationConfig"] == {
        "temperature": 0.5,  # extra wins
        "maxOutputTokens": 64,
        "topP": 0.9,
        "seed": 7,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"thinkingBudget": 0},
    }
    assert body["safetySettings"][0]["threshold"] == "OFF"
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "AUTO"},
        "retrievalConfig": {"languageCode": "en"},
    }


def test_a_response_format_without_a_gemini_form_is_refused() -> None:
    with pytest.raises(InputError, match="response_format"):
        _body([{"role": "user", "content": "?"}], extra={"response_format": {"type": "xml"}})


# ------------------------------------------------------------ the property


NAMES = st.sampled_from(["get_weather", "get_time", "lookup", "book", "cancel"])


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """OpenAI conversations with tool calls: each assistant turn's results answer some
    of its calls, in any order, as a gemini-2.x (no ids), gemini-3 (ids) or plain
    OpenAI history would hold them."""
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": "sys"})
    for turn in range(draw(st.integers(1, 5))):
        messages.append({"role": "user", "content": draw(st.text(max_size=5))})
        count = draw(st.integers(0, 3))
        names = [draw(NAMES) for _ in range(count)]
        kind = draw(st.sampled_from(["openai", "gemini-2", "gemini-3"]))
        ids = [f"call_T{turn}_{index}" for index in range(count)]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": draw(st.none() | st.text(max_size=5)),
            "tool_calls": [
                _call(i, n, json.dumps({"n": k}))
                for k, (i, n) in enumerate(zip(ids, names, strict=True))
            ],
        }
        if kind != "openai" and count:
            parts: list[dict[str, Any]] = [{"text": "think", "thought": True}]
            for index, name in enumerate(names):
                call: dict[str, Any] = {"name": name, "args": {"n": index}}
                if kind == "gemini-3":
                    call["id"] = ids[index]
                parts.append({"functionCall": call, "thoughtSignature": f"sig{turn}{index}"})
            message[NATIVE_KEY] = {"protocol": "gemini", "content": parts}
        messages.append(message)
        answered = draw(st.permutations(ids))[: draw(st.integers(0, count))]
        messages.extend(
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": draw(st.sampled_from(["1", "{}", "x"])),
            }
            for call_id in answered
        )
    return messages


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_every_function_response_names_a_call_of_the_model_turn_before_it(
    messages: list[dict[str, Any]],
) -> None:
    body = gemini_request("m", ChatRequest(messages))
    roles = [content["role"] for content in body["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # turns alternate
    responses = 0
    called: list[tuple[str, str | None]] = []
    for content in body["contents"]:
        assert content["parts"], "a turn without parts"
        if content["role"] == "model":
            called = [
                (p["functionCall"]["name"], p["functionCall"].get("id"))
                for p in content["parts"]
                if "functionCall" in p
            ]
            continue
        for part in content["parts"]:
            if "functionResponse" not in part:
                continue
            responses += 1
            answer = part["functionResponse"]
            assert answer["name"] in [name for name, _ in called]
            if "id" in answer:  # only an id the call itself carried goes back
                assert (answer["name"], answer["id"]) in called
            assert isinstance(answer["response"], dict)
    assert responses == sum(1 for m in messages if m["role"] == "tool")
