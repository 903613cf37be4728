"""The OpenAI chat-completions format, streamed: SSE lines assembled into one answer.

:class:`StreamAssembler` takes a stream one SSE line (or one decoded
``chat.completion.chunk``) at a time, as the provider reads it, and joins the
deltas; :func:`parse_sse` does the same for a whole SSE body at once. The
answer is read as :func:`parse_completion` reads a whole one (its ``raw`` left
``None``), with the stream's own quirks (keep-alive comments, lines after
``[DONE]``, tool calls that come without their index) named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clearance.errors import MalformedResponse
from clearance.providers.types import ChatResponse, ToolCall
from clearance.providers.wire.failures import body_text, classify_error
from clearance.providers.wire.normalize import build_tool_call, normalize_finish_reason
from clearance.providers.wire.openai_completion import choice_error, read_usage

__all__ = ["StreamAssembler", "parse_sse"]

# ---------------------------------------------------------------------------------------------
# Streams


class _CallBuilder:
    """One streamed tool call, assembled from its deltas."""

    __slots__ = ("arguments", "id", "name", "object_arguments", "quirks", "saw_empty_id")

    def __init__(self) -> None:
        self.id: str | None = None
        self.saw_empty_id = False
        self.name = ""
        self.arguments: list[str] = []
        self.object_arguments: Any = None
        self.quirks: tuple[str, ...] = ()


class StreamAssembler:
    """Assembles a streamed (SSE) chat completion, one line or chunk at a time.

    Content, reasoning (``delta.reasoning`` / ``reasoning_content``) and
    tool-call deltas are joined; the last non-null finish reason, the last
    usage, and the first model, id and OpenRouter ``provider`` are kept. An
    error chunk raises its typed error from the feed call that carries it.
    """

    __slots__ = (
        "_by_index",
        "_calls",
        "_chunks",
        "_content",
        "_done",
        "_event",
        "_fingerprint",
        "_finish_raw",
        "_model",
        "_model_id",
        "_provider",
        "_quirks",
        "_reasoning",
        "_refusal",
        "_response_id",
        "_served_by",
        "_usage",
        "last_chunk",
    )

    def __init__(self, provider: str, model_id: str | None) -> None:
        self._provider = provider
        self._model_id = model_id
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: list[_CallBuilder] = []
        self._by_index: dict[int, _CallBuilder] = {}
        self._finish_raw: str | None = None
        self._usage: Any = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._served_by: str | None = None
        self._fingerprint: str | None = None
        self._quirks: list[str] = []
        self._done = False
        self._event: str | None = None
        self._chunks = 0
        self.last_chunk: Mapping[str, Any] | None = None
        """The chunk the last feed call took (``None`` when its line held none), for callbacks."""

    def feed_line(self, line: str) -> None:
        """Take one SSE line (``data: {...}``, ``data: [DONE]``, a comment, ``event:``, blank).

        Raises:
            ProviderHTTPError: the line carries an error chunk.
            MalformedResponse: a ``data:`` line whose JSON does not decode.
        """
        self.last_chunk = None
        if line.startswith("data:"):
            self._data(line[5:])
            return
        line = line.rstrip("\r\n")
        if not line:
            self._event = None  # a blank line ends the event
            return
        if line[0] == ":":
            self._quirk("keepalive_comments")
            return
        if line[0].isspace():
            self._quirk("sse_leading_whitespace")
            self.feed_line(line.lstrip())
            return
        if line.startswith("event:"):
            self._event = line[6:].strip()
        elif not line.startswith(("id:", "retry:")):
            self._quirk("unknown_sse_line")

    def _data(self, payload: str) -> None:
        payload = payload.strip()
        if payload == "[DONE]":
            self._done = True
            return
        if not payload:
            return
        if self._done:
            self._quirk("data_after_done")
        try:
            chunk = json.loads(payload)
        except (ValueError, RecursionError):
            raise MalformedResponse(
                "a `data:` line of the stream is not valid JSON",
                provider=self._provider,
                model_id=self._model_id,
                body=payload,
            ) from None
        if self._event == "error" and isinstance(chunk, Mapping) and "error" not in chunk:
            chunk = {"error": chunk}
        self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> None:
        """Take one decoded ``chat.completion.chunk``.

        Raises:
            ProviderHTTPError: the chunk is an error, or its choice ends with an error.
            MalformedResponse: the chunk is not a chunk object.
        """
        if not isinstance(chunk, Mapping):
            raise self._malformed("a stream chunk is not a JSON object", chunk)
        if chunk.get("error") is not None:
            raise classify_error(200, chunk, None, provider=self._provider, model_id=self._model_id)
        self._chunks += 1
        if self._model is None or self._response_id is None or self._served_by is None:
            self._identify(chunk)
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = usage
        self.last_chunk = chunk
        choices = chunk.get("choices")
        if not choices:
            return
        if type(choices) is not list:
            raise self._malformed("`choices` of a stream chunk is not a list", chunk)
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise self._malformed("a choice of a stream chunk is not an object", chunk)
            if choice.get("index") not in (0, None):
                self._quirk("multiple_choices")
                continue
            self._choice(choice, chunk)

    def _identify(self, chunk: Mapping[str, Any]) -> None:
        """Keep the first model, id and OpenRouter ``provider`` the stream names."""
        model, response_id, served_by = chunk.get("model"), chunk.get("id"), chunk.get("provider")
        if self._model is None and type(model) is str and model:
            self._model = model
        if self._response_id is None and type(response_id) is str and response_id:
            self._response_id = response_id
        if self._served_by is None and type(served_by) is str and served_by:
            self._served_by = served_by
        fingerprint = chunk.get("system_fingerprint")
        if self._fingerprint is None and type(fingerprint) is str and fingerprint:
            self._fingerprint = fingerprint

    def _choice(self, choice: Mapping[str, Any], chunk: Mapping[str, Any]) -> None:
        finish = choice.get("finish_reason")
        if choice.get("error") is not None or finish == "error":
            raise classify_error(
                200,
                choice_error(choice),
                None,
                provider=self._provider,
                model_id=self._model_id,
            )
        if finish:
            self._finish_raw = finish if type(finish) is str else str(finish)
        delta = choice.get("delta")
        if delta is None:
            delta = choice.get("message")
            if delta is None:
                return
        if not isinstance(delta, Mapping):
            raise self._malformed("`delta` of a stream chunk is not an object", chunk)
        content = delta.get("content")
        if content:
            if type(content) is not str:
                raise self._malformed("`delta.content` is not text", chunk)
            self._content.append(content)
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if reasoning and type(reasoning) is str:
            self._reasoning.append(reasoning)
        refusal = delta.get("refusal")
        if refusal and type(refusal) is str:
            self._refusal.append(refusal)
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            if type(tool_calls) is not list:
                raise self._malformed("`delta.tool_calls` is not a list", chunk)
            for call in tool_calls:
                if not isinstance(call, Mapping):
                    raise self._malformed("a tool-call delta is not an object", chunk)
                self._tool_delta(call.get("index"), call.get("id"), call.get("function"))
        else:
            legacy = delta.get("function_call")
            if isinstance(legacy, Mapping):
                self._quirk("legacy_function_call")
                self._tool_delta(0, None, legacy)

    def _tool_delta(self, index: Any, raw_id: Any, function: Any) -> None:
        if not isinstance(function, Mapping):
            function = {}
        name = function.get("name")
        new_id = raw_id if type(raw_id) is str and raw_id else None
        has_index = type(index) is int
        found = (
            self._by_index.get(index) if has_index else (self._calls[-1] if self._calls else None)
        )
        if found is None:
            current = self._start_call(index if has_index else None, collided=False)
        else:
            if new_id is not None:
                # Same id: the provider repeated the call (kimi-k2 on Novita does); another
                # id: a new call that reuses the index (or came without one).
                start = found.id != new_id if found.id is not None else bool(found.name)
            else:
                start = bool(name) and bool(found.name)
            if start:
                current = self._start_call(index if has_index else None, collided=True)
            else:
                current = found
                if not has_index and "missing_index" not in current.quirks:
                    current.quirks = (*current.quirks, "missing_index")
        if new_id is not None and current.id is None:
            current.id = new_id
        elif raw_id == "":
            current.saw_empty_id = True
        if name and not current.name:
            current.name = str(name)
        arguments = function.get("arguments")
        if type(arguments) is str:
            if arguments:
                current.arguments.append(arguments)
        elif arguments is not None:
            current.object_arguments = arguments

    def _start_call(self, index: int | None, *, collided: bool) -> _CallBuilder:
        call = _CallBuilder()
        if collided or index is None:
            call.quirks = ("missing_index",)
        self._calls.append(call)
        if index is not None:
            self._by_index[index] = call
        return call

    def result(self) -> ChatResponse:
        """The assembled answer.

        Raises:
            MalformedResponse: the stream ended before ``[DONE]`` and before any
                finish reason, or carried no chunk at all.
        """
        if not self._done and self._finish_raw is None:
            raise self._malformed("the stream ended early (no finish reason, no [DONE])", None)
        if not self._chunks:
            raise self._malformed("the stream carried no chunk", None)
        quirks = list(self._quirks)
        tool_calls = tuple(self._built_call(i, call) for i, call in enumerate(self._calls))
        finish, finish_quirks = normalize_finish_reason(
            self._finish_raw, has_tool_calls=bool(tool_calls)
        )
        quirks.extend(finish_quirks)
        usage = None if self._usage is None else read_usage(self._usage, quirks)
        return ChatResponse(
            content="".join(self._content) or None,
            tool_calls=tool_calls,
            finish_reason=finish,
            finish_reason_raw=self._finish_raw,
            usage=usage,
            model=self._model,
            response_id=self._response_id,
            served_by=self._served_by,
            reasoning="".join(self._reasoning) or None,
            refusal="".join(self._refusal) or None,
            quirks=tuple(quirks),
            raw=None,
            system_fingerprint=self._fingerprint,
        )

    def _built_call(self, index: int, call: _CallBuilder) -> ToolCall:
        if call.arguments:
            raw: Any = "".join(call.arguments)
        elif call.object_arguments is not None:
            raw = call.object_arguments
        else:
            raw = None
        raw_id = call.id if call.id is not None else ("" if call.saw_empty_id else None)
        return build_tool_call(index, raw_id, call.name, raw, call.quirks)

    def _quirk(self, name: str) -> None:
        if name not in self._quirks:
            self._quirks.append(name)

    def _malformed(self, reason: str, chunk: Any) -> MalformedResponse:
        text = "".join(self._content) if chunk is None else body_text(chunk)
        return MalformedResponse(
            f"{reason}; not a chat-completions stream",
            provider=self._provider,
            model_id=self._model_id,
            body=text,
        )


def parse_sse(text: str, *, provider: str, model_id: str | None) -> ChatResponse:
    """A whole SSE body, assembled (see :class:`StreamAssembler`)."""
    assembler = StreamAssembler(provider, model_id)
    if "\r" in text:
        # JSON cannot hold a raw CR, so every CR is a line ending (CRLF or a lone CR).
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        assembler.feed_line(line)
    return assembler.result()
