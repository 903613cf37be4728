"""ref/steady: the right tool, arguments from the message that validate, answers from results."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.reference.conftest import GET_WEATHER, SEND_EMAIL, TOOLS, body, chat, validate


def calls_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(name, decoded arguments) of every tool call, each checked against its schema."""
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    found = []
    for call in choice["message"]["tool_calls"]:
        assert call["type"] == "function"
        arguments = json.loads(call["function"]["arguments"])
        validate(call["function"]["name"], arguments)
        found.append((call["function"]["name"], arguments))
    return found


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        (
            "What's the weather in Paris in fahrenheit for the next 3 days?",
            "get_weather",
            {"city": "Paris", "unit": "fahrenheit", "days": 3},
        ),
        (
            'Send an email to alice@example.com with subject "Quarterly report" and body '
            '"Numbers attached", mark it urgent',
            "send_email",
            {
                "to": "alice@example.com",
                "subject": "Quarterly report",
                "body": "Numbers attached",
                "urgent": True,
            },
        ),
        (
            'Schedule a meeting titled "Design review" on 2024-06-03 for 45 minutes with '
            "bob@example.com and carol@example.com in Berlin",
            "create_event",
            {
                "title": "Design review",
                "date": "2024-06-03",
                "duration_minutes": 45,
                "attendees": ["bob@example.com", "carol@example.com"],
                "location": {"city": "Berlin"},
            },
        ),
        (
            "Find flights from Lisbon to Tokyo on 2024-07-01 for 2 passengers in business class",
            "search_flights",
            {
                "origin": "Lisbon",
                "destination": "Tokyo",
                "date": "2024-07-01",
                "passengers": 2,
                "cabin": "business",
            },
        ),
        (
            "Flights please: origin=OSL, destination=JFK, date: 2025-01-15",
            "search_flights",
            {"origin": "OSL", "destination": "JFK", "date": "2025-01-15", "passengers": 1},
        ),
    ],
)
def test_steady_picks_the_matching_tool_and_fills_it_from_the_message(
    client: httpx.Client, text: str, name: str, expected: dict[str, Any]
) -> None:
    assert calls_of(chat(client, body("ref/steady", text, tools=TOOLS))) == [(name, expected)]


def test_required_arguments_absent_from_the_text_get_schema_defaults_or_placeholders(
    client: httpx.Client,
) -> None:
    [(name, arguments)] = calls_of(
        chat(client, body("ref/steady", "Book me some flights", tools=TOOLS))
    )
    assert name == "search_flights"
    assert set(arguments) == {"origin", "destination", "date", "passengers"}  # no optional one
    assert arguments["passengers"] == 1  # the schema's default


def test_a_tool_named_in_the_message_wins(client: httpx.Client) -> None:
    text = "Use send_email to tell the weather team bob@example.com that it rains"
    [(name, arguments)] = calls_of(chat(client, body("ref/steady", text, tools=TOOLS)))
    assert name == "send_email"
    assert arguments["to"] == "bob@example.com"


def test_two_requests_in_one_message_give_parallel_calls(client: httpx.Client) -> None:
    text = (
        "What's the weather in Rome and also send an email to ops@example.com with subject "
        '"Status" and body "All good"'
    )
    calls = calls_of(chat(client, body("ref/steady", text, tools=TOOLS)))
    assert calls == [
        ("get_weather", {"city": "Rome"}),
        ("send_email", {"to": "ops@example.com", "subject": "Status", "body": "All good"}),
    ]


def test_two_tool_names_give_parallel_calls_with_their_own_arguments(
    client: httpx.Client,
) -> None:
    text = "Call get_weather for Oslo, then search_flights from Oslo to Madrid on 2024-09-09"
    calls = calls_of(chat(client, body("ref/steady", text, tools=TOOLS)))
    assert [name for name, _ in calls] == ["get_weather", "search_flights"]
    assert calls[0][1] == {"city": "Oslo"}
    assert calls[1][1]["destination"] == "Madrid"
    assert calls[1][1]["date"] == "2024-09-09"


def test_the_same_tool_twice_for_two_clauses(client: httpx.Client) -> None:
    text = "What's the weather in Paris; and the weather in Tokyo"
    calls = calls_of(chat(client, body("ref/steady", text, tools=[GET_WEATHER])))
    assert calls == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})]


def test_parallel_tool_calls_false_keeps_the_first(client: httpx.Client) -> None:
    text = "Weather in Rome and also weather in Oslo"
    document = body("ref/steady", text, tools=[GET_WEATHER], parallel_tool_calls=False)
    assert calls_of(chat(client, document)) == [("get_weather", {"city": "Rome"})]


def test_an_irrelevant_message_gets_text(client: httpx.Client) -> None:
    response = chat(client, body("ref/steady", "Tell me a joke about penguins", tools=TOOLS))
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]
    assert "penguins" in choice["message"]["content"]


def test_tool_choice_none_answers_in_text(client: httpx.Client) -> None:
    document = body("ref/steady", "Weather in Paris?", tools=TOOLS, tool_choice="none")
    choice = chat(client, document).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]


def test_tool_choice_required_calls_a_tool_even_when_none_is_relevant(
    client: httpx.Client,
) -> None:
    document = body("ref/steady", "Tell me a joke", tools=TOOLS, tool_choice="required")
    [(name, _)] = calls_of(chat(client, document))
    assert name in {t["function"]["name"] for t in TOOLS}


def test_a_named_tool_choice_is_called_alone(client: httpx.Client) -> None:
    choice = {"type": "function", "function": {"name": "send_email"}}
    document = body(
        "ref/steady", "Weather in Paris? Tell a@b.example", tools=TOOLS, tool_choice=choice
    )
    [(name, arguments)] = calls_of(chat(client, document))
    assert name == "send_email"
    assert arguments["to"] == "a@b.example"


def test_after_a_tool_result_the_answer_repeats_the_result(client: httpx.Client) -> None:
    result = {"city": "Paris", "temperature": 18, "conditions": "light rain"}
    document = {
        "model": "ref/steady",
        "tools": TOOLS,
        "messages": [
            {"role": "user", "content": "What's the weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
        ],
    }
    choice = chat(client, document).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert "get_weather" in content
    assert "18" in content
    assert "light rain" in content


def test_without_tools_the_answer_is_text_derived_from_the_prompt(client: httpx.Client) -> None:
    choice = chat(client, body("ref/steady", "Summarise the plot of Hamlet")).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "Hamlet" in choice["message"]["content"]
    echo = chat(client, body("ref/steady", 'Reply with "pong" and nothing else')).json()
    assert echo["choices"][0]["message"]["content"] == "pong"


def test_max_tokens_cuts_a_text_answer(client: httpx.Client) -> None:
    document = body("ref/steady", "Explain the theory of everything " * 5, max_tokens=3)
    choice = chat(client, document).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert len(choice["message"]["content"]) == 12


def test_usage_ids_and_model_follow_the_rules(client: httpx.Client) -> None:
    document = body("ref/steady", "What's the weather in Paris?", tools=[SEND_EMAIL, GET_WEATHER])
    answer = chat(client, document).json()
    messages_json = json.dumps(document["messages"], separators=(",", ":"))
    tools_json = json.dumps(document["tools"], separators=(",", ":"))
    assert answer["usage"]["prompt_tokens"] == (len(messages_json) + len(tools_json)) // 4
    call = answer["choices"][0]["message"]["tool_calls"][0]
    output = call["function"]["name"] + call["function"]["arguments"]
    assert answer["usage"]["completion_tokens"] == len(output) // 4
    assert answer["usage"]["total_tokens"] == (
        answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]
    )
    assert answer["model"] == "ref/steady"
    assert answer["created"] == 1_700_000_000
    assert answer["id"].startswith("chatcmpl-ref-")
    assert call["id"].startswith("call_")
    assert call["id"].endswith("_0")
