"""The Gemini route: the same behaviours as the OpenAI route, in Gemini's shapes.

Plain httpx requests, built as the real API's clients build them (and real request
bodies recorded against generativelanguage.googleapis.com), over the server's socket.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from clearance.reference import FAULT_KINDS, FlakySchedule, ReferenceServer
from tests.reference.conftest import SCHEMAS, TOOLS, body, chat, generate_body, sse, validate

REALDATA = Path(__file__).resolve().parents[1] / "data/realdata/cassettes/gemini"
TWO_CITIES = 'What is the weather in "Oslo"? Also, what is the weather in "Paris"?'


def generate(
    client: httpx.Client, model: str, document: dict[str, Any], *, stream: bool = False
) -> httpx.Response:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return client.post(f"/v1beta/models/{model}:{method}", json=document)


def parts(response: dict[str, Any]) -> list[dict[str, Any]]:
    (candidate,) = response["candidates"]
    assert candidate["content"]["role"] == "model"
    found: list[dict[str, Any]] = candidate["content"]["parts"]
    return found


def answer_calls(turn: list[dict[str, Any]], *, ids: bool) -> dict[str, Any]:
    """The user turn answering every functionCall part of ``turn``."""
    responses = []
    for part in turn:
        if "functionCall" in part:
            call = part["functionCall"]
            response = {"name": call["name"], "response": {"result": {"temp_c": 12}}}
            responses.append(
                {"functionResponse": {**response, **({"id": call["id"]} if ids else {})}}
            )
    return {"role": "user", "parts": responses}


@pytest.mark.parametrize(("model", "ids"), [("ref-2.5-steady", False), ("ref-3-steady", True)])
def test_function_calls_and_their_responses_answer_as_on_the_openai_route(
    native: httpx.Client, client: httpx.Client, model: str, ids: bool
) -> None:
    first = generate_body(TWO_CITIES, tools=TOOLS)
    answer = generate(native, model, first)
    assert answer.status_code == 200
    response = answer.json()
    assert response["modelVersion"] == model
    assert len(response["responseId"]) == 22
    assert response["candidates"][0]["finishReason"] == "STOP"  # also after function calls
    turn = parts(response)
    calls = [part["functionCall"] for part in turn]
    assert [(c["name"], c["args"]) for c in calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Paris"}),
    ]
    # a 3.x-style model gives each call an id; a 2.x-style one none
    assert all(("id" in call) is ids for call in calls)
    # the first function-call part carries the thought signature, the others none
    assert "thoughtSignature" in turn[0]
    assert "thoughtSignature" not in turn[1]
    usage = response["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )
    second = {
        **first,
        "contents": [
            *first["contents"],
            {"role": "model", "parts": turn},
            answer_calls(turn, ids=ids),
        ],
    }
    final = generate(native, model, second).json()
    (text,) = [part["text"] for part in parts(final)]

    # the same conversation on the OpenAI route ends in the same words
    said = chat(client, body("ref/steady", TWO_CITIES, tools=TOOLS)).json()["choices"][0]["message"]
    results = [
        {"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"temp_c": 12})}
        for call in said["tool_calls"]
    ]
    document = body("ref/steady", TWO_CITIES, tools=TOOLS)
    document["messages"] += [said, *results]
    assert chat(client, document).json()["choices"][0]["message"]["content"] == text
    assert text.count("temp_c: 12") == 2


def test_a_stream_sends_whole_responses_as_events(native: httpx.Client) -> None:
    document = generate_body(TWO_CITIES, tools=TOOLS)
    plain = generate(native, "ref-3-steady", document).json()
    streamed = generate(native, "ref-3-steady", document, stream=True)
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "text/event-stream"
    assert "\r\n\r\n" in streamed.text  # Google ends each event with CRLF CRLF
    events = [data for _, data in sse(streamed.text)]
    assert all(event["modelVersion"] == "ref-3-steady" for event in events)
    assert len({event["responseId"] for event in events}) == 1
    # the calls come whole, in one response; the last has the finish reason and the usage
    calls = [part for event in events for part in parts(event) if "functionCall" in part]
    assert calls == parts(plain)
    assert "finishReason" not in events[0]["candidates"][0]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["usageMetadata"] == plain["usageMetadata"]
    # without alt=sse, the same responses as one JSON array
    array = native.post("/v1beta/models/ref-3-steady:streamGenerateContent", json=document)
    assert array.json() == events


def test_text_streams_in_pieces_and_thoughts_when_asked(native: httpx.Client) -> None:
    document = generate_body(
        'Say "the quick brown fox jumps over the lazy dog"',
        generationConfig={"thinkingConfig": {"includeThoughts": True}},
    )
    plain = parts(generate(native, "ref-2.5-steady", document).json())
    assert plain[0]["thought"] is True
    assert "not a real model" in plain[0]["text"]
    assert plain[1] == {"text": "the quick brown fox jumps over the lazy dog"}
    events = [
        data for _, data in sse(generate(native, "ref-2.5-steady", document, stream=True).text)
    ]
    texts = [p["text"] for e in events for p in parts(e) if not p.get("thought")]
    assert len(texts) > 2
    assert "".join(texts) == plain[1]["text"]
    counts = [e["usageMetadata"]["candidatesTokenCount"] for e in events[1:]]
    assert counts == sorted(counts)  # the usage so far, growing


def test_a_thought_signature_must_come_back_unchanged(native: httpx.Client) -> None:
    document = generate_body('What is the weather in "Oslo"?', tools=TOOLS)
    turn = parts(generate(native, "ref-3-steady", document).json())

    def follow_up(model: str, sent: list[dict[str, Any]]) -> httpx.Response:
        contents = [
            *document["contents"],
            {"role": "model", "parts": sent},
            answer_calls(turn, ids=True),
        ]
        return generate(native, model, {**document, "contents": contents})

    assert follow_up("ref-3-steady", turn).status_code == 200
    signature = turn[0]["thoughtSignature"]
    # Google's clients send the bytes back in the URL-safe alphabet: the same signature
    urlsafe = [{**turn[0], "thoughtSignature": signature.replace("+", "-").replace("/", "_")}]
    assert follow_up("ref-3-steady", urlsafe).status_code == 200
    altered_args = [
        {**turn[0], "functionCall": {**turn[0]["functionCall"], "args": {"city": "Rome"}}}
    ]
    corrupted = follow_up("ref-3-steady", altered_args)
    assert corrupted.status_code == 400
    assert corrupted.json() == {
        "error": {
            "code": 400,
            "message": "Corrupted thought signature.",
            "status": "INVALID_ARGUMENT",
        }
    }
    unsigned = [{"functionCall": turn[0]["functionCall"]}]
    missing = follow_up("ref-3-steady", unsigned)  # a 3.x model wants it back
    assert missing.status_code == 400
    assert "missing a thought_signature" in missing.json()["error"]["message"]
    assert "`default_api:get_weather` , position 1" in missing.json()["error"]["message"]
    assert follow_up("ref-2.5-steady", unsigned).status_code == 200  # a 2.x model does not


def test_openapi_schemas_and_snake_case_fields_are_read(native: httpx.Client) -> None:
    document = {
        "contents": [{"parts": [{"text": 'What is the weather in "Oslo"?'}]}],  # no role: user
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "tools": [
            {
                "function_declarations": [
                    {
                        "name": "get_weather",
                        "description": "Get the current weather forecast for a city",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}},
                            "required": ["city"],
                        },
                    }
                ]
            },
            {"googleSearch": {}},  # the API's own tool: not the model's to call
        ],
        "tool_config": {
            "function_calling_config": {"mode": "ANY", "allowed_function_names": ["get_weather"]}
        },
    }
    turn = parts(generate(native, "ref-2.5-steady", document).json())
    assert turn[0]["functionCall"] == {"name": "get_weather", "args": {"city": "Oslo"}}


def test_tool_config_none_answers_in_text(native: httpx.Client) -> None:
    document = generate_body(
        'What is the weather in "Oslo"?',
        tools=TOOLS,
        toolConfig={"functionCallingConfig": {"mode": "NONE"}},
    )
    turn = parts(generate(native, "ref-2.5-steady", document).json())
    assert list(turn[0]) == ["text"]


def test_flaky_fails_with_google_errors_then_answers(native: httpx.Client) -> None:
    document = generate_body("What's the weather in Paris?", tools=TOOLS)
    limited = generate(native, "ref-3-flaky", document)
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["code"] == 429
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
    ]
    assert "retry-after" not in limited.headers  # Google says it in the body only
    unavailable = generate(native, "ref-3-flaky", document)
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["status"] == "UNAVAILABLE"
    answered = generate(native, "ref-3-flaky", document, stream=True)  # same request, streamed
    assert answered.status_code == 200
    assert answered.headers["x-reference-attempt"] == "3"


@pytest.mark.parametrize(
    ("model", "document", "status", "name", "message"),
    [
        (
            "gemini-2.5-flash",
            generate_body("hi"),
            404,
            "NOT_FOUND",
            "models/gemini-2.5-flash is not found",
        ),
        ("ref-3-status-500", generate_body("hi"), 500, "INTERNAL", "ref/status-500"),
        ("ref-3-status-402", generate_body("hi"), 402, "FAILED_PRECONDITION", "credits"),
        (
            "ref-2.5-context-small",
            generate_body("word " * 9_000),
            400,
            "INVALID_ARGUMENT",
            "exceeds the maximum number of tokens allowed (2000)",
        ),
        ("ref-3-steady", {"contents": []}, 400, "INVALID_ARGUMENT", "contents is not specified"),
        (
            "ref-3-steady",
            {"contents": [{"role": "user", "parts": []}]},
            400,
            "INVALID_ARGUMENT",
            "contents.parts must not be empty",
        ),
        ("ref-3-error-in-200", generate_body("hi"), 200, "UNAVAILABLE", "ref/error-in-200"),
    ],
)
def test_errors_come_in_googles_shape(
    native: httpx.Client,
    model: str,
    document: dict[str, Any],
    status: int,
    name: str,
    message: str,
) -> None:
    answer = generate(native, model, document)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["status"] == name
    assert message in error["message"]


def test_a_stream_error_comes_after_the_first_text(native: httpx.Client) -> None:
    events = [
        d
        for _, d in sse(
            generate(native, "ref-3-stream-error", generate_body("Say hello"), stream=True).text
        )
    ]
    assert len(events) == 2
    assert parts(events[0])[0]["text"]
    assert events[1]["error"]["status"] == "UNAVAILABLE"


def test_keys_go_in_x_goog_api_key_or_the_query() -> None:
    with ReferenceServer(api_key="secret") as server, httpx.Client(base_url=server.origin) as http:
        document = generate_body("hi")
        missing = generate(http, "ref-3-steady", document)
        assert missing.status_code == 403
        assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
        wrong = http.post(
            "/v1beta/models/ref-3-steady:generateContent",
            json=document,
            headers={"x-goog-api-key": "guess"},
        )
        assert wrong.status_code == 400
        assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        right = http.post(
            "/v1beta/models/ref-3-steady:generateContent",
            json=document,
            headers={"x-goog-api-key": "secret"},
        )
        assert right.status_code == 200
        by_query = http.post(
            "/v1beta/models/ref-3-steady:generateContent?key=secret", json=document
        )
        assert by_query.status_code == 200


def test_models_in_googles_shape(native: httpx.Client) -> None:
    listing = native.get("/v1beta/models").json()
    assert listing["simulator"] is True
    names = [model["name"] for model in listing["models"]]
    assert names[:4] == [
        "models/ref-2.5-steady",
        "models/ref-3-steady",
        "models/ref-2.5-sloppy",
        "models/ref-3-sloppy",
    ]
    assert all("not a real model" in model["displayName"] for model in listing["models"])
    assert all(model["description"].startswith("SIMULATOR") for model in listing["models"])
    one = native.get("/v1beta/models/ref-3-steady").json()
    assert one == listing["models"][1]
    assert one["supportedGenerationMethods"] == ["generateContent"]
    assert native.get("/v1beta/models/gemini-2.5-flash").status_code == 404


def test_sloppy_faults_are_those_an_object_can_carry(native: httpx.Client) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for index in range(120):
        text = f"Find flights from Lisbon to Tokyo on 2024-07-01 for 2 passengers (request {index})"
        answer = generate(native, "ref-2.5-sloppy", generate_body(text, tools=TOOLS))
        (call,) = [p["functionCall"] for p in parts(answer.json())]
        assert isinstance(call["args"], dict)  # Gemini sends an object: never broken JSON
        fault = answer.headers.get("x-reference-fault")
        kinds[fault or "none"] += 1
        if fault is None:
            validate("search_flights", call["args"])
        elif fault == "invented_tool":
            assert call["name"] not in SCHEMAS
        elif fault in ("wrong_type", "missing_required"):
            with pytest.raises(jsonschema.ValidationError):
                validate(call["name"], call["args"])
    assert set(kinds) == {"none", *(k for k in FAULT_KINDS if k != "malformed_json")}
    assert 0.15 < 1 - kinds["none"] / 120 < 0.45


def _recorded(path: str) -> list[tuple[str, dict[str, Any]]]:
    document = yaml.safe_load((REALDATA / path).read_text())
    found = []
    for interaction in document["interactions"]:
        request = interaction["request"]
        sent = request.get("parsed_body") or json.loads(request["body"])
        found.append((request["uri"], sent))
    return found


def test_real_request_bodies_are_answered() -> None:
    """google-genai's recorded request to gemini-2.0-flash (OpenAPI schemas, a system
    instruction), sent to ref-2.5-steady on the same path."""
    ((uri, sent),) = _recorded("openinference/test_response_with_multiple_tool_calls[True].yaml")
    path = uri.split("googleapis.com", 1)[1].replace("gemini-2.0-flash", "ref-2.5-steady")
    with ReferenceServer() as server, httpx.Client(base_url=server.origin) as http:
        answer = http.post(path, json=sent)
    assert answer.status_code == 200
    (event,) = [data for _, data in sse(answer.text) if parts(data)[0].get("functionCall")]
    assert parts(event)[0]["functionCall"]["name"] == "get_weather"


def test_a_real_signature_from_another_model_is_refused() -> None:
    """gemini-3-pro-preview's real signature (sent back URL-safe, as the client does) is not
    the simulator's: the part counts as corrupted."""
    (_, first), (_, second) = _recorded(
        "pydantic-ai/test_google_streaming_tool_call_thought_signature.yaml"
    )
    with ReferenceServer() as server, httpx.Client(base_url=server.origin) as http:
        asked = generate(http, "ref-3-steady", first, stream=True)
        refused = generate(http, "ref-3-steady", second, stream=True)
    assert asked.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Corrupted thought signature."


def test_flaky_counts_each_protocols_requests_apart() -> None:
    schedule = FlakySchedule(failures=(503,), slow_rate=0, hang_rate=0)
    with ReferenceServer(flaky=schedule) as server, httpx.Client(base_url=server.origin) as http:
        document = generate_body("hello")
        assert generate(http, "ref-3-flaky", document).status_code == 503
        assert generate(http, "ref-2.5-flaky", document).status_code == 503  # another model
        assert generate(http, "ref-3-flaky", document).status_code == 200
