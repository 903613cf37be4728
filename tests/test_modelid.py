"""Model ids are parsed in exactly one function."""

from __future__ import annotations

import pytest

from clearance.errors import InvalidModelId
from clearance.modelid import ModelId, is_valid_provider_name, parse_model_id

PROVIDERS = {"openrouter", "ollama", "ref"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "openrouter:anthropic/claude-sonnet-4",
            ModelId("openrouter", "anthropic/claude-sonnet-4"),
        ),
        ("openrouter:openai/gpt-4o:free", ModelId("openrouter", "openai/gpt-4o:free")),
        ("ollama:llama3:8b", ModelId("ollama", "llama3:8b")),
        ("llama3:8b", ModelId(None, "llama3:8b")),  # 'llama3' is no provider
        ("anthropic/claude-sonnet-4", ModelId(None, "anthropic/claude-sonnet-4")),
        ("ref/steady", ModelId(None, "ref/steady")),
    ],
)
def test_parse(text: str, expected: ModelId) -> None:
    parsed = parse_model_id(text, PROVIDERS)
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize("text", ["", " openrouter:x", "a b", "openrouter:"])
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidModelId) as caught:
        parse_model_id(text, PROVIDERS)
    assert caught.value.text == text


def test_provider_names() -> None:
    assert is_valid_provider_name("open-router_2.x")
    assert not is_valid_provider_name("Open")
    assert not is_valid_provider_name("a:b")
    assert not is_valid_provider_name("a/b")
