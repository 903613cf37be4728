"""Reading a Gemini ``generateContent`` body into the simulator's request.

The native conversation becomes the simulator's own (OpenAI-shaped) one, so every
behaviour answers the same as on the OpenAI route: ``systemInstruction`` becomes a
system message, a ``model`` turn's ``functionCall`` parts an assistant's
``tool_calls`` (a call without an id gets one made up), each ``functionResponse`` a
``tool`` message answering its call (by id, else the first unanswered call of that
name), and ``thought`` parts are dropped. Fields are read in either spelling the API
takes (``functionDeclarations`` or ``function_declarations``), and lowered schemas
as the JSON Schema they came from (:mod:`clearance.reference.lowered`).

A body the real API would refuse gets its 400 ``INVALID_ARGUMENT``, and so does a
function call sent back with a ``thoughtSignature`` other than the one the simulator
gave it ("Corrupted thought signature."), or, on a 3.x-style model, without one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from clearance.reference.gemini_wire import GeminiDialect, gemini_error
from clearance.reference.lowered import read_lowered
from clearance.reference.names import Generation, find_gemini
from clearance.reference.request import ChatRequest, canonical, tool_specs
from clearance.reference.signing import call_signature, same_signature
from clearance.reference.wire import Reply

__all__ = ["parse_generate_request"]

_MODES = {
    "AUTO": "auto",
    "VALIDATED": "auto",
    "MODE_UNSPECIFIED": "auto",
    "ANY": "required",
    "NONE": "none",
}
_WRAPPERS = frozenset({"result", "output", "return_value", "content", "response"})
"""Keys clients wrap a tool's result in (``{"result": ...}``): read through, so that a
result reads the same as on the OpenAI route."""
_MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _field(value: Any, name: str) -> Any:
    """``value[name]`` in lowerCamelCase or snake_case (the API takes both)."""
    if not isinstance(value, Mapping):
        return None
    if name in value:
        return value[name]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return value.get(snake)


def _tools(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Refused("Invalid value at 'tools': expected a list of Tool")
    tools = []
    for index, tool in enumerate(raw):
        declarations = _field(tool, "functionDeclarations")
        if declarations is None:
            continue  # google search, code execution...: the API's tools, not the model's calls
        if not isinstance(declarations, list):
            raise _Refused(f"Invalid value at 'tools[{index}].function_declarations'")
        for position, declaration in enumerate(declarations):
            name = _field(declaration, "name")
            if not isinstance(name, str) or not name:
                raise _Refused(
                    f"* GenerateContentRequest.tools[{index}].function_declarations[{position}]"
                    ".name: Name cannot be empty.\n"
                )
            schema = _field(declaration, "parametersJsonSchema")
            schema = read_lowered(_field(declaration, "parameters") if schema is None else schema)
            description = _field(declaration, "description")
            function: dict[str, Any] = {
                "name": name,
                "description": description if isinstance(description, str) else "",
            }
            if isinstance(schema, Mapping):
                function["parameters"] = schema
            tools.append({"type": "function", "function": function})
    return tools


def _result(response: Any) -> str:
    """A ``functionResponse.response`` as a tool message's text."""
    if isinstance(response, Mapping) and len(response) == 1:
        ((key, value),) = response.items()
        if key in _WRAPPERS:
            return value if isinstance(value, str) else canonical(value)
    return canonical(response)


def _parts(content: Any, index: int) -> list[Mapping[str, Any]]:
    parts = _field(content, "parts")
    if not isinstance(parts, list) or not parts:
        raise _Refused(
            f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty.\n"
        )
    return [part if isinstance(part, Mapping) else {} for part in parts]


def _turn_start(contents: list[Any]) -> int:
    """Where the current turn starts: after the last user content with more than results."""
    for index in range(len(contents) - 1, -1, -1):
        content = contents[index]
        if _field(content, "role") in (None, "user") and any(
            _field(part, "functionResponse") is None for part in _parts(content, index)
        ):
            return index
    return 0


def _check_signatures(contents: list[Any], generation: Generation) -> None:
    start = _turn_start(contents)
    for index, content in enumerate(contents):
        if _field(content, "role") != "model":
            continue
        first = True
        for position, part in enumerate(_parts(content, index)):
            call = _field(part, "functionCall")
            if not isinstance(call, Mapping):
                continue
            name, arguments = _field(call, "name"), _field(call, "args") or {}
            signature = _field(part, "thoughtSignature")
            if signature is not None:
                if not same_signature(signature, call_signature(str(name), arguments)):
                    raise _Refused("Corrupted thought signature.")
            elif first and generation != "2.5" and index > start:
                raise _Refused(_MISSING_SIGNATURE.format(name=name, position=position + 1))
            first = False


def _conversation(contents: list[Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    pending: list[tuple[str, str]] = []  # (id, name) of calls not answered yet
    for index, content in enumerate(contents):
        parts = _parts(content, index)
        texts = [
            str(_field(part, "text"))
            for part in parts
            if isinstance(_field(part, "text"), str) and not _field(part, "thought")
        ]
        if _field(content, "role") == "model":
            calls = []
            for position, part in enumerate(parts):
                call = _field(part, "functionCall")
                if not isinstance(call, Mapping):
                    continue
                given = _field(call, "id")
                call_id = (
                    given if isinstance(given, str) and given else f"gemini_{index}_{position}"
                )
                name = str(_field(call, "name"))
                pending.append((call_id, name))
                function = {"name": name, "arguments": canonical(_field(call, "args") or {})}
                calls.append({"id": call_id, "type": "function", "function": function})
            said: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) or None}
            messages.append({**said, "tool_calls": calls} if calls else said)
            continue
        answered = False
        for part in parts:
            response = _field(part, "functionResponse")
            if not isinstance(response, Mapping):
                continue
            answered = True
            name, given = str(_field(response, "name")), _field(response, "id")
            match = next((p for p in pending if p[0] == given), None)
            match = match or next((p for p in pending if p[1] == name), None)
            result: dict[str, Any] = {
                "role": "tool",
                "content": _result(_field(response, "response")),
            }
            if match is not None:
                pending.remove(match)
                result["tool_call_id"] = match[0]
            else:
                result["name"] = name
            messages.append(result)
        if texts or not answered:
            messages.append({"role": "user", "content": "\n".join(texts)})
    return messages


def _choice(config: Any, names: set[str]) -> tuple[str, str | None]:
    calling = _field(config, "functionCallingConfig")
    mode = _field(calling, "mode") or "AUTO"
    if mode not in _MODES:
        raise _Refused(f"Invalid value at 'tool_config.function_calling_config.mode' ({mode})")
    allowed = _field(calling, "allowedFunctionNames")
    if mode == "ANY" and isinstance(allowed, list) and len(allowed) == 1 and allowed[0] in names:
        return "function", str(allowed[0])
    return _MODES[mode], None


def parse_generate_request(
    body: Any, model_name: str, *, stream: bool, sse: bool
) -> tuple[ChatRequest, GeminiDialect] | Reply:
    """The simulator's request and the dialect to answer in, or the reply that refuses it.

    Args:
        body: the decoded JSON body.
        model_name: the model named in the path (``ref-3-steady``).
        stream: whether the path was ``:streamGenerateContent``.
        sse: whether the stream was asked as server-sent events (``alt=sse``).
    """
    found = find_gemini(model_name)
    if found is None:
        return GeminiDialect(model_version=model_name).unknown_model(model_name)
    model, generation = found
    try:
        request = _parse(body, model.id, model_name, generation, stream)
    except _Refused as refused:
        return gemini_error(400, refused.message)
    config = _field(body, "generationConfig")
    thoughts = _field(_field(config, "thinkingConfig"), "includeThoughts") is True
    return request, GeminiDialect(model_name, generation, thoughts, sse)


def _parse(
    body: Any, model_id: str, model_name: str, generation: Generation, stream: bool
) -> ChatRequest:
    if not isinstance(body, Mapping):
        raise _Refused("Invalid JSON payload received. Expected an object.")
    contents = _field(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise _Refused("* GenerateContentRequest.contents: contents is not specified\n")
    _check_signatures(contents, generation)
    messages = _conversation(contents)
    system = _field(body, "systemInstruction")
    if system is not None:
        texts = [_field(part, "text") for part in (_field(system, "parts") or [])]
        messages.insert(
            0, {"role": "system", "content": "\n".join(t for t in texts if isinstance(t, str))}
        )
    tools = _tools(_field(body, "tools"))
    choice, forced = _choice(_field(body, "toolConfig"), {t["function"]["name"] for t in tools})
    if choice in ("required", "function") and not tools:
        raise _Refused("Function calling config is set without function_declarations.")
    limit = _field(_field(body, "generationConfig"), "maxOutputTokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise _Refused("Invalid value at 'generation_config.max_output_tokens'")
    size = len(canonical(contents)) + len(canonical(system)) * (system is not None)
    size += len(canonical(_field(body, "tools"))) if tools else 0
    return ChatRequest(
        model=model_id,
        messages=tuple(messages),
        tools=tool_specs(tools),
        choice=choice if tools else "auto",
        forced=forced,
        stream=stream,
        include_usage=True,
        parallel=True,
        max_tokens=limit,
        key=hashlib.sha256(f"gemini\n{model_name}\n{canonical(body)}".encode()).hexdigest(),
        prompt_tokens=max(1, size // 4),
        arguments_as_text=False,
    )
