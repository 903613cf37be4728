"""Whether a recording fits what is run now, and if not, what differs.

A request replays only if it matches the recorded one under :data:`MATCHERS`: the
method, the URL path and query (not scheme, host or port: the reference server's port
changes every run) and the body, compared as parsed JSON by :func:`json_body`. When it
does not, :func:`explain_mismatch` says which matcher failed, and for a body the JSON
pointer of the first difference (:func:`first_difference`) with both values. A cassette
whose fingerprint no longer equals the case's is stale; :func:`fingerprint_changes` names
what changed (a contract's version and hash, a suite, a setting).

The transport that replays and records is :mod:`~clearance.evaluation.recording`.

vcrpy is imported only when a matcher runs on vcrpy requests (recording, or explaining
a mismatch): importing it patches every HTTP client it finds, aiohttp included, which
costs a replay more than a tenth of a second and serves it nothing. :func:`route` reads a
request line as vcrpy's ``Request`` does, with the same standard library calls.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlparse

import orjson

if TYPE_CHECKING:
    from vcr.request import Request

__all__ = [
    "MATCHERS",
    "body_key",
    "explain_mismatch",
    "fingerprint_changes",
    "first_difference",
    "json_body",
    "json_key",
    "request_matches",
    "route",
    "sent_key",
]

_MAX_SHOWN = 120
"""Characters of a value shown in a message."""

# -- requests ----------------------------------------------------------------------------------

_NOT_JSON = object()
_ABSENT = object()


def body_key(raw: bytes) -> tuple[Any, bytes]:
    """(parsed body or ``_NOT_JSON``, comparison key) of raw body bytes.

    The key is the body re-encoded with sorted keys, so ``1``, ``1.0`` and ``true`` differ
    while key order and white space do not; a body that is not a JSON object or array is
    its own key.
    """
    if raw[:1] in (b"{", b"[") or raw.lstrip()[:1] in (b"{", b"["):
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(raw)
            return parsed, orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS)
    return _NOT_JSON, raw


@functools.lru_cache(maxsize=256)
def sent_key(raw: bytes) -> bytes:
    """:func:`body_key`'s key of a request being made, kept for the next requests with
    the same bytes (the trials of a case send the same body: it is parsed once)."""
    return body_key(raw)[1]


def json_key(value: Any) -> bytes | None:
    """The :func:`body_key` key of a body stored parsed (``{"json": value}``), without
    encoding and parsing it again; ``None`` when only its bytes can say (a value that is
    not an object or array, or one orjson refuses)."""
    if not isinstance(value, (dict, list)):
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def _body_key(request: Any) -> tuple[Any, bytes]:
    """:func:`body_key` of a vcrpy request's body, cached on the request."""
    cached: tuple[Any, bytes] | None = request.__dict__.get("_clearance_body")
    if cached is None:
        raw = request.body
        if not isinstance(raw, bytes):
            from vcr.util import read_body

            raw = read_body(request) or b""
            raw = raw.encode() if isinstance(raw, str) else bytes(raw)
        cached = body_key(raw)
        request.__dict__["_clearance_body"] = cached
    return cached


@functools.lru_cache(maxsize=512)
def route(method: str, uri: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What the method, path and query matchers compare, for one request line: the
    method, the path (empty as ``/``) and the sorted query pairs, as vcrpy reads them
    (its ``Request.path`` and ``Request.query``: ``urlparse``, then ``sorted(parse_qsl)``)."""
    parsed = urlparse(uri)
    return method, parsed.path or "/", tuple(sorted(parse_qsl(parsed.query)))


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def first_difference(recorded: Any, sent: Any, pointer: str = "") -> tuple[str, Any, Any] | None:
    """``(JSON pointer, recorded value, sent value)`` of the first difference, or ``None``."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        for key in [*recorded, *(k for k in sent if k not in recorded)]:
            where = f"{pointer}/{_escape(key)}"
            if key not in sent or key not in recorded:
                return where, recorded.get(key, _ABSENT), sent.get(key, _ABSENT)
            found = first_difference(recorded[key], sent[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(sent, list):
        for index, (old, new) in enumerate(zip(recorded, sent, strict=False)):
            found = first_difference(old, new, f"{pointer}/{index}")
            if found is not None:
                return found
        if len(recorded) != len(sent):
            index = min(len(recorded), len(sent))
            old = recorded[index] if index < len(recorded) else _ABSENT
            new = sent[index] if index < len(sent) else _ABSENT
            return f"{pointer}/{index}", old, new
        return None
    if type(recorded) is not type(sent) or recorded != sent:
        return pointer, recorded, sent
    return None


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the bodies hold the same JSON (the same bytes when not JSON).

    vcrpy passes the request being made first and the recorded one second.

    Raises:
        AssertionError: with the JSON pointer of the first difference and both values.
    """
    (sent, sent_key), (recorded, recorded_key) = _body_key(r1), _body_key(r2)
    if sent_key == recorded_key:
        return
    if sent is _NOT_JSON or recorded is _NOT_JSON:
        raise AssertionError(
            f"body differs: {len(recorded_key)} bytes recorded"
            f"{'' if recorded is _NOT_JSON else ' (JSON)'}, {len(sent_key)} bytes sent"
            f"{'' if sent is _NOT_JSON else ' (JSON)'}"
        )
    found = first_difference(recorded, sent) or ("", recorded, sent)
    pointer, old, new = found
    raise AssertionError(
        f"body differs at {pointer or '/ (the whole body)'}: "
        f"recorded {_show(old)}, sent {_show(new)}"
    )


def _vcrpy_matcher(name: str) -> Callable[[Any, Any], None]:
    """vcrpy's matcher ``name``, under its name (a mismatch's message shows it); vcrpy is
    imported when it first runs."""

    def matcher(r1: Any, r2: Any) -> None:
        from vcr import matchers

        getattr(matchers, name)(r1, r2)

    matcher.__name__ = matcher.__qualname__ = name
    return matcher


MATCHERS = (_vcrpy_matcher("method"), _vcrpy_matcher("path"), _vcrpy_matcher("query"), json_body)
"""vcrpy matchers, in the order they are checked: method, path, query, JSON body (the
first three vcrpy's own, under their names, which a mismatch's message shows)."""


def request_matches(live: Request, recorded: Request) -> bool:
    """Whether every matcher passes (``get_matchers_results`` runs them all, for the message)."""
    try:
        for matcher in MATCHERS:
            matcher(live, recorded)
    except AssertionError:
        return False
    return True


def _mismatch_detail(failures: list[tuple[str, str | None]]) -> str:
    lines = []
    for name, message in failures:
        if name == "json_body":
            lines.append(message or "body differs")
        else:
            lines.append(f"{name} differs (sent != recorded): {message}")
    return "; ".join(lines)


def explain_mismatch(live: Request, recorded: Request) -> str:
    """What differs between a request and the recorded one, every failing matcher named."""
    from vcr.matchers import get_matchers_results

    _, failures = get_matchers_results(live, recorded, MATCHERS)
    return _mismatch_detail(failures)


# -- fingerprints ------------------------------------------------------------------------------


def _label(key: str) -> str:
    return key[:-1] if key.endswith("s") and not key.endswith("ss") and len(key) > 3 else key


def _show_version(value: Any) -> str:
    if value is _ABSENT:
        return "(none)"
    if isinstance(value, Mapping) and ("version" in value or "hash" in value):
        digest = str(value.get("hash", ""))[:12]
        return "/".join(str(p) for p in (value.get("version"), digest) if p not in (None, ""))
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:39] + "…"
    return _show(value)


def _is_entry(value: Any) -> bool:
    return isinstance(value, Mapping) and not ("version" in value or "hash" in value)


def fingerprint_changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What changed between two fingerprints, one phrase per changed entry.

    A mapping of mappings (``{"contracts": {"create_event": {"version", "hash"}}}``) is
    reported per inner key: ``contract create_event changed: 2.0.0/ab12 → 2.1.0/cd34``.
    """
    changes: list[str] = []

    def change(label: str, old: Any, new: Any) -> None:
        if old is _ABSENT:
            changes.append(f"{label} added ({_show_version(new)})")
        elif new is _ABSENT:
            changes.append(f"{label} removed (was {_show_version(old)})")
        else:
            changes.append(f"{label} changed: {_show_version(old)} → {_show_version(new)}")

    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key, _ABSENT), current.get(key, _ABSENT)
        if old == new:
            continue
        if _is_entry(old) and _is_entry(new):
            for sub in sorted(set(old) | set(new)):
                if old.get(sub, _ABSENT) != new.get(sub, _ABSENT):
                    change(f"{_label(key)} {sub}", old.get(sub, _ABSENT), new.get(sub, _ABSENT))
        else:
            change(key, old, new)
    return changes
