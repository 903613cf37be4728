"""One place that builds a provider from settings: its wire protocol picks the class.

A provider declared under ``[[providers]]`` or kept in the catalog says which protocol
it speaks (``openai``, ``anthropic``, ``gemini``); :func:`make_provider` turns that and
its address into the :class:`~clearance.providers.http.HttpProvider` subclass that
speaks it. The class's module is imported on first use, so building an OpenAI-compatible
provider never loads the Anthropic or Gemini code (and importing this module loads none
of them).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from clearance.errors import ConfigError
from clearance.providers.types import PROTOCOLS

if TYPE_CHECKING:
    import httpx

    from clearance.providers.http import AsyncClientKind, HttpProvider

__all__ = ["make_provider", "provider_class"]

#: protocol -> (module, class) of the provider that speaks it.
_CLASSES: dict[str, tuple[str, str]] = {
    "openai": ("clearance.providers.openai", "OpenAICompatibleProvider"),
    "anthropic": ("clearance.providers.anthropic", "AnthropicProvider"),
    "gemini": ("clearance.providers.gemini", "GeminiProvider"),
}


def provider_class(
    protocol: str, *, name: str | None = None, source: str | None = None
) -> type[HttpProvider]:
    """The provider class that speaks ``protocol``, its module imported now.

    Args:
        protocol: ``openai``, ``anthropic`` or ``gemini``.
        name: the provider, named in the error.
        source: where the protocol was declared (a configuration file), named in the
            error; ``None``: the catalog's providers table.

    Raises:
        ConfigError: an unknown protocol; names where it came from and the allowed values.
    """
    found = _CLASSES.get(protocol)
    if found is None:
        allowed = ", ".join(PROTOCOLS)
        who = f"provider {name!r}" if name else "a provider"
        raise ConfigError(
            f"{who} declares protocol {protocol!r}, which is not one of {allowed}",
            source=source or "the catalog's providers table",
            key=f"providers.{name}.protocol" if name else "protocol",
            fix=f"set protocol to one of {allowed} (openai for any OpenAI-compatible API)",
        )
    module, attribute = found
    cls: type[HttpProvider] = getattr(importlib.import_module(module), attribute)
    return cls


def make_provider(
    protocol: str,
    name: str,
    base_url: str,
    *,
    api_key: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = 60.0,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    async_client: AsyncClientKind = "httpx",
    source: str | None = None,
) -> HttpProvider:
    """The provider ``name`` at ``base_url``, speaking ``protocol``.

    The arguments after ``base_url`` are :class:`~clearance.providers.http.HttpProvider`'s
    (the key itself, read by the caller; the name of its variable; the bound on one
    attempt; extra headers; injected transports; what sends async requests), plus
    ``source``, where the provider was declared, for the error.

    Raises:
        ConfigError: an unknown protocol (see :func:`provider_class`).
    """
    cls = provider_class(protocol, name=name, source=source)
    return cls(
        name,
        base_url,
        api_key=api_key,
        api_key_env=api_key_env,
        timeout_s=timeout_s,
        headers=headers,
        transport=transport,
        async_transport=async_transport,
        async_client=async_client,
    )
