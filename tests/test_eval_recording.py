"""Recording and replaying eval traffic: cassettes, record modes, matching, scrubbing.

The "network" is an ``httpx.MockTransport`` answering like an OpenAI-compatible provider;
replays run with an inner transport that fails the test if it is ever called.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr

from clearance.errors import (
    BrokenCassette,
    InputError,
    InvalidModelId,
    MissingRecording,
    RecordedProviderFailure,
    RecordingError,
    RecordingMismatch,
    StaleRecording,
    UnplayedRecording,
)
from clearance.evaluation.cassettes import encode_sse, render_sse
from clearance.evaluation.matching import json_body
from clearance.evaluation.recording import (
    RECORD_MODES,
    CaseCassette,
    CassetteLibrary,
    CassettePersister,
    CassetteSerializer,
    RecordingTransport,
    RecordMode,
    cassette_holds_failure,
    cassette_path,
    default_record_mode,
    replaying_now,
)
from clearance.evaluation.scrub import scan_for_secrets
from clearance.providers.base import ChatRequest
from clearance.providers.openai import OpenAICompatibleProvider

MODEL = "ref:ref/steady"
CASE = "cancel_meeting"
FINGERPRINT = {"case": "c0ffee", "tools": {"create_event": "2.0.0/ab12"}}
SECRET = "sk-or-v1-" + "7e" * 24
URL = "http://127.0.0.1:54321/v1/chat/completions"


# -- a scripted OpenAI-compatible network -----------------------------------------------------


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "steady",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def _sse(text: str) -> bytes:
    chunks: list[dict[str, Any]] = [
        {"id": "c1", "model": "steady", "choices": [{"index": 0, "delta": {"content": part}}]}
        for part in (text[:2], text[2:])
    ]
    chunks.append(
        {
            "id": "c1",
            "model": "steady",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        }
    )
    events = [": OPENROUTER PROCESSING"] + [f"data: {json.dumps(c)}" for c in chunks]
    return ("\n\n".join([*events, "data: [DONE]"]) + "\n\n").encode()


class Network:
    """Answers chat completions: ``"<version>: <last message>"``, streamed when asked.

    ``script`` holds responses served first, whatever the request (429 then 200...).
    """

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.calls: list[httpx.Request] = []
        self.script: list[httpx.Response] = []
        self.transport = httpx.MockTransport(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.script:
            return self.script.pop(0)
        body = json.loads(request.content)
        text = f"{self.version}: {body['messages'][-1]['content']}"
        if body.get("stream"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=_sse(text)
            )
        return httpx.Response(200, json=_completion(text), headers={"set-cookie": "session=1"})


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a replay used the network: {request.method} {request.url}")


NO_NETWORK = httpx.MockTransport(_no_network)


def _library(root: Path, mode: RecordMode, **kwargs: Any) -> CassetteLibrary:
    return CassetteLibrary(root, mode, environ=kwargs.pop("environ", {}), **kwargs)


def _body(content: str, *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "steady", "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return body


async def _ask(client: httpx.AsyncClient, content: str, url: str = URL) -> str:
    response = await client.post(url, json=_body(content))
    return str(response.json()["choices"][0]["message"]["content"])


def _run_trials(
    library: CassetteLibrary,
    inner: httpx.AsyncBaseTransport,
    trials: dict[int, list[str]],
    *,
    case: str = CASE,
    fingerprint: dict[str, Any] | None = None,
) -> tuple[CaseCassette, dict[int, list[str]]]:
    """Open the cassette, send each trial's messages in order, finish; the answers."""
    cassette = library.open(MODEL, case, fingerprint=fingerprint or FINGERPRINT)
    answers: dict[int, list[str]] = {}

    async def main() -> None:
        async with httpx.AsyncClient(transport=RecordingTransport(inner_async=inner)) as client:
            for trial, messages in trials.items():
                with cassette.use(trial):
                    answers[trial] = [await _ask(client, m) for m in messages]

    asyncio.run(main())
    cassette.finish()
    return cassette, answers


def _file(root: Path, case: str = CASE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cassette_path(root, MODEL, case).read_text())
    return data


# -- modes and paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({}, "once"),
        ({"CI": ""}, "once"),
        ({"CI": "0"}, "once"),
        ({"CI": "false"}, "once"),
        ({"CI": "No"}, "once"),
        ({"CI": "true"}, "none"),
        ({"CI": "1"}, "none"),
    ],
)
def test_the_default_record_mode_replays_strictly_on_ci(
    environ: dict[str, str], mode: RecordMode
) -> None:
    assert default_record_mode(environ) == mode
    assert set(RECORD_MODES) == {"none", "once", "new", "all"}


def test_a_cassette_lives_under_provider_and_model_name(tmp_path: Path) -> None:
    assert cassette_path(tmp_path, "ref:ref/steady", "cancel_meeting") == (
        tmp_path / "ref" / "ref" / "steady" / "cancel_meeting.json"
    )
    assert cassette_path(tmp_path, "openrouter:openai/gpt-4o:free", "a b") == (
        tmp_path / "openrouter" / "openai" / "gpt-4o_free" / "a_b.json"
    )
    for bad in ("ref:../etc", "ref:a//b", "steady", "ref:"):
        with pytest.raises(InvalidModelId):
            cassette_path(tmp_path, bad, "case")
    with pytest.raises(InputError):
        cassette_path(tmp_path, MODEL, "..")


# -- record, then replay -------------------------------------------------------------------------


def test_once_records_a_new_cassette_and_replays_it_with_no_network(tmp_path: Path) -> None:
    network = Network()
    recorded, answers = _run_trials(
        _library(tmp_path, "once"), network.transport, {1: ["hello", "again"], 2: ["hello"]}
    )
    assert not recorded.replaying
    assert recorded.interactions_recorded == 3
    assert len(network.calls) == 3
    data = _file(tmp_path)
    assert data["version"] == 1
    header = data["clearance"]
    assert header["format"] == 1
    assert (header["model"], header["case"], header["trials"]) == (MODEL, CASE, 2)
    assert header["fingerprint"] == FINGERPRINT
    assert header["recorded_at"].endswith("Z")
    assert [i["trial"] for i in data["interactions"]] == [1, 1, 2]
    first = data["interactions"][0]
    assert first["request"]["body"] == {"json": _body("hello")}
    assert first["response"]["body"]["json"]["choices"][0]["message"]["content"] == "v1: hello"
    assert first["response"]["status"] == {"code": 200, "message": "OK"}
    text = cassette_path(tmp_path, MODEL, CASE).read_text()
    assert text.endswith("}\n")
    assert '\n  "interactions": [\n    {\n' in text  # 2-space indent, sorted keys

    replayed, again = _run_trials(
        _library(tmp_path, "none"), NO_NETWORK, {1: ["hello", "again"], 2: ["hello"]}
    )
    assert replayed.replaying
    assert replayed.interactions_played == 3
    assert again == answers == {1: ["v1: hello", "v1: again"], 2: ["v1: hello"]}


def test_the_provider_parses_replayed_answers_and_streams(tmp_path: Path) -> None:
    def provider(transport: RecordingTransport, port: int) -> OpenAICompatibleProvider:
        return OpenAICompatibleProvider(
            "ref",
            f"http://127.0.0.1:{port}/v1",
            api_key=SECRET,
            async_transport=transport,
            transport=transport,
        )

    async def trial(library: CassetteLibrary, inner: httpx.AsyncBaseTransport, port: int) -> Any:
        client = provider(RecordingTransport(inner_async=inner), port)
        cassette = library.open(MODEL, CASE, fingerprint=FINGERPRINT)
        chunks: list[Any] = []
        with cassette.use(1):
            plain = await client.acomplete(
                "steady", ChatRequest([{"role": "user", "content": "a"}])
            )
            streamed = await client.acomplete(
                "steady",
                ChatRequest([{"role": "user", "content": "b"}], stream=True),
                on_chunk=chunks.append,
            )
        cassette.finish()
        await client.aclose()
        return plain.response, streamed.response, len(chunks)

    network = Network()
    recorded = asyncio.run(trial(_library(tmp_path, "once"), network.transport, 54321))
    # the reference server's port differs on every run; replay ignores scheme, host and port
    replayed = asyncio.run(trial(_library(tmp_path, "none"), NO_NETWORK, 40404))
    assert replayed == recorded
    plain, streamed, chunks = replayed
    assert plain.content == "v1: a"
    assert plain.usage.completion_tokens == 2
    assert streamed.content == "v1: b"
    assert streamed.finish_reason == "stop"
    assert streamed.usage.completion_tokens == 2
    assert chunks == 3
    sse = _file(tmp_path)["interactions"][1]["response"]["body"]["sse"]
    assert sse[0] == [": OPENROUTER PROCESSING"]  # a comment is kept, verbatim
    assert sse[1]["choices"][0]["delta"] == {"content": "v1"}  # chunks stored parsed
    assert sse[-1] == "[DONE]"

    # the sync client replays the same cassette
    transport = RecordingTransport(inner_sync=httpx.MockTransport(_no_network))
    sync = provider(transport, 1)
    cassette = _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT)
    with cassette.use(1):
        assert sync.complete(
            "steady", ChatRequest([{"role": "user", "content": "a"}])
        ).response == (plain)
        stream = ChatRequest([{"role": "user", "content": "b"}], stream=True)
        assert sync.complete("steady", stream).response == streamed
    cassette.finish()
    sync.close()


def test_retries_of_one_body_replay_in_recorded_order(tmp_path: Path) -> None:
    network = Network()
    network.script = [
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "2"}),
        httpx.Response(503, text="upstream unavailable"),
    ]

    async def three_tries(library: CassetteLibrary, inner: httpx.AsyncBaseTransport) -> list[Any]:
        cassette = library.open(MODEL, CASE, fingerprint=FINGERPRINT)
        seen = []
        async with httpx.AsyncClient(transport=RecordingTransport(inner_async=inner)) as client:
            with cassette.use(1):
                for _ in range(3):
                    response = await client.post(URL, json=_body("hi"))
                    seen.append((response.status_code, response.headers.get("retry-after")))
        cassette.finish()
        return seen

    recorded = asyncio.run(three_tries(_library(tmp_path, "once"), network.transport))
    replayed = asyncio.run(three_tries(_library(tmp_path, "none"), NO_NETWORK))
    assert recorded == replayed == [(429, "2"), (503, None), (200, None)]
    bodies = [i["response"]["body"] for i in _file(tmp_path)["interactions"]]
    assert bodies[1] == {"string": "upstream unavailable"}


def test_once_refuses_to_add_to_an_existing_cassette(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["hello"]})
    before = cassette_path(tmp_path, MODEL, CASE).read_bytes()
    network = Network()
    with pytest.raises(MissingRecording) as caught:
        _run_trials(_library(tmp_path, "once"), network.transport, {1: ["hello", "more"]})
    assert "record mode 'once' never adds to an existing cassette" in str(caught.value)
    assert "request #2 of the trial" in str(caught.value)
    assert caught.value.trial == 1
    with pytest.raises(MissingRecording, match="nothing was recorded for this trial"):
        _run_trials(_library(tmp_path, "once"), network.transport, {1: ["hello"], 2: ["hello"]})
    assert network.calls == []
    assert cassette_path(tmp_path, MODEL, CASE).read_bytes() == before


def test_new_replays_what_is_recorded_and_appends_a_missing_trial(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network("v1").transport, {1: ["hello"]})
    network = Network("v2")
    trials = {1: ["hello", "more"], 2: ["hello"]}
    cassette, answers = _run_trials(_library(tmp_path, "new"), network.transport, trials)
    assert cassette.replaying
    # trial 1 replays what it holds and records what goes past it; trial 2 is recorded
    assert answers == {1: ["v1: hello", "v2: more"], 2: ["v2: hello"]}
    assert len(network.calls) == 2
    assert (cassette.interactions_played, cassette.interactions_recorded) == (1, 2)
    data = _file(tmp_path)
    assert data["clearance"]["trials"] == 2
    assert [i["trial"] for i in data["interactions"]] == [1, 1, 2]
    _, replayed = _run_trials(_library(tmp_path, "none"), NO_NETWORK, trials)
    assert replayed == answers


def test_replaying_now_tells_a_replayed_answer_from_a_recorded_one(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    cassette = _library(tmp_path, "new").open(MODEL, CASE, fingerprint=FINGERPRINT)
    seen = []

    async def main() -> None:
        transport = RecordingTransport(inner_async=Network().transport)
        async with httpx.AsyncClient(transport=transport) as client:
            seen.append(replaying_now())  # no cassette active
            for trial in (1, 2):
                with cassette.use(trial):
                    await _ask(client, "a")
                    seen.append(replaying_now())

    asyncio.run(main())
    cassette.finish()
    assert seen == [False, True, False]


def test_new_rerecords_a_trial_from_where_it_differs(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network("v1").transport, {1: ["a", "b", "c"]})
    network = Network("v2")
    _, answers = _run_trials(_library(tmp_path, "new"), network.transport, {1: ["a", "B"]})
    assert answers == {1: ["v1: a", "v2: B"]}
    recorded = [
        i["request"]["body"]["json"]["messages"][0]["content"]
        for i in _file(tmp_path)["interactions"]
    ]
    assert recorded == ["a", "B"]  # "c", recorded after the difference, is dropped

    # a trial that sends fewer requests than recorded: new drops the rest
    _run_trials(_library(tmp_path, "new"), NO_NETWORK, {1: ["a"]})
    assert len(_file(tmp_path)["interactions"]) == 1


def test_all_records_everything_again_and_overwrites(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network("v1").transport, {1: ["a"], 2: ["a"]})
    network = Network("v2")
    cassette, answers = _run_trials(_library(tmp_path, "all"), network.transport, {1: ["a"]})
    assert not cassette.replaying
    assert answers == {1: ["v2: a"]}
    assert len(network.calls) == 1
    data = _file(tmp_path)
    assert data["clearance"]["trials"] == 1
    assert data["interactions"][0]["response"]["body"]["json"]["choices"][0]["message"][
        "content"
    ] == ("v2: a")


def test_an_unchanged_replay_does_not_rewrite_the_file(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    path = cassette_path(tmp_path, MODEL, CASE)
    stamp = path.stat().st_mtime_ns
    for mode in ("none", "once", "new"):
        _run_trials(_library(tmp_path, mode), NO_NETWORK, {1: ["a"]})
    assert path.stat().st_mtime_ns == stamp


# -- errors ----------------------------------------------------------------------------------------


def test_a_mismatch_names_the_json_pointer_both_values_and_the_fix(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"], 2: ["Book it"]})
    library = _library(tmp_path, "none", rerecord_command=lambda m, c: f"rerecord {m} {c}")
    with pytest.raises(RecordingMismatch) as caught:
        _run_trials(library, NO_NETWORK, {1: ["a"], 2: ["Cancel it"]})
    error = caught.value
    assert (error.model_id, error.case_id, error.trial) == (MODEL, CASE, 2)
    assert error.path == str(cassette_path(tmp_path, MODEL, CASE))
    assert error.fix == f"re-record it: rerecord {MODEL} {CASE}"
    text = str(error)
    assert "/messages/0/content" in text
    assert 'recorded "Book it", sent "Cancel it"' in text
    assert "trial 2" in text
    assert error.path in text

    async def other_path() -> None:
        cassette = library.open(MODEL, CASE, fingerprint=FINGERPRINT)
        async with httpx.AsyncClient(transport=RecordingTransport(NO_NETWORK)) as client:
            with cassette.use(1):
                await client.post(URL.replace("chat/completions", "completions"), json=_body("a"))

    with pytest.raises(RecordingMismatch, match=r"path differs .*/v1/completions != /v1/chat"):
        asyncio.run(other_path())


def test_a_long_value_is_shown_truncated(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["x" * 500]})
    with pytest.raises(RecordingMismatch) as caught:
        _run_trials(_library(tmp_path, "none"), NO_NETWORK, {1: ["y" * 500]})
    assert '"yyy' in str(caught.value)
    assert "y" * 120 not in str(caught.value)
    assert "…" in str(caught.value)


def test_json_body_compares_values_and_types(tmp_path: Path) -> None:
    def request(body: bytes) -> Any:
        return vcr.request.Request("POST", URL, body, {})

    json_body(request(b'{"a": 1, "b": [1, 2]}'), request(b'{"b":[1,2],"a":1}'))
    for sent, recorded, where in [
        (b'{"a": 1}', b'{"a": 1.0}', "/a"),
        (b'{"a": true}', b'{"a": 1}', "/a"),
        (b'{"a": [1]}', b'{"a": [1, 2]}', "/a/1"),
        (b'{"a/b": {"c": 1}}', b'{"a/b": {}}', "/a~1b/c"),
    ]:
        with pytest.raises(AssertionError, match=f"at {where}:"):
            json_body(request(sent), request(recorded))


def test_none_without_a_cassette_raises_missing_recording(tmp_path: Path) -> None:
    with pytest.raises(MissingRecording) as caught:
        _run_trials(_library(tmp_path, "none"), NO_NETWORK, {1: ["a"]})
    assert "record mode 'none' never records" in str(caught.value)
    assert caught.value.fix is not None
    assert f"clearance eval --models {MODEL} --cases {CASE} --record-mode new" in caught.value.fix
    assert not cassette_path(tmp_path, MODEL, CASE).exists()


def test_finish_reports_interactions_a_trial_never_asked_for(tmp_path: Path) -> None:
    _run_trials(
        _library(tmp_path, "once"), Network().transport, {1: ["a", "b", "c"], 2: ["a"], 3: ["a"]}
    )
    with pytest.raises(UnplayedRecording) as caught:
        _run_trials(_library(tmp_path, "none"), NO_NETWORK, {1: ["a"], 2: ["a"]})
    assert "2 recorded interaction(s) were never requested" in str(caught.value)
    assert "trial 1 stopped after 1 of 3" in str(caught.value)
    assert caught.value.trial is None
    # trials that did not run (3 here) are not counted: a run may ask for fewer trials
    cassette, _ = _run_trials(_library(tmp_path, "none"), NO_NETWORK, {1: ["a", "b", "c"]})
    assert cassette.interactions_played == 3


def test_a_changed_fingerprint_makes_the_cassette_stale(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    changed = {"case": "c0ffee", "tools": {"create_event": "2.1.0/cd34", "find_slot": "1.0.0/ee"}}
    for mode in ("none", "once"):
        cassette = _library(tmp_path, mode).open(MODEL, CASE, fingerprint=changed)
        assert cassette.stale_reason == (
            "tool create_event changed: 2.0.0/ab12 → 2.1.0/cd34; tool find_slot added (1.0.0/ee)"
        )
    with pytest.raises(StaleRecording) as caught:
        _run_trials(_library(tmp_path, "once"), NO_NETWORK, {1: ["a"]}, fingerprint=changed)
    assert caught.value.trial == 1
    assert "tool create_event changed" in str(caught.value)
    assert caught.value.fix is not None
    assert "--record-mode new" in caught.value.fix
    stale = _library(tmp_path, "none").open(MODEL, CASE, fingerprint=changed)
    with pytest.raises(StaleRecording):
        stale.finish()  # even a case that sent nothing cannot pass on a stale recording

    network = Network("v2")
    cassette, answers = _run_trials(
        _library(tmp_path, "new"), network.transport, {1: ["a"]}, fingerprint=changed
    )
    assert not cassette.replaying
    assert answers == {1: ["v2: a"]}
    assert _file(tmp_path)["clearance"]["fingerprint"] == changed


def test_a_half_written_cassette_is_broken_and_never_overwritten(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    path = cassette_path(tmp_path, MODEL, CASE)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    for mode in ("none", "once"):
        with pytest.raises(BrokenCassette) as caught:
            _library(tmp_path, mode).open(MODEL, CASE, fingerprint=FINGERPRINT)
        assert "not JSON" in str(caught.value)
        assert "line " in str(caught.value)
        assert "column " in str(caught.value)
        assert str(path) in str(caught.value)
        assert caught.value.fix is not None
        assert caught.value.fix.startswith(f"delete {path}")
    assert path.read_bytes() == whole[: len(whole) // 2]

    data = json.loads(whole)
    del data["interactions"][0]["response"]["status"]
    path.write_text(json.dumps(data))
    with pytest.raises(BrokenCassette, match=r"missing key /interactions/0/response/status"):
        _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT)
    path.write_text("")
    with pytest.raises(BrokenCassette, match="the file is empty"):
        _library(tmp_path, "once").open(MODEL, CASE, fingerprint=FINGERPRINT)

    cassette, _ = _run_trials(_library(tmp_path, "new"), Network().transport, {1: ["a"]})
    assert cassette.stale_reason == "the file is broken (the file is empty)"
    assert _file(tmp_path)["interactions"][0]["trial"] == 1


# -- provider failures ------------------------------------------------------------------------


def _failing_trials(
    library: CassetteLibrary, inner: httpx.AsyncBaseTransport, failing: dict[int, int]
) -> CaseCassette:
    """Trials 1 and 2 each send "hi" (retried once on an error answer); a trial named in
    ``failing`` is marked as ended on a provider failure with that status, as the engine
    marks one."""
    cassette = library.open(MODEL, CASE, fingerprint=FINGERPRINT)

    async def main() -> None:
        async with httpx.AsyncClient(transport=RecordingTransport(inner_async=inner)) as client:
            for trial in (1, 2):
                with cassette.use(trial):
                    for _ in range(2):
                        response = await client.post(URL, json=_body("hi"))
                        if response.status_code < 400:
                            break
                if trial in failing:
                    cassette.mark_failure(
                        trial,
                        "server_error",
                        status_code=failing[trial],
                        message=f"upstream broke (key {SECRET})",
                    )

    asyncio.run(main())
    cassette.finish()
    return cassette


def _broken(status: int = 500) -> list[httpx.Response]:
    return [httpx.Response(status, json={"error": {"message": "upstream broke", "code": status}})]


def test_a_trial_that_ended_on_a_provider_failure_is_kept_and_marked(tmp_path: Path) -> None:
    network = Network()
    network.script = [*_broken(), *_broken()]  # trial 1: 500, 500 (gave up); trial 2: fine
    _failing_trials(
        _library(tmp_path, "all", environ={"REF_API_KEY": SECRET}), network.transport, {1: 500}
    )
    data = _file(tmp_path)
    assert [(i["trial"], i["response"]["status"]["code"]) for i in data["interactions"]] == [
        (1, 500),
        (1, 500),
        (2, 200),
    ]
    assert data["clearance"]["infra_failures"] == [
        {
            "trial": 1,
            "kind": "server_error",
            "status_code": 500,
            "message": "upstream broke (key <redacted>)",
        }
    ]
    assert SECRET not in cassette_path(tmp_path, MODEL, CASE).read_text()
    assert cassette_holds_failure(cassette_path(tmp_path, MODEL, CASE))


def test_replay_only_never_serves_a_recorded_failure_as_an_answer(tmp_path: Path) -> None:
    network = Network()
    network.script = [*_broken(), *_broken()]
    _failing_trials(_library(tmp_path, "once"), network.transport, {1: 500})
    cassette = _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT)
    assert list(cassette.held_failures) == [1]

    async def main() -> tuple[Any, str]:
        async with httpx.AsyncClient(transport=RecordingTransport(NO_NETWORK)) as client:
            with cassette.use(1), pytest.raises(RecordedProviderFailure) as caught:
                await client.post(URL, json=_body("hi"))
            with cassette.use(2):
                return caught.value, await _ask(client, "hi")

    error, answer = asyncio.run(main())
    cassette.finish()  # the failed trial's interactions are not "unplayed"
    assert answer == "v1: hi"
    assert (error.failure_kind, error.status_code, error.trial) == ("server_error", 500, 1)
    assert error.detail == "upstream broke (key <redacted>)"
    assert "holds a provider failure, not the model's answer" in error.message
    assert "HTTP 500 (server_error): upstream broke" in error.message
    assert error.fix is not None
    assert f"clearance eval --models {MODEL} --cases {CASE} --record-mode new" in error.fix
    assert not isinstance(error, UnplayedRecording)
    copy = pickle.loads(pickle.dumps(error))  # errors travel (to pytest-xdist workers...)
    assert (type(copy), str(copy), copy.__dict__) == (type(error), str(error), error.__dict__)


def test_once_records_again_a_cassette_that_holds_a_provider_failure(tmp_path: Path) -> None:
    failing = Network()
    failing.script = [*_broken(), *_broken()]
    _failing_trials(_library(tmp_path, "once"), failing.transport, {1: 500})
    healthy = Network("v2")
    cassette = _failing_trials(_library(tmp_path, "once"), healthy.transport, {})
    assert not cassette.replaying  # not "present": both trials recorded again
    assert len(healthy.calls) == 2
    data = _file(tmp_path)
    assert "infra_failures" not in data["clearance"]
    assert [(i["trial"], i["response"]["status"]["code"]) for i in data["interactions"]] == [
        (1, 200),
        (2, 200),
    ]
    assert not cassette_holds_failure(cassette_path(tmp_path, MODEL, CASE))
    # and now it replays
    again = _failing_trials(_library(tmp_path, "once"), NO_NETWORK, {})
    assert again.replaying


def test_new_records_again_only_the_trials_that_failed(tmp_path: Path) -> None:
    failing = Network()
    failing.script = [*_broken(), *_broken()]
    _failing_trials(_library(tmp_path, "once"), failing.transport, {1: 500})
    healthy = Network("v2")
    cassette = _failing_trials(_library(tmp_path, "new"), healthy.transport, {})
    assert cassette.replaying
    assert len(healthy.calls) == 1  # trial 1 only; trial 2 replayed
    data = _file(tmp_path)
    assert "infra_failures" not in data["clearance"]
    bodies = [
        i["response"]["body"]["json"]["choices"][0]["message"]["content"]
        for i in data["interactions"]
    ]
    assert bodies == ["v2: hi", "v1: hi"]


def test_a_trial_recorded_ending_on_an_error_before_failures_were_marked(tmp_path: Path) -> None:
    # A cassette written before trials were marked: trial 1 ends on a 401, unmarked.
    network = Network()
    network.script = _broken(401) + _broken(401)
    _failing_trials(_library(tmp_path, "once"), network.transport, {})
    assert "infra_failures" not in _file(tmp_path)["clearance"]
    path = cassette_path(tmp_path, MODEL, CASE)
    assert cassette_holds_failure(path)
    held = _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT).held_failures
    assert list(held) == [1]
    assert (held[1].kind, held[1].status_code, held[1].message) == ("auth", 401, "upstream broke")
    healthy = Network("v2")
    _failing_trials(_library(tmp_path, "once"), healthy.transport, {})
    assert len(healthy.calls) == 2
    assert not cassette_holds_failure(path)


def test_a_failure_with_no_answer_is_kept_in_the_header(tmp_path: Path) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    cassette = _library(tmp_path, "all").open(MODEL, CASE, fingerprint=FINGERPRINT)

    async def main() -> None:
        inner = httpx.MockTransport(timeout)
        async with httpx.AsyncClient(transport=RecordingTransport(inner_async=inner)) as client:
            with cassette.use(1), pytest.raises(httpx.ReadTimeout):
                await client.post(URL, json=_body("hi"))
        cassette.mark_failure(1, "timeout", message="no answer in time (ReadTimeout)")

    asyncio.run(main())
    cassette.finish()
    data = _file(tmp_path)
    assert data["interactions"] == []
    assert data["clearance"]["trials"] == 1
    assert data["clearance"]["infra_failures"][0]["kind"] == "timeout"
    with pytest.raises(RecordedProviderFailure, match="timeout: no answer in time"):
        _run_trials(_library(tmp_path, "none"), NO_NETWORK, {1: ["hi"]})


def test_a_malformed_failure_entry_is_a_broken_cassette(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    path = cassette_path(tmp_path, MODEL, CASE)
    data = json.loads(path.read_text())
    data["clearance"]["infra_failures"] = [{"trial": 0, "kind": "server_error"}]
    path.write_text(json.dumps(data))
    with pytest.raises(BrokenCassette, match="/clearance/infra_failures/0/trial"):
        _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT)
    data["clearance"]["infra_failures"] = [{"trial": 1, "kind": "x", "status_code": "500"}]
    path.write_text(json.dumps(data))
    with pytest.raises(BrokenCassette, match="status_code should be an HTTP status"):
        _library(tmp_path, "none").open(MODEL, CASE, fingerprint=FINGERPRINT)


# -- secrets --------------------------------------------------------------------------------------


def test_secrets_never_reach_a_cassette(tmp_path: Path) -> None:
    environ = {"REF_API_KEY": SECRET, "SHORT_TOKEN": "abc", "HOME": "/root"}
    network = Network()
    url = f"http://127.0.0.1:1/v1/{SECRET}/chat/completions?api_key={SECRET}&sig=s1gn&x=1"

    async def call(library: CassetteLibrary, inner: httpx.AsyncBaseTransport) -> str:
        cassette = library.open(MODEL, CASE, fingerprint=FINGERPRINT)
        headers = {
            "authorization": f"Bearer {SECRET}",
            "api-key": SECRET,
            "x-goog-api-key": "g" * 20,
            "x-session-token": "t" * 20,
            "http-referer": "https://example.org",
        }
        async with httpx.AsyncClient(transport=RecordingTransport(inner), headers=headers) as c:
            with cassette.use(1):
                answer = await _ask(c, f"my key is {SECRET}", url)
        cassette.finish()
        return answer

    recorded = asyncio.run(call(_library(tmp_path, "once", environ=environ), network.transport))
    assert network.calls[0].headers["authorization"] == f"Bearer {SECRET}"  # sent, not stored
    text = cassette_path(tmp_path, MODEL, CASE).read_text()
    assert SECRET not in text
    for name in ("authorization", "api-key", "x-goog-api-key", "x-session-token", "set-cookie"):
        assert f'"{name}"' not in text
    assert '"http-referer"' in text
    request = _file(tmp_path)["interactions"][0]["request"]
    assert request["uri"] == (
        "http://127.0.0.1:1/v1/<redacted>/chat/completions?api_key=<redacted>&sig=<redacted>&x=1"
    )
    assert request["body"]["json"]["messages"][0]["content"] == "my key is <redacted>"
    assert scan_for_secrets(cassette_path(tmp_path, MODEL, CASE)) == []
    # the live request is scrubbed the same way before it is matched
    replayed = asyncio.run(call(_library(tmp_path, "none", environ=environ), NO_NETWORK))
    assert replayed == recorded == "v1: my key is <redacted>"


def test_scan_for_secrets_finds_keys_tokens_and_credential_headers(tmp_path: Path) -> None:
    leaky = {
        "interactions": [
            {
                "request": {"headers": {"Authorization": ["Bearer abcdefgh12345678"]}},
                "response": {"headers": {"x-api-key": ["k"]}},
            }
        ],
        "note": f"{SECRET} sk-proj-{'A1' * 15}",
    }
    findings = scan_for_secrets(json.dumps(leaky, indent=2))
    assert any("credential header 'Authorization'" in f for f in findings)
    assert any("credential header 'x-api-key'" in f for f in findings)
    assert any("bearer token" in f for f in findings)
    assert any("OpenRouter key 'sk-or-…'" in f for f in findings)
    assert any("API key 'sk-pro…'" in f for f in findings)
    assert not any(SECRET in f for f in findings)  # findings never print a whole secret
    assert scan_for_secrets("authorization: Bearer xyz\n") == [
        "line 1: credential header 'authorization'"
    ]
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(leaky))
    assert scan_for_secrets(str(path)) == scan_for_secrets(path) != []

    clean = {
        "interactions": [{"request": {"headers": {"content-type": ["application/json"]}}}],
        "body": {
            "max_tokens": 10,
            "text": "task-force risk-assessment Bearer <redacted> sk-1",
            "prose": "a bearer instrument, sk-learn-style-classifiers",
        },
    }
    assert scan_for_secrets(json.dumps(clean)) == []


# -- concurrency, files, vcrpy -------------------------------------------------------------------


def test_concurrent_cassettes_each_get_their_own_interactions(tmp_path: Path) -> None:
    cases = [f"case_{n}" for n in range(8)]

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001 * (hash(request.content) % 5))  # interleave the tasks
        body = json.loads(request.content)
        return httpx.Response(200, json=_completion(f"re: {body['messages'][-1]['content']}"))

    async def run_all(library: CassetteLibrary, inner: httpx.AsyncBaseTransport) -> list[Any]:
        transport = RecordingTransport(inner_async=inner)  # one transport for every task

        async def one(case: str) -> list[str]:
            cassette = library.open(MODEL, case, fingerprint=FINGERPRINT)
            answers = []
            async with httpx.AsyncClient(transport=transport) as client:
                for trial in (1, 2):
                    with cassette.use(trial):
                        for step in range(2):
                            answers.append(await _ask(client, f"{case}/{trial}/{step}"))
                            await asyncio.sleep(0)
            cassette.finish()
            return answers

        return await asyncio.gather(*(one(case) for case in cases))

    expected = [[f"re: {c}/{t}/{s}" for t in (1, 2) for s in range(2)] for c in cases]
    assert asyncio.run(run_all(_library(tmp_path, "once"), httpx.MockTransport(answer))) == (
        expected
    )
    assert asyncio.run(run_all(_library(tmp_path, "none"), NO_NETWORK)) == expected
    for case in cases:
        trials = [i["trial"] for i in _file(tmp_path, case)["interactions"]]
        assert trials == [1, 1, 2, 2]


def test_cassettes_are_written_atomically(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"]})
    folder = cassette_path(tmp_path, MODEL, CASE).parent
    assert [p.name for p in folder.iterdir()] == [f"{CASE}.json"]  # no temporary file left

    # a write that fails at the rename leaves neither a temporary file nor a partial file
    blocked = cassette_path(tmp_path, MODEL, "blocked")
    blocked.mkdir()
    with pytest.raises(IsADirectoryError):
        _run_trials(_library(tmp_path, "all"), Network().transport, {1: ["a"]}, case="blocked")
    assert sorted(p.name for p in folder.iterdir()) == ["blocked.json", f"{CASE}.json"]


def test_a_gzip_answer_is_stored_decoded(tmp_path: Path) -> None:
    payload = gzip.compress(json.dumps(_completion("zipped")).encode())
    inner = httpx.MockTransport(
        lambda r: httpx.Response(
            200,
            content=payload,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
        )
    )

    async def main(root: Path) -> None:
        cassette = _library(root, "all").open(MODEL, CASE, fingerprint=FINGERPRINT)
        async with httpx.AsyncClient(transport=RecordingTransport(inner)) as client:
            with cassette.use(1):
                assert await _ask(client, "a") == "zipped"
        cassette.finish()

    asyncio.run(main(tmp_path))
    response = _file(tmp_path)["interactions"][0]["response"]
    assert response["headers"] == {"content-type": ["application/json"]}
    assert response["body"]["json"]["choices"][0]["message"]["content"] == "zipped"


def test_without_a_cassette_the_transport_passes_through_or_refuses() -> None:
    network = Network()

    async def main() -> None:
        async with httpx.AsyncClient(transport=RecordingTransport(network.transport)) as client:
            assert await _ask(client, "plain") == "v1: plain"
        async with httpx.AsyncClient(transport=RecordingTransport()) as client:
            with pytest.raises(RecordingError, match="outside any cassette"):
                await client.post(URL, json=_body("a"))

    asyncio.run(main())
    assert len(network.calls) == 1


def test_recording_needs_an_inner_transport(tmp_path: Path) -> None:
    cassette = _library(tmp_path, "once").open(MODEL, CASE, fingerprint=FINGERPRINT)
    with (
        httpx.Client(transport=RecordingTransport()) as client,
        cassette.use(1),
        pytest.raises(RecordingError, match="no inner transport") as caught,
    ):
        client.post(URL, json=_body("a"))
    assert caught.value.trial == 1


def test_sse_bodies_keep_comments_events_and_done() -> None:
    text = (
        ": keep-alive\n\n"
        'event: error\ndata: {"error": {"message": "boom"}}\n\n'
        'data: {"a": 1}\n\n'
        "data: not json\n\n"
        "data: [DONE]\n\n"
    )
    items = encode_sse(text)
    assert items == [
        [": keep-alive"],
        ["event: error", {"error": {"message": "boom"}}],
        {"a": 1},
        "not json",
        "[DONE]",
    ]
    assert encode_sse(render_sse(items)) == items
    assert encode_sse(text.replace("\n", "\r\n")) == items


def test_vcrpy_reads_our_cassettes_with_our_serializer_and_persister(tmp_path: Path) -> None:
    _run_trials(_library(tmp_path, "once"), Network().transport, {1: ["a"], 2: ["b"]})
    path = cassette_path(tmp_path, MODEL, CASE)
    text = path.read_text()
    # the serializer round-trips the file exactly, so re-saving never makes a noisy diff
    assert CassetteSerializer.serialize(CassetteSerializer.deserialize(text)) == text

    recorder = vcr.VCR()
    recorder.register_serializer("clearance", CassetteSerializer)
    recorder.register_persister(CassettePersister)
    recorder.register_matcher("json_body", json_body)
    with recorder.use_cassette(
        str(path),
        serializer="clearance",
        record_mode="none",
        match_on=["method", "path", "query", "json_body"],
    ) as cassette:
        assert len(cassette) == 2
        with httpx.Client(transport=httpx.MockTransport(_no_network)) as client:
            response = client.post(URL, json=_body("b"))
        assert response.json()["choices"][0]["message"]["content"] == "v1: b"
        assert cassette.play_count == 1
    assert path.read_text() == text  # vcrpy did not rewrite it


def test_an_unknown_record_mode_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown record mode 'sometimes'"):
        CassetteLibrary(tmp_path, "sometimes")  # type: ignore[arg-type]
