"""Replaying without HTTP: a provider that serves a replaying cassette's answers itself.

An eval call is a router call (kill switch, policy, retries, pricing, call log); only
the provider under the router changes. :class:`ReplayingProvider` wraps the run's
:class:`~clearance.providers.http.HttpProvider` of a candidate. Inside a cassette that
replays (:meth:`~clearance.evaluation.recording.CaseCassette.replays`), a call builds
its body and URL with the provider's own protocol hooks, asks the cassette for the
recorded answer (the same strict match, in order, with the same errors as the recording
transport) and reads it with the provider's own parser, error classifier and stream
assembler: no httpx client request is built, no header merged, no cookie jar consulted.
Everything else (no cassette active, a cassette being recorded, a trial that records
from here on in ``new``, a call whose time is already up) goes to the wrapped provider
unchanged, through the :class:`~clearance.evaluation.recording.RecordingTransport`.
"""

from __future__ import annotations

import time
from typing import Any

from clearance.evaluation.recording import _to_httpx, active_cassette
from clearance.providers.base import ChatRequest, ChunkCallback, ProviderReply
from clearance.providers.http import HttpProvider, encode_json

__all__ = ["ReplayingProvider"]


class ReplayingProvider:
    """``inner``'s calls, answered from the active cassette when it replays.

    Not owned: closing it does nothing (whoever opened ``inner`` closes it).
    """

    def __init__(self, inner: HttpProvider) -> None:
        self.name = inner.name
        self.inner = inner

    def __repr__(self) -> str:
        return f"ReplayingProvider({self.inner!r})"

    def close(self) -> None:
        """Nothing: the wrapped provider is closed by whoever opened it."""

    async def aclose(self) -> None:
        """Nothing: the wrapped provider is closed by whoever opened it."""

    def complete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """The wrapped provider's call (the eval engine calls asynchronously)."""
        return self.inner.complete(
            model_name,
            request,
            model_id=model_id,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            on_chunk=on_chunk,
        )

    async def acomplete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """The recorded answer when the active cassette replays; else the wrapped call.

        Raises:
            ProviderError: the recorded answer is an error, or does not parse (as the
                wrapped provider would raise it).
            RecordingError: the request is not the one recorded at its place.
        """
        active = active_cassette()
        inner = self.inner
        if (
            active is None
            or not active[0].replays(active[1])
            or (timeout_s is not None and timeout_s <= 0)
            or (deadline_s is not None and deadline_s <= 0)
        ):
            return await inner.acomplete(
                model_name,
                request,
                model_id=model_id,
                timeout_s=timeout_s,
                deadline_s=deadline_s,
                on_chunk=on_chunk,
            )
        cassette, trial = active
        started = time.perf_counter()
        content = encode_json(inner._body(model_name, request))
        url = inner._url_for(model_name, request.stream)
        stored = cassette.serve("POST", url, content, trial)
        if stored is None:  # ``new``: this trial is recorded from here on
            return await inner.acomplete(
                model_name,
                request,
                model_id=model_id,
                timeout_s=timeout_s,
                deadline_s=deadline_s,
                on_chunk=on_chunk,
            )
        return _read(inner, stored, request.stream, model_id, on_chunk, started)


def _read(
    inner: HttpProvider,
    stored: dict[str, Any],
    stream: bool,
    model_id: str | None,
    on_chunk: ChunkCallback | None,
    started: float,
) -> ProviderReply:
    """A recorded answer read as ``inner`` reads one off the wire."""
    response = _to_httpx(stored)
    body: bytes = stored["body"]["string"]
    if response.status_code >= 400:
        raise inner._error(response, body, model_id)
    if not stream:
        answer = inner._answer(response, body, model_id)
        return ProviderReply(answer, time.perf_counter() - started, response.status_code)
    assembler = inner._assembler(model_id)
    response.encoding = "utf-8"  # SSE is UTF-8 whatever the charset says
    for line in response.iter_lines():
        assembler.feed_line(line)
        if on_chunk is not None and assembler.last_chunk is not None:
            on_chunk(assembler.last_chunk)
    return ProviderReply(assembler.result(), time.perf_counter() - started, response.status_code)
