"""The Google Gemini format, streamed (``streamGenerateContent?alt=sse``).

Every SSE event is a whole ``GenerateContentResponse`` holding the parts generated
since the last one: text in pieces, a function call always whole (parallel calls in one
chunk or in several), a ``thoughtSignature`` on the part it belongs to (possibly an
empty text part of its own, in the last chunk), ``usageMetadata`` (the last chunk's is
the whole answer's) and the ``finishReason`` in the last chunk. There is no ``[DONE]``.

:class:`GeminiStreamAssembler` joins the parts as a whole answer would hold them and
reads the result as :func:`~clearance.providers.wire.gemini_content.read_answer` reads
one: the same :class:`ChatResponse`, the same
:class:`~clearance.providers.types.NativeTurn`. Joining: a plain text piece (no field
but ``text`` and ``thought``) continues the text part before it when both are thoughts
or both are not; a part carrying a ``thoughtSignature`` starts a part of its own (and
the plain pieces after it continue it), so a signature stays on the part it came with;
an empty plain piece with no text part to continue is dropped (it holds nothing).
:func:`parse_gemini_sse` does the same for a whole SSE body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.errors import MalformedResponse
from clearance.providers.types import ChatResponse
from clearance.providers.wire import jsonbody
from clearance.providers.wire.failures import classify_error
from clearance.providers.wire.gemini_content import is_gemini_error, malformed, read_answer

__all__ = ["GeminiStreamAssembler", "parse_gemini_sse"]

_PLAIN_TEXT = frozenset(("text", "thought"))


class GeminiStreamAssembler:
    """Assembles a streamed Gemini answer, one SSE line (or decoded chunk) at a time.

    An error event (``{"error": {...}}``, also as Google's one-element list) raises its
    typed error from the feed call that carries it.
    """

    __slots__ = (
        "_candidate",
        "_chunks",
        "_feedback",
        "_finish_raw",
        "_model",
        "_model_id",
        "_open",
        "_open_thought",
        "_parts",
        "_provider",
        "_quirks",
        "_response_id",
        "_usage",
        "last_chunk",
    )

    def __init__(self, provider: str, model_id: str | None) -> None:
        self._provider = provider
        self._model_id = model_id
        self._parts: list[Any] = []
        self._open: list[str] | None = None
        """The pieces of the last part's text, still being joined."""
        self._open_thought = False
        self._finish_raw: str | None = None
        self._usage: Any = None
        self._feedback: Any = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._candidate = False
        self._quirks: list[str] = []
        self._chunks = 0
        self.last_chunk: Mapping[str, Any] | None = None
        """The chunk the last feed call took (``None`` when its line held none), for callbacks."""

    def note(self, quirk: str) -> None:
        """Name a quirk of the answer seen outside the stream's lines."""
        if quirk not in self._quirks:
            self._quirks.append(quirk)

    def feed_line(self, line: str) -> None:
        """Take one SSE line (``data: {...}``, a comment, ``event:``, blank).

        Raises:
            ProviderHTTPError: the line carries an error.
            MalformedResponse: a ``data:`` line whose JSON does not decode.
        """
        self.last_chunk = None
        if line.startswith("data:"):
            self._data(line[5:])
            return
        line = line.rstrip("\r\n")
        if not line:
            return
        if line[0] == ":":
            self.note("keepalive_comments")
        elif line[0].isspace():
            self.note("sse_leading_whitespace")
            self.feed_line(line.lstrip())
        elif not line.startswith(("event:", "id:", "retry:")):
            self.note("unknown_sse_line")

    def _data(self, payload: str) -> None:
        payload = payload.strip()
        if not payload or payload == "[DONE]":
            return
        try:
            chunk = jsonbody.loads(payload)  # exact: orjson would float a huge integer
        except (ValueError, RecursionError):
            raise MalformedResponse(
                "a `data:` line of the stream is not valid JSON",
                provider=self._provider,
                model_id=self._model_id,
                body=payload,
            ) from None
        self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Any) -> None:
        """Take one decoded ``GenerateContentResponse``.

        Raises:
            ProviderHTTPError: the chunk is an error.
            MalformedResponse: the chunk is not a ``GenerateContentResponse``.
        """
        if is_gemini_error(chunk):
            raise classify_error(200, chunk, None, provider=self._provider, model_id=self._model_id)
        if not isinstance(chunk, Mapping):
            raise self._malformed("a stream chunk is not a JSON object", chunk)
        self._chunks += 1
        self.last_chunk = chunk
        if self._model is None:
            model = chunk.get("modelVersion")
            if type(model) is str and model:
                self._model = model
        if self._response_id is None:
            response_id = chunk.get("responseId")
            if type(response_id) is str and response_id:
                self._response_id = response_id
        usage = chunk.get("usageMetadata")
        if usage is not None:
            self._usage = usage
        feedback = chunk.get("promptFeedback")
        if feedback is not None:
            self._feedback = feedback
        candidates = chunk.get("candidates")
        if not candidates:
            return
        if type(candidates) is not list:
            raise self._malformed("`candidates` of a stream chunk is not a list", chunk)
        for candidate in candidates:
            if not isinstance(candidate, Mapping):
                raise self._malformed("a candidate of a stream chunk is not an object", chunk)
            if candidate.get("index") not in (0, None):
                self.note("multiple_candidates")
                continue
            self._take(candidate, chunk)

    def _take(self, candidate: Mapping[str, Any], chunk: Mapping[str, Any]) -> None:
        self._candidate = True
        finish = candidate.get("finishReason")
        if finish:
            self._finish_raw = finish if type(finish) is str else str(finish)
        content = candidate.get("content")
        if content is None:
            return
        if not isinstance(content, Mapping):
            raise self._malformed("`content` of a stream chunk is not an object", chunk)
        parts = content.get("parts")
        if parts is None:
            return
        if type(parts) is not list:
            raise self._malformed("`content.parts` of a stream chunk is not a list", chunk)
        for part in parts:
            self._add(part)

    def _add(self, part: Any) -> None:
        text = part.get("text") if type(part) is dict else None
        if type(text) is not str:
            self._close()
            self._parts.append(part)  # a call, a signature, code...: whole, as it came
            return
        thought = part.get("thought") is True
        if part.keys() <= _PLAIN_TEXT:
            if self._open is not None and self._open_thought == thought:
                self._open.append(text)
                return
            if not text:
                return
        self._close()
        self._parts.append(dict(part))  # a copy: the pieces after it are joined into it
        self._open = [text]
        self._open_thought = thought

    def _close(self) -> None:
        if self._open is not None:
            self._parts[-1]["text"] = "".join(self._open)
            self._open = None

    def result(self) -> ChatResponse:
        """The assembled answer.

        Raises:
            MalformedResponse: the stream carried no chunk, or ended before any
                ``finishReason`` (cut short) without its prompt being blocked.
            ProviderHTTPError: never here (an error chunk raises when it is fed).
        """
        self._close()
        if not self._chunks:
            raise self._malformed("the stream carried no chunk", None)
        blocked = isinstance(self._feedback, Mapping) and self._feedback.get("blockReason")
        if self._finish_raw is None and not blocked:
            raise self._malformed("the stream ended early (no finishReason)", None)
        body: dict[str, Any] = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": self._parts},
                    "finishReason": self._finish_raw,
                }
            ]
            if self._candidate
            else [],
            "usageMetadata": self._usage,
            "modelVersion": self._model,
            "responseId": self._response_id,
            "promptFeedback": self._feedback,
        }
        return read_answer(
            body,
            provider=self._provider,
            model_id=self._model_id,
            raw=None,
            quirks=list(self._quirks),
        )

    def _malformed(self, reason: str, chunk: Any) -> MalformedResponse:
        return malformed(
            f"{reason} (streamed)",
            chunk if chunk is not None else self._parts,
            self._provider,
            self._model_id,
        )


def parse_gemini_sse(text: str, *, provider: str, model_id: str | None) -> ChatResponse:
    """A whole SSE body, assembled (see :class:`GeminiStreamAssembler`)."""
    assembler = GeminiStreamAssembler(provider, model_id)
    if "\r" in text:
        # JSON cannot hold a raw CR, so every CR is a line ending (CRLF or a lone CR).
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        assembler.feed_line(line)
    return assembler.result()
