"""The simulated models' names on each wire protocol, and the model each name stands for.

One table of behaviours (:data:`~clearance.reference.catalog.REFERENCE_MODELS`) is served
on three protocols, under the names each protocol's clients expect:

- OpenAI chat completions: the table's ids, ``ref/steady``.
- Anthropic Messages: ``ref-steady``, whose answers name the dated snapshot
  ``ref-steady-20231114`` (as ``claude-haiku-4-5`` answers ``claude-haiku-4-5-20251001``);
  the dated id is accepted too.
- Gemini: ``ref-2.5-steady`` (a 2.x-style model: its ``functionCall`` parts carry no id)
  and ``ref-3-steady`` (3.x-style: they carry one, and a missing ``thoughtSignature``
  is refused).

Every name starts with ``ref``: none can be taken for a real model.
"""

from __future__ import annotations

from typing import Literal

from clearance.reference.catalog import REFERENCE_MODELS, ReferenceModel, find_model

__all__ = [
    "GEMINI_GENERATIONS",
    "SNAPSHOT_DATE",
    "Generation",
    "anthropic_name",
    "anthropic_snapshot",
    "find_anthropic",
    "find_gemini",
    "gemini_name",
    "native_names",
]

SNAPSHOT_DATE = "20231114"
"""The date of every Anthropic-style snapshot id: the day of ``CREATED``."""

Generation = Literal["2.5", "3"]
GEMINI_GENERATIONS: tuple[Generation, ...] = ("2.5", "3")
"""Gemini generations the simulator imitates: 2.x sends function calls without ids, 3.x
with ids, and 3.x refuses a function call sent back without its thought signature."""


def _suffix(model: ReferenceModel) -> str:
    return model.id.removeprefix("ref/")


def anthropic_name(model: ReferenceModel) -> str:
    """The model's Anthropic Messages name: ``ref-steady``."""
    return f"ref-{_suffix(model)}"


def anthropic_snapshot(model: ReferenceModel) -> str:
    """The dated snapshot id its Anthropic answers name: ``ref-steady-20231114``."""
    return f"{anthropic_name(model)}-{SNAPSHOT_DATE}"


def gemini_name(model: ReferenceModel, generation: Generation) -> str:
    """The model's Gemini name for a generation: ``ref-2.5-steady``, ``ref-3-steady``."""
    return f"ref-{generation}-{_suffix(model)}"


def find_anthropic(name: str) -> ReferenceModel | None:
    """The simulated model an Anthropic name (or its dated snapshot id) stands for."""
    if not name.startswith("ref-"):
        return None
    base = name.removesuffix(f"-{SNAPSHOT_DATE}")
    return find_model("ref/" + base.removeprefix("ref-"))


def find_gemini(name: str) -> tuple[ReferenceModel, Generation] | None:
    """The simulated model and generation a Gemini name stands for (``models/`` allowed)."""
    name = name.removeprefix("models/")
    for generation in GEMINI_GENERATIONS:
        prefix = f"ref-{generation}-"
        if name.startswith(prefix):
            model = find_model("ref/" + name.removeprefix(prefix))
            return (model, generation) if model is not None else None
    return None


def native_names(protocol: str) -> tuple[tuple[str, ReferenceModel], ...]:
    """Every (name, model) a protocol serves, in the table's order.

    Raises:
        ValueError: an unknown protocol.
    """
    if protocol == "openai":
        return tuple((model.id, model) for model in REFERENCE_MODELS)
    if protocol == "anthropic":
        return tuple((anthropic_name(model), model) for model in REFERENCE_MODELS)
    if protocol == "gemini":
        return tuple(
            (gemini_name(model, generation), model)
            for model in REFERENCE_MODELS
            for generation in GEMINI_GENERATIONS
        )
    raise ValueError(f"unknown protocol {protocol!r}: openai, anthropic or gemini")
