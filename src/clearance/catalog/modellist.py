"""A provider's model list, as the catalog stores it: plain records.

:mod:`clearance.discovery` reads a list (``GET {base_url}/models`` or a saved answer)
into a :class:`ModelList`; :func:`~clearance.catalog.modelstore.sync_models` writes one
into the catalog; :mod:`clearance.discovery` re-exports them.

This module imports nothing above it (no SQL, no HTTP): the store below and discovery
above both use it. A model's price is a :class:`~clearance.catalog.pricerecords.Price`,
the catalog's own price record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from clearance.catalog.pricerecords import Price

__all__ = ["DiscoveredModel", "ModelList", "PricingStatus"]

PricingStatus = Literal["priced", "dynamic", "unknown"]


@dataclass(frozen=True, slots=True)
class DiscoveredModel:
    """One entry of a provider's model list."""

    name: str
    """The provider's model id (``anthropic/claude-sonnet-4``)."""
    display_name: str | None
    context_length: int | None
    max_completion_tokens: int | None
    capabilities: dict[str, Any]
    """``tools``, ``tool_choice``, ``structured_outputs``, ``reasoning``, ``vision``
    (``None`` when the list does not say), and ``supported_parameters``."""
    price: Price | None
    """Its price, with ``model_id`` set to :attr:`name` until it is stored."""
    pricing_status: PricingStatus
    pricing_note: str | None
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class ModelList:
    """A parsed model list and where it came from."""

    source: str
    format: Literal["openai", "openrouter", "anthropic", "gemini", "clearance-models"]
    """How it was read (``clearance-models``: from a catalog snapshot)."""
    models: tuple[DiscoveredModel, ...]
    skipped: tuple[str, ...] = ()
    """The models the list holds that are left out, by name: Gemini's that cannot
    ``generateContent`` (embeddings, Imagen, Veo...)."""
