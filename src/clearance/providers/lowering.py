"""Schema lowering: a tool's JSON Schema turned into what a wire protocol accepts.

A contract's ``parameters`` schema is JSON Schema 2020-12; each protocol takes a
subset (:mod:`clearance.providers.profiles` holds the data). :func:`lower_schema`
returns the schema that is actually sent and a :class:`Loss` for every keyword
dropped or changed on the way, so a report can say what the model never saw.
Arguments are always validated against the *original* schema: a model that exploits a
dropped constraint still fails, with a failure code that says so.

The providers call :func:`lower_parameters` on every tool they send (cached by the
schema's canonical JSON, so a suite's tools are lowered once each).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from clearance.providers.profiles import GEMINI_FIELDS
from clearance.providers.types import Protocol

__all__ = ["Loss", "Lowered", "lower_parameters", "lower_schema"]

LossAction = Literal["dropped", "changed"]


@dataclass(frozen=True, slots=True)
class Loss:
    """One keyword the lowered schema does not carry as the contract wrote it."""

    path: str
    """JSON Pointer of the subschema holding it (``""`` is the root)."""
    keyword: str
    action: LossAction
    detail: str
    """What was done and what the model may now get away with."""


@dataclass(frozen=True, slots=True)
class Lowered:
    """A schema as sent to one protocol, and what it lost."""

    protocol: Protocol
    schema: dict[str, Any]
    losses: tuple[Loss, ...]


def lower_schema(schema: Mapping[str, Any], protocol: Protocol) -> Lowered:
    """The schema ``protocol`` accepts in place of ``schema``, with every loss named."""
    losses: list[Loss] = []
    if protocol == "gemini":
        lowered = _gemini(schema, "", losses)
    else:
        lowered = json.loads(json.dumps(schema))
    return Lowered(protocol, lowered, tuple(losses))


def lower_parameters(schema: Mapping[str, Any], protocol: Protocol) -> dict[str, Any]:
    """The lowered schema alone (cached): what a provider puts in its tool declaration.

    The result is shared between calls: do not change it.
    """
    return _cached(json.dumps(schema, sort_keys=True, separators=(",", ":")), protocol)


@functools.lru_cache(maxsize=1024)
def _cached(canonical: str, protocol: Protocol) -> dict[str, Any]:
    return lower_schema(json.loads(canonical), protocol).schema


def _gemini(schema: Any, path: str, losses: list[Loss]) -> Any:
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        here = f"{path}/{key}"
        if key not in GEMINI_FIELDS:
            losses.append(Loss(path, key, "dropped", f"Gemini's Schema has no {key!r}"))
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _gemini(sub, f"{here}/{name}", losses) for name, sub in value.items()}
        elif key == "items" or key == "anyOf":
            out[key] = (
                [_gemini(sub, f"{here}/{i}", losses) for i, sub in enumerate(value)]
                if isinstance(value, list)
                else _gemini(value, here, losses)
            )
        else:
            out[key] = value
    return out
