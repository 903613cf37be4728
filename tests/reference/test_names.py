"""The simulated models' names on each protocol: each name finds its model, none looks real."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.discovery import parse_model_list
from clearance.reference import REFERENCE_MODELS, ReferenceModel, models_document
from clearance.reference.names import (
    GEMINI_GENERATIONS,
    Generation,
    anthropic_name,
    anthropic_snapshot,
    find_anthropic,
    find_gemini,
    gemini_name,
    native_names,
)

MODELS = st.sampled_from(REFERENCE_MODELS)


@given(MODELS)
def test_every_anthropic_name_and_snapshot_finds_its_model(found: ReferenceModel) -> None:
    assert find_anthropic(anthropic_name(found)) == found
    assert find_anthropic(anthropic_snapshot(found)) == found
    assert anthropic_snapshot(found).endswith("-20231114")


@given(MODELS, st.sampled_from(GEMINI_GENERATIONS))
def test_every_gemini_name_finds_its_model_and_generation(
    found: ReferenceModel, generation: Generation
) -> None:
    name = gemini_name(found, generation)
    assert find_gemini(name) == (found, generation)
    assert find_gemini(f"models/{name}") == (found, generation)


@pytest.mark.parametrize(
    "name",
    ["claude-sonnet-4", "ref-", "ref-nothing", "ref/steady", "gemini-2.5-flash", "ref-4-steady"],
)
def test_other_names_find_nothing(name: str) -> None:
    assert find_anthropic(name) is None
    assert find_gemini(name) is None


@pytest.mark.parametrize(("protocol", "count"), [("openai", 12), ("anthropic", 12), ("gemini", 24)])
def test_every_name_starts_with_ref(protocol: str, count: int) -> None:
    names = [name for name, _ in native_names(protocol)]
    assert len(names) == len(set(names)) == count
    assert all(name.startswith("ref") for name in names)


def test_an_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown protocol 'cohere'"):
        native_names("cohere")


@pytest.mark.parametrize("protocol", ["anthropic", "gemini"])
def test_the_catalog_document_of_a_protocol_prices_its_names(protocol: str) -> None:
    """What a catalog registers for a native provider: its names, the table's prices."""
    listed = parse_model_list(models_document(protocol), source="reference simulator")
    openai = parse_model_list(models_document(), source="reference simulator")
    names = {name for name, _ in native_names(protocol)}
    assert {model.name for model in listed.models} == names
    rates = {model.name: model.price and model.price.rates for model in openai.models}
    for name, model in native_names(protocol):
        (entry,) = [m for m in listed.models if m.name == name]
        assert entry.price is not None
        assert entry.price.rates == rates[model.id]
        assert "SIMULATOR" in entry.raw["description"]
        assert entry.display_name == f"Reference simulator: {name}"
