"""The reference simulator as an eval run's provider factory.

``clearance eval``, ``clearance demo`` and ``pytest evals`` hand a
:class:`SimulatorProviders` to :class:`~clearance.evaluation.engine.Evaluation`, which
names no simulator itself. It puts the simulator's ``ref:`` models into the catalog when
the candidates name one (no network needed, so a replay resolves them too), and, when a
run records them and no ``ref`` provider is configured, starts the simulator on a free
local port for the run and stops it afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from clearance.catalog.database import Catalog
    from clearance.discovery import ModelList
    from clearance.providers.base import Provider

__all__ = ["PROVIDER", "SimulatorProviders"]

PROVIDER = "ref"
"""The provider name the simulator's models are catalogued under (``ref:ref/steady``)."""

_UNSTARTED_URL = "http://reference.invalid/v1"
"""The catalog's URL for the simulator until someone configures one: recordings replay
without it, and a run that records starts its own simulator instead."""


@dataclass(frozen=True, slots=True)
class SimulatorProviders:
    """The reference simulator, for the runs whose candidates name its models.

    Implements :class:`~clearance.evaluation.engine.ProviderFactory`.

    Args:
        seed: the seed of the simulator a recording run starts.
    """

    seed: int = 0

    def register_models(self, catalog: Catalog, models: Sequence[str]) -> None:
        """Put the simulator's models into the catalog when ``models`` names one of them.

        Skipped when they are all there already: the shards of one run start together
        on a shared catalog, and only the first needs to write.
        """
        if not any(m.startswith(f"{PROVIDER}:") or m.startswith("ref/") for m in models):
            return
        from sqlalchemy.exc import IntegrityError

        from clearance.catalog.modelstore import list_models
        from clearance.discovery import parse_model_list
        from clearance.reference import models_document

        document = parse_model_list(models_document(), source="reference simulator")
        wanted = {f"{PROVIDER}:{model.name}" for model in document.models}
        with catalog.connect() as connection:
            present = {
                m.id for m in list_models(connection, provider=PROVIDER, include_removed=False)
            }
        if wanted <= present:
            return
        try:
            _write_models(catalog, document)
        except IntegrityError:  # another shard wrote them at the same moment
            _write_models(catalog, document)

    def serves(self, provider: str) -> bool:
        """Whether ``provider`` is the simulator's."""
        return provider == PROVIDER

    @contextlib.contextmanager
    def open(self, provider: str, transport: httpx.AsyncBaseTransport) -> Iterator[Provider]:
        """Start the simulator; the provider calls it through ``transport``.

        Raises:
            ValueError: ``provider`` is not the simulator's (see :meth:`serves`).
        """
        if not self.serves(provider):
            raise ValueError(f"the simulator serves provider {PROVIDER!r}, not {provider!r}")
        from clearance.providers.openai import OpenAICompatibleProvider
        from clearance.reference import ReferenceServer

        server = ReferenceServer(seed=self.seed).start()
        try:
            yield OpenAICompatibleProvider(PROVIDER, server.base_url, async_transport=transport)
        finally:
            server.stop()


def _write_models(catalog: Catalog, document: ModelList) -> None:
    from clearance.catalog.modelstore import ensure_provider, list_providers, sync_models

    with catalog.begin() as connection:
        known = list_providers(connection, [PROVIDER])
        ensure_provider(
            connection,
            PROVIDER,
            base_url=known[0].base_url if known else _UNSTARTED_URL,
        )
        sync_models(connection, PROVIDER, document, enable_new=False)
