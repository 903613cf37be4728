"""The reference provider's model table and its ``/v1/models`` answer (OpenRouter format).

Every model here is a SIMULATOR: a small deterministic program that reads the
request's messages and tools and answers the way a model of that behaviour
would. None of them is a language model, and their prices are invented (but
realistic and distinct, so routing and pricing code has something to compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CREATED",
    "REFERENCE_MODELS",
    "Behaviour",
    "ReferenceModel",
    "find_model",
    "models_document",
]

CREATED = 1_700_000_000
"""The fixed ``created`` timestamp of every answer and model (2023-11-14), for recordings."""

Behaviour = Literal[
    "steady",
    "sloppy",
    "flaky",
    "status",
    "context-small",
    "error-in-200",
    "stream-error",
    "slow",
    "hang",
]


@dataclass(frozen=True, slots=True)
class ReferenceModel:
    """One simulated model: its id, behaviour and the price it advertises."""

    id: str
    behaviour: Behaviour
    summary: str
    """What the simulator does, in one sentence (becomes the model's description)."""
    prompt_price: str
    """USD per prompt token, as OpenRouter writes it (a decimal string)."""
    completion_price: str
    """USD per completion token (a decimal string)."""
    context_length: int = 128_000
    status: int | None = None
    """For the ``status`` behaviour: the HTTP status it always answers."""


REFERENCE_MODELS: tuple[ReferenceModel, ...] = (
    ReferenceModel(
        "ref/steady",
        "steady",
        "Answers like a careful tool-using model: picks the tools the request asks for, "
        "looks up ids and addresses it was not given, chains calls through their results, "
        "and writes a final answer that says what was done.",
        "0.0000005",
        "0.0000015",
    ),
    ReferenceModel(
        "ref/sloppy",
        "sloppy",
        "Like ref/steady, but a set share of its tool calls carry one fault (wrong argument "
        "type, missing required argument, invented tool, malformed JSON, wrong tool), drawn "
        "anew each time the server sees a request, so repeated trials differ; the "
        "x-reference-fault response header names it.",
        "0.0000002",
        "0.0000006",
        context_length=64_000,
    ),
    ReferenceModel(
        "ref/flaky",
        "flaky",
        "Like ref/steady, but each distinct request first fails on a schedule (429 with "
        "Retry-After, then 503) and some answers are slow or hang.",
        "0.0000003",
        "0.0000012",
    ),
    ReferenceModel(
        "ref/status-429",
        "status",
        "Always answers 429 with Retry-After.",
        "0.0000001",
        "0.0000004",
        status=429,
    ),
    ReferenceModel(
        "ref/status-500",
        "status",
        "Always answers 500.",
        "0.00000015",
        "0.0000005",
        status=500,
    ),
    ReferenceModel(
        "ref/status-401",
        "status",
        "Always answers 401.",
        "0.00000025",
        "0.000001",
        status=401,
    ),
    ReferenceModel(
        "ref/status-402",
        "status",
        "Always answers 402 Insufficient credits (OpenRouter style).",
        "0.000003",
        "0.000015",
        status=402,
    ),
    ReferenceModel(
        "ref/context-small",
        "context-small",
        "Like ref/steady with a 2,000-token window: a longer prompt gets 400 "
        "context_length_exceeded.",
        "0.00000005",
        "0.0000002",
        context_length=2_000,
    ),
    ReferenceModel(
        "ref/error-in-200",
        "error-in-200",
        "Answers HTTP 200 with an OpenRouter error body (code 502) instead of a completion.",
        "0.0000004",
        "0.0000016",
    ),
    ReferenceModel(
        "ref/stream-error",
        "stream-error",
        "Streams one content chunk, then an error chunk inside the 200 stream (a plain "
        "request gets the error in a 200 body).",
        "0.00000035",
        "0.0000014",
    ),
    ReferenceModel(
        "ref/slow",
        "slow",
        "Like ref/steady after a fixed delay (slow_ms, 200 ms by default).",
        "0.000001",
        "0.000004",
    ),
    ReferenceModel(
        "ref/hang",
        "hang",
        "Never answers: holds the request until the client gives up or the server stops.",
        "0.0000008",
        "0.0000032",
    ),
)

_BY_ID = {model.id: model for model in REFERENCE_MODELS}

_SUPPORTED_PARAMETERS = (
    "max_tokens",
    "parallel_tool_calls",
    "seed",
    "stop",
    "stream",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
)


def find_model(model_id: str) -> ReferenceModel | None:
    """The simulated model with this id, or ``None``."""
    return _BY_ID.get(model_id)


def _entry(model: ReferenceModel, name: str) -> dict[str, Any]:
    return {
        "id": name,
        "canonical_slug": name,
        "name": f"Reference simulator: {name.removeprefix('ref/')}",
        "created": CREATED,
        "description": (
            "SIMULATOR, not a real model: clearance's reference provider answers with a "
            f"deterministic program, for demos and tests. {model.summary}"
        ),
        "context_length": model.context_length,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": model.prompt_price,
            "completion": model.completion_price,
            "request": "0",
            "image": "0",
            "web_search": "0",
            "internal_reasoning": "0",
        },
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": 4_096,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(_SUPPORTED_PARAMETERS),
    }


def models_document(protocol: str = "openai") -> dict[str, Any]:
    """The ``GET /v1/models`` answer: OpenRouter's format, plus ``"simulator": true``.

    Args:
        protocol: whose names to list (see :mod:`clearance.reference.names`): the
            OpenAI-compatible route's answer by default; ``anthropic`` or ``gemini``
            give the same entries (prices included) under that protocol's names, for a
            catalog to register the models a native provider serves.
    """
    from clearance.reference.names import native_names  # names reads this table

    entries = [_entry(model, name) for name, model in native_names(protocol)]
    return {"data": entries, "simulator": True}
