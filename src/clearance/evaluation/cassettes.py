"""Cassette files: where they live, what they hold, how they are read and written.

One JSON file per (model, case) holds every trial's HTTP interactions, in order::

    {"clearance": {"format": 1, "model": ..., "case": ..., "fingerprint": {...},
                   "recorded_at": "2025-01-01T12:00:00Z", "trials": 3,
                   "infra_failures": [{"trial": 2, "kind": "server_error",
                                       "status_code": 500, "message": "..."}]},
     "interactions": [{"trial": 1, "elapsed_ms": 812.5,
                       "request": {"method", "uri", "headers", "body"},
                       "response": {"status": {"code", "message"}, "headers", "body"}}, ...],
     "version": 1}

``elapsed_ms`` is the time the provider took to answer when it was recorded (so a
replay reports the latency the model had, not the replay's); files without it load.
``infra_failures`` (optional) names the trials whose recording ended on a provider
failure (:class:`RecordedFailure`): they are kept, for review, and never served as an
answer.
Bodies are stored so that ``git diff`` reads well: ``{"json": value}`` for JSON,
``{"sse": [event, ...]}`` for event streams, ``{"string": text}`` for other text and
``{"base64": ...}`` for bytes that are not UTF-8. Secrets are scrubbed before anything
is stored, and checked for in a file afterwards, by :mod:`~clearance.evaluation.scrub`.

:class:`CassetteSerializer` and :class:`CassettePersister` follow vcrpy's serializer and
persister protocols, so ``vcr.VCR`` reads and writes these files too once they are
registered (``register_serializer("clearance", CassetteSerializer)``,
``register_persister(CassettePersister)``). vcrpy itself is imported only when vcrpy's
protocols are used, a file is missing or a stored request is asked for as vcrpy's
``Request``: importing it patches every HTTP client it finds (aiohttp included), which a
replay does not need.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from clearance.errors import InputError, InvalidModelId
from clearance.evaluation.matching import body_key, json_key, route

# Re-exported: imported from this module before secret hygiene moved to scrub.py.
from clearance.evaluation.scrub import Scrubber as Scrubber
from clearance.evaluation.scrub import redact_secrets as redact_secrets
from clearance.evaluation.scrub import scan_for_secrets as scan_for_secrets
from clearance.modelid import is_valid_provider_name, parse_model_id

if TYPE_CHECKING:
    from vcr.request import Request

__all__ = [
    "CASSETTE_FORMAT",
    "CassetteFormatError",
    "CassettePersister",
    "CassetteSerializer",
    "RecordedFailure",
    "StoredInteraction",
    "StoredRequest",
    "cassette_path",
    "decode_body",
    "encode_body",
    "write_atomic",
]

CASSETTE_FORMAT = 1
"""``clearance.format``: the layout of the ``clearance`` header and of the bodies."""
VCR_FORMAT = 1
"""``version``: vcrpy's cassette format version, which this layout extends."""

# -- where a cassette lives ----------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def _path_part(part: str) -> str | None:
    """``part`` made safe for a file name, or ``None`` when it cannot name one."""
    if part in ("", ".", ".."):
        return None
    return _UNSAFE.sub("_", part)


def cassette_path(root: Path, model_id: str, case_id: str) -> Path:
    """Where the cassette of one (model, case) lives.

    ``root / PROVIDER / NAME-PARTS / CASE.json``: ``ref:ref/steady`` and ``cancel_meeting``
    give ``root/ref/ref/steady/cancel_meeting.json``. Characters outside
    ``[A-Za-z0-9._@+=-]`` become ``_`` in each part.

    Raises:
        InvalidModelId: the id is not ``PROVIDER:NAME``, or a part is empty, ``.`` or ``..``.
        InputError: the case id is empty, ``.`` or ``..``.
    """
    head = model_id.partition(":")[0]
    parsed = parse_model_id(model_id, (head,) if is_valid_provider_name(head) else ())
    if parsed.provider is None:
        raise InvalidModelId(model_id, "a cassette needs a qualified id, PROVIDER:NAME")
    parts = [_path_part(parsed.provider), *(_path_part(p) for p in parsed.name.split("/"))]
    if any(part is None for part in parts):
        raise InvalidModelId(model_id, "a part of it is empty, '.' or '..'")
    case = _path_part(case_id)
    if case is None:
        raise InputError(
            f"case id {case_id!r} cannot name a cassette file",
            fix="name cases with letters, digits, '_', '-' and '.'",
        )
    return root.joinpath(*(p for p in parts if p is not None), f"{case}.json")


# -- bodies ----------------------------------------------------------------------------------


class CassetteFormatError(ValueError):
    """A cassette file that cannot be read, and why.

    Through vcrpy's protocols (:class:`CassetteSerializer`, :class:`CassettePersister`) it
    is raised as a subclass of vcrpy's ``CassetteDecodeError`` too, so ``vcr.VCR`` treats
    it as vcrpy does (without importing vcrpy anywhere else).

    Attributes:
        reason: what is wrong, with the JSON pointer or line and column where it is known.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@functools.cache
def _vcrpy_format_error() -> type[CassetteFormatError]:
    """:class:`CassetteFormatError` that is vcrpy's ``CassetteDecodeError`` too (made once,
    when vcrpy's protocols first need it)."""
    from vcr.persisters.filesystem import CassetteDecodeError

    class VcrpyCassetteFormatError(CassetteFormatError, CassetteDecodeError):  # type: ignore[misc]  # vcrpy is untyped
        """A broken cassette file, as vcrpy's protocols raise it."""

    return VcrpyCassetteFormatError


@contextlib.contextmanager
def _as_vcrpy_errors() -> Iterator[None]:
    """A :class:`CassetteFormatError` raised inside, raised as vcrpy's decode error too."""
    try:
        yield
    except CassetteFormatError as error:
        vcrpy_error = _vcrpy_format_error()
        if isinstance(error, vcrpy_error):
            raise
        raise vcrpy_error(error.reason) from None


def dump_json(value: Any) -> bytes:
    """Compact JSON bytes; the standard library for what orjson refuses (huge integers)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _sse_data(payload: str) -> Any:
    """One ``data:`` payload: a JSON object parsed, anything else (``[DONE]``) as text."""
    if payload.startswith("{"):
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(payload)
            if isinstance(parsed, dict):
                return parsed
    return payload


def _sse_line(line: str) -> Any:
    if line.startswith("data:"):
        payload = line[5:]
        data = _sse_data(payload[1:] if payload.startswith(" ") else payload)
        if isinstance(data, dict):
            return data
    return line


def encode_sse(text: str) -> list[Any]:
    """An event stream as a list of events.

    An event that is one ``data:`` line is stored as its payload: a JSON object parsed,
    any other payload (``[DONE]``) as a string. Any other event (a ``: comment``, an
    ``event: error`` line, several lines) is stored as a list of its lines, where a
    ``data:`` line holding a JSON object is parsed and every other line kept verbatim.
    """
    events: list[list[str]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line:
            current.append(line)
        elif current:
            events.append(current)
            current = []
    if current:
        events.append(current)
    items: list[Any] = []
    for event in events:
        if len(event) == 1 and event[0].startswith("data:"):
            payload = event[0][5:]
            items.append(_sse_data(payload[1:] if payload.startswith(" ") else payload))
        else:
            items.append([_sse_line(line) for line in event])
    return items


def _render_data(value: Any, pointer: str) -> str:
    if isinstance(value, dict):
        return "data: " + dump_json(value).decode()
    if isinstance(value, str):
        return "data: " + value
    raise CassetteFormatError(f"{pointer} should be a JSON object or a string")


def render_sse(items: list[Any], pointer: str = "") -> str:
    """The event stream :func:`encode_sse` stored, as text (each event ends with a blank line)."""
    parts: list[str] = []
    for index, item in enumerate(items):
        where = f"{pointer}/{index}"
        if isinstance(item, list):
            lines = [
                line if isinstance(line, str) else _render_data(line, f"{where}/{n}")
                for n, line in enumerate(item)
            ]
            parts.append("\n".join(lines))
        else:
            parts.append(_render_data(item, where))
        parts.append("\n\n")
    return "".join(parts)


def encode_body(raw: bytes | str | None, content_type: str = "") -> dict[str, Any]:
    """A body as stored: ``{"json": ...}``, ``{"sse": [...]}``, ``{"string": ...}`` or
    ``{"base64": ...}``.

    JSON is recognised by its content type or by a leading ``{`` or ``[``; a body that
    does not parse (or that orjson refuses: ``NaN``, integers past 64 bits) stays text.
    """
    if raw is None:
        return {"string": ""}
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    else:
        text = raw
    if "text/event-stream" in content_type:
        return {"sse": encode_sse(text)}
    start = text.lstrip()[:1]
    if start and ("json" in content_type or start in "{["):
        with contextlib.suppress(orjson.JSONDecodeError):
            return {"json": orjson.loads(text)}
    return {"string": text}


def decode_body(body: Any, pointer: str = "/body") -> bytes:
    """The bytes a stored body stands for (JSON re-encoded: the same values, compact).

    Raises:
        CassetteFormatError: the body is not one of the stored forms.
    """
    if isinstance(body, dict) and len(body) == 1:
        ((kind, value),) = body.items()
        if kind == "json":
            return dump_json(value)
        if kind == "string" and isinstance(value, str):
            return value.encode()
        if kind == "sse" and isinstance(value, list):
            return render_sse(value, f"{pointer}/sse").encode()
        if kind == "base64" and isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                raise CassetteFormatError(f"{pointer}/base64 is not base64") from None
    raise CassetteFormatError(
        f"{pointer} should be one of {{json}}, {{sse}}, {{string}} or {{base64}}"
    )


# -- the serializer ----------------------------------------------------------------------------


def _content_type(headers: Mapping[str, Any]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            first = value[0] if isinstance(value, list) and value else value
            return first.lower() if isinstance(first, str) else ""
    return ""


def _header_lists(headers: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        name: [str(v) for v in value] if isinstance(value, list) else [str(value)]
        for name, value in headers.items()
    }


def _pretty(data: Any) -> str:
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
    try:
        return orjson.dumps(data, option=options).decode()
    except TypeError:  # integers past 64 bits
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _need(obj: Any, key: str, kind: type | tuple[type, ...], pointer: str) -> Any:
    if not isinstance(obj, dict):
        raise CassetteFormatError(f"{pointer or '/'} should be an object")
    if key not in obj:
        raise CassetteFormatError(f"missing key {pointer}/{key}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CassetteFormatError(f"{pointer}/{key} should be {names}, not {type(value).__name__}")
    return value


def _read_headers(obj: Any, pointer: str) -> dict[str, list[str]]:
    headers: dict[str, Any] = _need(obj, "headers", dict, pointer)
    for name, value in headers.items():
        if type(value) is not list or not all(type(v) is str for v in value):
            raise CassetteFormatError(f"{pointer}/headers/{name} should be a list of strings")
    return headers


def _read_header(data: dict[str, Any]) -> dict[str, Any]:
    header: dict[str, Any] = _need(data, "clearance", dict, "")
    fmt = _need(header, "format", int, "/clearance")
    if fmt != CASSETTE_FORMAT:
        raise CassetteFormatError(
            f"/clearance/format is {fmt}; this version of clearance reads {CASSETTE_FORMAT}"
        )
    for key in ("model", "case"):
        _need(header, key, str, "/clearance")
    _need(header, "fingerprint", dict, "/clearance")
    failures = header.get("infra_failures", [])
    if not isinstance(failures, list):
        raise CassetteFormatError("/clearance/infra_failures should be a list")
    for index, failure in enumerate(failures):
        RecordedFailure.from_json(failure, f"/clearance/infra_failures/{index}")
    return header


@dataclass(frozen=True, slots=True)
class RecordedFailure:
    """A trial whose recording ended on a provider failure, as the cassette's header keeps it.

    The interactions stay in the file, for review; no replay serves them as an answer.
    """

    trial: int
    kind: str
    """The provider error's kind: ``server_error``, ``auth``, ``rate_limit``, ``timeout``,
    ``connection``, ``fallback_served``..."""
    status_code: int | None = None
    """The last HTTP status the provider sent (``None``: no answer at all)."""
    message: str = ""
    """The provider's message, secrets scrubbed."""

    def describe(self) -> str:
        """``HTTP 500 (server_error): upstream broke``, or ``timeout: no answer in time``."""
        head = f"HTTP {self.status_code} ({self.kind})" if self.status_code else self.kind
        return f"{head}: {self.message}" if self.message else head

    def to_json(self) -> dict[str, Any]:
        """The header entry."""
        return {
            "trial": self.trial,
            "kind": self.kind,
            "status_code": self.status_code,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, value: Any, pointer: str) -> RecordedFailure:
        """An entry of ``/clearance/infra_failures``.

        Raises:
            CassetteFormatError: a key missing or of the wrong type (with its JSON pointer).
        """
        trial = _need(value, "trial", int, pointer)
        if trial < 1:
            raise CassetteFormatError(f"{pointer}/trial should be 1 or more, not {trial}")
        status = value.get("status_code")
        if status is not None and (type(status) is not int or not 100 <= status <= 599):
            raise CassetteFormatError(f"{pointer}/status_code should be an HTTP status or null")
        message = value.get("message", "")
        if not isinstance(message, str):
            raise CassetteFormatError(f"{pointer}/message should be str")
        return cls(trial, _need(value, "kind", str, pointer), status, message)


class CassetteSerializer:
    """vcrpy serializer for clearance cassettes: vcrpy's interaction dicts ⇄ the file text.

    ``serialize`` takes what vcrpy passes a serializer (``{"version", "interactions":
    [{"request", "response"}], "metadata"}``, bodies as text or bytes); the metadata's
    ``clearance`` entry becomes the file's header and each response's ``trial`` entry the
    interaction's ``trial``. ``deserialize`` gives the same shape back, bodies as bytes.
    """

    @staticmethod
    def serialize(cassette_dict: Mapping[str, Any]) -> str:
        """The file text: pretty JSON, sorted keys, 2-space indent, a trailing newline."""
        metadata = dict(cassette_dict.get("metadata") or {})
        data: dict[str, Any] = {"version": VCR_FORMAT, "interactions": []}
        if "clearance" in metadata:
            data["clearance"] = metadata.pop("clearance")
        if metadata:
            data["metadata"] = metadata
        trial = 1
        for interaction in cassette_dict["interactions"]:
            request, response = interaction["request"], interaction["response"]
            trial = response.get("trial", trial)
            request_headers = _header_lists(request.get("headers") or {})
            response_headers = _header_lists(response.get("headers") or {})
            status = response["status"]
            timing = {"elapsed_ms": response["elapsed_ms"]} if "elapsed_ms" in response else {}
            data["interactions"].append(
                {
                    "trial": trial,
                    **timing,
                    "request": {
                        "method": request["method"],
                        "uri": request["uri"],
                        "headers": request_headers,
                        "body": encode_body(request.get("body"), _content_type(request_headers)),
                    },
                    "response": {
                        "status": {"code": status["code"], "message": status.get("message")},
                        "headers": response_headers,
                        "body": encode_body(
                            (response.get("body") or {}).get("string"),
                            _content_type(response_headers),
                        ),
                    },
                }
            )
        return _pretty(data)

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        """vcrpy's cassette dict from the file text, checked on the way.

        Raises:
            CassetteFormatError: not JSON (with line and column), or a key missing or of
                the wrong type (with its JSON pointer).
        """
        with _as_vcrpy_errors():
            version, header, data = _read_document(cassette_string)
            stored_interactions = _read_interactions(data)
        interactions: list[dict[str, Any]] = []
        for stored in stored_interactions:
            request = stored.request
            interactions.append(
                {
                    "request": {
                        "method": request.method,
                        "uri": request.uri,
                        "body": request.body,
                        "headers": request.headers,
                    },
                    "response": stored.response,
                }
            )
        metadata = dict(data.get("metadata") or {})
        metadata["clearance"] = header
        return {"version": version, "interactions": interactions, "metadata": metadata}


def _read_document(text: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(vcrpy version, clearance header, the whole document) of a cassette's text."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise CassetteFormatError(
            f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(data, dict):
        raise CassetteFormatError("the file should hold a JSON object")
    version = _need(data, "version", int, "")
    if version != VCR_FORMAT:
        raise CassetteFormatError(f"/version is {version}, not {VCR_FORMAT}")
    return version, _read_header(data), data


class StoredRequest:
    """A recorded request as a cassette holds it, with what matching compares.

    A body stored parsed (``{"json": ...}``) keeps its value: its comparison key is made
    from it at once, and its bytes only when something asks for them (a mismatch to
    explain, a cassette to write again).

    Attributes:
        method / uri / headers: as stored.
    """

    __slots__ = ("_body", "_json", "_key", "headers", "method", "uri")

    def __init__(
        self, method: str, uri: str, body: bytes | None, headers: dict[str, Any], *, json: Any
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers
        self._json = json
        self._body = body
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """The body's comparison key, made once."""
        if self._key is None:
            found = json_key(self._json) if self._body is None else None
            self._key = found if found is not None else body_key(self.body)[1]
        return self._key

    @property
    def body(self) -> bytes:
        """The body's bytes (JSON re-encoded: the same values, compact)."""
        if self._body is None:
            self._body = dump_json(self._json)
        return self._body

    @property
    def route(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What the method, path and query matchers compare."""
        return route(self.method, self.uri)

    def vcr(self) -> Request:
        """The request as vcrpy's :class:`~vcr.request.Request` (as ``load_cassette`` gives)."""
        from vcr.request import Request

        return Request(self.method, self.uri, self.body, self.headers)


@dataclass(frozen=True, slots=True)
class StoredInteraction:
    """One interaction of a cassette, read and checked: its trial, request and response.

    ``response`` is vcrpy's response dict (the body as bytes under ``body.string``) with
    the interaction's ``trial`` and, when recorded, ``elapsed_ms``.
    """

    trial: int
    request: StoredRequest
    response: dict[str, Any]


def _read_interactions(data: dict[str, Any]) -> list[StoredInteraction]:
    """Every interaction of a parsed cassette, checked in the order the file holds them."""
    interactions: list[StoredInteraction] = []
    for index, item in enumerate(_need(data, "interactions", list, "")):
        where = f"/interactions/{index}"
        trial = _need(item, "trial", int, where)
        if trial < 1:
            raise CassetteFormatError(f"{where}/trial should be 1 or more, not {trial}")
        request = _need(item, "request", dict, where)
        response = _need(item, "response", dict, where)
        status = _need(response, "status", dict, f"{where}/response")
        code = _need(status, "code", int, f"{where}/response/status")
        message = status.get("message")
        method = _need(request, "method", str, f"{where}/request")
        uri = _need(request, "uri", str, f"{where}/request")
        stored_body = _need(request, "body", dict, f"{where}/request")
        if len(stored_body) == 1 and "json" in stored_body:  # kept parsed: bytes on demand
            raw, parsed = None, stored_body["json"]
        else:
            raw, parsed = decode_body(stored_body, f"{where}/request/body"), None
        headers = _read_headers(request, f"{where}/request")
        interactions.append(
            StoredInteraction(
                trial,
                StoredRequest(method, uri, raw, headers, json=parsed),
                {
                    "status": {
                        "code": code,
                        "message": message if isinstance(message, str) else None,
                    },
                    "headers": _read_headers(response, f"{where}/response"),
                    "body": {
                        "string": decode_body(
                            _need(response, "body", dict, f"{where}/response"),
                            f"{where}/response/body",
                        )
                    },
                    "trial": trial,
                    **_elapsed(item, where),
                },
            )
        )
    return interactions


def _elapsed(item: Mapping[str, Any], where: str) -> dict[str, float]:
    """The provider's recorded time for an interaction (optional: older files lack it)."""
    if "elapsed_ms" not in item:
        return {}
    value = item["elapsed_ms"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CassetteFormatError(f"{where}/elapsed_ms should be milliseconds, not {value!r}")
    return {"elapsed_ms": float(value)}


# -- the persister ----------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, fsync, ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; a cassette is a shared file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename durable; not every system allows it
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _read_text(path: Path) -> str:
    """A cassette file's text.

    Raises:
        CassetteNotFoundError: there is no such file (vcrpy's "record it" signal).
        CassetteFormatError: the file is not UTF-8, empty, or cannot be read.
    """
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        from vcr.persisters.filesystem import CassetteNotFoundError

        raise CassetteNotFoundError(str(path)) from None
    except OSError as error:
        raise CassetteFormatError(f"the file cannot be read ({error.strerror or error})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CassetteFormatError(f"not UTF-8 (byte {error.start})") from None
    if not text.strip():
        raise CassetteFormatError("the file is empty")
    return text


class CassettePersister:
    """vcrpy persister: reads cassette files whole and writes them atomically.

    Unlike vcrpy's ``FilesystemPersister``, an empty file is broken, not missing: an
    interrupted write must not be mistaken for a cassette still to record.
    """

    @staticmethod
    def load_cassette(
        cassette_path: str | os.PathLike[str], serializer: Any
    ) -> tuple[list[Request], list[dict[str, Any]], dict[str, Any]]:
        """``(requests, responses, metadata)`` from the file.

        Raises:
            CassetteNotFoundError: there is no such file (vcrpy's "record it" signal).
            CassetteFormatError: the file is not UTF-8, empty, or does not parse.
        """
        from vcr.request import Request
        from vcr.serializers.compat import convert_to_bytes

        with _as_vcrpy_errors():
            data = serializer.deserialize(_read_text(Path(cassette_path)))
        requests: list[Request] = []
        responses: list[dict[str, Any]] = []
        for interaction in data["interactions"]:
            request = interaction["request"]
            requests.append(
                Request(request["method"], request["uri"], request["body"], request["headers"])
            )
            responses.append(convert_to_bytes(interaction["response"]))
        return requests, responses, dict(data.get("metadata") or {})

    @staticmethod
    def load_interactions(
        cassette_path: str | os.PathLike[str],
    ) -> tuple[list[StoredInteraction], dict[str, Any]]:
        """``(interactions, header)`` from the file, read and checked as
        :meth:`load_cassette` reads it, for replaying: each request keeps its body as
        stored, with what matching compares made from it once.

        Raises:
            CassetteNotFoundError: there is no such file.
            CassetteFormatError: as :meth:`CassetteSerializer.deserialize` says.
        """
        _, header, data = _read_document(_read_text(Path(cassette_path)))
        return _read_interactions(data), header

    @staticmethod
    def save_cassette(
        cassette_path: str | os.PathLike[str], cassette_dict: Mapping[str, Any], serializer: Any
    ) -> None:
        """Serialize ``{"requests", "responses", "metadata"}`` and write it atomically.

        vcrpy's own ``serialize`` turns bodies into text in place; this builds copies, so the
        interactions held in memory keep their bytes.
        """
        from vcr.serializers.compat import convert_to_unicode

        interactions = [
            {
                "request": convert_to_unicode(
                    {
                        "method": request.method,
                        "uri": request.uri,
                        "body": request.body,
                        "headers": {name: [value] for name, value in request.headers.items()},
                    }
                ),
                "response": convert_to_unicode({**response, "body": dict(response["body"])}),
            }
            for request, response in zip(
                cassette_dict["requests"], cassette_dict["responses"], strict=True
            )
        ]
        data: dict[str, Any] = {"version": VCR_FORMAT, "interactions": interactions}
        if cassette_dict.get("metadata"):
            data["metadata"] = cassette_dict["metadata"]
        write_atomic(Path(cassette_path), serializer.serialize(data).encode())
