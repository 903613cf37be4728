"""What the simulator sends on the Gemini protocol: responses, streams, errors, models.

The shapes follow recordings of the real API (``generativelanguage.googleapis.com/v1beta``):
a ``GenerateContentResponse`` with one candidate whose ``content.parts`` hold text,
``thought: true`` parts (when thoughts were asked for) and ``functionCall`` parts (with
an ``id`` on a 3.x-style model, none on a 2.x-style one), a ``thoughtSignature`` on the
first function-call part, ``finishReason`` ``STOP`` (also after function calls) or
``MAX_TOKENS``, ``usageMetadata`` with ``thoughtsTokenCount``, ``modelVersion`` and
``responseId``. ``:streamGenerateContent?alt=sse`` sends whole responses as
``data:`` events ending in CRLF CRLF, each with the usage so far, calls always whole;
without ``alt=sse`` the same responses come as one JSON array. Errors are
``{"error": {"code", "message", "status"}}`` (``RESOURCE_EXHAUSTED`` with a
``RetryInfo`` detail, ``UNAVAILABLE``, ``INVALID_ARGUMENT``, ``NOT_FOUND``...).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from clearance.reference.answers import thinking_text
from clearance.reference.catalog import REFERENCE_MODELS, ReferenceModel
from clearance.reference.names import GEMINI_GENERATIONS, Generation, gemini_name
from clearance.reference.request import ChatRequest
from clearance.reference.signing import call_signature
from clearance.reference.wire import Answer, Reply, dumps, pieces

__all__ = [
    "GeminiDialect",
    "gemini_error",
    "gemini_model_entry",
    "gemini_models_document",
    "response_body",
]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",  # no billing status of its own: Google's "enable billing" one
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""Google's canonical status name for each HTTP status."""

_FINISH = {"length": "MAX_TOKENS"}


def gemini_error(status: int, message: str, *, retry_after_s: int | None = None) -> Reply:
    """A Google API error reply; with ``retry_after_s``, a ``RetryInfo`` detail says when
    to try again (the real API sends no ``Retry-After`` header)."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if retry_after_s is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after_s}s"}
        ]
    return Reply.json(status, {"error": error})


def _call_id(call_id: str) -> str:
    """An 8-character id, as 3.x models give (``dv8szvqe``)."""
    _, prefix, index = call_id.split("_", 2)
    return f"{prefix[:6]}{int(index):02d}"


@dataclass(frozen=True, slots=True)
class GeminiDialect:
    """The Gemini dialect of one request."""

    model_version: str
    """The model name the request used (``ref-3-steady``), echoed as ``modelVersion``."""
    generation: Generation = "2.5"
    """2.x-style: function calls carry no id; 3.x-style: they do."""
    thoughts: bool = False
    """Whether the request asked for thoughts (``thinkingConfig.includeThoughts``)."""
    sse: bool = True
    """For a stream: server-sent events (``alt=sse``), or else one JSON array."""

    def parts(self, answer: Answer) -> list[dict[str, Any]]:
        """The candidate's parts: a thought (when asked for), text, function calls."""
        parts: list[dict[str, Any]] = []
        if self.thoughts:
            parts.append({"text": thinking_text(answer), "thought": True})
        if answer.content:
            parts.append({"text": answer.content})
        for index, call in enumerate(answer.tool_calls):
            arguments = json.loads(call.arguments) if call.arguments else {}
            function: dict[str, Any] = {"name": call.name, "args": arguments}
            if self.generation != "2.5":
                function["id"] = _call_id(call.id)
            part: dict[str, Any] = {"functionCall": function}
            if index == 0:
                part["thoughtSignature"] = call_signature(call.name, arguments)
            parts.append(part)
        return parts

    def _usage(self, request: ChatRequest, answer: Answer, candidates: int) -> dict[str, Any]:
        thoughts = max(1, len(thinking_text(answer)) // 4)
        return {
            "promptTokenCount": request.prompt_tokens,
            "candidatesTokenCount": candidates,
            "totalTokenCount": request.prompt_tokens + candidates + thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": request.prompt_tokens}],
            "thoughtsTokenCount": thoughts,
        }

    def _response(
        self,
        parts: list[dict[str, Any]],
        tag: str,
        usage: dict[str, Any],
        finish: str | None,
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if finish is not None:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": self.model_version,
            "responseId": _response_id(tag),
        }

    def success(self, request: ChatRequest, answer: Answer, tag: str) -> Reply:
        """A ``GenerateContentResponse``, or its stream."""
        if request.stream:
            return self._stream(stream_responses(self, request, answer, tag))
        return Reply.json(200, response_body(self, request, answer, tag))

    def _stream(self, responses: list[dict[str, Any]]) -> Reply:
        if self.sse:
            events = tuple(b"data: " + dumps(response) + b"\r\n\r\n" for response in responses)
            return Reply(200, content_type="text/event-stream", events=events)
        return Reply(200, b"[" + b",\r\n".join(dumps(r) for r in responses) + b"]")

    def failure(self, status: int, message: str, *, retry_after_s: int) -> Reply:
        """Google's error body (``RetryInfo`` on a 429)."""
        return gemini_error(status, message, retry_after_s=retry_after_s if status == 429 else None)

    def unknown_model(self, name: str) -> Reply:
        """404 ``NOT_FOUND``, worded as the real API words it."""
        return gemini_error(
            404,
            f"models/{name} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ModelService.ListModels to see the list of available "
            "models and their supported methods.",
        )

    def too_long(self, prompt_tokens: int, limit: int) -> Reply:
        """400 ``INVALID_ARGUMENT``: the input is over the window."""
        return gemini_error(
            400,
            f"The input token count ({prompt_tokens}) exceeds the maximum number of tokens "
            f"allowed ({limit}).",
        )

    def broken(self, request: ChatRequest, tag: str, first: str | None, message: str) -> Reply:
        """An error body in a 200 answer, or an error event after the first text."""
        error = json.loads(gemini_error(503, message).body)
        if not request.stream:
            return Reply.json(200, error)
        responses: list[dict[str, Any]] = []
        if first is not None:
            usage = {
                "promptTokenCount": request.prompt_tokens,
                "totalTokenCount": request.prompt_tokens,
            }
            responses.append(self._response([{"text": first}], tag, usage, None))
        responses.append(error)
        return self._stream(responses)


def _response_id(tag: str) -> str:
    """A 22-character id, as the real API gives (``QUVVadTSNJ6_qtsPvN7J8Q0``)."""
    return base64.urlsafe_b64encode(bytes.fromhex(tag[:32])).decode()[:22]


def response_body(
    dialect: GeminiDialect, request: ChatRequest, answer: Answer, tag: str
) -> dict[str, Any]:
    """A ``GenerateContentResponse``."""
    usage = dialect._usage(request, answer, answer.completion_tokens)
    finish = _FINISH.get(answer.finish_reason, "STOP")
    return dialect._response(dialect.parts(answer), tag, usage, finish)


def stream_responses(
    dialect: GeminiDialect, request: ChatRequest, answer: Answer, tag: str
) -> list[dict[str, Any]]:
    """The answer as streamed responses: the thought, text four words a chunk, the calls
    whole in one chunk, then an empty text with the finish reason; each with the usage
    so far."""
    parts = dialect.parts(answer)
    chunks: list[list[dict[str, Any]]] = []
    calls = [part for part in parts if "functionCall" in part]
    for part in parts:
        if "functionCall" in part:
            continue
        if part.get("thought"):
            chunks.append([part])
        else:
            chunks.extend([{"text": piece}] for piece in pieces(part["text"]))
    if calls:
        chunks.append(calls)
    responses = []
    said = 0
    for chunk in chunks:
        said += sum(len(p.get("text", "")) for p in chunk if not p.get("thought"))
        said += sum(len(json.dumps(p["functionCall"])) for p in chunk if "functionCall" in p)
        usage = dialect._usage(request, answer, min(answer.completion_tokens, max(1, said // 4)))
        responses.append(dialect._response(chunk, tag, usage, None))
    usage = dialect._usage(request, answer, answer.completion_tokens)
    finish = _FINISH.get(answer.finish_reason, "STOP")
    responses.append(dialect._response([{"text": ""}], tag, usage, finish))
    return responses


def gemini_model_entry(model: ReferenceModel, generation: Generation) -> dict[str, Any]:
    """One model as ``GET /v1beta/models`` lists it (its description says it is a simulator)."""
    name = gemini_name(model, generation)
    ids = "with ids" if generation != "2.5" else "without ids"
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": f"Reference simulator: {model.id.removeprefix('ref/')} "
        f"({generation}-style, not a real model)",
        "description": (
            "SIMULATOR, not a real model: clearance's reference provider answers with a "
            f"deterministic program, for demos and tests; function calls {ids}. {model.summary}"
        ),
        "inputTokenLimit": model.context_length,
        "outputTokenLimit": 4_096,
        "supportedGenerationMethods": ["generateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


def gemini_models_document() -> dict[str, Any]:
    """``GET /v1beta/models``: every simulated model in each generation's style."""
    models = [
        gemini_model_entry(model, generation)
        for model in REFERENCE_MODELS
        for generation in GEMINI_GENERATIONS
    ]
    return {"models": models, "simulator": True}
