"""The ways a provider can send: sync (httpx), and async over each async client.

Tests that exercise real sockets take a ``mode`` from :data:`CALL_MODES` so every
behaviour (errors, deadlines, streams) is proven for every transport the router can use.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from clearance.providers.http import ASYNC_CLIENTS, AsyncClientKind
from clearance.router import Router

__all__ = ["ASYNC_MODES", "CALL_MODES", "call_in_mode"]

ASYNC_MODES = [pytest.param(kind, id=f"async-{kind}") for kind in ASYNC_CLIENTS]
"""Each async client, as a parameter (``async_client``)."""
CALL_MODES = [pytest.param(None, id="sync"), *ASYNC_MODES]
"""Sync (``None``), then each async client."""


def call_in_mode(router: Router, mode: AsyncClientKind | None, messages: Any, **kwargs: Any) -> Any:
    """``router.complete`` for ``None``, else ``router.acomplete`` in a new event loop."""
    if mode is None:
        return router.complete(messages, **kwargs)
    return asyncio.run(router.acomplete(messages, **kwargs))
