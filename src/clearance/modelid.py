"""Model ids: the one place where a model id is parsed.

A catalog model id is ``PROVIDER:NAME``: the name of a provider declared in the
configuration, a colon, and the provider's own model name, which may itself
contain slashes and colons (``openrouter:openai/gpt-4o:free``,
``ollama:llama3:8b``). The text before the first colon is taken as the provider
only when it names a known provider; anything else is an unqualified name that
the catalog resolves when it is unique.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from clearance.errors import InvalidModelId

__all__ = ["PROVIDER_NAME_PATTERN", "ModelId", "parse_model_id"]

PROVIDER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
_PROVIDER_RE = re.compile(PROVIDER_NAME_PATTERN)


@dataclass(frozen=True, slots=True)
class ModelId:
    """A parsed model id; ``provider`` is ``None`` for a name not yet resolved."""

    provider: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.provider is None else f"{self.provider}:{self.name}"

    @property
    def qualified(self) -> bool:
        """Whether the provider is known (the id is a catalog key)."""
        return self.provider is not None


def parse_model_id(text: str, providers: Collection[str] = ()) -> ModelId:
    """Parse ``PROVIDER:NAME`` or a bare ``NAME``.

    Args:
        text: the id as a person or a file wrote it.
        providers: names of the known providers; a prefix that is not one of
            them is part of the model name (``llama3:8b``).

    Raises:
        InvalidModelId: empty text, surrounding white space, or a known provider with no name.
    """
    if not text:
        raise InvalidModelId(text, "it is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidModelId(text, "it contains white space")
    head, sep, rest = text.partition(":")
    if sep and head in providers:
        if not rest:
            raise InvalidModelId(text, f"provider {head!r} is followed by no model name")
        return ModelId(head, rest)
    return ModelId(None, text)


def is_valid_provider_name(name: str) -> bool:
    """Whether ``name`` may name a provider (lower case, digits, ``_.-``; no colon or slash)."""
    return bool(_PROVIDER_RE.match(name))
