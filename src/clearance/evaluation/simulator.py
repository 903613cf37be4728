"""The reference simulator as an eval run's provider factory, on each wire protocol.

``clearance eval``, ``clearance demo`` and ``pytest evals`` hand a
:class:`SimulatorProviders` to :class:`~clearance.evaluation.engine.Evaluation`, which
names no simulator itself. The simulator serves its models on three protocols, each
under a provider of its own (:data:`PROVIDERS`): ``ref`` (OpenAI chat completions,
``ref:ref/steady``), ``ref-anthropic`` (Anthropic Messages, ``ref-anthropic:ref-steady``)
and ``ref-gemini`` (Gemini, ``ref-gemini:ref-3-steady``). The factory puts a provider's
models into the catalog when the candidates name one (no network needed, so a replay
resolves them too), and, when a run records them and the provider is not configured,
starts the simulator on a free local port for the run and stops it afterwards: one
server, whose one port every protocol's provider calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clearance.providers.types import Protocol

if TYPE_CHECKING:
    import httpx

    from clearance.catalog.database import Catalog
    from clearance.discovery import ModelList
    from clearance.providers.base import Provider
    from clearance.reference import ReferenceServer

__all__ = ["PROVIDER", "PROVIDERS", "SimulatorProviders"]

PROVIDER = "ref"
"""The provider name the simulator's OpenAI-compatible models are catalogued under
(``ref:ref/steady``)."""

PROVIDERS: Mapping[str, Protocol] = {
    PROVIDER: "openai",
    "ref-anthropic": "anthropic",
    "ref-gemini": "gemini",
}
"""Each provider the simulator serves, with its wire protocol."""

_UNSTARTED = "http://reference.invalid"
"""The catalog's address for the simulator until someone configures one: recordings
replay without it, and a run that records starts its own simulator instead."""


def _unstarted_url(protocol: Protocol) -> str:
    return f"{_UNSTARTED}/v1beta" if protocol == "gemini" else f"{_UNSTARTED}/v1"


def _named(provider: str, models: Sequence[str]) -> bool:
    prefix = f"{provider}:"
    return any(
        m.startswith(prefix) or (provider == PROVIDER and m.startswith("ref/")) for m in models
    )


class _SharedServer:
    """One simulator for every provider a run opens: started by the first, stopped by the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ReferenceServer | None = None
        self._users = 0

    def acquire(self, seed: int) -> ReferenceServer:
        from clearance.reference import ReferenceServer

        with self._lock:
            if self._server is None:
                self._server = ReferenceServer(seed=seed).start()
            self._users += 1
            return self._server

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._server is not None:
                self._server.stop()
                self._server = None


@dataclass(frozen=True, slots=True)
class SimulatorProviders:
    """The reference simulator, for the runs whose candidates name its models.

    Implements :class:`~clearance.evaluation.engine.ProviderFactory`.

    Args:
        seed: the seed of the simulator a recording run starts.
    """

    seed: int = 0
    _server: _SharedServer = field(
        default_factory=_SharedServer, init=False, repr=False, compare=False
    )

    def register_models(self, catalog: Catalog, models: Sequence[str]) -> None:
        """Put a simulator provider's models into the catalog when ``models`` names one.

        Each provider is written with its protocol and its models under that protocol's
        names, priced as the simulator advertises. Skipped when they are all there
        already: the shards of one run start together on a shared catalog, and only the
        first needs to write.
        """
        from sqlalchemy.exc import IntegrityError

        from clearance.catalog.modelstore import list_models
        from clearance.discovery import parse_model_list
        from clearance.reference import models_document

        for provider, protocol in PROVIDERS.items():
            if not _named(provider, models):
                continue
            document = parse_model_list(
                models_document(protocol), source=f"reference simulator ({protocol})"
            )
            wanted = {f"{provider}:{model.name}" for model in document.models}
            with catalog.connect() as connection:
                present = {
                    m.id for m in list_models(connection, provider=provider, include_removed=False)
                }
            if wanted <= present:
                continue
            try:
                _write_models(catalog, provider, protocol, document)
            except IntegrityError:  # another shard wrote them at the same moment
                _write_models(catalog, provider, protocol, document)

    def serves(self, provider: str) -> bool:
        """Whether ``provider`` is one of the simulator's (:data:`PROVIDERS`)."""
        return provider in PROVIDERS

    @contextlib.contextmanager
    def open(self, provider: str, transport: httpx.AsyncBaseTransport) -> Iterator[Provider]:
        """Start the simulator (once for all the providers open at a time); the provider,
        of its protocol's class, calls it through ``transport``.

        Raises:
            ValueError: ``provider`` is not the simulator's (see :meth:`serves`).
        """
        protocol = PROVIDERS.get(provider)
        if protocol is None:
            raise ValueError(
                f"the simulator serves providers {', '.join(PROVIDERS)}, not {provider!r}"
            )
        from clearance.providers.factory import make_provider

        server = self._server.acquire(self.seed)
        try:
            yield make_provider(
                protocol, provider, server.base_url_for(protocol), async_transport=transport
            )
        finally:
            self._server.release()


def _write_models(catalog: Catalog, provider: str, protocol: Protocol, document: ModelList) -> None:
    from clearance.catalog.modelstore import ensure_provider, list_providers, sync_models

    with catalog.begin() as connection:
        known = list_providers(connection, [provider])
        ensure_provider(  # a configured address and key variable are kept
            connection,
            provider,
            base_url=(known[0].base_url if known else None) or _unstarted_url(protocol),
            api_key_env=known[0].api_key_env if known else None,
            protocol=protocol,
        )
        sync_models(connection, provider, document, enable_new=False)
