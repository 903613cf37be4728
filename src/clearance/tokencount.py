"""Token counts estimated from text, for answers that report no usage.

A provider usually says what a call used (``usage``); some answers do not: an
OpenAI stream sent without ``stream_options.include_usage``, a proxy that drops
the field, a server that sends zeros. Such a call was still billed, so instead of
logging it at $0 the router prices an estimate (:func:`billable_usage`), marked
``Usage.estimated`` and ``pricing_source="estimated"``.

The rule (no tokenizer: the models behind one router use many):

* text is measured in UTF-8 bytes, and every started :data:`BYTES_PER_TOKEN`
  (3) bytes count as one token. English runs at about 4 bytes a token on
  current BPE tokenizers and JSON at about 3, so this leans high; CJK text (3
  bytes a character) reads as about one token per character.
* prompt: the text of every message (string content, the ``text`` of content
  parts, ``name``, the name and arguments of earlier tool calls), the tool
  schemas and a ``response_format`` as compact JSON, plus
  :data:`MESSAGE_OVERHEAD` tokens a message and :data:`REQUEST_OVERHEAD` a
  request (the chat template's role markers).
* completion: the answer's content, reasoning and refusal text, each tool call's
  name and raw arguments, plus :data:`TOOL_CALL_OVERHEAD` tokens a tool call and
  :data:`ANSWER_OVERHEAD` for the end of the answer. Reasoning text, when the
  provider returns it, is also counted as ``reasoning_tokens``.

Expected error, measured on the 58 real answers with usage in
``tests/data/realdata`` (12 providers; ``tests/test_tokencount.py`` keeps it so):
for the 32 from OpenAI models the prompt estimate is 0.85-2.1x the billed count
(median 1.5x) and the completion estimate 0.67-2.0x (median 1.2x); over all 58
the medians are 1.25x (prompt) and 1.1x (completion). It runs low where the
provider bills tokens the request does not show: a hidden tool-use system prompt
(Anthropic models, about 450 tokens; Llama 4 on Groq or Hugging Face, 500-650),
down to 0.1x of the prompt, and hidden reasoning (Gemini 2.5 Pro, o-series), down
to 0.2x of the completion. Images, audio and files are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clearance.pricing import Usage
from clearance.providers.base import ChatRequest
from clearance.providers.types import ChatResponse

__all__ = [
    "ANSWER_OVERHEAD",
    "BYTES_PER_TOKEN",
    "MESSAGE_OVERHEAD",
    "REQUEST_OVERHEAD",
    "TOOL_CALL_OVERHEAD",
    "billable_usage",
    "estimate_tokens",
    "estimate_usage",
]

BYTES_PER_TOKEN = 3
"""UTF-8 bytes per estimated token (every started group counts)."""
MESSAGE_OVERHEAD = 4
"""Tokens added per prompt message (role markers of the chat template)."""
REQUEST_OVERHEAD = 3
"""Tokens added per request (the assistant turn the answer starts)."""
TOOL_CALL_OVERHEAD = 8
"""Tokens added per tool call in the answer (the call's framing)."""
ANSWER_OVERHEAD = 1
"""Tokens added per answer (its end-of-turn token): an answer is never 0 tokens."""


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by the module's rule: every started 3 UTF-8 bytes is one."""
    return _tokens(_size(text))


def estimate_usage(request: ChatRequest, response: ChatResponse) -> Usage:
    """The usage of a call estimated from its request and answer text (``estimated=True``).

    The rule and its measured error are in the module docstring. The prompt estimate
    never decreases when text is added to the request and is at least
    :data:`REQUEST_OVERHEAD`; the completion estimate is at least :data:`ANSWER_OVERHEAD`.
    """
    size = 0
    for message in request.messages:
        size += _message_size(message)
    if request.tools:
        size += _json_size(list(request.tools))
    response_format = request.extra.get("response_format")
    if response_format is not None:
        size += _json_size(response_format)
    prompt = _tokens(size) + MESSAGE_OVERHEAD * len(request.messages) + REQUEST_OVERHEAD
    reasoning = _size(response.reasoning or "")
    answer = _size(response.content or "") + reasoning + _size(response.refusal or "")
    for call in response.tool_calls:
        answer += _size(call.name) + _arguments_size(call.raw_arguments)
    completion = _tokens(answer) + TOOL_CALL_OVERHEAD * len(response.tool_calls) + ANSWER_OVERHEAD
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        reasoning_tokens=_tokens(reasoning),
        estimated=True,
    )


def billable_usage(request: ChatRequest, response: ChatResponse) -> Usage:
    """The usage to bill: the provider's, or an estimate when it reported none.

    An answer reports none when it has no ``usage`` (or one that is not an object), or
    one that counts no token and no cost: a served call used tokens, so zeros are a
    missing figure, not a free call.
    """
    usage = response.usage
    if usage is not None and (
        usage.prompt_tokens or usage.completion_tokens or usage.reported_cost is not None
    ):
        return usage
    return estimate_usage(request, response)


def _tokens(size: int) -> int:
    return -(-size // BYTES_PER_TOKEN)


def _size(text: str) -> int:
    """UTF-8 bytes of ``text`` (a lone surrogate counts as the 3 bytes it would take)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _json_size(value: Any) -> int:
    """UTF-8 bytes of ``value`` as compact JSON."""
    return _size(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def _arguments_size(raw: Any) -> int:
    if raw is None:
        return 0
    if isinstance(raw, str):
        return _size(raw)
    return _json_size(raw)


def _message_size(message: Mapping[str, Any]) -> int:
    size = _content_size(message.get("content"))
    name = message.get("name")
    if isinstance(name, str):
        size += _size(name)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                call_name = function.get("name")
                if isinstance(call_name, str):
                    size += _size(call_name)
                size += _arguments_size(function.get("arguments"))
    return size


def _content_size(content: Any) -> int:
    """Text bytes of a message's content: a string, or the ``text`` of its parts."""
    if isinstance(content, str):
        return _size(content)
    if not isinstance(content, list):
        return 0
    size = 0
    for part in content:
        if isinstance(part, str):
            size += _size(part)
        elif isinstance(part, Mapping):
            text = part.get("text")
            if isinstance(text, str):
                size += _size(text)
    return size
