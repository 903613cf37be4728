"""The Anthropic Messages wire protocol over httpx: ``POST {base_url}/messages``.

The I/O (clients, attempt bounds, typed errors, the key kept out of errors) is
:class:`~clearance.providers.http.HttpProvider`'s; this module says where a request
goes, which headers carry the key and the API version, and which functions of
:mod:`clearance.providers.wire` write the body and read the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from clearance.providers.base import ChatRequest
from clearance.providers.http import ASYNC_SHARDS, Assembler, AsyncClientKind, HttpProvider
from clearance.providers.types import ChatResponse
from clearance.providers.types import Protocol as WireProtocol
from clearance.providers.wire import (
    AnthropicStreamAssembler,
    anthropic_request,
    parse_anthropic_message,
)

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider"]

ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header sent with every request (the Messages API's only
version; newer features come as ``anthropic-beta`` headers, passed in ``headers``)."""


class AnthropicProvider(HttpProvider):
    """Anthropic's Messages API at ``base_url`` (``https://api.anthropic.com/v1``).

    ``POST {base_url}/messages``; the key goes in ``x-api-key``, and every request
    carries ``anthropic-version`` (:data:`ANTHROPIC_VERSION`, unless ``headers`` names
    another). The body is :func:`~clearance.providers.wire.anthropic_request`'s, and the
    answer is read by :func:`~clearance.providers.wire.parse_anthropic_message` or, for a
    stream, :class:`~clearance.providers.wire.AnthropicStreamAssembler`. See
    :class:`~clearance.providers.http.HttpProvider` for the arguments.
    """

    protocol: ClassVar[WireProtocol] = "anthropic"

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        async_shards: int = ASYNC_SHARDS,
        async_client: AsyncClientKind = "httpx",
    ) -> None:
        super().__init__(
            name,
            base_url,
            api_key=api_key,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            headers=_with_version(headers),
            transport=transport,
            async_transport=async_transport,
            async_shards=async_shards,
            async_client=async_client,
        )

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}

    def _url(self, model_name: str, stream: bool) -> str:
        return f"{self.base_url}/messages"

    def _body(self, model_name: str, request: ChatRequest) -> dict[str, Any]:
        return anthropic_request(model_name, request)

    def _parse(
        self, decoded: Mapping[str, Any], status_code: int, model_id: str | None
    ) -> ChatResponse:
        return parse_anthropic_message(
            decoded, provider=self.name, model_id=model_id, status_code=status_code
        )

    def _assembler(self, model_id: str | None) -> Assembler:
        return AnthropicStreamAssembler(self.name, model_id)


def _with_version(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` with ``anthropic-version`` added, unless they name one (in any case)."""
    given = dict(headers or {})
    if any(key.lower() == "anthropic-version" for key in given):
        return given
    return {"anthropic-version": ANTHROPIC_VERSION, **given}
