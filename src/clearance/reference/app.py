"""The reference provider's routes: ``/v1/chat/completions``, ``/v1/models``, ``/health``.

With an API key set, both ``/v1`` routes want ``Authorization: Bearer KEY``
(``/health`` never does); a missing or wrong key gets an OpenAI-style 401.
"""

from __future__ import annotations

import hmac
import json

from clearance.reference.behaviours import Simulator
from clearance.reference.catalog import find_model, models_document
from clearance.reference.protocol import HttpRequest
from clearance.reference.request import parse_chat_request
from clearance.reference.wire import Reply, error_reply

__all__ = ["ReferenceApp"]

_MEMO_SIZE = 2_048
_MEMO_BODY = 16 * 1024
"""Bodies up to this size (bytes) have their replies kept: a replayed request costs a lookup."""

_COUNTED = frozenset({"flaky", "sloppy"})
"""Behaviours whose answer depends on how often the server saw the request (never memoized)."""

_ROUTES = {"/v1/chat/completions": "POST", "/v1/models": "GET", "/health": "GET"}


class ReferenceApp:
    """Routes one request to the simulator (synchronously: every answer is computed at once)."""

    def __init__(self, simulator: Simulator, *, api_key: str | None = None) -> None:
        self.simulator = simulator
        self._api_key = api_key.encode() if api_key else None
        self._models = Reply.json(200, models_document())
        self._health = Reply.json(200, {"status": "ok", "simulator": True})
        # Replies by request body, for every model but those that count attempts.
        self._replies: dict[bytes, Reply] = {}

    def handle(self, request: HttpRequest) -> Reply:
        """The reply to one HTTP request."""
        path = request.target.split("?", 1)[0]
        method = _ROUTES.get(path)
        if method is None:
            return error_reply(
                404,
                f"no route for {request.method} {path}; the reference provider serves "
                "POST /v1/chat/completions, GET /v1/models and GET /health",
                "not_found",
            )
        if request.method != method:
            return error_reply(
                405,
                f"{path} accepts {method}, not {request.method}",
                "method_not_allowed",
                headers=(("allow", method),),
            )
        if path == "/health":
            return self._health
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if path == "/v1/models":
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

    def _authenticate(self, request: HttpRequest) -> Reply | None:
        if self._api_key is None:
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            message = "no API key: send Authorization: Bearer <key>"
        elif hmac.compare_digest(token.strip().encode(), self._api_key):
            return None
        else:
            message = "incorrect API key provided"
        return error_reply(401, message, "invalid_api_key")
