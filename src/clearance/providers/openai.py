"""The OpenAI chat-completions wire protocol over httpx.

One implementation serves every OpenAI-compatible endpoint: OpenRouter, OpenAI, vLLM,
Ollama, LiteLLM's proxy, Groq, Together and the like, and clearance's own reference
provider. The I/O (clients, attempt bounds, typed errors) is
:class:`~clearance.providers.http.HttpProvider`'s; this module says only where a request
goes and how its answer reads (:mod:`clearance.providers.wire`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from clearance.providers.base import ChatRequest
from clearance.providers.http import ASYNC_SHARDS, Assembler, HttpProvider
from clearance.providers.types import ChatResponse
from clearance.providers.types import Protocol as WireProtocol
from clearance.providers.wire import StreamAssembler, parse_completion

__all__ = ["ASYNC_SHARDS", "OpenAICompatibleProvider"]


class OpenAICompatibleProvider(HttpProvider):
    """A provider reached at ``base_url`` (``.../v1``) with an optional bearer key.

    ``POST {base_url}/chat/completions``; the key goes in ``Authorization: Bearer``.
    See :class:`~clearance.providers.http.HttpProvider` for the arguments.
    """

    protocol: ClassVar[WireProtocol] = "openai"

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _url(self, model_name: str, stream: bool) -> str:
        return f"{self.base_url}/chat/completions"

    def _body(self, model_name: str, request: ChatRequest) -> dict[str, Any]:
        return request.body(model_name)

    def _parse(
        self, decoded: Mapping[str, Any], status_code: int, model_id: str | None
    ) -> ChatResponse:
        return parse_completion(
            decoded, provider=self.name, model_id=model_id, status_code=status_code
        )

    def _assembler(self, model_id: str | None) -> Assembler:
        return StreamAssembler(self.name, model_id)
