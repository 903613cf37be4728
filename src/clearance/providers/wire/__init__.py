"""Wire formats: provider answers parsed and normalized into :class:`ChatResponse`.

Pure functions over decoded bodies and SSE lines: no I/O (the clock is read
only to turn an HTTP-date ``Retry-After`` into seconds). They sit on every
model call's path, so the common case (a well-formed answer) takes the
shortest route and the repairs run only when something is off.

Layout: what every format shares sits in modules named for the concept, and
each format has its own modules, prefixed with the format's name:

- :mod:`~clearance.providers.wire.normalize`: finish reasons and tool calls
  (argument decoding included), normalized the same way whatever the format;
- :mod:`~clearance.providers.wire.failures`: an error answer classified into
  its typed :class:`~clearance.errors.ProviderHTTPError`, with ``Retry-After``
  read and secrets redacted;
- :mod:`~clearance.providers.wire.openai_completion`: the OpenAI
  chat-completions format, one whole answer (:func:`parse_completion`, usage);
- :mod:`~clearance.providers.wire.openai_stream`: the same format streamed
  (:class:`StreamAssembler`, :func:`parse_sse`);
- :mod:`~clearance.providers.wire.anthropic_messages`: the Anthropic Messages
  format, the request body written from the canonical (OpenAI-shaped) request
  (:func:`anthropic_request`, :func:`anthropic_tool_schemas`) and one whole answer
  (:func:`parse_anthropic_message`);
- :mod:`~clearance.providers.wire.anthropic_stream`: the same format streamed
  (:class:`AnthropicStreamAssembler`, :func:`parse_anthropic_sse`).

Flat ``<format>_<concept>`` modules rather than one sub-package per format
(``wire/openai/``): a format is two modules (whole answer, stream), too few
for a package of its own, and ``wire.openai`` would read like
:mod:`clearance.providers.openai`, the httpx provider that calls these
functions. A native format writes its request body too (the OpenAI one is
the canonical request itself), and reuses :mod:`normalize` and :mod:`failures`,
which know every format's finish reasons and error bodies. The names below are
the package's API: import them from here.

Every repair or oddity is named in a ``quirks`` tuple, never dropped silently:

- on a :class:`ToolCall`: ``empty_arguments`` (``""`` or none at all, read as
  ``{}``), ``object_arguments`` (an object where a JSON string belongs),
  ``double_encoded`` (a JSON string holding the JSON object), ``truncated_json``
  (a cut-off prefix of JSON), ``invalid_json``, ``non_object_arguments`` (a list,
  a number...), ``non_finite_number`` (``NaN`` / ``Infinity`` literals, kept as
  floats), ``missing_id`` / ``empty_id`` (``call_<index>`` made up),
  ``non_string_id``, ``missing_name``, ``missing_index`` (a streamed call that
  came without its own ``index``, or that reused the index of another call),
  ``string_arguments`` (a JSON string where a format sends an object, such as
  Anthropic's ``tool_use.input``);
- on a :class:`ChatResponse`: ``stop_with_tool_calls``,
  ``missing_finish_reason``, ``tool_calls_without_calls``, ``keepalive_comments``
  (SSE comment lines such as ``: OPENROUTER PROCESSING``),
  ``sse_leading_whitespace``, ``unknown_sse_line``, ``data_after_done``,
  ``multiple_choices`` (only the first is read), ``content_parts`` (content sent
  as a list of parts), ``legacy_function_call``, ``malformed_usage`` and
  ``inconsistent_usage`` (a usage object that :meth:`Usage.from_openai` refuses,
  repaired by clamping each part to its whole); Anthropic answers add
  ``redacted_thinking``, ``unknown_block:<type>``, ``malformed_block``,
  ``unknown_type:<type>``, and in a stream ``unknown_event:<type>``,
  ``unknown_delta:<type>`` and ``orphan_delta`` (see their modules); Gemini answers
  add ``unknown_part:<key>`` (a part other than text or a function call, kept in the
  native turn), ``malformed_part``, ``prompt_blocked`` (``promptFeedback.blockReason``),
  ``multiple_candidates``, ``partial_function_call`` and ``response_array`` (see
  :mod:`~clearance.providers.wire.gemini_content`).

An error answer is never returned as a clean stop: an error body, also inside
an HTTP 200 answer, on a choice or as a stream chunk, raises the
:class:`~clearance.errors.ProviderHTTPError` subclass :func:`classify_error`
picks; a body that is not a chat completion raises
:class:`~clearance.errors.MalformedResponse`.
"""

from clearance.providers.wire.anthropic_messages import (
    anthropic_request,
    anthropic_tool_schemas,
    parse_anthropic_message,
)
from clearance.providers.wire.anthropic_stream import AnthropicStreamAssembler, parse_anthropic_sse
from clearance.providers.wire.failures import classify_error
from clearance.providers.wire.gemini_content import (
    gemini_request,
    gemini_tool_schemas,
    parse_gemini_response,
)
from clearance.providers.wire.gemini_stream import GeminiStreamAssembler, parse_gemini_sse
from clearance.providers.wire.normalize import normalize_finish_reason, normalize_tool_call
from clearance.providers.wire.openai_completion import parse_completion
from clearance.providers.wire.openai_stream import StreamAssembler, parse_sse

__all__ = [
    "AnthropicStreamAssembler",
    "GeminiStreamAssembler",
    "StreamAssembler",
    "anthropic_request",
    "anthropic_tool_schemas",
    "classify_error",
    "gemini_request",
    "gemini_tool_schemas",
    "normalize_finish_reason",
    "normalize_tool_call",
    "parse_anthropic_message",
    "parse_anthropic_sse",
    "parse_completion",
    "parse_gemini_response",
    "parse_gemini_sse",
    "parse_sse",
]
