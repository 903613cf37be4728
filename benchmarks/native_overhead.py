"""A native protocol's per-call overhead against the OpenAI-compatible path.

    .venv/bin/python benchmarks/native_overhead.py [--calls 2000] [--rounds 7]

Every protocol gets the same logical call: a request of five turns (a system prompt, a
question, an assistant turn with two tool calls, their two results, a follow-up) with
three tools, answered by a text and two tool calls with usage, written in each
protocol's own wire form (a whole JSON answer, and an SSE stream cut into the same
fragments). Three figures per protocol, each the median over ``--rounds`` rounds of
``--calls`` calls, in CPU time of this process (``time.process_time``: the machine is
shared, and nothing here waits on I/O), the protocols interleaved within a round so
machine load hits them alike (ratios are taken per round, then their median):

- ``build+parse``: what the provider does per call besides HTTP: the request body
  (``_body``), its JSON bytes, the answer decoded and read (``_decode``, ``_parse``);
- ``complete``: ``provider.complete()`` end to end over ``httpx.MockTransport`` (no
  socket; httpx's own machinery included), whole answer;
- ``stream``: the same with ``stream=True``, the SSE answer assembled line by line.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.base import ChatRequest
from clearance.providers.gemini import GeminiProvider
from clearance.providers.http import HttpProvider, encode_json
from clearance.providers.openai import OpenAICompatibleProvider

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


def _sse(events: list[tuple[str | None, Any]]) -> bytes:
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

        def answer(request: httpx.Request) -> httpx.Response:
            # the stream is asked in the body (OpenAI, Anthropic) or the URL (Gemini)
            streamed = b'"stream":true' in request.content or "alt=sse" in str(request.url)
            body = self.sse_body if streamed else self.whole_body
            kind = "text/event-stream" if streamed else "application/json"
            return httpx.Response(200, headers={"content-type": kind}, content=body)

        self.provider = entry.provider(
            name, "https://example.invalid/v1", api_key="k", transport=httpx.MockTransport(answer)
        )
        self.streamed = ChatRequest(
            messages=REQUEST.messages,
            tools=REQUEST.tools,
            tool_choice=REQUEST.tool_choice,
            max_tokens=REQUEST.max_tokens,
            stream=True,
        )
        self.check()

    def check(self) -> None:
        """The same logical answer reads the same in every protocol, or nothing is measured."""
        for request in (REQUEST, self.streamed):
            response = self.provider.complete(self.entry.model, request).response
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


def per_call_us(action: Callable[[], None], calls: int) -> float:
    """CPU µs per call of this process: on a shared machine, time spent waiting for a CPU
    another process holds is not counted (nothing here waits on I/O)."""
    started = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and figure")
    parser.add_argument("--rounds", type=int, default=7)
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
    print(f"# load average before: {os.getloadavg()[0]:.2f}")

    cases = [Case(name, entry) for name, entry in PROTOCOLS.items()]
    figures = ("build+parse", "complete", "stream")
    samples: dict[tuple[str, str], list[float]] = {}
    for case in cases:  # warm up: caches (lowered schemas, parsed URLs), the client pool
        for action in (case.build_parse, case.complete, case.stream):
            per_call_us(action, 200)
    for _ in range(args.rounds):
        for figure in figures:
            for case in cases:
                action = {
                    "build+parse": case.build_parse,
                    "complete": case.complete,
                    "stream": case.stream,
                }[figure]
                samples.setdefault((case.name, figure), []).append(per_call_us(action, args.calls))
    base = cases[0].name
    print(f"\n## Per-call overhead, µs (median of {args.rounds} rounds x {args.calls} calls)\n")
    print("| protocol | " + " | ".join(figures) + " |")
    print("|---|" + "---:|" * len(figures))
    for case in cases:
        cells = [f"{statistics.median(samples[case.name, figure]):.1f}" for figure in figures]
        print(f"| {case.name} | " + " | ".join(cells) + " |")
    print(f"\n## Ratio to {base} (median of the per-round ratios)\n")
    print("| protocol | " + " | ".join(figures) + " |")
    print("|---|" + "---:|" * len(figures))
    for case in cases[1:]:
        cells = []
        for figure in figures:
            ratios = [
                mine / theirs
                for mine, theirs in zip(
                    samples[case.name, figure], samples[base, figure], strict=True
                )
            ]
            cells.append(f"{statistics.median(ratios):.3f}")
        print(f"| {case.name} | " + " | ".join(cells) + " |")
    for case in cases:
        case.provider.close()


if __name__ == "__main__":
    main()
