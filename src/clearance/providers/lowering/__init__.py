"""Schema lowering: a tool's JSON Schema turned into what a wire protocol accepts.

A contract's ``parameters`` schema is JSON Schema 2020-12; each protocol takes a
subset (:mod:`clearance.providers.profiles` holds the data and its sources).
:func:`lower_schema` returns the schema that is actually sent and a :class:`Loss` for
every keyword dropped or changed on the way, so a report can say what the model never
saw. Arguments are always validated against the *original* schema: a model that
exploits a dropped constraint still fails, with the failure code ``dropped_constraint``.

Per target (one module each):

- ``openai``: the schema as written (clearance sends tools without ``strict: true``);
- ``openai-strict`` (``openai`` with ``strict=True``): :mod:`.openai_strict`;
- ``anthropic``: :mod:`.anthropic`;
- ``gemini``: :mod:`.gemini`.

Lowering only relaxes: every argument object the original accepts, the lowered schema
accepts too, except where a loss says ``narrowed`` (a type Gemini needs where the
contract allows any, an object strict mode closes). The providers call
:func:`lower_parameters` on every tool they send; it is cached by the schema's canonical
JSON, so a suite's tools are lowered once each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from clearance.errors import InputError
from clearance.providers.lowering.anthropic import lower_anthropic
from clearance.providers.lowering.gemini import lower_gemini
from clearance.providers.lowering.losses import Loss, LossAction, Lowered, Notes
from clearance.providers.lowering.openai_strict import lower_openai_strict
from clearance.providers.profiles import PROFILE_PROTOCOLS, PROFILES
from clearance.providers.types import PROTOCOLS, Protocol

__all__ = [
    "Loss",
    "LossAction",
    "Lowered",
    "lower_for_profile",
    "lower_parameters",
    "lower_schema",
    "lowered_for",
    "schema_losses",
]

_LOWERINGS: dict[tuple[str, bool], Callable[[Mapping[str, Any], Notes], dict[str, Any]]] = {
    ("openai", True): lower_openai_strict,
    ("anthropic", False): lower_anthropic,
    ("gemini", False): lower_gemini,
}


def lower_schema(schema: Mapping[str, Any], protocol: Protocol, *, strict: bool = False) -> Lowered:
    """The schema ``protocol`` accepts in place of ``schema``, with every loss named.

    Args:
        schema: a tool's argument schema (JSON Schema 2020-12; the top level an object).
        protocol: the wire protocol it is sent over.
        strict: OpenAI strict mode (``strict: true`` on the function); other protocols
            ignore it.

    Raises:
        InputError: an unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise InputError(
            f"unknown wire protocol {protocol!r}",
            fix=f"use one of {', '.join(PROTOCOLS)}",
        )
    strict = strict and protocol == "openai"
    lowering = _LOWERINGS.get((protocol, strict))
    if lowering is None:
        return Lowered(protocol, copy.deepcopy(dict(schema)), (), strict)
    notes = Notes()
    lowered = lowering(schema, notes)
    # plain JSON, sharing nothing with the contract's schema
    return Lowered(protocol, json.loads(json.dumps(lowered)), notes.losses(), strict)


def lower_for_profile(schema: Mapping[str, Any], profile: str) -> Lowered:
    """The schema lowered for a provider profile (``openai-strict``, ``gemini``, ``anthropic``).

    Raises:
        InputError: an unknown profile.
    """
    found = PROFILE_PROTOCOLS.get(profile)
    if found is None:
        raise InputError(
            f"unknown provider profile {profile!r}", fix=f"use one of {', '.join(PROFILES)}"
        )
    protocol, strict = found
    return _lowered(schema, protocol, strict)


def lower_parameters(
    schema: Mapping[str, Any], protocol: Protocol, *, strict: bool = False
) -> dict[str, Any]:
    """The lowered schema alone (cached): what a provider puts in its tool declaration.

    For Gemini, a top level without ``properties`` is a tool that takes no arguments.
    The result is shared between calls: do not change it.
    """
    return _lowered(schema, protocol, strict).schema


def lowered_for(schema: Mapping[str, Any], protocol: Protocol, *, strict: bool = False) -> Lowered:
    """:func:`lower_schema`, cached (the result is shared: do not change it)."""
    return _lowered(schema, protocol, strict)


def schema_losses(
    schema: Mapping[str, Any], protocol: Protocol, *, strict: bool = False
) -> tuple[Loss, ...]:
    """What lowering ``schema`` for ``protocol`` loses (cached)."""
    return _lowered(schema, protocol, strict).losses


_CACHE: dict[tuple[bytes, Protocol, bool], Lowered] = {}
_CACHE_SIZE = 4096


def _lowered(schema: Mapping[str, Any], protocol: Protocol, strict: bool) -> Lowered:
    strict = strict and protocol == "openai"
    try:
        # the key keeps the schema's key order: the properties' order is sent too
        key = (orjson.dumps(schema), protocol, strict)
    except TypeError:  # not JSON (a caller's own object): lowered each time
        return lower_schema(schema, protocol, strict=strict)
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        found = _CACHE[key] = lower_schema(schema, protocol, strict=strict)
    return found
