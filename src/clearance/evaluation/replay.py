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

from clearance.evaluation.recording import _to_httpx, active_cassette
from clearance.providers.base import ChatRequest, ChunkCallback, ProviderReply
from clearance.providers.http import HttpProvider

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
        if (
            active is not None
            and active[0].replays(active[1])
            and (timeout_s is None or timeout_s > 0)
            and (deadline_s is None or deadline_s > 0)
        ):
            cassette, trial = active
            started = time.perf_counter()
            url, content = self.inner.outgoing(model_name, request)
            stored = cassette.serve("POST", url, content, trial)
            if stored is not None:  # None: ``new`` records this trial from here on
                answer = self.inner.read_answer(
                    _to_httpx(stored), stream=request.stream, model_id=model_id, on_chunk=on_chunk
                )
                status = stored["status"]["code"]
                return ProviderReply(answer, time.perf_counter() - started, status)
        return await self.inner.acomplete(
            model_name,
            request,
            model_id=model_id,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            on_chunk=on_chunk,
        )
