"""The Google Gemini format (``generateContent``): a request built, one whole answer read.

:func:`gemini_request` turns the canonical (OpenAI-shaped) :class:`ChatRequest` into
Gemini's native body; :func:`parse_gemini_response` reads a ``GenerateContentResponse``
into the same :class:`ChatResponse` as every other format; :func:`gemini_tool_schemas`
reads the tools of a native request body (a cassette's). The streamed form is
:mod:`clearance.providers.wire.gemini_stream`, which ends in :func:`read_answer` here.

The request, message by message:

- ``system`` (and ``developer``) messages become ``systemInstruction``, in order;
- ``user`` becomes a ``user`` turn (text, and images, audio and files as ``inlineData`` /
  ``fileData``); ``assistant`` a ``model`` turn: its text, then one ``functionCall`` part
  per tool call (``args`` the parsed arguments, ``id`` the call's id). A call built this
  way carries Google's documented stand-in ``thoughtSignature``
  (:data:`SKIP_SIGNATURE`), as gemini-3 refuses a call without one; pydantic-ai sends
  the same when it replays another provider's history
  (``tests/data/realdata/cassettes/anthropic/pydantic-ai/
  test_anthropic_to_google_deferred_capability_history_replay.yaml``);
- an ``assistant`` message carrying :data:`~clearance.providers.types.NATIVE_KEY` with
  protocol ``gemini`` is sent as its native parts, unchanged: ``thoughtSignature`` and
  ``thought: true`` parts go back as Gemini sent them, as it requires;
- ``tool`` messages become ``functionResponse`` parts of a ``user`` turn, consecutive ones
  in one turn. Gemini wants the function's *name*: it is that of the call whose id the
  message's ``tool_call_id`` names (the nearest earlier assistant message that made it).
  The ``id`` is sent only when the call had one of its own (a gemini-3 call, or a call
  built from an OpenAI message), never one clearance made up. The result is sent as
  ``response``: a JSON object as it is; anything else (text that is not JSON, a list, a
  number...) wrapped as ``{"result": value}``, since ``response`` must be an object;
- consecutive turns of one role are merged into one turn (Gemini's turns alternate).

``tools`` become one ``functionDeclarations`` tool, each schema lowered for Gemini
(:func:`~clearance.providers.lowering.lower_parameters`); a tool that is not an OpenAI
function tool and has no ``type`` (``{"googleSearch": {}}``) is passed as a native
Gemini tool. ``tool_choice`` becomes ``toolConfig.functionCallingConfig`` (``AUTO``,
``NONE``, ``ANY``, ``ANY`` with ``allowedFunctionNames`` for a named function);
``temperature`` and ``max_tokens`` go in ``generationConfig``. In ``extra``, OpenAI's
sampling options (``top_p``, ``top_k``, ``seed``, ``stop``, ``presence_penalty``,
``frequency_penalty``, ``max_completion_tokens``, ``n``, ``response_format``) are moved
into ``generationConfig`` under Gemini's names; everything else is merged as a native
field (``generationConfig`` and ``toolConfig`` one level deep, ``extra`` winning).

The answer: the first candidate's parts, in order. ``text`` parts are the content, or
the reasoning when ``thought: true``; ``functionCall`` parts the tool calls (an id made
up, ``call_<responseId>_<index>``, with the quirk ``missing_id``, when the call has none,
as gemini-2.x never sends one; ``args`` missing or ``{}`` read as no arguments, with the
quirk ``empty_arguments``); any other part (``executableCode``, ``codeExecutionResult``,
``inlineData``...) kept and named in the quirk ``unknown_part:<key>``. The parts as
decoded ride along as :class:`~clearance.providers.types.NativeTurn`. Gemini ends a turn
of function calls with ``STOP`` (it has no reason of its own for it): that reads as
``tool_calls`` and, being the protocol's rule, is no quirk. ``usageMetadata``:
``promptTokenCount`` plus ``toolUsePromptTokenCount`` is the prompt,
``cachedContentTokenCount`` the cached part of it, ``candidatesTokenCount`` plus
``thoughtsTokenCount`` the completion (thinking is billed as output), with
``thoughtsTokenCount`` its reasoning part.

One module past 600 lines, on purpose: the request and the answer are the two halves of
one exchange, and what a request sends back (the native parts, an id only when the call
carried one) is decided by how the answer was read; the rules above read as one. The
stream, which ends in :func:`read_answer`, is its own module.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from clearance.errors import InputError, MalformedResponse
from clearance.pricing import Usage
from clearance.providers.base import ChatRequest
from clearance.providers.lowering import lower_parameters
from clearance.providers.types import NATIVE_KEY, ChatResponse, NativeTurn, ToolCall
from clearance.providers.wire import jsonbody
from clearance.providers.wire.failures import body_text, classify_error
from clearance.providers.wire.normalize import (
    build_object_tool_call,
    build_tool_call,
    normalize_finish_reason,
)

__all__ = [
    "SKIP_SIGNATURE",
    "gemini_request",
    "gemini_tool_schemas",
    "is_gemini_error",
    "parse_gemini_response",
    "read_answer",
]

SKIP_SIGNATURE = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="
"""``skip_thought_signature_validator``, base64-encoded (``thoughtSignature`` is bytes):
the stand-in Google documents for a function call Gemini did not generate itself."""

# ---------------------------------------------------------------------------------------------
# The request

_FUNCTION_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}
_GENERATION_OPTIONS = {
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "stop": "stopSequences",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "max_completion_tokens": "maxOutputTokens",
    "n": "candidateCount",
}
_MERGED_FIELDS = ("generationConfig", "toolConfig")
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]+)?(?:;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)


def gemini_request(model_name: str, request: ChatRequest) -> dict[str, Any]:
    """The native body for ``POST .../models/{model_name}:generateContent`` (the model goes
    in the URL, not the body; see the module's docstring for each rule).

    Raises:
        InputError: a message, content part, tool or ``tool_choice`` Gemini cannot take (a
            tool result whose call cannot be found, an unknown role...), named by its place.
    """
    system, contents = _contents(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        tools = _tools(request.tools)
        if tools:
            body["tools"] = tools
    if request.tool_choice is not None:
        body["toolConfig"] = {"functionCallingConfig": _function_calling(request.tool_choice)}
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if config:
        body["generationConfig"] = config
    if request.extra:
        _merge_extra(body, request.extra)
    return body


_Calls = dict[str, tuple[str, bool]]
"""The tool calls made so far: id -> (function name, whether the id is the call's own)."""


def _contents(messages: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    system: list[Any] = []
    contents: list[dict[str, Any]] = []
    calls: _Calls = {}
    for position, message in enumerate(messages):
        role = message.get("role")
        if role == "user":
            content = message.get("content")
            if type(content) is str:  # the common case, without a call
                _append(contents, "user", [{"text": content}])
            else:
                _append(contents, "user", _user_parts(content, position))
        elif role == "assistant":
            _append(contents, "model", _model_parts(message, position, calls))
        elif role == "tool":
            _append(contents, "user", [_function_response(message, position, calls)])
        elif role in ("system", "developer"):
            system.extend(_text_parts(message.get("content"), position))
        else:
            raise InputError(
                f"messages[{position}] has role {role!r}, which Gemini has no turn for",
                fix="use one of system, user, assistant, tool",
            )
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[Any]) -> None:
    if not parts:
        return  # Gemini refuses a turn without parts (an assistant message with nothing)
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _text_parts(content: Any, position: int) -> list[Any]:
    if type(content) is str:
        return [{"text": content}]
    return _user_parts(content, position)


def _user_parts(content: Any, position: int) -> list[Any]:
    if type(content) is str:
        return [{"text": content}]
    if content is None:
        return []
    if not isinstance(content, list):
        raise InputError(
            f"messages[{position}].content is {type(content).__name__}, not text or parts",
            fix="send the content as a string or a list of OpenAI content parts",
        )
    return [_content_part(part, position, index) for index, part in enumerate(content)]


def _content_part(part: Any, position: int, index: int) -> dict[str, Any]:
    where = f"messages[{position}].content[{index}]"
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return {"text": part["text"]}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if isinstance(url, str):
            return _media(url, where)
    elif kind == "input_audio":
        audio = part.get("input_audio")
        if isinstance(audio, Mapping) and isinstance(audio.get("data"), str):
            mime = f"audio/{audio.get('format') or 'wav'}"
            return {"inlineData": {"mimeType": mime, "data": audio["data"]}}
    elif kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, Mapping) else None
        if isinstance(data, str):
            return _media(data, where)
    raise InputError(
        f"{where} is a content part of type {kind!r} that Gemini cannot take as written",
        fix="use text, image_url (a data: or https URL), input_audio or file (file_data)",
    )


def _media(url: str, where: str) -> dict[str, Any]:
    found = _DATA_URL.match(url)
    if found is not None:
        mime = found["mime"] or "application/octet-stream"
        return {"inlineData": {"mimeType": mime, "data": found["data"]}}
    if url.startswith(("https://", "http://", "gs://")):
        file: dict[str, Any] = {"fileUri": url}
        mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
        if mime is not None:
            file["mimeType"] = mime
        return {"fileData": file}
    raise InputError(
        f"{where} names {url[:60]!r}, neither a base64 data: URL nor an http(s) or gs:// URL",
        fix="send the file inline as data:<mime>;base64,<data> or by its URL",
    )


def _model_parts(message: Mapping[str, Any], position: int, calls: _Calls) -> list[Any]:
    tool_calls = message.get("tool_calls") or ()
    native = message.get(NATIVE_KEY)
    native_parts = None
    if native is not None and isinstance(native, Mapping) and native.get("protocol") == "gemini":
        content = native.get("content")
        if isinstance(content, list) and content:
            native_parts = content
    if native_parts is not None:
        sent = [
            part["functionCall"]
            for part in native_parts
            if isinstance(part, Mapping) and isinstance(part.get("functionCall"), Mapping)
        ]
        for made in sent:
            own_id, own_name = made.get("id"), made.get("name")
            if isinstance(own_id, str) and own_id and isinstance(own_name, str):
                calls[own_id] = (own_name, True)
        for index, call in enumerate(tool_calls):
            call_id, name = _call_id_and_name(call, position, index)
            own = index < len(sent) and sent[index].get("id") == call_id
            if not name and index < len(sent):
                name = str(sent[index].get("name") or "")
            calls[call_id] = (name, own)
        return list(native_parts)

    parts: list[Any] = []
    text = message.get("content")
    if type(text) is list:
        text = "".join(
            part.get("text", "")
            for part in text
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    if type(text) is str and text:
        parts.append({"text": text})
    for index, call in enumerate(tool_calls):
        call_id, name = _call_id_and_name(call, position, index)
        function = call.get("function")
        arguments = function.get("arguments") if type(function) is dict else None
        declared: dict[str, Any] = {"name": name, "args": _arguments_object(arguments)}
        if call_id:
            declared["id"] = call_id
        parts.append({"functionCall": declared, "thoughtSignature": SKIP_SIGNATURE})
        calls[call_id] = (name, bool(call_id))
    return parts


def _call_id_and_name(call: Any, position: int, index: int) -> tuple[str, str]:
    if type(call) is not dict and not isinstance(call, Mapping):
        raise InputError(
            f"messages[{position}].tool_calls[{index}] is not an object",
            fix="send each tool call as {id, type: function, function: {name, arguments}}",
        )
    function = call.get("function")
    name = function.get("name") if type(function) is dict or isinstance(function, Mapping) else None
    call_id = call.get("id")
    return (call_id if type(call_id) is str else ""), (name if type(name) is str else "")


def _arguments_object(arguments: Any) -> dict[str, Any]:
    """A call's arguments as the object ``args`` must be (``{}`` when none decode)."""
    if type(arguments) is str:
        value = _loads(arguments)
        return value if type(value) is dict else {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    return {}


def _function_response(message: Mapping[str, Any], position: int, calls: _Calls) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    found = calls.get(call_id) if type(call_id) is str else None
    if found is not None and found[0]:
        name, own_id = found
    else:
        given = message.get("name")
        if not isinstance(given, str) or not given:
            raise InputError(
                f"messages[{position}] (role tool) answers tool_call_id {call_id!r}, which no "
                "earlier assistant message made; Gemini's functionResponse needs the "
                "function's name",
                fix="send the assistant message with that tool call before its result, or "
                "give the tool message the function's `name`",
            )
        name, own_id = given, False
    response: dict[str, Any] = {"name": name, "response": _result_object(message.get("content"))}
    if own_id:
        response["id"] = call_id
    return {"functionResponse": response}


def _result_object(content: Any) -> dict[str, Any]:
    """A tool result as the object ``response`` must be: a JSON object as it is, anything
    else wrapped as ``{"result": value}``."""
    if type(content) is list:
        content = "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    if type(content) is str:
        value = _loads(content)
        if value is not _NOT_JSON:
            content = value
    if type(content) is dict:
        return content
    if isinstance(content, Mapping):
        return dict(content)
    return {"result": content}


_NOT_JSON: Any = object()


def _loads(text: str) -> Any:
    try:
        return jsonbody.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


_DECLARED: dict[bytes, tuple[dict[str, Any], ...]] = {}
_DECLARED_SIZE = 1024


def _tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tools as Gemini declares them, cached by their JSON: a suite sends the same
    tools on every call. The declarations are shared between calls: do not change them."""
    try:
        key = orjson.dumps(tools)
    except TypeError:  # not plain JSON (a caller's own Mapping): built each time
        return _declared(tools)
    found = _DECLARED.get(key)
    if found is None:
        if len(_DECLARED) >= _DECLARED_SIZE:
            _DECLARED.clear()
        found = _DECLARED[key] = tuple(_declared(tools))
    return list(found)


def _declared(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for position, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and tool.get("type", "function") == "function":
            declarations.append(_declaration(function, position))
        elif isinstance(tool, Mapping) and "type" not in tool and tool:
            native.append(dict(tool))  # a Gemini tool as it is (googleSearch, codeExecution)
        else:
            kind = tool.get("type") if isinstance(tool, Mapping) else type(tool).__name__
            raise InputError(
                f"tools[{position}] is a {kind!r} tool, neither an OpenAI function tool nor "
                "a native Gemini tool",
                fix='send {"type": "function", "function": {name, description, parameters}}',
            )
    if declarations:
        return [{"functionDeclarations": declarations}, *native]
    return native


def _declaration(function: Mapping[str, Any], position: int) -> dict[str, Any]:
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(
            f"tools[{position}].function has no name", fix="give every function tool a name"
        )
    declaration: dict[str, Any] = {"name": name}
    description = function.get("description")
    if isinstance(description, str) and description:
        declaration["description"] = description
    parameters = function.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise InputError(
                f"tools[{position}].function.parameters is not a JSON Schema object",
                fix='send parameters as {"type": "object", "properties": {...}}',
            )
        declaration["parameters"] = lower_parameters(parameters, "gemini")
    return declaration


def _function_calling(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str):
        mode = _FUNCTION_MODES.get(choice.lower())
        if mode is not None:
            return {"mode": mode}
    elif isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if isinstance(name, str) and name:
            return {"mode": "ANY", "allowedFunctionNames": [name]}
    raise InputError(
        f"tool_choice {choice!r} has no Gemini functionCallingConfig",
        fix='use "auto", "none", "required" or {"type": "function", "function": {"name": ...}}',
    )


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        target = _GENERATION_OPTIONS.get(key)
        if target is not None:
            if key == "stop" and isinstance(value, str):
                value = [value]
            body.setdefault("generationConfig", {})[target] = value
        elif key == "response_format":
            body.setdefault("generationConfig", {}).update(_response_format(value))
        elif key in _MERGED_FIELDS and isinstance(value, Mapping):
            current = body.get(key)
            body[key] = {**current, **value} if isinstance(current, Mapping) else dict(value)
        else:
            body[key] = value


def _response_format(value: Any) -> dict[str, Any]:
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if isinstance(schema, Mapping):
            return {"responseMimeType": "application/json", "responseJsonSchema": dict(schema)}
    if kind == "text":
        return {"responseMimeType": "text/plain"}
    raise InputError(
        f"response_format {value!r} has no Gemini equivalent",
        fix='use {"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema"}}',
    )


def gemini_tool_schemas(body: Mapping[str, Any]) -> dict[str, Any]:
    """Function name -> parameters schema (JSON Schema), from a native request body's
    ``tools``, for checking the calls that come back.

    Reads every spelling a recorded body uses: ``functionDeclarations`` or
    ``function_declarations``; ``parametersJsonSchema`` or ``parameters_json_schema``
    (JSON Schema, as sent), or ``parameters``, Gemini's OpenAPI subset, read as the JSON
    Schema it stands for (``"type": "STRING"`` as ``"string"``, ``nullable: true`` as a
    type that also allows ``null``), so that a validator can use it; ``tools`` as a
    list, or as one tool object (pydantic-ai's old client). A function declared with no
    schema maps to ``{"type": "object"}``.
    """
    tools = body.get("tools") if isinstance(body, Mapping) else None
    if isinstance(tools, Mapping):
        tools = [tools]
    schemas: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, Mapping):
            continue
        declarations = tool.get("functionDeclarations", tool.get("function_declarations"))
        for declaration in declarations if isinstance(declarations, list) else ():
            if not isinstance(declaration, Mapping) or not isinstance(declaration.get("name"), str):
                continue
            schema: Any = {"type": "object"}
            for key in _SCHEMA_KEYS:
                if isinstance(declaration.get(key), Mapping):
                    schema = declaration[key]
                    if key == "parameters":
                        schema = _as_json_schema(schema)
                    break
            schemas[declaration["name"]] = schema
    return schemas


_SCHEMA_KEYS = ("parametersJsonSchema", "parameters_json_schema", "parameters")
_OPENAPI_TYPES = {
    "STRING": "string",
    "NUMBER": "number",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "ARRAY": "array",
    "OBJECT": "object",
    "NULL": "null",
}


def _as_json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-subset ``Schema`` as the JSON Schema it stands for."""
    if isinstance(schema, list):
        return [_as_json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = _OPENAPI_TYPES.get(value, value)
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _as_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _as_json_schema(value)
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    elif "nullable" in schema:
        out["nullable"] = schema["nullable"]
    return out


# ---------------------------------------------------------------------------------------------
# The answer

_PART_METADATA = frozenset(
    ("thought", "thoughtSignature", "thought_signature", "partMetadata", "videoMetadata")
)
"""Fields of a part that say something about it, not what it is."""
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def is_gemini_error(body: Any) -> bool:
    """Whether a decoded body is an error: ``{"error": ...}``, or Google's one-element list."""
    if type(body) is dict or isinstance(body, Mapping):
        return body.get("error") is not None
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], Mapping):
        return body[0].get("error") is not None
    return False


def parse_gemini_response(
    body: Any, *, provider: str, model_id: str | None, status_code: int = 200
) -> ChatResponse:
    """A ``GenerateContentResponse`` (``generateContent``'s answer), normalized.

    A JSON array of them (``streamGenerateContent`` without ``alt=sse``) is read as the
    stream it is, with the quirk ``response_array``.

    Raises:
        ProviderHTTPError: the body is an error (a subclass picked by
            :func:`classify_error`), an error status or an error inside a 200 answer.
        MalformedResponse: the body is not a ``GenerateContentResponse``.
    """
    if status_code >= 400 or is_gemini_error(body):
        raise classify_error(status_code, body, None, provider=provider, model_id=model_id)
    if isinstance(body, list) and body:
        from clearance.providers.wire.gemini_stream import GeminiStreamAssembler

        assembler = GeminiStreamAssembler(provider, model_id)
        assembler.note("response_array")
        for chunk in body:
            assembler.feed_chunk(chunk)
        return assembler.result()
    if not isinstance(body, Mapping):
        raise malformed("the answer is not a JSON object", body, provider, model_id)
    return read_answer(
        body,
        provider=provider,
        model_id=model_id,
        raw=body if type(body) is dict else dict(body),
        quirks=[],
    )


def read_answer(
    body: Mapping[str, Any],
    *,
    provider: str,
    model_id: str | None,
    raw: dict[str, Any] | None,
    quirks: list[str],
) -> ChatResponse:
    """A whole answer (decoded, or assembled from a stream) read into a ChatResponse.

    ``quirks`` holds those seen before (a stream's); this adds its own to it.
    """
    response_id = _text(body.get("responseId"))
    usage = _usage(body.get("usageMetadata"), quirks)
    model = _text(body.get("modelVersion"))
    candidates = body.get("candidates")
    if not candidates:
        feedback = body.get("promptFeedback")
        blocked = feedback.get("blockReason") if isinstance(feedback, Mapping) else None
        if not blocked:
            raise malformed("the answer has no candidates", body, provider, model_id)
        quirks.append("prompt_blocked")
        return ChatResponse(
            content=None,
            tool_calls=(),
            finish_reason="content_filter",
            finish_reason_raw=str(blocked),
            usage=usage,
            model=model,
            response_id=response_id,
            quirks=tuple(quirks),
            raw=raw,
        )
    if type(candidates) is not list or not _is_object(candidates[0]):
        raise malformed("`candidates` is not a list of objects", body, provider, model_id)
    if len(candidates) > 1:
        quirks.append("multiple_candidates")
    candidate = candidates[0]
    content = candidate.get("content")
    parts = content.get("parts") if _is_object(content) else None
    if parts is None:
        parts = []
    elif type(parts) is not list:
        raise malformed("`candidates[0].content.parts` is not a list", body, provider, model_id)

    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    for part in parts:
        if type(part) is not dict:
            _quirk(quirks, "malformed_part")
            continue
        text = part.get("text")
        if type(text) is str:
            (thoughts if part.get("thought") is True else texts).append(text)
            continue
        call = part.get("functionCall")
        if call is not None and _is_object(call):
            calls.append(_tool_call(len(calls), call, response_id, quirks))
            continue
        if "text" in part or "functionCall" in part:
            _quirk(quirks, "malformed_part")  # a known kind, but not as Gemini writes it
            continue
        kind = next((key for key in part if key not in _PART_METADATA), None)
        if kind is not None:
            _quirk(quirks, f"unknown_part:{kind}")

    finish_raw = candidate.get("finishReason")
    if finish_raw is not None and type(finish_raw) is not str:
        finish_raw = str(finish_raw)
    finish, finish_quirks = normalize_finish_reason(finish_raw, has_tool_calls=bool(calls))
    for name in finish_quirks:
        if name != "stop_with_tool_calls":  # STOP is how Gemini ends every call
            quirks.append(name)
    return ChatResponse(
        content="".join(texts) or None,
        tool_calls=tuple(calls),
        finish_reason=finish,
        finish_reason_raw=finish_raw,
        usage=usage,
        model=model,
        response_id=response_id,
        reasoning="".join(thoughts) or None,
        quirks=tuple(quirks),
        raw=raw,
        native=NativeTurn("gemini", tuple(parts)),
    )


def _tool_call(
    index: int, call: Mapping[str, Any], response_id: str | None, quirks: list[str]
) -> ToolCall:
    if "partialArgs" in call or "willContinue" in call:
        _quirk(quirks, "partial_function_call")  # Vertex's streamed arguments, not read
    raw_id = call.get("id")
    extra: tuple[str, ...] = ()
    if raw_id is None or raw_id == "":
        extra = ("missing_id",) if raw_id is None else ("empty_id",)
        safe = _UNSAFE_ID.sub("", response_id) if response_id else ""
        raw_id = f"call_{safe}_{index}" if safe else f"call_{index}"
    name = call.get("name")
    args = call.get("args")
    if type(args) is dict:
        built = build_object_tool_call(index, raw_id, name, args, extra)
        if args:
            return built
        return ToolCall(index, built.id, built.name, {}, args, (*built.quirks, "empty_arguments"))
    if args is None:
        return build_tool_call(index, raw_id, name, None, extra)
    return build_object_tool_call(index, raw_id, name, args, extra)


def _usage(raw: Any, quirks: list[str]) -> Usage | None:
    """``usageMetadata`` read (see the module's docstring); a count that is no
    non-negative integer is read as 0 (``malformed_usage``), a cached count above the
    prompt clamped to it (``inconsistent_usage``)."""
    if raw is None:
        return None
    if not _is_object(raw):
        _quirk(quirks, "malformed_usage")
        return None
    prompt = _count(raw.get("promptTokenCount"), quirks)
    tool_prompt = _count(raw.get("toolUsePromptTokenCount"), quirks)
    cached = _count(raw.get("cachedContentTokenCount"), quirks)
    output = _count(raw.get("candidatesTokenCount"), quirks)
    thoughts = _count(raw.get("thoughtsTokenCount"), quirks)
    if cached > prompt:
        _quirk(quirks, "inconsistent_usage")
        cached = prompt
    return Usage(
        prompt_tokens=prompt + tool_prompt,
        completion_tokens=output + thoughts,
        cached_tokens=cached,
        reasoning_tokens=thoughts,
    )


def _count(value: Any, quirks: list[str]) -> int:
    if type(value) is int and value >= 0:
        return value
    if value is not None:
        _quirk(quirks, "malformed_usage")
    return 0


def _is_object(value: Any) -> bool:
    """A JSON object (a ``dict`` first: the ABC check costs more on every part)."""
    return type(value) is dict or isinstance(value, Mapping)


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _quirk(quirks: list[str], name: str) -> None:
    if name not in quirks:
        quirks.append(name)


def malformed(reason: str, body: Any, provider: str, model_id: str | None) -> MalformedResponse:
    """The error for a body that is not a Gemini answer (also a stream's)."""
    text = body if isinstance(body, str) else body_text(body)
    return MalformedResponse(
        f"{reason}; not a Gemini GenerateContentResponse",
        provider=provider,
        model_id=model_id,
        body=text,
    )
