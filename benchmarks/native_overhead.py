"""A native protocol's per-call overhead against the OpenAI-compatible path.

    .venv/bin/python benchmarks/native_overhead.py [--calls 2000] [--rounds 7]
        [--router-calls 250] [--router-rounds 21]

Every protocol gets the same logical call: a request of five turns (a system prompt, a
question, an assistant turn with two tool calls, their two results, a follow-up) with
three tools, answered by a text and two tool calls with usage, written in each
protocol's own wire form (a whole JSON answer, and an SSE stream cut into the same
fragments). Four figures per protocol, each the median over ``--rounds`` rounds of
``--calls`` calls, in CPU time of this process (``time.process_time``: the machine is
shared, and nothing here waits on I/O), the protocols interleaved within a round so
machine load hits them alike (ratios are taken per round, then their median):

- ``request``: the request body (``_body``) and its JSON bytes alone: the part of a
  call's work done before it is sent, which a stream's overhead is mostly made of;
- ``build+parse``: what the provider does per call besides HTTP: the request body
  (``_body``), its JSON bytes, the answer decoded and read (``_decode``, ``_parse``);
- ``complete``: ``provider.complete()`` end to end over ``httpx.MockTransport`` (no
  socket; httpx's own machinery included), whole answer;
- ``stream``: the same with ``stream=True``, the SSE answer assembled line by line.

Then the same logical call through :class:`clearance.router.Router`, everything on (kill
switch, policy, the gate's decisions, pricing, the call log with its journal) on a
SQLite catalog in a temporary folder, one model per protocol, each provider declared
under ``[[providers]]`` with its ``protocol`` and built from that declaration by
:func:`~clearance.providers.factory.make_provider` over its own ``MockTransport``, each
figure over ``--router-rounds`` rounds of ``--router-calls`` calls:

- ``router complete`` / ``router stream``: CPU µs per ``Router.complete`` (the call log
  flushed at the end of each block, so its writer thread's CPU is counted where it was
  spent);
- ``overhead complete`` / ``overhead stream``: the router's own ``overhead_us`` as it
  logs it (``RouterResult.overhead_s``: the call's wall time minus the time spent
  waiting for the provider's answer), the median of the block's calls. Wall time, so
  machine load shows in it more than in the CPU figures.

A protocol is one entry of :data:`PROTOCOLS`: its provider class and its two answer
bodies. Adding one (Gemini) is adding an entry.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from clearance.catalog.database import open_catalog
from clearance.catalog.gatestore import record_override
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.config import load_config
from clearance.discovery import parse_model_list
from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.base import ChatRequest
from clearance.providers.factory import make_provider
from clearance.providers.gemini import GeminiProvider
from clearance.providers.http import HttpProvider, encode_json
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.providers.types import ChatResponse
from clearance.router import Router

# ------------------------------------------------------------ the logical call


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties)[:1],
                "additionalProperties": False,
            },
        },
    }


TOOLS = [
    _tool(
        "get_weather",
        "Current weather for a city",
        {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
    ),
    _tool(
        "get_time",
        "Current time in an IANA time zone",
        {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
    ),
    _tool(
        "search_flights",
        "Flights between two airports on a date",
        {
            "origin": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "destination": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "date": {"type": "string", "format": "date"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
        },
    ),
]
REQUEST = ChatRequest(
    messages=[
        {"role": "system", "content": "You are a concise travel assistant. Use the tools."},
        {"role": "user", "content": "What's the weather in Paris and the time in Tokyo?"},
        {
            "role": "assistant",
            "content": "Let me check both.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"timezone": "Asia/Tokyo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21, "sky": "clear"}'},
        {"role": "tool", "tool_call_id": "call_2", "content": '{"time": "22:14"}'},
        {"role": "user", "content": "Thanks. And the same for Oslo?"},
    ],
    tools=TOOLS,
    tool_choice="auto",
    max_tokens=1024,
)
TEXT = ["Checking ", "Oslo ", "now."]
CALLS = [
    ("toolu_01", "get_weather", ['{"city', '": "Os', 'lo"}']),
    ("toolu_02", "get_time", ['{"timezone', '": "Europe/', 'Oslo"}']),
]
PROMPT, COMPLETION = 812, 64


# ------------------------------------------------------------ the answer, per protocol


def _sse(events: Sequence[tuple[str | None, Any]]) -> bytes:
    lines = []
    for name, data in events:
        if name is not None:
            lines.append(f"event: {name}")
        lines.append(f"data: {data if isinstance(data, str) else json.dumps(data)}")
        lines.append("")
    return ("\n".join(lines) + "\n").encode()


def openai_answers() -> tuple[bytes, bytes]:
    """The answer as an OpenAI chat completion, whole and streamed."""
    whole = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(TEXT),
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": "".join(parts)},
                        }
                        for call_id, name, parts in CALLS
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT,
            "completion_tokens": COMPLETION,
            "total_tokens": PROMPT + COMPLETION,
        },
    }
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-2024-08-06"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, Any]:
        return None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in TEXT]
    for index, (call_id, name, parts) in enumerate(CALLS):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        events += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            for part in parts
        ]
    events.append(chunk({}, "tool_calls"))
    events.append((None, {**head, "choices": [], "usage": whole["usage"]}))
    events.append((None, "[DONE]"))
    return json.dumps(whole).encode(), _sse(events)


def anthropic_answers() -> tuple[bytes, bytes]:
    """The answer as an Anthropic message, whole and streamed."""
    usage = {
        "input_tokens": PROMPT,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": COMPLETION,
    }
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(TEXT)}]
    content += [
        {"type": "tool_use", "id": call_id, "name": name, "input": json.loads("".join(parts))}
        for call_id, name, parts in CALLS
    ]
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": usage,
    }
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    events += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            },
        )
        for piece in TEXT
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    for index, (call_id, name, parts) in enumerate(CALLS, start=1):
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
        )
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                },
            )
            for part in ["", *parts]
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": COMPLETION},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return json.dumps(message).encode(), _sse(events)


def gemini_answers() -> tuple[bytes, bytes]:
    """The answer as a Gemini GenerateContentResponse, whole and streamed (every chunk a
    whole response: text in pieces, each call whole, usage in every chunk)."""
    head = {"modelVersion": "gemini-2.5-flash", "responseId": "R1"}
    usage = {
        "promptTokenCount": PROMPT,
        "candidatesTokenCount": COMPLETION,
        "totalTokenCount": PROMPT + COMPLETION,
    }
    calls: list[dict[str, Any]] = [
        {"functionCall": {"id": call_id, "name": name, "args": json.loads("".join(parts))}}
        for call_id, name, parts in CALLS
    ]
    calls[0]["thoughtSignature"] = "CiQBjz1rX5" * 8  # gemini-3 signs the first call

    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], "usageMetadata": usage, **head}

    whole = chunk([{"text": "".join(TEXT)}, *calls], "STOP")
    events: list[tuple[str | None, Any]] = [(None, chunk([{"text": piece}])) for piece in TEXT]
    events += [(None, chunk([call])) for call in calls]
    events.append((None, chunk([{"text": ""}], "STOP")))
    return json.dumps(whole).encode(), _sse(events)


@dataclass(frozen=True)
class Entry:
    """One protocol under test."""

    provider: type[HttpProvider]
    answers: Callable[[], tuple[bytes, bytes]]
    """(whole answer, SSE answer): the logical answer in this protocol's wire form."""
    model: str


PROTOCOLS: dict[str, Entry] = {
    "openai": Entry(OpenAICompatibleProvider, openai_answers, "gpt-4o"),
    "anthropic": Entry(AnthropicProvider, anthropic_answers, "claude-sonnet-4-5"),
    "gemini": Entry(GeminiProvider, gemini_answers, "gemini-2.5-flash"),
}
"""The OpenAI-compatible path first: the ratios are taken against it."""


# ------------------------------------------------------------ measuring


class Case:
    """A protocol's provider over MockTransport, with its answers."""

    def __init__(self, name: str, entry: Entry) -> None:
        self.name = name
        self.entry = entry
        self.whole_body, self.sse_body = entry.answers()
        self.provider = entry.provider(
            name, "https://example.invalid/v1", api_key="k", transport=self.transport()
        )
        self.streamed = ChatRequest(
            messages=REQUEST.messages,
            tools=REQUEST.tools,
            tool_choice=REQUEST.tool_choice,
            max_tokens=REQUEST.max_tokens,
            stream=True,
        )
        self.check()

    def transport(self) -> httpx.MockTransport:
        """This protocol's answers, whole or streamed as the request asks."""

        def answer(request: httpx.Request) -> httpx.Response:
            # the stream is asked in the body (OpenAI, Anthropic) or the URL (Gemini)
            streamed = b'"stream":true' in request.content or "alt=sse" in str(request.url)
            body = self.sse_body if streamed else self.whole_body
            kind = "text/event-stream" if streamed else "application/json"
            return httpx.Response(200, headers={"content-type": kind}, content=body)

        return httpx.MockTransport(answer)

    def check(self) -> None:
        """The same logical answer reads the same in every protocol, or nothing is measured."""
        for request in (REQUEST, self.streamed):
            check_answer(self.provider.complete(self.entry.model, request).response)

    @property
    def model_id(self) -> str:
        """The model's catalog id, behind the router."""
        return f"{self.name}:{self.entry.model}"

    def request(self) -> None:
        assert encode_json(self.provider._body(self.entry.model, REQUEST))

    def build_parse(self) -> None:
        provider = self.provider
        content = encode_json(provider._body(self.entry.model, REQUEST))
        assert content
        decoded = provider._decode(self.whole_body, None)
        provider._parse(decoded, 200, None)

    def complete(self) -> None:
        self.provider.complete(self.entry.model, REQUEST)

    def stream(self) -> None:
        self.provider.complete(self.entry.model, self.streamed)


def check_answer(response: ChatResponse) -> None:
    """The logical answer, read back: its text, its two calls, its usage."""
    calls = [(call.name, call.arguments) for call in response.tool_calls]
    assert calls == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"timezone": "Europe/Oslo"}),
    ]
    assert response.content == "".join(TEXT), response.content
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (
        PROMPT,
        COMPLETION,
    )


# ------------------------------------------------------------ through the router


def open_router(folder: Path, cases: list[Case]) -> Router:
    """A router on a SQLite catalog in ``folder``: each protocol's provider declared under
    ``[[providers]]`` with its protocol, its one model synced, priced and enabled by a
    person's decision (the gate requires one), the provider object built from the
    declaration over the case's MockTransport."""
    declared = "".join(
        f'[[providers]]\nname = "{case.name}"\nprotocol = "{case.name}"\n'
        f'base_url = "https://{case.name}.example.invalid/v1"\n'
        f'api_key_env = "{case.name.upper()}_API_KEY"\n'
        for case in cases
    )
    (folder / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{folder}/catalog.db"\n'
        f"[router]\nretries_per_model = 0\n{declared}"
    )
    config = load_config(environ={}, cwd=folder)
    catalog = open_catalog(config.resolved_database_url())
    price = {"prompt": "0.000003", "completion": "0.000015"}
    with catalog.begin() as connection:
        for case in cases:
            settings = next(p for p in config.providers if p.name == case.name)
            ensure_provider(
                connection,
                settings.name,
                base_url=settings.base_url,
                api_key_env=settings.api_key_env,
                protocol=settings.protocol,
            )
            listed = parse_model_list(
                {"data": [{"id": case.entry.model, "pricing": price}]}, source="benchmark"
            )
            sync_models(connection, settings.name, listed, enable_new=True)
            record_override(
                connection,
                model_id=case.model_id,
                action="enable",
                reason="benchmark",
                decided_by="bench",
                host=None,
                require_decision=config.gate.require_decision,
            )
    router = Router(config, catalog, environ={})
    for settings in config.providers:
        case = next(case for case in cases if case.name == settings.name)
        provider = make_provider(
            settings.protocol,
            settings.name,
            settings.base_url,
            api_key="k",
            api_key_env=settings.api_key_env,
            timeout_s=settings.timeout_s,
            transport=case.transport(),
        )
        assert type(provider) is case.entry.provider, (settings.protocol, type(provider))
        router.add_provider(provider, owned=True)
    return router


class Routed:
    """A protocol's logical call through the router; keeps each call's ``overhead_s``."""

    def __init__(self, router: Router, case: Case) -> None:
        self.router = router
        self.case = case
        self.overheads: list[float] = []
        for stream in (False, True):
            result = self._call(stream)
            check_answer(result.response)
            assert result.served_model == case.model_id, result.served_model

    def _call(self, stream: bool) -> Any:
        return self.router.complete(
            REQUEST.messages,
            REQUEST.tools,
            model=self.case.model_id,
            tool_choice=REQUEST.tool_choice,
            max_tokens=REQUEST.max_tokens,
            stream=stream,
        )

    def complete(self) -> None:
        self.overheads.append(self._call(False).overhead_s)

    def stream(self) -> None:
        self.overheads.append(self._call(True).overhead_s)


def per_call_us(action: Callable[[], None], calls: int) -> float:
    """CPU µs per call of this process: on a shared machine, time spent waiting for a CPU
    another process holds is not counted (nothing here waits on I/O)."""
    started = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - started) / calls * 1e6


def ratio_table(
    names: list[str], figures: tuple[str, ...], samples: dict[tuple[str, str], list[float]]
) -> None:
    """Each protocol's figures against the first's: per-round ratios, then their median."""
    base = names[0]
    print("| protocol | " + " | ".join(figures) + " |")
    print("|---|" + "---:|" * len(figures))
    for name in names[1:]:
        cells = []
        for figure in figures:
            ratios = [
                mine / theirs
                for mine, theirs in zip(samples[name, figure], samples[base, figure], strict=True)
            ]
            cells.append(f"{statistics.median(ratios):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def figure_table(
    names: list[str], figures: tuple[str, ...], samples: dict[tuple[str, str], list[float]]
) -> None:
    """Each protocol's figures: the median over the rounds."""
    print("| protocol | " + " | ".join(figures) + " |")
    print("|---|" + "---:|" * len(figures))
    for name in names:
        cells = [f"{statistics.median(samples[name, figure]):.1f}" for figure in figures]
        print(f"| {name} | " + " | ".join(cells) + " |")


def measure_providers(cases: list[Case], calls: int, rounds: int) -> None:
    """The provider alone, per protocol: request, build+parse, complete, stream."""
    figures = ("request", "build+parse", "complete", "stream")
    samples: dict[tuple[str, str], list[float]] = {}
    for case in cases:  # warm up: caches (lowered schemas, parsed URLs), the client pool
        for action in (case.request, case.build_parse, case.complete, case.stream):
            per_call_us(action, 200)
    for _ in range(rounds):
        for figure in figures:
            for case in cases:
                action = {
                    "request": case.request,
                    "build+parse": case.build_parse,
                    "complete": case.complete,
                    "stream": case.stream,
                }[figure]
                samples.setdefault((case.name, figure), []).append(per_call_us(action, calls))
    names = [case.name for case in cases]
    print(f"\n## The provider alone: CPU µs per call (median of {rounds} rounds x {calls} calls)\n")
    figure_table(names, figures, samples)
    print(f"\n## The provider alone: ratio to {names[0]} (median of the per-round ratios)\n")
    ratio_table(names, figures, samples)


def measure_router(cases: list[Case], calls: int, rounds: int, under: str | None) -> None:
    """The same call through the router, per protocol: CPU per call and ``overhead_us``;
    its catalog and call-log journal in a temporary folder made under ``under``."""
    kinds = ("complete", "stream")
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(dir=under) as folder:
        print(f"\n# catalog and journal under {Path(folder).parent}")
        router = open_router(Path(folder), cases)
        try:
            calllog = router.calllog
            assert calllog is not None
            routed = [Routed(router, case) for case in cases]

            def block(action: Callable[[], None]) -> float:
                started = time.process_time()
                for _ in range(calls):
                    action()
                calllog.flush()  # the writer thread's CPU for these rows, counted here
                return (time.process_time() - started) / calls * 1e6

            for one in routed:  # warm up: the catalog state, the gate, the pools
                for _ in range(200):
                    one.complete()
                    one.stream()
            calllog.flush()
            for _ in range(rounds):
                for kind in kinds:
                    for one in routed:
                        one.overheads.clear()
                        action = one.complete if kind == "complete" else one.stream
                        samples.setdefault((one.case.name, f"router {kind}"), []).append(
                            block(action)
                        )
                        samples.setdefault((one.case.name, f"overhead {kind}"), []).append(
                            statistics.median(one.overheads) * 1e6
                        )
        finally:
            router.close()
    names = [case.name for case in cases]
    figures = ("router complete", "router stream", "overhead complete", "overhead stream")
    print(
        f"\n## Through the router: CPU µs per call, and its logged overhead_us "
        f"(median of {rounds} rounds x {calls} calls)\n"
    )
    figure_table(names, figures, samples)
    print(f"\n## Through the router: ratio to {names[0]} (median of the per-round ratios)\n")
    ratio_table(names, figures, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and figure")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--router-calls", type=int, default=250, help="calls per round and figure, routed"
    )
    parser.add_argument(
        "--router-rounds",
        type=int,
        default=21,
        help="rounds, routed: short rounds, many of them, pair the protocols closer in time "
        "(the call log's writer thread and the machine's other load come and go)",
    )
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    parser.add_argument(
        "--folder",
        default=shm,
        help="where the router's temporary catalog and journal go (default: /dev/shm when "
        "there is one: a disk's latency is the same for every protocol and only adds noise)",
    )
    parser.add_argument("--skip-provider", action="store_true", help="the router figures only")
    parser.add_argument("--skip-router", action="store_true", help="the provider figures only")
    args = parser.parse_args()

    print(f"# {sys.executable} benchmarks/native_overhead.py {' '.join(sys.argv[1:])}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    cpuinfo = Path("/proc/cpuinfo")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"# cpu: {cpu}, nproc {os.cpu_count()}; python {platform.python_version()}")
    print(f"# load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")

    cases = [Case(name, entry) for name, entry in PROTOCOLS.items()]
    try:
        if not args.skip_provider:
            measure_providers(cases, args.calls, args.rounds)
        if not args.skip_router:
            measure_router(cases, args.router_calls, args.router_rounds, args.folder)
    finally:
        for case in cases:
            case.provider.close()
    print(f"\n# load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
