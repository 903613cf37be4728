"""ref/flaky: per request 429 (Retry-After), 503, then success; slow and hung answers."""

from __future__ import annotations

import threading

import httpx
import pytest

from clearance.reference import FlakySchedule, ReferenceServer
from tests.reference.conftest import TOOLS, body, chat


def test_each_distinct_request_fails_429_then_503_then_succeeds(client: httpx.Client) -> None:
    first = body("ref/flaky", "What's the weather in Paris?", tools=TOOLS)
    other = body("ref/flaky", "What's the weather in Rome?", tools=TOOLS)
    limited = chat(client, first)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["code"] == 429
    assert chat(client, other).status_code == 429  # counted per distinct request
    unavailable = chat(client, first)
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["code"] == 503
    answered = chat(client, first)
    assert answered.status_code == 200
    assert answered.headers["x-reference-attempt"] == "3"
    assert answered.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == (
        "get_weather"
    )
    assert chat(client, first).status_code == 200  # and from then on
    streamed = chat(client, {**first, "stream": True})  # the same request, streamed
    assert streamed.status_code == 200


def test_the_schedule_is_configurable() -> None:
    schedule = FlakySchedule(failures=(500,), retry_after_s=3, slow_rate=0, hang_rate=0)
    with (
        ReferenceServer(flaky=schedule) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        document = body("ref/flaky", "hello")
        assert chat(http, document).status_code == 500
        assert chat(http, document).status_code == 200


def test_a_failing_rate_below_one_spares_some_requests() -> None:
    schedule = FlakySchedule(failing_rate=0.5, slow_rate=0, hang_rate=0)
    with (
        ReferenceServer(seed=1, flaky=schedule) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        statuses = [chat(http, body("ref/flaky", f"hello {i}")).status_code for i in range(40)]
    assert statuses.count(429) == 22  # deterministic for seed 1
    assert statuses.count(200) == 18


def test_slow_answers_say_their_delay() -> None:
    schedule = FlakySchedule(failures=(), slow_rate=1.0, slow_s=0.01, hang_rate=0)
    with (
        ReferenceServer(flaky=schedule) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        response = chat(http, body("ref/flaky", "hello"))
    assert response.status_code == 200
    assert response.headers["x-reference-delay-ms"] == "10"


def test_a_hang_outlasts_the_client_and_the_retry_is_answered() -> None:
    schedule = FlakySchedule(failures=(), slow_rate=0, hang_rate=1.0, hang_s=30)
    with (
        ReferenceServer(flaky=schedule) as server,
        httpx.Client(base_url=server.base_url, timeout=0.2) as http,
    ):
        document = body("ref/flaky", "hello")
        with pytest.raises(httpx.ReadTimeout):
            chat(http, document)
        assert chat(http, document).status_code == 200


def test_stopping_the_server_ends_a_hang() -> None:
    server = ReferenceServer().start()
    outcome: list[BaseException | int] = []

    def wait_for_answer() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            try:
                outcome.append(chat(http, body("ref/hang", "hello")).status_code)
            except httpx.HTTPError as error:
                outcome.append(error)

    waiter = threading.Thread(target=wait_for_answer)
    waiter.start()
    while not server.pending:
        threading.Event().wait(0.01)
    server.stop()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


def test_flaky_schedule_checks_its_numbers() -> None:
    with pytest.raises(ValueError, match="slow_rate"):
        FlakySchedule(slow_rate=1.5)
    with pytest.raises(ValueError, match="HTTP error statuses"):
        FlakySchedule(failures=(200,))
    with pytest.raises(ValueError, match="at most 1"):
        FlakySchedule(slow_rate=0.6, hang_rate=0.6)
