"""Audit recorded third-party traffic: tool calls judged against the schemas sent.

:func:`audit_cassettes` reads every VCR.py cassette (``*.yaml``) under a folder,
in both formats seen in the wild: plain vcrpy (bodies under ``body.string``,
some ``!!binary`` gzip) and pydantic-ai's serializer (JSON bodies stored parsed
under ``parsed_body``), and in the three wire protocols clearance speaks: OpenAI chat
completions (``POST …/chat/completions``), Anthropic Messages (``POST …/messages``) and
Gemini (``POST …/models/M:generateContent`` or ``:streamGenerateContent``), told apart
by the request's path. Each answer is parsed by :mod:`clearance.providers.wire` into the
same normalized types whatever its protocol; each tool call it holds is checked against
the tools sent in the same request with :func:`~clearance.calllog.validate_tool_calls`,
and the typed error an error answer raises is kept by its ``kind``.

The result is plain data. A cassette that cannot be read (broken YAML, a
half-written file, interactions missing their parts) is recorded as
unreadable, with the reason, and the audit goes on.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from clearance.calllog import validate_tool_calls
from clearance.errors import InputError, ProviderError
from clearance.providers.base import tool_schemas
from clearance.providers.types import ChatResponse, Protocol, ToolCall
from clearance.providers.wire import (
    anthropic_tool_schemas,
    gemini_tool_schemas,
    normalize_tool_call,
    parse_anthropic_message,
    parse_anthropic_sse,
    parse_completion,
    parse_gemini_response,
    parse_gemini_sse,
    parse_sse,
)

__all__ = [
    "AuditReport",
    "CallVerdict",
    "CassetteAudit",
    "ExchangeAudit",
    "ModelRow",
    "UnreadableCassette",
    "audit_cassettes",
]

VERDICTS = ("valid", "invalid_json", "schema_violation", "unknown_tool", "unusable_schema")
"""What a tool call can be found to be (see :func:`~clearance.calllog.validate_tool_calls`)."""
_UNKNOWN_MODEL = "(no model)"


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """One tool call of a recorded answer, judged against the schema sent with the request."""

    index: int
    name: str
    verdict: str
    """``valid``, ``invalid_json``, ``schema_violation``, ``unknown_tool`` or
    ``unusable_schema`` (the schema sent is no JSON Schema a validator can apply)."""
    raw_arguments: Any
    """The arguments exactly as the provider sent them."""
    quirks: tuple[str, ...] = ()
    """The call's quirks as the parser names them (``empty_id``, ``missing_index``...)."""
    pointer: str | None = None
    """For a schema violation, the JSON pointer of the first error in the arguments."""
    message: str | None = None
    """For a schema violation, the validator's message."""

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON."""
        data: dict[str, Any] = {
            "index": self.index,
            "name": self.name,
            "verdict": self.verdict,
            "raw_arguments": self.raw_arguments,
            "quirks": list(self.quirks),
        }
        if self.pointer is not None:
            data["pointer"] = self.pointer
            data["message"] = self.message
        return data


@dataclass(frozen=True, slots=True)
class ExchangeAudit:
    """One recorded model request (any protocol) and what its answer held."""

    cassette: str
    """The cassette's path relative to the audited folder."""
    number: int
    """The interaction's position in the cassette (0-based, counting every interaction)."""
    uri: str
    host: str
    """The provider host, from the request URI."""
    status: int
    streamed: bool
    request_model: str | None
    """``model`` in the request body."""
    response_model: str | None
    """``model`` in the answer, when it named one."""
    tools_sent: tuple[str, ...] = ()
    """Names of the tools the request offered."""
    calls: tuple[CallVerdict, ...] = ()
    response_quirks: tuple[str, ...] = ()
    """The answer's quirks (``stop_with_tool_calls``, ``keepalive_comments``...)."""
    error_kind: str | None = None
    """The ``kind`` of the typed error the parser raised (``bad_request``, ``rate_limit``...)."""
    error_message: str | None = None
    rejected_calls: tuple[CallVerdict, ...] = ()
    """Calls the provider generated and refused to deliver (Groq's ``tool_use_failed``
    ``failed_generation``), judged like the others; not counted among ``calls``."""
    protocol: Protocol = "openai"
    """The wire protocol of the exchange, from the request's path."""

    @property
    def model(self) -> str:
        """The model asked for (the answer's model when the request named none)."""
        return self.request_model or self.response_model or _UNKNOWN_MODEL

    def to_dict(self) -> dict[str, Any]:
        """The exchange as JSON."""
        return {
            "cassette": self.cassette,
            "number": self.number,
            "uri": self.uri,
            "protocol": self.protocol,
            "host": self.host,
            "status": self.status,
            "streamed": self.streamed,
            "request_model": self.request_model,
            "response_model": self.response_model,
            "tools_sent": list(self.tools_sent),
            "tool_calls": [call.to_dict() for call in self.calls],
            "response_quirks": list(self.response_quirks),
            "error_kind": self.error_kind,
            "error_message": self.error_message,
            "rejected_calls": [call.to_dict() for call in self.rejected_calls],
        }


@dataclass(frozen=True, slots=True)
class CassetteAudit:
    """One cassette file: its model exchanges (other requests are skipped)."""

    cassette: str
    exchanges: tuple[ExchangeAudit, ...]
    skipped: int = 0
    """Interactions that are no model request (``GET /models``, ``count_tokens``...)."""


@dataclass(frozen=True, slots=True)
class UnreadableCassette:
    """A cassette the audit could not read, and why."""

    cassette: str
    reason: str
    line: int | None = None
    """1-based line of the problem, when the YAML parser knows it."""


@dataclass(frozen=True, slots=True)
class ModelRow:
    """The audit's counts for one model."""

    model: str
    """The model the requests asked for."""
    served_as: tuple[str, ...]
    """Models the answers named when they differ from the one asked for."""
    responses: int
    tool_calls: int
    valid: int
    invalid_json: int
    schema_violation: int
    unknown_tool: int
    unusable_schema: int
    """Calls that could not be judged: the schema sent is no usable JSON Schema."""
    rejected: int
    """Calls the provider refused to deliver (see :attr:`ExchangeAudit.rejected_calls`)."""
    rejected_schema_violation: int
    """Of those, how many the schema sent also rejects."""
    quirks: dict[str, int]
    """Quirk name to count, over tool calls and answers."""
    errors: dict[str, int]
    """Error kind to count."""

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON."""
        return {
            "model": self.model,
            "served_as": list(self.served_as),
            "responses": self.responses,
            "tool_calls": self.tool_calls,
            "valid": self.valid,
            "invalid_json": self.invalid_json,
            "schema_violation": self.schema_violation,
            "unknown_tool": self.unknown_tool,
            "unusable_schema": self.unusable_schema,
            "rejected": self.rejected,
            "rejected_schema_violation": self.rejected_schema_violation,
            "quirks": dict(self.quirks),
            "errors": dict(self.errors),
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Everything an audit found, per cassette, with per-model totals on demand."""

    directory: Path
    cassettes: tuple[CassetteAudit, ...]
    unreadable: tuple[UnreadableCassette, ...] = ()

    @property
    def files(self) -> int:
        """Cassette files found (read or not)."""
        return len(self.cassettes) + len(self.unreadable)

    def exchanges(self) -> list[ExchangeAudit]:
        """Every chat-completions exchange, cassette by cassette."""
        return [exchange for cassette in self.cassettes for exchange in cassette.exchanges]

    def calls(self) -> list[CallVerdict]:
        """Every tool call judged."""
        return [call for exchange in self.exchanges() for call in exchange.calls]

    def by_model(self) -> list[ModelRow]:
        """One row per model asked for, sorted by model name."""
        groups: dict[str, list[ExchangeAudit]] = {}
        for exchange in self.exchanges():
            groups.setdefault(exchange.model, []).append(exchange)
        return [_row(model, groups[model]) for model in sorted(groups)]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON."""
        calls = self.calls()
        verdicts = Counter(call.verdict for call in calls)
        return {
            "directory": str(self.directory),
            "files": self.files,
            "responses": len(self.exchanges()),
            "tool_calls": len(calls),
            **{verdict: verdicts[verdict] for verdict in VERDICTS},
            "unreadable": [
                {"cassette": u.cassette, "line": u.line, "reason": u.reason}
                for u in self.unreadable
            ],
            "by_model": [row.to_dict() for row in self.by_model()],
            "cassettes": [
                {
                    "cassette": cassette.cassette,
                    "skipped": cassette.skipped,
                    "exchanges": [exchange.to_dict() for exchange in cassette.exchanges],
                }
                for cassette in self.cassettes
            ],
        }


def _row(model: str, exchanges: Iterable[ExchangeAudit]) -> ModelRow:
    served: set[str] = set()
    verdicts: Counter[str] = Counter()
    quirks: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    responses = 0
    for exchange in exchanges:
        responses += 1
        if exchange.response_model and exchange.response_model != model:
            served.add(exchange.response_model)
        quirks.update(exchange.response_quirks)
        if exchange.error_kind is not None:
            errors[exchange.error_kind] += 1
        for call in exchange.calls:
            verdicts[call.verdict] += 1
            quirks.update(call.quirks)
        rejected.update(call.verdict for call in exchange.rejected_calls)
    return ModelRow(
        model=model,
        served_as=tuple(sorted(served)),
        responses=responses,
        tool_calls=sum(verdicts.values()),
        valid=verdicts["valid"],
        invalid_json=verdicts["invalid_json"],
        schema_violation=verdicts["schema_violation"],
        unknown_tool=verdicts["unknown_tool"],
        unusable_schema=verdicts["unusable_schema"],
        rejected=sum(rejected.values()),
        rejected_schema_violation=rejected["schema_violation"],
        quirks=dict(sorted(quirks.items())),
        errors=dict(sorted(errors.items())),
    )


# ---------------------------------------------------------------------------------------------
# Reading cassettes


class _Unreadable(Exception):
    """A cassette that is not a readable VCR.py recording (internal: becomes a record)."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


def audit_cassettes(directory: Path) -> AuditReport:
    """Audit every ``*.yaml`` cassette under ``directory`` (recursively, sorted by path).

    Raises:
        InputError: ``directory`` does not exist or is not a folder.
    """
    if not directory.is_dir():
        what = "does not exist" if not directory.exists() else "is not a folder"
        raise InputError(
            f"cassette folder {directory} {what}",
            fix="give the folder that holds the VCR.py cassettes (*.yaml)",
        )
    cassettes: list[CassetteAudit] = []
    unreadable: list[UnreadableCassette] = []
    for path in sorted(directory.rglob("*.yaml")):
        if not path.is_file():
            continue
        name = path.relative_to(directory).as_posix()
        try:
            cassettes.append(_audit_file(path, name))
        except _Unreadable as error:
            unreadable.append(UnreadableCassette(name, str(error), error.line))
    return AuditReport(directory, tuple(cassettes), tuple(unreadable))


def _audit_file(path: Path, name: str) -> CassetteAudit:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise _Unreadable(f"{name}: cannot read the file: {error}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise _Unreadable(
            f"{name}: not valid YAML{line}: {problem}; half-written?",
            line=None if where is None else where.line + 1,
        ) from None
    interactions = document.get("interactions") if isinstance(document, Mapping) else None
    if not isinstance(interactions, list):
        raise _Unreadable(f"{name}: no `interactions` list; not a VCR.py cassette")
    exchanges: list[ExchangeAudit] = []
    skipped = 0
    for number, interaction in enumerate(interactions):
        exchange = _exchange(name, number, interaction)
        if exchange is None:
            skipped += 1
        else:
            exchanges.append(exchange)
    return CassetteAudit(name, tuple(exchanges), skipped)


def _exchange(name: str, number: int, interaction: Any) -> ExchangeAudit | None:
    where = f"{name}: interaction #{number}"
    request = interaction.get("request") if isinstance(interaction, Mapping) else None
    response = interaction.get("response") if isinstance(interaction, Mapping) else None
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise _Unreadable(f"{where} lacks its request or response; half-written?")
    uri, method = request.get("uri"), request.get("method")
    if not isinstance(uri, str) or not isinstance(method, str):
        raise _Unreadable(f"{where}: the request has no `uri` or `method`")
    path = urlsplit(uri).path
    protocol = _protocol_of(path)
    if method.upper() != "POST" or protocol is None:
        return None
    status_object = response.get("status")
    status = status_object.get("code") if isinstance(status_object, Mapping) else None
    if type(status) is not int:
        raise _Unreadable(f"{where}: the response has no `status.code`")

    sent = _request_body(request, where)
    schemas = _sent_schemas(protocol, sent)
    request_model = sent.get("model") if isinstance(sent.get("model"), str) else None
    if protocol == "gemini":
        request_model = path.rsplit("/models/", 1)[-1].split(":", 1)[0] or None
    host = urlsplit(uri).hostname or ""
    body, streamed = _response_body(response, where)
    base = ExchangeAudit(
        cassette=name,
        number=number,
        uri=uri,
        host=host,
        status=status,
        streamed=streamed,
        request_model=request_model,
        response_model=None,
        tools_sent=tuple(schemas),
        protocol=protocol,
    )
    try:
        parsed = _parse(protocol, body, streamed, status, host, request_model)
    except ProviderError as error:
        rejected = _judge(_failed_generation(error), schemas, ("rejected_by_provider",))
        return _replace(
            base, error_kind=error.kind, error_message=error.message, rejected_calls=rejected
        )
    calls = _judge(parsed.tool_calls, schemas, ())
    return _replace(base, response_model=parsed.model, calls=calls, response_quirks=parsed.quirks)


def _judge(
    tool_calls: Sequence[ToolCall], schemas: Mapping[str, Any], extra: tuple[str, ...]
) -> tuple[CallVerdict, ...]:
    verdicts = validate_tool_calls(tool_calls, schemas)
    return tuple(
        CallVerdict(
            index=call.index,
            name=call.name,
            verdict="valid" if verdict["valid"] else str(verdict["error"]),
            raw_arguments=call.raw_arguments,
            quirks=(*extra, *call.quirks),
            pointer=verdict.get("pointer"),
            message=verdict.get("message"),
        )
        for call, verdict in zip(tool_calls, verdicts, strict=True)
    )


def _failed_generation(error: ProviderError) -> tuple[ToolCall, ...]:
    """The call a provider generated and refused (Groq's ``error.failed_generation``)."""
    body = getattr(error, "body", None)
    detail = body.get("error") if isinstance(body, Mapping) else None
    text = detail.get("failed_generation") if isinstance(detail, Mapping) else None
    if not isinstance(text, str):
        return ()
    try:
        generated = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(generated, Mapping) or not isinstance(generated.get("name"), str):
        return ()
    call = normalize_tool_call(0, "", generated["name"], generated.get("arguments"))
    # The generation never had an id: drop the made-up id's quirk.
    return (replace(call, quirks=tuple(q for q in call.quirks if q != "empty_id")),)


def _replace(exchange: ExchangeAudit, **changes: Any) -> ExchangeAudit:
    return replace(exchange, **changes)


def _protocol_of(path: str) -> Protocol | None:
    """The wire protocol a request path belongs to (None: not a model request)."""
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith((":generateContent", ":streamGenerateContent")):
        return "gemini"
    return None


def _sent_schemas(protocol: Protocol, sent: Mapping[str, Any]) -> dict[str, Any]:
    """Tool name to the schema the request offered, in its protocol's form."""
    if protocol == "anthropic":
        return anthropic_tool_schemas(sent)
    if protocol == "gemini":
        return gemini_tool_schemas(sent)
    tools = sent.get("tools")
    return tool_schemas(tools if isinstance(tools, list) else None)


def _parse(
    protocol: Protocol, body: Any, streamed: bool, status: int, host: str, model: str | None
) -> ChatResponse:
    if protocol == "anthropic":
        if streamed:
            return parse_anthropic_sse(body, provider=host, model_id=model)
        return parse_anthropic_message(body, provider=host, model_id=model, status_code=status)
    if protocol == "gemini":
        if streamed:
            return parse_gemini_sse(body, provider=host, model_id=model)
        return parse_gemini_response(body, provider=host, model_id=model, status_code=status)
    if streamed:
        return parse_sse(body, provider=host, model_id=model)
    return parse_completion(body, provider=host, model_id=model, status_code=status)


def _text(raw: Any, where: str) -> str:
    """A body as text: gzip (``!!binary``) unpacked, bytes decoded."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        data: bytes = raw
        try:
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            return data.decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise _Unreadable(f"{where}: a binary body does not decode: {error}") from None
    if isinstance(raw, str):
        return raw
    raise _Unreadable(f"{where}: a body is a {type(raw).__name__}, not text")


def _request_body(request: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The request body as JSON (``{}`` when it is empty)."""
    if "parsed_body" in request:
        parsed = request["parsed_body"]
    else:
        raw = request.get("body")
        if isinstance(raw, Mapping):
            if "string" not in raw:  # a body some serializers store parsed under `body`
                return dict(raw)
            raw = raw.get("string")
        text = _text(raw, where)
        if not text.strip():
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise _Unreadable(f"{where}: the request body is not JSON: {error}") from None
    return dict(parsed) if isinstance(parsed, Mapping) else {}


_ANSWER_KEYS = frozenset(("choices", "content", "candidates", "error"))
"""Top-level keys of an answer stored parsed under ``body``: OpenAI's, Anthropic's,
Gemini's, and an error's."""


def _response_body(response: Mapping[str, Any], where: str) -> tuple[Any, bool]:
    """(body, streamed): the decoded JSON body, or the SSE text, or the raw text."""
    if "parsed_body" in response:  # pydantic-ai's serializer: JSON bodies stored parsed
        return response["parsed_body"], False
    raw = response.get("body")
    if isinstance(raw, Mapping) and "string" not in raw and _ANSWER_KEYS.intersection(raw):
        return raw, False  # a JSON body stored parsed under `body`
    if not isinstance(raw, Mapping) or "string" not in raw:
        raise _Unreadable(f"{where}: the response has no `body.string`")
    text = _text(raw["string"], where)
    headers = response.get("headers")
    content_type = ""
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == "content-type":
                content_type = str(value[0] if isinstance(value, list) and value else value)
    if content_type.startswith("text/event-stream") or any(
        line.strip().startswith("data:") for line in text.splitlines()[:5]
    ):
        return text, True
    try:
        return json.loads(text), False
    except ValueError:
        return text, False  # the parser names what is wrong with it
