"""The native Google Gemini protocol over httpx (``generateContent``).

``POST {base_url}/models/{model}:generateContent``, or
``:streamGenerateContent?alt=sse`` for a stream, with ``base_url`` such as
``https://generativelanguage.googleapis.com/v1beta``. The key goes in the
``x-goog-api-key`` header, never in the URL (a URL ends up in logs and error messages;
a header is scrubbed). The I/O is :class:`~clearance.providers.http.HttpProvider`'s; the
body and the answer are :mod:`clearance.providers.wire`'s Gemini modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from clearance.providers.base import ChatRequest
from clearance.providers.http import Assembler, HttpProvider
from clearance.providers.types import ChatResponse
from clearance.providers.types import Protocol as WireProtocol
from clearance.providers.wire import GeminiStreamAssembler, gemini_request, parse_gemini_response

__all__ = ["GeminiProvider"]


class GeminiProvider(HttpProvider):
    """Google's Gemini API at ``base_url`` (``.../v1beta``), the key in ``x-goog-api-key``.

    A model name is Gemini's own (``gemini-2.5-flash``); one with a collection already
    (``models/gemini-2.5-flash``, ``tunedModels/my-model``) is used as it is. See
    :class:`~clearance.providers.http.HttpProvider` for the arguments.
    """

    protocol: ClassVar[WireProtocol] = "gemini"

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}

    def _url(self, model_name: str, stream: bool) -> str:
        path = quote(model_name if "/" in model_name else f"models/{model_name}", safe="/-._~")
        if stream:
            return f"{self.base_url}/{path}:streamGenerateContent?alt=sse"
        return f"{self.base_url}/{path}:generateContent"

    def _body(self, model_name: str, request: ChatRequest) -> dict[str, Any]:
        return gemini_request(model_name, request)

    def _parse(
        self, decoded: Mapping[str, Any], status_code: int, model_id: str | None
    ) -> ChatResponse:
        return parse_gemini_response(
            decoded, provider=self.name, model_id=model_id, status_code=status_code
        )

    def _assembler(self, model_id: str | None) -> Assembler:
        return GeminiStreamAssembler(self.name, model_id)
