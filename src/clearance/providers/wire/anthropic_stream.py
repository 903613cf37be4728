"""The Anthropic Messages format, streamed: SSE events assembled into one answer.

:class:`AnthropicStreamAssembler` takes the stream one SSE line at a time, as the
provider reads it: ``message_start`` opens the message, ``content_block_start`` /
``content_block_delta`` / ``content_block_stop`` build each content block
(``text_delta``, ``input_json_delta``, ``thinking_delta``, ``signature_delta``,
``citations_delta``), ``message_delta`` brings the stop reason and the final usage,
``message_stop`` ends it; ``ping`` is ignored, and ``event: error`` raises its typed
error. Each block is rebuilt as the non-streamed answer would hold it (a ``thinking``
block with its signature, a ``tool_use`` block with its ``input`` decoded from the
joined ``partial_json``, whose first fragment is ``""``), and the message is then read
by :func:`~clearance.providers.wire.anthropic_messages.parse_anthropic_message`, so a
streamed answer and a whole one give the same :class:`ChatResponse` and
:class:`~clearance.providers.types.NativeTurn` (``raw`` is ``None`` for a stream).
:func:`parse_anthropic_sse` does the same for a whole SSE body at once.

Stream quirks, added to the answer's: ``keepalive_comments``, ``unknown_sse_line``,
``unknown_event:<type>`` (an event type this module does not know, skipped),
``unknown_delta:<type>`` (a delta type it does not know, left out of its block) and
``orphan_delta`` (a delta for a block that never started).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from clearance.errors import MalformedResponse
from clearance.providers.types import ChatResponse
from clearance.providers.wire import jsonbody
from clearance.providers.wire.anthropic_messages import parse_anthropic_message
from clearance.providers.wire.failures import body_text, classify_error

__all__ = ["AnthropicStreamAssembler", "parse_anthropic_sse"]

_DELTA_FIELDS: dict[str, tuple[str, str]] = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "signature_delta": ("signature", "signature"),
    "input_json_delta": ("input", "partial_json"),
}
"""Delta type to (the block field it builds, the delta field carrying the fragment)."""


class _Block:
    """One content block, from its start event and its deltas."""

    __slots__ = ("block", "fragments")

    def __init__(self, block: dict[str, Any]) -> None:
        self.block = block
        self.fragments: dict[str, list[str]] = {}

    def built(self) -> dict[str, Any]:
        """The block as a whole answer holds it."""
        block = self.block
        for field, parts in self.fragments.items():
            joined = "".join(parts)
            if field != "input":
                start = block.get(field)
                block[field] = start + joined if type(start) is str else joined
            elif joined.strip():
                block["input"] = _decoded_input(joined)
        self.fragments = {}
        return block


def _decoded_input(text: str) -> Any:
    """The joined ``partial_json`` of a block: its object, or the text when it is none
    (a call cut off by ``max_tokens``), which the tool call then names as a quirk."""
    try:
        value = json.loads(text)  # once per block; the standard library keeps big integers
    except (ValueError, RecursionError):
        return text
    return value if type(value) is dict else text


class AnthropicStreamAssembler:
    """Assembles a streamed Messages answer, one SSE line (or decoded event) at a time."""

    __slots__ = (
        "_blocks",
        "_event",
        "_message",
        "_model_id",
        "_provider",
        "_quirks",
        "_stopped",
        "_usage",
        "last_chunk",
    )

    def __init__(self, provider: str, model_id: str | None) -> None:
        self._provider = provider
        self._model_id = model_id
        self._message: dict[str, Any] | None = None
        self._blocks: dict[int, _Block] = {}
        self._usage: dict[str, Any] = {}
        self._quirks: list[str] = []
        self._event: str | None = None
        self._stopped = False
        self.last_chunk: Mapping[str, Any] | None = None
        """The event the last feed call took (``None`` when its line held none)."""

    def feed_line(self, line: str) -> None:
        """Take one SSE line (``event: ...``, ``data: {...}``, a comment, blank).

        Raises:
            ProviderHTTPError: the line carries an error event.
            MalformedResponse: a ``data:`` line whose JSON does not decode to an object.
        """
        self.last_chunk = None
        if line.startswith("data:"):
            self._data(line[5:])
            return
        line = line.rstrip("\r\n")
        if not line:
            self._event = None  # a blank line ends the event
        elif line[0] == ":":
            self._quirk("keepalive_comments")
        elif line.startswith("event:"):
            self._event = line[6:].strip()
        elif not line.startswith(("id:", "retry:")):
            self._quirk("unknown_sse_line")

    def _data(self, payload: str) -> None:
        payload = payload.strip()  # the API pads data lines with trailing spaces
        if not payload:
            return
        try:
            event = jsonbody.loads(payload)
        except (ValueError, RecursionError):
            raise self._malformed("a `data:` line is not valid JSON", payload) from None
        if not isinstance(event, Mapping):
            raise self._malformed("a `data:` line is not a JSON object", payload)
        self.feed_event(event)

    def feed_event(self, event: Mapping[str, Any]) -> None:
        """Take one decoded event.

        Raises:
            ProviderHTTPError: an ``error`` event (also one named only by ``event:``).
            MalformedResponse: an event that breaks the protocol (content before
                ``message_start``, a ``message`` that is not an object).
        """
        kind = event.get("type")
        if type(kind) is not str:
            kind = self._event
        if kind == "error" or self._event == "error" or event.get("error") is not None:
            body = event if "error" in event else {"error": event}
            raise classify_error(200, body, None, provider=self._provider, model_id=self._model_id)
        self.last_chunk = event
        if kind == "content_block_delta":
            self._delta(event)
        elif kind == "ping":
            return
        elif kind == "content_block_start":
            self._start(event)
        elif kind == "content_block_stop":
            found = self._blocks.get(_index(event))
            if found is not None:
                found.built()
        elif kind == "message_start":
            self._message_start(event)
        elif kind == "message_delta":
            self._message_delta(event)
        elif kind == "message_stop":
            self._stopped = True
        else:
            self._quirk(f"unknown_event:{kind}")

    def _message_start(self, event: Mapping[str, Any]) -> None:
        message = event.get("message")
        if not isinstance(message, Mapping):
            raise self._malformed("`message_start` carries no message object", event)
        self._message = dict(message)
        usage = message.get("usage")
        if isinstance(usage, Mapping):
            self._usage.update(usage)
        content = message.get("content")
        if isinstance(content, list):
            for index, block in enumerate(content):
                if isinstance(block, Mapping):
                    self._blocks[index] = _Block(dict(block))

    def _start(self, event: Mapping[str, Any]) -> None:
        block = event.get("content_block")
        if not isinstance(block, Mapping):
            raise self._malformed("`content_block_start` carries no block object", event)
        self._blocks[_index(event)] = _Block(dict(block))

    def _delta(self, event: Mapping[str, Any]) -> None:
        found = self._blocks.get(_index(event))
        delta = event.get("delta")
        if found is None or not isinstance(delta, Mapping):
            self._quirk("orphan_delta")
            return
        kind = delta.get("type")
        fields = _DELTA_FIELDS.get(kind) if type(kind) is str else None
        if fields is not None:
            fragment = delta.get(fields[1])
            if type(fragment) is str:
                found.fragments.setdefault(fields[0], []).append(fragment)
        elif kind == "citations_delta":
            citations = found.block.get("citations")
            if type(citations) is not list:
                citations = found.block["citations"] = []
            citations.append(delta.get("citation"))
        else:
            self._quirk(f"unknown_delta:{kind}")

    def _message_delta(self, event: Mapping[str, Any]) -> None:
        if self._message is None:
            raise self._malformed("`message_delta` before `message_start`", event)
        delta = event.get("delta")
        if isinstance(delta, Mapping):
            self._message.update(delta)
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self._usage.update(usage)  # counts in message_delta are cumulative: they win

    def result(self) -> ChatResponse:
        """The assembled answer.

        Raises:
            MalformedResponse: no ``message_start`` came, or the stream ended before
                ``message_stop`` and before any stop reason.
        """
        message = self._message
        if message is None:
            raise self._malformed("the stream carried no `message_start`", None)
        if not self._stopped and message.get("stop_reason") is None:
            raise self._malformed("the stream ended early (no stop reason, no message_stop)", None)
        message["content"] = [self._blocks[index].built() for index in sorted(self._blocks)]
        if self._usage:
            message["usage"] = self._usage
        response = parse_anthropic_message(
            message, provider=self._provider, model_id=self._model_id
        )
        quirks = response.quirks
        for quirk in self._quirks:
            if quirk not in quirks:
                quirks = (*quirks, quirk)
        return dataclasses.replace(response, raw=None, quirks=quirks)

    def _quirk(self, name: str) -> None:
        if name not in self._quirks:
            self._quirks.append(name)

    def _malformed(self, reason: str, chunk: Any) -> MalformedResponse:
        text = "" if chunk is None else chunk if isinstance(chunk, str) else body_text(chunk)
        return MalformedResponse(
            f"{reason}; not an Anthropic Messages stream",
            provider=self._provider,
            model_id=self._model_id,
            body=text,
        )


def _index(event: Mapping[str, Any]) -> int:
    index = event.get("index")
    return index if type(index) is int else -1


def parse_anthropic_sse(text: str, *, provider: str, model_id: str | None) -> ChatResponse:
    """A whole SSE body, assembled (see :class:`AnthropicStreamAssembler`)."""
    assembler = AnthropicStreamAssembler(provider, model_id)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        assembler.feed_line(line)
    return assembler.result()
