"""The Anthropic Messages format: the request body, and one whole (non-streaming) answer.

:func:`anthropic_request` turns the canonical request (OpenAI chat messages, function
tools, OpenAI's ``tool_choice``) into the body of ``POST /v1/messages``:

- ``system`` (and ``developer``) messages become the top-level ``system``: the text
  itself for one text message, else a list of text blocks (their ``cache_control``
  kept), in the order they came;
- ``user`` and ``assistant`` turns alternate: consecutive messages of one role are
  merged into one turn, and ``tool`` messages join the user turn that follows the
  assistant's calls, as ``tool_result`` blocks placed first (Anthropic's rule);
- an assistant message's ``tool_calls`` become ``tool_use`` blocks (``input`` the
  decoded arguments); an assistant message that carries its turn as Anthropic sent it
  (:data:`~clearance.providers.types.NATIVE_KEY` with protocol ``anthropic``) is sent
  as those blocks, unchanged (``thinking`` signatures included);
- a ``tool`` message is a ``tool_result`` for its ``tool_call_id``, which must name a
  ``tool_use`` of the assistant turn just before (else :class:`InputError` names the
  message); ``"is_error": true`` on it is sent as ``is_error``;
- content parts: ``text`` parts go as they are, ``image_url`` becomes an ``image``
  block (base64 from a ``data:`` URL, else a URL source), any other non-OpenAI part is
  taken for an Anthropic block and sent unchanged; ``input_audio`` and ``file`` parts
  have no Anthropic form and are refused;
- function tools become ``{name, description, input_schema}`` with the parameters
  lowered by :func:`~clearance.providers.lowering.lower_parameters` (``strict`` kept);
  a tool that is not a function tool (a server tool such as ``web_search_20250305``,
  or one already written as ``{name, input_schema}``) is sent unchanged;
- ``tool_choice``: ``auto``, ``none``, ``required`` (``any``), a named function
  (``{"type": "tool", "name": ...}``), or an Anthropic choice as it is;
- ``max_tokens``, which Anthropic requires, defaults to :data:`DEFAULT_MAX_TOKENS`;
  ``extra`` is merged in last, as Anthropic fields (``thinking``, ``metadata``...),
  except the OpenAI options a caller (or a fallback chain that crosses protocols) may
  pass, which Anthropic would refuse with a 400: ``stop`` becomes ``stop_sequences``,
  ``parallel_tool_calls: false`` becomes ``tool_choice.disable_parallel_tool_use``,
  ``user`` becomes ``metadata.user_id``, ``max_completion_tokens`` is ``max_tokens``;
  sampling hints Anthropic has no field for (``seed``, ``frequency_penalty``,
  ``presence_penalty``, ``logit_bias``, ``logprobs``, ``top_logprobs``, ``n`` of 1,
  ``stream_options``) are left out; ``response_format`` and ``n`` above 1 have no
  Anthropic form and are refused (:data:`OPENAI_OPTIONS`).

:func:`parse_anthropic_message` reads a ``message`` body: ``text`` blocks joined into
the content (adjacent ones, as citations split them, end to end; text after other
blocks, such as a server tool's result, as a new paragraph), ``tool_use`` blocks into
tool calls (ids kept; ``input`` is the arguments), ``thinking`` text into the reasoning
(one paragraph per block); the blocks themselves are kept as the
:class:`~clearance.providers.types.NativeTurn` to send back. Server-side tool blocks
(``server_tool_use``, ``*_tool_result``, ``mcp_tool_use``, ``container_upload``) are
the provider's own work, never client tool calls. Quirks named on the answer:
``redacted_thinking`` (reasoning the provider encrypted: kept, not readable),
``unknown_block:<type>`` (a block type this module does not know, kept in the native
turn), ``malformed_block`` (a block that is not an object with a type),
``unknown_type:<type>`` (a body whose ``type`` is not ``message``), and the usage
quirks ``malformed_usage`` / ``inconsistent_usage``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

from clearance.errors import InputError, MalformedResponse
from clearance.pricing import Usage
from clearance.providers.base import ChatRequest
from clearance.providers.lowering import lower_parameters
from clearance.providers.types import NATIVE_KEY, ChatResponse, NativeTurn, ToolCall
from clearance.providers.wire.failures import body_text, classify_error
from clearance.providers.wire.normalize import (
    build_object_tool_call,
    decode_arguments,
    normalize_finish_reason,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "anthropic_request",
    "anthropic_tool_schemas",
    "parse_anthropic_message",
    "read_anthropic_usage",
]

DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent when the request names none (Anthropic requires one): the most
every Claude model takes (Claude 3 Haiku's output limit), and what pydantic-ai sends.
An answer that needs more ends with ``finish_reason`` ``length``; set
``ChatRequest.max_tokens`` (above any ``thinking.budget_tokens`` in ``extra``)."""

# ---------------------------------------------------------------------------------------------
# The request

_SYSTEM_ROLES = frozenset({"system", "developer"})
_NO_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}
_TOOL_CHOICES: dict[str, dict[str, str]] = {
    "auto": {"type": "auto"},
    "none": {"type": "none"},
    "required": {"type": "any"},
}
_NATIVE_CHOICES = frozenset({"auto", "any", "tool", "none"})
_UNSENDABLE_PARTS = {
    "input_audio": "Anthropic's Messages API takes no audio",
    "file": "send the file as an Anthropic `document` block instead",
}


_NO_IDS: frozenset[str] = frozenset()


class _Turn:
    """One Anthropic message being built from one or more canonical messages.

    It starts from its first message's blocks (a list the turn then owns); the
    containers only some turns need are made when first needed (a request is converted
    on every call, and most turns never need them).
    """

    __slots__ = ("blocks", "plain", "result_ids", "results", "role", "tool_ids")

    def __init__(
        self,
        role: str,
        blocks: list[Any],
        plain: str | None,
        tool_ids: AbstractSet[str] = _NO_IDS,
    ) -> None:
        self.role = role
        self.blocks = blocks
        self.results: list[dict[str, Any]] | None = None
        """``tool_result`` blocks (a user turn): sent before the other blocks."""
        self.plain = plain or None
        """The content as one string, while the turn is one message of plain text."""
        self.tool_ids = tool_ids
        """Ids of the turn's ``tool_use`` blocks (an assistant turn)."""
        self.result_ids: set[str] | None = None

    def add(self, blocks: list[Any], plain: str | None) -> None:
        self.plain = plain if not self.blocks and not self.results and plain else None
        self.blocks.extend(blocks)

    def message(self) -> dict[str, Any]:
        if self.plain is not None:
            return {"role": self.role, "content": self.plain}
        content = self.results + self.blocks if self.results else self.blocks
        return {"role": self.role, "content": content}


def anthropic_request(model_name: str, request: ChatRequest) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages`` for ``request`` (see the module docstring).

    Raises:
        InputError: a message, tool or ``tool_choice`` with no Anthropic form; the
            message names which (``messages[3] (tool)``) and how to fix it.
    """
    system, messages = _messages(request.messages)
    body: dict[str, Any] = {
        "model": model_name,
        "max_tokens": DEFAULT_MAX_TOKENS if request.max_tokens is None else request.max_tokens,
        "messages": messages,
    }
    if system is not None:
        body["system"] = system
    if request.tools:
        body["tools"] = _tools(request.tools)
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stream:
        body["stream"] = True
    if request.extra:
        _merge_extra(body, request.extra)
    return body


OPENAI_OPTIONS = frozenset(
    (
        "stop",
        "parallel_tool_calls",
        "user",
        "max_completion_tokens",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "n",
        "stream_options",
        "response_format",
    )
)
"""OpenAI chat-completions options that :func:`anthropic_request` translates, leaves out
or refuses instead of sending them as Anthropic fields."""
_SAMPLING_HINTS = frozenset(
    (
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "stream_options",
    )
)


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if key not in OPENAI_OPTIONS:
            body[key] = value
        elif key == "stop":
            if value is not None:
                body["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        elif key == "parallel_tool_calls":
            if value is False:
                choice = body.get("tool_choice")
                choice = dict(choice) if isinstance(choice, Mapping) else {"type": "auto"}
                if choice.get("type") != "none":
                    choice["disable_parallel_tool_use"] = True
                    body["tool_choice"] = choice
        elif key == "user":
            if value is not None:
                metadata = body.get("metadata")
                body["metadata"] = {
                    **(metadata if isinstance(metadata, Mapping) else {}),
                    "user_id": value,
                }
        elif key == "max_completion_tokens":
            if value is not None:
                body["max_tokens"] = value
        elif (key == "n" and value in (None, 1)) or key in _SAMPLING_HINTS:
            continue
        else:
            raise InputError(
                f"the OpenAI option {key}={value!r} has no Anthropic Messages form",
                fix=f"leave {key} out of calls that may be served by an Anthropic model "
                "(or give that model's own fields instead)",
            )


def _messages(
    messages: Sequence[Mapping[str, Any]],
) -> tuple[str | list[Any] | None, list[dict[str, Any]]]:
    system: list[Any] = []
    system_plain: str | None = None
    system_count = 0
    turns: list[_Turn] = []
    blocks: list[Any]
    plain: str | None
    for index, message in enumerate(messages):
        if not (type(message) is dict or isinstance(message, Mapping)):
            raise InputError(
                f"messages[{index}] is a {type(message).__name__}, not a message object",
                fix="write each message as {'role': ..., 'content': ...}",
            )
        role = message.get("role")
        if role == "user":
            content = message.get("content")
            if type(content) is str and content:  # the usual case, without the detour
                blocks, plain = [{"type": "text", "text": content}], content
            else:
                blocks, plain = _content(index, "user", content)
                if not blocks:
                    raise _bad(index, "user", "has no content", "give the user message some text")
            if turns and turns[-1].role == "user":
                turns[-1].add(blocks, plain)
            else:
                turns.append(_Turn("user", blocks, plain))
        elif role == "assistant":
            blocks, plain, ids = _assistant(index, message)
            if not blocks:
                continue  # said nothing: Anthropic refuses an empty turn, and it adds nothing
            if turns and turns[-1].role == "assistant":
                turn = turns[-1]
                turn.add(blocks, plain)
                if ids:
                    turn.tool_ids = turn.tool_ids | ids
            else:
                turns.append(_Turn("assistant", blocks, plain, ids))
        elif role == "tool":
            _tool_result(index, message, turns)
        elif role in _SYSTEM_ROLES:
            blocks, plain = _content(index, str(role), message.get("content"))
            for position, block in enumerate(blocks):
                if not (
                    (type(block) is dict or isinstance(block, Mapping))
                    and block.get("type") == "text"
                ):
                    raise _bad(
                        index,
                        str(role),
                        f"content[{position}] is not text",
                        "Anthropic's system prompt takes text only: move the rest to a user "
                        "message",
                    )
            if blocks:
                system_count += 1
                system_plain = plain
                system.extend(blocks)
        else:
            raise InputError(
                f"messages[{index}] has role {role!r}, which the Anthropic Messages API "
                "has no place for",
                fix="use one of system, developer, user, assistant, tool",
            )
    if not turns:
        raise InputError(
            "the request has no user or assistant message; Anthropic needs at least one",
            fix="add a user message",
        )
    if system_count == 1 and system_plain is not None:
        return system_plain, [turn.message() for turn in turns]
    return (system or None), [turn.message() for turn in turns]


def _bad(index: int, role: str, problem: str, fix: str) -> InputError:
    return InputError(
        f"messages[{index}] ({role}) {problem}; the Anthropic Messages API cannot take it",
        fix=fix,
    )


def _content(index: int, role: str, content: Any) -> tuple[list[Any], str | None]:
    """A message's content as Anthropic blocks, and as one string when it was one."""
    if type(content) is str:
        return ([{"type": "text", "text": content}], content) if content else ([], None)
    if content is None:
        return [], None
    if not isinstance(content, list | tuple):
        raise _bad(
            index,
            role,
            f"has content of type {type(content).__name__}",
            "write content as a string or a list of content parts",
        )
    return [_part(index, role, position, part) for position, part in enumerate(content)], None


def _part(index: int, role: str, position: int, part: Any) -> Any:
    kind = part.get("type") if (type(part) is dict or isinstance(part, Mapping)) else None
    if not isinstance(kind, str):
        raise _bad(
            index,
            role,
            f"content[{position}] is not a content part with a type",
            "write each part as {'type': 'text', 'text': ...} (or an Anthropic block)",
        )
    if kind == "text":
        if type(part.get("text")) is not str:
            raise _bad(index, role, f"content[{position}] has no text", "give the part its text")
        return part
    if kind == "image_url":
        return _image(index, role, position, part.get("image_url"))
    unsendable = _UNSENDABLE_PARTS.get(kind)
    if unsendable is not None:
        raise _bad(index, role, f"content[{position}] is an {kind!r} part", unsendable)
    return part  # an Anthropic block (image, document, search_result...), sent as written


def _image(index: int, role: str, position: int, image: Any) -> dict[str, Any]:
    url = image.get("url") if (type(image) is dict or isinstance(image, Mapping)) else image
    if not isinstance(url, str) or not url:
        raise _bad(
            index, role, f"content[{position}] has no image URL", "set image_url.url to the image"
        )
    if not url.startswith("data:"):
        return {"type": "image", "source": {"type": "url", "url": url}}
    header, _, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if encoding != "base64" or not data:
        raise _bad(
            index,
            role,
            f"content[{position}] is a data: URL that is not base64",
            "encode the image as data:<media type>;base64,<data>",
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _assistant(
    index: int, message: Mapping[str, Any]
) -> tuple[list[Any], str | None, AbstractSet[str]]:
    """An assistant message's blocks, its plain text, and the ids of its tool calls."""
    native = message.get(NATIVE_KEY)
    if (
        native is not None
        and (type(native) is dict or isinstance(native, Mapping))
        and native.get("protocol") == "anthropic"
    ):
        content = native.get("content")
        if not isinstance(content, list | tuple):
            raise _bad(
                index,
                "assistant",
                f"carries a native Anthropic turn whose content is a {type(content).__name__}",
                f"set {NATIVE_KEY} from ChatResponse.native.as_message_field(), or drop it",
            )
        native_ids = {
            block["id"]
            for block in content
            if (type(block) is dict or isinstance(block, Mapping))
            and block.get("type") == "tool_use"
            and isinstance(block.get("id"), str)
        }
        return list(content), None, native_ids
    content = message.get("content")
    if type(content) is str:
        blocks, plain = ([{"type": "text", "text": content}], content) if content else ([], None)
    else:
        blocks, plain = _content(index, "assistant", content)
    calls = message.get("tool_calls")
    if not calls:
        return blocks, plain, _NO_IDS
    if not isinstance(calls, list | tuple):
        raise _bad(index, "assistant", "has tool_calls that are not a list", "list the calls")
    ids: set[str] = set()
    for position, call in enumerate(calls):
        block = _tool_use(index, position, call)
        ids.add(block["id"])
        blocks.append(block)
    return blocks, None, ids


def _tool_use(index: int, position: int, call: Any) -> dict[str, Any]:
    function = call.get("function") if (type(call) is dict or isinstance(call, Mapping)) else None
    where = "tool_calls[{}]"
    if not (type(function) is dict or isinstance(function, Mapping)):
        raise _bad(
            index,
            "assistant",
            f"{where.format(position)} is not a function call",
            "write it as {'id': ..., 'type': 'function', 'function': {'name', 'arguments'}}",
        )
    call_id, name = call.get("id"), function.get("name")
    if not isinstance(call_id, str) or not call_id:
        raise _bad(
            index,
            "assistant",
            f"{where.format(position)} has no id",
            "give each call the id its tool message answers (tool_call_id)",
        )
    if not isinstance(name, str) or not name:
        problem = f"{where.format(position)} has no function name"
        raise _bad(index, "assistant", problem, "name the tool called")
    arguments = function.get("arguments")
    if type(arguments) is not dict:
        arguments = decode_arguments(arguments)[0]
        if arguments is None:
            raise _bad(
                index,
                "assistant",
                f"{where.format(position)} has arguments that are not a JSON object",
                "Anthropic's tool_use input is an object: send the arguments as a JSON object "
                "(or leave the call out of the history)",
            )
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def _tool_result(index: int, message: Mapping[str, Any], turns: list[_Turn]) -> None:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise _bad(
            index, "tool", "has no tool_call_id", "set tool_call_id to the id of the call answered"
        )
    if turns and turns[-1].role == "user":
        turn = turns[-1]
        before = turns[-2] if len(turns) > 1 else None
    else:
        before = turns[-1] if turns else None
        turn = _Turn("user", [], None)
    called = before.tool_ids if before is not None else _NO_IDS
    if call_id not in called:
        said = ", ".join(sorted(called)) if called else "no tool"
        raise _bad(
            index,
            "tool",
            f"answers tool_call_id {call_id!r}, which the assistant turn before it did not "
            f"call (it called {said})",
            "send each tool message right after the assistant message whose call it answers",
        )
    if turn.result_ids is not None and call_id in turn.result_ids:
        raise _bad(
            index,
            "tool",
            f"answers tool_call_id {call_id!r} a second time",
            "send one tool message per call",
        )
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
    content = message.get("content")
    if type(content) is str:
        block["content"] = content
    elif isinstance(content, list | tuple):
        block["content"] = [
            _part(index, "tool", position, part) for position, part in enumerate(content)
        ]
    elif content is not None:
        raise _bad(
            index,
            "tool",
            f"has content of type {type(content).__name__}",
            "send the tool's result as a string (json.dumps it) or a list of content parts",
        )
    if message.get("is_error") is True:
        block["is_error"] = True
    if turn is not (turns[-1] if turns else None):
        turns.append(turn)
    turn.plain = None
    results, result_ids = turn.results, turn.result_ids
    if results is None or result_ids is None:
        turn.results, turn.result_ids = [block], {call_id}
    else:
        results.append(block)
        result_ids.add(call_id)


_CONVERTED: dict[bytes, tuple[Any, ...]] = {}
_CONVERTED_SIZE = 1024


def _tools(tools: Sequence[Any]) -> list[Any]:
    """The tools as Anthropic takes them, cached by their JSON: a suite sends the same
    tools on every call. The tool objects are shared between calls: do not change them."""
    try:
        key = orjson.dumps(tools)
    except TypeError:  # not plain JSON (a caller's own Mapping): converted each time
        return [_tool(index, tool) for index, tool in enumerate(tools)]
    found = _CONVERTED.get(key)
    if found is None:
        if len(_CONVERTED) >= _CONVERTED_SIZE:
            _CONVERTED.clear()
        found = _CONVERTED[key] = tuple(_tool(index, tool) for index, tool in enumerate(tools))
    return list(found)


def _tool(index: int, tool: Any) -> Any:
    if not (type(tool) is dict or isinstance(tool, Mapping)):
        raise InputError(
            f"tools[{index}] is a {type(tool).__name__}, not a tool",
            fix="write it as {'type': 'function', 'function': {'name', 'parameters'}}",
        )
    if tool.get("type") != "function":
        return tool  # an Anthropic tool (a server tool, or {name, input_schema}), as written
    function = tool.get("function")
    name = (
        function.get("name") if (type(function) is dict or isinstance(function, Mapping)) else None
    )
    if (
        not (type(function) is dict or isinstance(function, Mapping))
        or not isinstance(name, str)
        or not name
    ):
        raise InputError(
            f"tools[{index}] is a function tool without a function name",
            fix="write it as {'type': 'function', 'function': {'name', 'parameters'}}",
        )
    parameters = function.get("parameters")
    out: dict[str, Any] = {"name": name}
    description = function.get("description")
    if description is not None:
        out["description"] = description
    out["input_schema"] = lower_parameters(
        parameters
        if (type(parameters) is dict or isinstance(parameters, Mapping))
        else _NO_PARAMETERS,
        "anthropic",
    )
    strict = function.get("strict")
    if strict is not None:
        out["strict"] = strict
    return out


def _tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str):
        found = _TOOL_CHOICES.get(choice)
        if found is not None:
            return dict(found)
    elif type(choice) is dict or isinstance(choice, Mapping):
        kind = choice.get("type")
        function = choice.get("function")
        if kind == "function" and (type(function) is dict or isinstance(function, Mapping)):
            name = function.get("name")
            if isinstance(name, str) and name:
                return {"type": "tool", "name": name}
        elif kind in _NATIVE_CHOICES:
            return dict(choice)
    raise InputError(
        f"tool_choice {choice!r} has no Anthropic form",
        fix="use 'auto', 'none', 'required' or {'type': 'function', 'function': {'name': ...}}",
    )


def anthropic_tool_schemas(body: Mapping[str, Any]) -> dict[str, Any]:
    """Tool name to its ``input_schema``, from a native request body (for the audit of a
    recorded request). Server tools, which have no ``input_schema``, are left out."""
    schemas: dict[str, Any] = {}
    tools = body.get("tools")
    if not isinstance(tools, list | tuple):
        return schemas
    for tool in tools:
        if not (type(tool) is dict or isinstance(tool, Mapping)):
            continue
        name, schema = tool.get("name"), tool.get("input_schema")
        if isinstance(name, str) and (type(schema) is dict or isinstance(schema, Mapping)):
            schemas[name] = schema
    return schemas


# ---------------------------------------------------------------------------------------------
# The answer

_SERVER_BLOCKS = frozenset(
    {"server_tool_use", "mcp_tool_use", "mcp_tool_result", "container_upload"}
)


def _is_server_block(kind: str) -> bool:
    """Whether a block type is the provider's own tool work (never a client tool call)."""
    return kind in _SERVER_BLOCKS or kind.endswith("_tool_result")


_PARAGRAPH = "\n\n"


def parse_anthropic_message(
    body: Mapping[str, Any], *, provider: str, model_id: str | None, status_code: int = 200
) -> ChatResponse:
    """A non-streaming Messages answer, normalized (see the module docstring).

    Raises:
        ProviderHTTPError: the body is an error (``"type": "error"``, also inside a 200
            answer), the subclass picked by :func:`classify_error`.
        MalformedResponse: the body is not a message (no ``content`` list).
    """
    if status_code >= 400 or (
        (type(body) is dict or isinstance(body, Mapping))
        and (body.get("type") == "error" or body.get("error"))
    ):
        raise classify_error(status_code, body, None, provider=provider, model_id=model_id)
    if not (type(body) is dict or isinstance(body, Mapping)):
        raise _malformed("the answer is not a JSON object", body, provider, model_id)
    content = body.get("content")
    if type(content) is not list:
        raise _malformed("the answer has no `content` list", body, provider, model_id)
    quirks: list[str] = []
    kind = body.get("type")
    if kind is not None and kind != "message":
        quirks.append(f"unknown_type:{kind}")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    after_text = False  # the last block was text: the next text continues it
    for block in content:
        block_type = (
            block.get("type") if (type(block) is dict or isinstance(block, Mapping)) else None
        )
        if block_type == "text":
            text = block.get("text")
            if type(text) is str:
                if texts and not after_text:
                    texts.append(_PARAGRAPH)
                texts.append(text)
                after_text = True
            else:
                _quirk(quirks, "malformed_block")
            continue
        after_text = False
        if block_type == "tool_use":
            calls.append(
                build_object_tool_call(
                    len(calls), block.get("id"), block.get("name"), block.get("input")
                )
            )
        elif block_type == "thinking":
            thought = block.get("thinking")
            if type(thought) is str and thought:
                thoughts.append(thought)
        elif block_type == "redacted_thinking":
            _quirk(quirks, "redacted_thinking")
        elif type(block_type) is not str or not block_type:
            _quirk(quirks, "malformed_block")
        elif not _is_server_block(block_type):
            _quirk(quirks, f"unknown_block:{block_type}")
    finish_raw = body.get("stop_reason")
    if finish_raw is not None and type(finish_raw) is not str:
        finish_raw = str(finish_raw)
    finish, finish_quirks = normalize_finish_reason(finish_raw, has_tool_calls=bool(calls))
    quirks.extend(finish_quirks)
    raw_usage = body.get("usage")
    usage = None if raw_usage is None else read_anthropic_usage(raw_usage, quirks)
    model, response_id = body.get("model"), body.get("id")
    return ChatResponse(
        content="".join(texts) or None,
        tool_calls=tuple(calls),
        finish_reason=finish,
        finish_reason_raw=finish_raw,
        usage=usage,
        model=model if type(model) is str and model else None,
        response_id=response_id if type(response_id) is str and response_id else None,
        reasoning=_PARAGRAPH.join(thoughts) or None,
        quirks=tuple(quirks),
        raw=body if type(body) is dict else dict(body),
        native=NativeTurn("anthropic", tuple(content)),
    )


def _quirk(quirks: list[str], name: str) -> None:
    if name not in quirks:
        quirks.append(name)


def _malformed(reason: str, body: Any, provider: str, model_id: str | None) -> MalformedResponse:
    text = body if isinstance(body, str) else body_text(body)
    return MalformedResponse(
        f"{reason}; not an Anthropic message", provider=provider, model_id=model_id, body=text
    )


def read_anthropic_usage(raw: Any, quirks: list[str]) -> Usage | None:
    """Anthropic's ``usage`` as a :class:`Usage`.

    Anthropic's ``input_tokens`` leaves out the tokens read from and written to the
    prompt cache, so ``prompt_tokens`` is the sum of the three, with
    ``cache_read_input_tokens`` as ``cached_tokens`` and ``cache_creation_input_tokens``
    (or, without it, the sum of the nested ``cache_creation`` object) as
    ``cache_write_tokens``; ``output_tokens`` is ``completion_tokens``,
    ``output_tokens_details.thinking_tokens`` the reasoning part of it, and
    ``server_tool_use.web_search_requests`` the billed web searches. A count that is
    not a non-negative integer is read as 0 (quirk ``malformed_usage``); thinking tokens
    above the output are clamped (``inconsistent_usage``).
    """
    if not (type(raw) is dict or isinstance(raw, Mapping)):
        quirks.append("malformed_usage")
        return None
    bad: list[bool] = []
    fresh = _count(raw.get("input_tokens"), bad)
    read = _count(raw.get("cache_read_input_tokens"), bad)
    written_raw = raw.get("cache_creation_input_tokens")
    if written_raw is None:
        nested = raw.get("cache_creation")
        written = (
            sum(_count(value, bad) for value in nested.values())
            if (type(nested) is dict or isinstance(nested, Mapping))
            else 0
        )
    else:
        written = _count(written_raw, bad)
    output = _count(raw.get("output_tokens"), bad)
    details = raw.get("output_tokens_details")
    thinking = (
        _count(details.get("thinking_tokens"), bad)
        if (type(details) is dict or isinstance(details, Mapping))
        else 0
    )
    server = raw.get("server_tool_use")
    searches = (
        _count(server.get("web_search_requests"), bad)
        if (type(server) is dict or isinstance(server, Mapping))
        else 0
    )
    if bad:
        quirks.append("malformed_usage")
    if thinking > output:
        quirks.append("inconsistent_usage")
        thinking = output
    return Usage(
        prompt_tokens=fresh + read + written,
        completion_tokens=output,
        cached_tokens=read,
        cache_write_tokens=written,
        reasoning_tokens=thinking,
        web_searches=searches,
    )


def _count(value: Any, bad: list[bool]) -> int:
    if value is None:
        return 0
    if type(value) is int and value >= 0:
        return value
    bad.append(True)
    return 0
