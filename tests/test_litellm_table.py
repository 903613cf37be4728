"""LiteLLM's price table as a second price source, on the real table."""

from __future__ import annotations

import json
from decimal import Decimal
from decimal import Decimal as D

import pytest

from clearance.errors import SourceFormatError
from clearance.litellm_table import parse_litellm_table, read_litellm_table
from tests.conftest import LITELLM_TABLE


@pytest.fixture(scope="module")
def literal_table() -> dict[str, dict[str, object]]:
    """The table with every number kept as the literal text the file wrote."""
    table: dict[str, dict[str, object]] = json.loads(
        LITELLM_TABLE.read_text(), parse_float=str, parse_int=str
    )
    return table


def test_every_imported_price_equals_the_file_literal(
    literal_table: dict[str, dict[str, object]],
) -> None:
    table = read_litellm_table(LITELLM_TABLE)
    assert len(table.entries) > 3000
    fields = {
        "input_cost_per_token": "prompt",
        "output_cost_per_token": "completion",
        "cache_read_input_token_cost": "cache_read",
        "cache_creation_input_token_cost": "cache_write",
        "output_cost_per_reasoning_token": "reasoning",
    }
    compared = 0
    for key, entry in table.entries.items():
        literal = literal_table[key]
        for source_field, attribute in fields.items():
            value = getattr(entry.price.rates, attribute)
            if literal.get(source_field) is None:
                assert value is None, (key, source_field)
            else:
                assert value == Decimal(str(literal[source_field])), (key, source_field)
                compared += 1
    assert compared > 6000


def test_skipped_entries_are_counted_by_reason(literal_table: dict[str, dict[str, object]]) -> None:
    table = read_litellm_table(LITELLM_TABLE)
    total = sum(table.skipped.values()) + len(table.entries)
    assert total == len(literal_table) - 1  # sample_spec is documentation
    assert table.skipped["mode embedding"] > 0
    assert "gpt-4o" in table.entries
    assert all(e.mode in (None, "chat", "completion", "responses") for e in table.entries.values())


def test_above_200k_becomes_a_tier_from_200001() -> None:
    table = read_litellm_table(LITELLM_TABLE)
    tiered = [e for e in table.entries.values() if e.price.tiers]
    assert tiered
    for entry in tiered:
        for tier in entry.price.tiers:
            assert tier.min_prompt_tokens % 1000 == 1


def test_matching_rules_are_exact() -> None:
    table = parse_litellm_table(
        {
            "gpt-4o": {
                "input_cost_per_token": D("2.5e-06"),
                "output_cost_per_token": D("1e-05"),
                "litellm_provider": "openai",
                "mode": "chat",
            },
            "groq/llama-3.1-8b": {
                "input_cost_per_token": D("5e-08"),
                "output_cost_per_token": D("8e-08"),
                "litellm_provider": "groq",
                "mode": "chat",
            },
            "mistral-small": {
                "input_cost_per_token": D("1e-07"),
                "output_cost_per_token": D("3e-07"),
                "litellm_provider": "bedrock",
                "mode": "chat",
            },
        },
        source="t",
    )
    assert table.match("openrouter", "openai/gpt-4o").key == "gpt-4o"  # type: ignore[union-attr]
    assert table.match("groq", "llama-3.1-8b").key == "groq/llama-3.1-8b"  # type: ignore[union-attr]
    assert table.match("openai", "gpt-4o").key == "gpt-4o"  # type: ignore[union-attr]
    # same model name, but LiteLLM's entry is another provider's product: no match
    assert table.match("openrouter", "mistralai/mistral-small") is None
    alias = table.match("openrouter", "x/y", {"openrouter:x/y": "mistral-small"})
    assert alias is not None
    assert alias.key == "mistral-small"
    assert table.entries["gpt-4o"].price.rates.prompt == Decimal("0.0000025")


def test_floats_parsed_lossily_are_refused() -> None:
    with pytest.raises(SourceFormatError, match="not an exact decimal") as caught:
        parse_litellm_table(
            {"m": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1.0}}, source="t"
        )
    assert caught.value.pointer == "/m/input_cost_per_token"


def test_not_a_table() -> None:
    with pytest.raises(SourceFormatError, match="object of model entries"):
        parse_litellm_table([1, 2], source="t")
