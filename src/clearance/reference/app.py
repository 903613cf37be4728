"""The reference provider's routes: three wire protocols on one port, and ``/health``.

- OpenAI chat completions: ``POST /v1/chat/completions``, ``GET /v1/models``
  (OpenRouter's format); with an API key set, ``Authorization: Bearer KEY``.
- Anthropic Messages: ``POST /v1/messages`` (it wants ``anthropic-version``), and
  ``GET /v1/models`` asked with Anthropic's headers; with a key, ``x-api-key: KEY``.
- Gemini: ``POST /v1beta/models/{model}:generateContent`` and
  ``:streamGenerateContent`` (``?alt=sse`` for server-sent events), ``GET
  /v1beta/models`` and ``GET /v1beta/models/{model}``; with a key,
  ``x-goog-api-key: KEY`` or ``?key=KEY``.

Each protocol refuses a missing or wrong key, and anything else, in its own error
shape. ``/health`` never wants a key. The app counts the requests of each route
(:meth:`ReferenceApp.requests`), so a test can see which native path went over the
socket.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, unquote

from clearance.reference.anthropic_request import parse_messages_request
from clearance.reference.anthropic_wire import anthropic_error, anthropic_models_document
from clearance.reference.behaviours import Simulator
from clearance.reference.catalog import find_model, models_document
from clearance.reference.gemini_request import parse_generate_request
from clearance.reference.gemini_wire import (
    gemini_error,
    gemini_model_entry,
    gemini_models_document,
)
from clearance.reference.names import find_gemini
from clearance.reference.promptcache import PromptCache
from clearance.reference.protocol import HttpRequest
from clearance.reference.request import parse_chat_request
from clearance.reference.wire import Reply, error_reply

__all__ = ["ROUTES", "ReferenceApp"]

_MEMO_SIZE = 2_048
_MEMO_BODY = 16 * 1024
"""Bodies up to this size (bytes) have their replies kept: a replayed request costs a lookup."""

_COUNTED = frozenset({"flaky", "sloppy"})
"""Behaviours whose answer depends on how often the server saw the request (never memoized)."""

_GEMINI = "/v1beta/models"
ROUTES: dict[str, str] = {
    "/health": "GET",
    "/v1/chat/completions": "POST",
    "/v1/models": "GET",
    "/v1/messages": "POST",
    _GEMINI: "GET",
    f"{_GEMINI}/{{model}}": "GET",
    f"{_GEMINI}/{{model}}:generateContent": "POST",
    f"{_GEMINI}/{{model}}:streamGenerateContent": "POST",
}
"""Every route, by its pattern, with its method."""

_GEMINI_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


def _route(path: str) -> tuple[str, str | None]:
    """(the route pattern, the model named in a Gemini path)."""
    if not path.startswith(_GEMINI + "/"):
        return path, None
    rest = unquote(path[len(_GEMINI) + 1 :])
    model, colon, method = rest.rpartition(":")
    if colon and method in ("generateContent", "streamGenerateContent"):
        return f"{_GEMINI}/{{model}}:{method}", model
    return f"{_GEMINI}/{{model}}", rest


def _anthropic_headers(request: HttpRequest) -> bool:
    return "anthropic-version" in request.headers or "x-api-key" in request.headers


class ReferenceApp:
    """Routes one request to the simulator (synchronously: every answer is computed at once)."""

    def __init__(self, simulator: Simulator, *, api_key: str | None = None) -> None:
        self.simulator = simulator
        self._api_key = api_key.encode() if api_key else None
        self._models = Reply.json(200, models_document())
        self._anthropic_models = Reply.json(200, anthropic_models_document())
        self._gemini_models = Reply.json(200, gemini_models_document())
        self._health = Reply.json(200, {"status": "ok", "simulator": True})
        # Replies by request body, for every model but those that count attempts.
        self._replies: dict[bytes, Reply] = {}
        self._cache = PromptCache()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def requests(self) -> dict[str, int]:
        """How many requests each route got so far (``"POST /v1/messages": 3``)."""
        with self._lock:
            return dict(self._counts)

    def handle(self, request: HttpRequest) -> Reply:
        """The reply to one HTTP request."""
        path, _, query = request.target.partition("?")
        route, model = _route(path)
        method = ROUTES.get(route)
        if method is None:
            return error_reply(
                404,
                f"no route for {request.method} {path}; the reference provider serves "
                "OpenAI chat completions (POST /v1/chat/completions, GET /v1/models), "
                "Anthropic Messages (POST /v1/messages) and Gemini "
                "(POST /v1beta/models/{model}:generateContent, GET /v1beta/models), "
                "and GET /health",
                "not_found",
            )
        if request.method != method:
            return error_reply(
                405,
                f"{path} accepts {method}, not {request.method}",
                "method_not_allowed",
                headers=(("allow", method),),
            )
        with self._lock:
            self._counts[f"{method} {route}"] += 1
        if route == "/health":
            return self._health
        if route == "/v1/messages" or (route == "/v1/models" and _anthropic_headers(request)):
            return self._anthropic(request, route)
        if route.startswith(_GEMINI):
            return self._gemini(request, route, model, parse_qs(query))
        return self._openai(request, route)

    # -- OpenAI chat completions ----------------------------------------------------------

    def _openai(self, request: HttpRequest, route: str) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
        refused = self._refuse(
            key, "no API key: send Authorization: Bearer <key>", "incorrect API key provided"
        )
        if refused is not None:
            return error_reply(401, refused, "invalid_api_key")
        if route == "/v1/models":
            return self._models
        known = self._replies.get(request.body)
        if known is not None:
            return known
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as error:
            return error_reply(400, f"could not parse the JSON body: {error}", "invalid_json")
        parsed = parse_chat_request(body)
        if isinstance(parsed, Reply):
            return parsed
        reply = self.simulator.chat(parsed)
        model = find_model(parsed.model)
        if len(request.body) <= _MEMO_BODY and (model is None or model.behaviour not in _COUNTED):
            if len(self._replies) >= _MEMO_SIZE:
                del self._replies[next(iter(self._replies))]
            self._replies[request.body] = reply
        return reply

    # -- Anthropic Messages ---------------------------------------------------------------

    def _anthropic(self, request: HttpRequest, route: str) -> Reply:
        key = request.headers.get("x-api-key", "").strip()
        refused = self._refuse(key, "x-api-key header is required", "invalid x-api-key")
        if refused is not None:
            return anthropic_error(401, refused)
        if "anthropic-version" not in request.headers:
            return anthropic_error(400, "anthropic-version: header is required")
        if route == "/v1/models":
            return self._anthropic_models
        body = _decoded(request.body)
        if body is None:
            return anthropic_error(400, "There was an error parsing the body: not JSON")
        parsed = parse_messages_request(body, self._cache)
        if isinstance(parsed, Reply):
            return parsed
        return self.simulator.chat(*parsed)

    # -- Gemini ----------------------------------------------------------------------------

    def _gemini(
        self, request: HttpRequest, route: str, model: str | None, query: dict[str, list[str]]
    ) -> Reply:
        key = request.headers.get("x-goog-api-key", "").strip() or (query.get("key") or [""])[0]
        refused = self._refuse(
            key, _GEMINI_UNREGISTERED, "API key not valid. Please pass a valid API key."
        )
        if refused is not None:
            return _invalid_key(refused) if key else gemini_error(403, refused)
        if route == _GEMINI:
            return self._gemini_models
        assert model is not None
        if route == f"{_GEMINI}/{{model}}":
            found = find_gemini(model)
            if found is None:
                return gemini_error(404, f"models/{model.removeprefix('models/')} is not found")
            return Reply.json(200, gemini_model_entry(*found))
        body = _decoded(request.body)
        if body is None:
            return gemini_error(400, "Invalid JSON payload received. Unexpected token.")
        stream = route.endswith(":streamGenerateContent")
        sse = (query.get("alt") or [""])[0] == "sse"
        parsed = parse_generate_request(body, model, stream=stream, sse=sse)
        if isinstance(parsed, Reply):
            return parsed
        return self.simulator.chat(*parsed)

    # -- keys ------------------------------------------------------------------------------

    def _refuse(self, key: str, missing: str, wrong: str) -> str | None:
        """Why a request's key is refused (``None``: let through)."""
        if self._api_key is None:
            return None
        if not key:
            return missing
        return None if hmac.compare_digest(key.encode(), self._api_key) else wrong


def _decoded(body: bytes) -> Any:
    """The JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _invalid_key(message: str) -> Reply:
    """Google's answer to a wrong key: 400 with an ``API_KEY_INVALID`` reason."""
    reply = gemini_error(400, message)
    document = json.loads(reply.body)
    document["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ]
    return Reply.json(400, document)
