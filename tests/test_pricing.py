"""Tests of ``clearance.pricing``: the exact cost of a call.

Hand-computed examples first (the arithmetic is in a comment beside each),
then reading OpenAI / OpenRouter usage objects, ``Usage`` and ``Price``
validation, ``price_call`` / ``price_call_strict``, hypothesis properties (exact
arithmetic, a larger prompt never costs less, and agreement with an oracle
written from the providers' published billing rule), and worked examples on
real prices from ``tests/data/realdata``.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import json
import os
import pickle
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from clearance.errors import InputError, InvalidUsage, MissingPrice, PricingError
from clearance.pricing import (
    CallCost,
    DefaultPriceWarning,
    InvalidPrice,
    Price,
    PriceRates,
    PriceTier,
    Usage,
    compute_cost,
    price_call,
    price_call_strict,
)
from tests.conftest import LITELLM_TABLE, OPENROUTER_MODELS, OPENROUTER_MODELS_2026

D = Decimal

# 2 / 8 USD per million prompt / completion tokens; the cache and reasoning rates are set
# by each test that needs them.
PROMPT = D("0.000002")
COMPLETION = D("0.000008")
PLAIN = Price("test:plain", PriceRates(PROMPT, COMPLETION))
# A deliberately expensive fallback, as a platform would configure it.
DEFAULT = Price("default", PriceRates(D("0.00003"), D("0.00006")), source="default")


def _with_rates(**rates: Decimal | None) -> Price:
    return Price("test:rated", PriceRates(PROMPT, COMPLETION, **rates))


def _caller_file() -> str:
    """The file a ``stacklevel=2`` warning from pricing.py names when called from here.

    This file, except under mutation testing: mutmut calls every function of the mutated
    module through its trampoline, one frame between the caller and the function.
    """
    trampoline = sys.modules.get("mutmut.mutation.trampoline")
    if "MUTANT_UNDER_TEST" in os.environ and trampoline is not None:
        return str(trampoline.__file__)
    return __file__


def _exact(value: Decimal, expected: str) -> None:
    """``value`` is a Decimal (never a float) equal to ``expected``."""
    assert type(value) is Decimal
    assert value == D(expected)


# ------------------------------------------------------------ hand-computed examples


def test_prompt_and_completion() -> None:
    # 1000 × 0.000002 = 0.002
    # + 500 × 0.000008 = 0.004
    # = 0.006
    _exact(compute_cost(Usage(prompt_tokens=1000, completion_tokens=500), PLAIN), "0.006")


def test_empty_usage_costs_nothing() -> None:
    _exact(compute_cost(Usage(), PLAIN), "0")


def test_cached_tokens_billed_at_cache_read_rate_once() -> None:
    price = _with_rates(cache_read=D("0.0000005"))
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=400)
    # (1000 - 400) × 0.000002  = 0.0012
    # + 400 × 0.0000005        = 0.0002
    # + 500 × 0.000008         = 0.004
    # = 0.0054   (billing the 400 twice would give 0.0062, at the prompt rate only 0.006)
    _exact(compute_cost(usage, price), "0.0054")


def test_cached_tokens_without_cache_read_rate_billed_at_prompt_rate() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=400)
    # 600 × 0.000002 + 400 × 0.000002 + 500 × 0.000008 = 0.0012 + 0.0008 + 0.004 = 0.006
    _exact(compute_cost(usage, PLAIN), "0.006")


def test_cache_write_tokens_billed_at_cache_write_rate() -> None:
    price = _with_rates(cache_write=D("0.0000025"))
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cache_write_tokens=200)
    # (1000 - 200) × 0.000002  = 0.0016
    # + 200 × 0.0000025        = 0.0005
    # + 500 × 0.000008         = 0.004
    # = 0.0061
    _exact(compute_cost(usage, price), "0.0061")


def test_cache_read_and_cache_write_together() -> None:
    price = _with_rates(cache_read=D("0.0000005"), cache_write=D("0.0000025"))
    usage = Usage(
        prompt_tokens=1000, completion_tokens=500, cached_tokens=300, cache_write_tokens=200
    )
    # (1000 - 300 - 200) × 0.000002 = 0.001
    # + 300 × 0.0000005             = 0.00015
    # + 200 × 0.0000025             = 0.0005
    # + 500 × 0.000008              = 0.004
    # = 0.00565
    _exact(compute_cost(usage, price), "0.00565")


def test_reasoning_tokens_billed_at_reasoning_rate_when_set() -> None:
    price = _with_rates(reasoning=D("0.000012"))
    usage = Usage(prompt_tokens=1000, completion_tokens=500, reasoning_tokens=200)
    # 1000 × 0.000002          = 0.002
    # + (500 - 200) × 0.000008 = 0.0024
    # + 200 × 0.000012         = 0.0024
    # = 0.0068   (billing the 200 twice would give 0.0084)
    _exact(compute_cost(usage, price), "0.0068")


def test_reasoning_tokens_billed_at_completion_rate_when_no_reasoning_rate() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, reasoning_tokens=200)
    # 1000 × 0.000002 + 300 × 0.000008 + 200 × 0.000008 = 0.002 + 0.0024 + 0.0016 = 0.006
    # (the same as without reasoning: reasoning is a part of completion, billed once)
    _exact(compute_cost(usage, PLAIN), "0.006")


def test_per_request_fee() -> None:
    price = dataclasses.replace(PLAIN, per_request=D("0.001"))
    # Usage counts one request by default: 0.006 + 1 × 0.001 = 0.007
    _exact(compute_cost(Usage(prompt_tokens=1000, completion_tokens=500), price), "0.007")
    # 0.006 + 3 × 0.001 = 0.009
    _exact(
        compute_cost(Usage(prompt_tokens=1000, completion_tokens=500, requests=3), price),
        "0.009",
    )


def test_images_and_web_searches() -> None:
    price = dataclasses.replace(PLAIN, per_image=D("0.000765"), per_web_search=D("0.004"))
    usage = Usage(prompt_tokens=1000, completion_tokens=500, images=2, web_searches=3)
    # 0.006 (tokens)
    # + 2 × 0.000765 = 0.00153
    # + 3 × 0.004    = 0.012
    # = 0.01953
    _exact(compute_cost(usage, price), "0.01953")


# Gemini-style: prompts above 200k tokens cost more. LiteLLM's "above_200k" is strict, so
# the catalog stores that tier from 200,001 prompt tokens.
TIERED = Price(
    "test:tiered",
    PriceRates(D("0.00000125"), D("0.00001"), cache_read=D("0.00000031")),
    tiers=(
        PriceTier(200_001, PriceRates(D("0.0000025"), D("0.000015"), cache_read=D("0.000000625"))),
    ),
)


def test_tier_not_applied_below_min_prompt_tokens() -> None:
    # 200000 × 0.00000125 = 0.25
    # + 1000 × 0.00001    = 0.01
    # = 0.26
    usage = Usage(prompt_tokens=200_000, completion_tokens=1000)
    _exact(compute_cost(usage, TIERED), "0.26")


def test_tier_applied_at_exactly_min_prompt_tokens() -> None:
    # 200001 × 0.0000025 = 0.5000025
    # + 1000 × 0.000015  = 0.015
    # = 0.5150025
    usage = Usage(prompt_tokens=200_001, completion_tokens=1000)
    _exact(compute_cost(usage, TIERED), "0.5150025")


def test_tier_applied_above_min_prompt_tokens() -> None:
    # 300000 × 0.0000025 = 0.75
    # + 1000 × 0.000015  = 0.015
    # = 0.765
    usage = Usage(prompt_tokens=300_000, completion_tokens=1000)
    _exact(compute_cost(usage, TIERED), "0.765")


def test_tier_replaces_cache_read_rate_too() -> None:
    # The tier is chosen on all prompt tokens (cached ones included), and its own
    # cache-read rate applies:
    # (300000 - 100000) × 0.0000025 = 0.5
    # + 100000 × 0.000000625        = 0.0625
    # + 1000 × 0.000015             = 0.015
    # = 0.5775
    usage = Usage(prompt_tokens=300_000, completion_tokens=1000, cached_tokens=100_000)
    _exact(compute_cost(usage, TIERED), "0.5775")


def test_largest_tier_not_above_prompt_tokens_wins() -> None:
    price = Price(
        "test:three-tiers",
        PriceRates(D("0.000001"), D("0.000001")),
        tiers=(
            PriceTier(1_000, PriceRates(D("0.000002"), D("0.000002"))),
            PriceTier(10_000, PriceRates(D("0.000003"), D("0.000003"))),
        ),
    )
    # 999 × 0.000001 = 0.000999; 1000 × 0.000002 = 0.002; 9999 × 0.000002 = 0.019998;
    # 10000 × 0.000003 = 0.03; 50000 × 0.000003 = 0.15
    for prompt, expected in [
        (999, "0.000999"),
        (1_000, "0.002"),
        (9_999, "0.019998"),
        (10_000, "0.03"),
        (50_000, "0.15"),
    ]:
        _exact(compute_cost(Usage(prompt_tokens=prompt), price), expected)


# ------------------------------------------------------------ Usage.from_openai

# As OpenAI's chat completions API returns it (gpt-4o with a cache hit, o-series reasoning).
OPENAI_USAGE: dict[str, Any] = {
    "prompt_tokens": 1200,
    "completion_tokens": 350,
    "total_tokens": 1550,
    "prompt_tokens_details": {"cached_tokens": 300, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 80,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _openrouter_usage(cost: object) -> dict[str, Any]:
    """A usage object as OpenRouter returns it, with ``cost`` in USD."""
    return {
        "prompt_tokens": 194,
        "completion_tokens": 2,
        "total_tokens": 196,
        "cost": cost,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
    }


def test_from_openai_reads_cached_and_reasoning_tokens() -> None:
    assert Usage.from_openai(OPENAI_USAGE) == Usage(
        prompt_tokens=1200,
        completion_tokens=350,
        cached_tokens=300,
        cache_write_tokens=0,
        reasoning_tokens=80,
        requests=1,
        reported_cost=None,
    )


def test_from_openai_reads_cache_write_tokens() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 5000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 3000},
        }
    )
    assert (usage.cached_tokens, usage.cache_write_tokens) == (1000, 3000)


def test_from_openai_null_details_and_missing_counts() -> None:
    usage = Usage.from_openai(
        {"prompt_tokens": 12, "prompt_tokens_details": None, "completion_tokens_details": None}
    )
    assert usage == Usage(prompt_tokens=12)


@pytest.mark.parametrize("cost", [0.000123, "0.000123"], ids=["float", "string"])
def test_from_openai_reads_openrouter_cost_exactly(cost: object) -> None:
    usage = Usage.from_openai(_openrouter_usage(cost))
    assert usage.prompt_tokens == 194
    assert usage.completion_tokens == 2
    assert type(usage.reported_cost) is Decimal
    # Exact digits, not the float's binary expansion (0.000122999999999999994...).
    assert usage.reported_cost.as_tuple() == D("0.000123").as_tuple()
    assert usage.reported_cost == D("0.000123")


def test_from_openai_reads_openrouter_zero_cost() -> None:
    # A free model reports cost 0 (an int); that is a reported cost, not a missing one.
    assert Usage.from_openai(_openrouter_usage(0)).reported_cost == D(0)


# ------------------------------------------------------------ Usage validation

_COUNT_FIELDS = [
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "requests",
    "images",
    "web_searches",
]


@pytest.mark.parametrize("name", _COUNT_FIELDS)
def test_negative_count_names_the_field(name: str) -> None:
    counts: dict[str, Any] = {name: -1}
    with pytest.raises(InvalidUsage) as caught:
        Usage(**counts)
    assert caught.value.field == name
    assert caught.value.value == -1
    assert str(caught.value) == f"usage.{name}=-1: a count cannot be negative"


def test_cached_plus_cache_write_above_prompt_is_invalid() -> None:
    with pytest.raises(InvalidUsage, match="cache-write") as caught:
        Usage(prompt_tokens=100, cached_tokens=60, cache_write_tokens=41)
    # cached alone fits, so the cache writes are the part that overflows
    assert caught.value.field == "cache_write_tokens"
    assert caught.value.value == 41
    # The message names all three counts involved.
    assert "cache-write (41)" in str(caught.value)
    assert "prompt_tokens (100)" in str(caught.value)
    # The boundary is allowed: the whole prompt may come from (or go to) the cache.
    Usage(prompt_tokens=100, cached_tokens=60, cache_write_tokens=40)


def test_reasoning_above_completion_is_invalid() -> None:
    with pytest.raises(InvalidUsage, match="reasoning_tokens") as caught:
        Usage(completion_tokens=10, reasoning_tokens=11)
    assert caught.value.field == "reasoning_tokens"
    assert caught.value.value == 11
    assert str(caught.value) == (
        "usage.reasoning_tokens=11: exceeds completion_tokens (10), of which it is a part"
    )
    Usage(completion_tokens=10, reasoning_tokens=10)


@pytest.mark.parametrize("cost", ["-0.01", "NaN", "Infinity"])
def test_reported_cost_must_be_a_cost(cost: str) -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage(reported_cost=D(cost))
    assert caught.value.field == "reported_cost"
    assert str(caught.value) == f"usage.reported_cost={cost}: a cost is a finite USD amount >= 0"


def test_from_openai_validates_too() -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage.from_openai(
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "completion_tokens_details": {"reasoning_tokens": 6},
            }
        )
    assert caught.value.field == "reasoning_tokens"


# ------------------------------------------------------------ Price validation

_RATE_FIELDS = ["prompt", "completion", "cache_read", "cache_write", "reasoning"]
"""The per-token rates of a PriceRates."""
_FEE_FIELDS = ["per_request", "per_image", "per_web_search"]
"""The per-unit fees of a Price."""
_REQUIRED_FIELDS = ["prompt", "completion", *_FEE_FIELDS]
"""A price bills nothing sensible without these (a fee that does not exist is Decimal(0))."""
_OPTIONAL_FIELDS = ["cache_read", "cache_write", "reasoning"]
"""``None``: billed at the prompt or completion rate."""


def _price_with(field: str, value: object) -> Price:
    """A valid price with one rate or fee, ``field``, set to ``value``."""
    if field in _RATE_FIELDS:
        rates: dict[str, Any] = {"prompt": PROMPT, "completion": COMPLETION, field: value}
        return Price("test:one-field", PriceRates(**rates))
    fees: dict[str, Any] = {field: value}
    return Price("test:one-field", PriceRates(PROMPT, COMPLETION), **fees)


def _unit(field: str) -> str:
    """The unit a fix must name: a rate is per token, a fee per unit."""
    fees = {
        "per_request": "USD per request",
        "per_image": "USD per input image",
        "per_web_search": "USD per web search",
    }
    return fees.get(field, "USD per token")


# The fix each refusal gives, in the unit of the field refused.
_FIX_NEGATIVE = (
    "give an amount >= 0 in {unit}; a negative placeholder (OpenRouter's -1: priced per "
    "request) means the model has no fixed price, so store none"
)
_FIX_NOT_FINITE = "give a finite amount in {unit}"
_FIX_NOT_DECIMAL = (
    "pass Decimal(text) in {unit}, read from the price list's text (a float is not exact)"
)
_FIX_MISSING = (
    "give the {field} rate in {unit} (Decimal(0) if it is free); a model whose price is "
    "unknown has no Price, and is billed at the default price"
)


@pytest.mark.parametrize(
    ("bad", "reason", "fix"),
    [
        pytest.param(D("-0.000001"), "negative", _FIX_NEGATIVE, id="negative"),
        pytest.param(D("-Infinity"), "not a finite amount", _FIX_NOT_FINITE, id="-infinity"),
        pytest.param(D("Infinity"), "not a finite amount", _FIX_NOT_FINITE, id="infinity"),
        pytest.param(D("NaN"), "not a finite amount", _FIX_NOT_FINITE, id="nan"),
        pytest.param(D("sNaN"), "not a finite amount", _FIX_NOT_FINITE, id="snan"),
        pytest.param(0.000002, "a rate is a Decimal, not float", _FIX_NOT_DECIMAL, id="float"),
        pytest.param("0.000002", "a rate is a Decimal, not str", _FIX_NOT_DECIMAL, id="str"),
        pytest.param(2, "a rate is a Decimal, not int", _FIX_NOT_DECIMAL, id="int"),
        pytest.param(True, "a rate is a Decimal, not bool", _FIX_NOT_DECIMAL, id="bool"),
    ],
)
@pytest.mark.parametrize("field", _RATE_FIELDS + _FEE_FIELDS)
def test_every_rate_refuses_what_cannot_bill(
    field: str, bad: object, reason: str, fix: str
) -> None:
    with pytest.raises(InvalidPrice) as caught:
        _price_with(field, bad)
    error = caught.value
    assert (error.field, error.reason) == (field, reason)
    assert error.value is bad
    assert error.message == f"price {field}={bad!r}: {reason}"
    assert error.fix == fix.format(unit=_unit(field))
    assert str(error) == f"{error.message}\n  fix: {error.fix}"
    # A caller's mistake, and still the ValueError the constructors raised before.
    assert isinstance(error, InputError)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("field", _REQUIRED_FIELDS)
def test_a_required_rate_cannot_be_missing(field: str) -> None:
    with pytest.raises(InvalidPrice) as caught:
        _price_with(field, None)
    assert (caught.value.field, caught.value.value, caught.value.reason) == (field, None, "missing")
    assert caught.value.fix == _FIX_MISSING.format(field=field, unit=_unit(field))


@pytest.mark.parametrize("field", _OPTIONAL_FIELDS)
def test_an_optional_rate_may_be_none(field: str) -> None:
    assert getattr(_price_with(field, None).rates, field) is None


@pytest.mark.parametrize("field", _RATE_FIELDS + _FEE_FIELDS)
def test_every_rate_may_be_zero(field: str) -> None:
    # Zero is the boundary: free is a price (-0.000001 is refused above).
    price = _price_with(field, D(0))
    holder: object = price.rates if field in _RATE_FIELDS else price
    assert getattr(holder, field) == 0


def test_invalid_price_survives_pickling() -> None:
    with pytest.raises(InvalidPrice) as caught:
        PriceRates(PROMPT, D("-1"))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is InvalidPrice
    assert (copy.field, copy.value, copy.reason, copy.fix, str(copy)) == (
        "completion",
        D("-1"),
        "negative",
        caught.value.fix,
        str(caught.value),
    )


def test_a_price_survives_pickling_under_its_old_and_new_names() -> None:
    # The records live in clearance.catalog.pricerecords; pricing re-exports the same
    # classes, so a price pickled when they lived in pricing still loads.
    from clearance.catalog import pricerecords

    assert (Price, PriceRates, PriceTier) == (
        pricerecords.Price,
        pricerecords.PriceRates,
        pricerecords.PriceTier,
    )
    tiered = Price(
        "test:tiered",
        PriceRates(PROMPT, COMPLETION, cache_read=D("0.0000005")),
        per_request=D("0.001"),
        tiers=(PriceTier(200_001, PriceRates(D("0.000004"), D("0.000016"))),),
    )
    copy = pickle.loads(pickle.dumps(tiered))
    assert copy == tiered
    assert type(copy) is Price
    old = pickle.dumps(tiered, protocol=0).replace(
        b"clearance.catalog.pricerecords", b"clearance.pricing"
    )
    assert b"clearance.pricing" in old
    assert pickle.loads(old) == tiered


# A tier in the catalog's JSON column, as PriceRates.as_strings writes it.
_STORED_TIER = {
    "min_prompt_tokens": 200_001,
    "prompt": "0.0000025",
    "completion": "0.000015",
    "cache_read": "0.000000625",
    "cache_write": None,
    "reasoning": None,
}


@pytest.mark.parametrize("missing", ["prompt", "completion"])
def test_a_tier_missing_a_rate_is_refused(missing: str) -> None:
    rates: dict[str, Any] = {"prompt": D("0.0000025"), "completion": D("0.000015")}
    rates[missing] = None
    with pytest.raises(InvalidPrice) as caught:
        PriceTier(200_001, PriceRates(**rates))
    assert (caught.value.field, caught.value.reason) == (missing, "missing")


@pytest.mark.parametrize("missing", ["prompt", "completion"])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_a_stored_tier_missing_a_rate_is_refused(missing: str, how: str) -> None:
    stored: dict[str, Any] = dict(_STORED_TIER)
    if how == "absent":
        del stored[missing]
    else:
        stored[missing] = None
    with pytest.raises(InvalidPrice) as caught:
        PriceRates.from_strings(stored)
    assert (caught.value.field, caught.value.value, caught.value.reason) == (
        missing,
        None,
        "missing",
    )


@pytest.mark.parametrize("field", _RATE_FIELDS)
def test_a_stored_rate_that_is_not_a_decimal_string_is_refused(field: str) -> None:
    stored = {**_STORED_TIER, field: "1.5 USD"}
    with pytest.raises(InvalidPrice) as caught:
        PriceRates.from_strings(stored)
    assert (caught.value.field, caught.value.value) == (field, "1.5 USD")
    assert caught.value.reason == "not a decimal number"
    assert caught.value.fix == (
        "write the rate in USD per token as a decimal string, like '0.000003'"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-0.000001", "negative"),
        ("NaN", "not a finite amount"),
        ("Infinity", "not a finite amount"),
    ],
)
@pytest.mark.parametrize("field", _RATE_FIELDS)
def test_a_stored_rate_is_validated_like_any_other(field: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidPrice) as caught:
        PriceRates.from_strings({**_STORED_TIER, field: text})
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_a_stored_rate_that_is_a_json_number_is_refused() -> None:
    # as_strings writes strings; a float would be a binary approximation of the price.
    with pytest.raises(InvalidPrice) as caught:
        PriceRates.from_strings({**_STORED_TIER, "cache_read": 6.25e-7})
    assert (caught.value.field, caught.value.reason) == (
        "cache_read",
        "a rate is a Decimal, not float",
    )


def test_a_stored_tier_reads_back_exactly() -> None:
    assert PriceRates.from_strings(_STORED_TIER) == PriceRates(
        D("0.0000025"), D("0.000015"), cache_read=D("0.000000625")
    )


@pytest.mark.parametrize("minimum", [-1, True, 1.5, "200001", None])
def test_a_tier_starts_at_a_whole_number_of_prompt_tokens(minimum: object) -> None:
    with pytest.raises(InvalidPrice) as caught:
        PriceTier(minimum, PriceRates(PROMPT, COMPLETION))  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == ("min_prompt_tokens", minimum)
    assert caught.value.reason == "a tier starts at a whole number of prompt tokens >= 0"
    assert caught.value.fix == (
        "give the first prompt size the tier bills (200001 for a rate 'above 200k tokens')"
    )


def test_a_tier_may_start_at_zero_and_then_replaces_the_base_rates() -> None:
    price = Price(
        "test:zero-tier",
        PriceRates(PROMPT, COMPLETION),
        tiers=(PriceTier(0, PriceRates(D("0.000001"), D("0.000001"))),),
    )
    # 1000 × 0.000001 + 500 × 0.000001 = 0.0015 (the base rates would give 0.006)
    _exact(compute_cost(Usage(prompt_tokens=1000, completion_tokens=500), price), "0.0015")


@pytest.mark.parametrize(
    "rates", [None, {"prompt": "0.0000025", "completion": "0.000015"}], ids=["none", "dict"]
)
def test_a_tier_or_price_without_price_rates_is_refused(rates: object) -> None:
    for build in (
        lambda: PriceTier(200_001, rates),  # type: ignore[arg-type]
        lambda: Price("test:no-rates", rates),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidPrice) as caught:
            build()
        assert (caught.value.field, caught.value.value) == ("rates", rates)
        assert caught.value.reason == "not a PriceRates"
        assert caught.value.fix == (
            "pass PriceRates(prompt, completion, ...) with Decimal rates in USD per token"
        )


def test_a_tier_that_is_not_a_price_tier_is_refused() -> None:
    bare = (200_001, PriceRates(PROMPT, COMPLETION))
    with pytest.raises(InvalidPrice) as caught:
        Price("test:bare-tier", PriceRates(PROMPT, COMPLETION), tiers=(bare,))  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == ("tiers", bare)
    assert caught.value.reason == "not a PriceTier"
    assert caught.value.fix == "pass each tier as PriceTier(min_prompt_tokens, PriceRates(...))"


def test_a_tier_without_a_cache_rate_bills_cache_reads_at_its_own_prompt_rate() -> None:
    # A tier is a whole PriceRates (the module docstring): the rates it leaves None fall back
    # to the tier's own prompt rate, not to the base's cache-read rate. Importers copy the
    # base's cache rate into a tier when the provider means that.
    price = Price(
        "test:partial-tier",
        PriceRates(D("0.00000125"), D("0.00001"), cache_read=D("0.000000125")),
        tiers=(
            PriceTier(
                200_001, PriceRates.from_strings({"prompt": "0.0000025", "completion": "0.000015"})
            ),
        ),
    )
    assert price.tiers[0].rates == PriceRates(D("0.0000025"), D("0.000015"))
    usage = Usage(prompt_tokens=300_000, completion_tokens=1_000, cached_tokens=100_000)
    #   200000 × 0.0000025 = 0.5
    # + 100000 × 0.0000025 = 0.25   (at the base's 0.000000125 it would be 0.0125)
    # + 1000 × 0.000015    = 0.015
    # = 0.765
    _exact(compute_cost(usage, price), "0.765")


# ------------------------------------------------------------ price_call, price_call_strict

USAGE = Usage(prompt_tokens=1000, completion_tokens=500)  # 0.006 at PLAIN, 0.06 at DEFAULT


def test_price_call_from_catalog() -> None:
    result = price_call("test:plain", USAGE, PLAIN, default=DEFAULT)
    assert result == CallCost(
        cost=D("0.006"),
        pricing_source="catalog",
        computed=D("0.006"),
        reported=None,
        computed_from="catalog",
        price=PLAIN,
    )


def test_price_call_prefers_provider_reported_cost() -> None:
    usage = dataclasses.replace(USAGE, reported_cost=D("0.000123"))
    result = price_call("test:plain", usage, PLAIN, default=DEFAULT)
    assert result.pricing_source == "provider"
    assert result.cost == result.reported == D("0.000123")
    assert result.computed == D("0.006")
    assert result.computed_from == "catalog"
    assert result.price is PLAIN


def test_price_call_without_price_warns_and_uses_default() -> None:
    with pytest.warns(DefaultPriceWarning, match="'test:unpriced'") as record:
        result = price_call("test:unpriced", USAGE, None, default=DEFAULT)
    # The warning points at the caller, not at pricing.py.
    assert record[0].filename == _caller_file()
    # 1000 × 0.00003 + 500 × 0.00006 = 0.03 + 0.03 = 0.06
    assert result.pricing_source == "default"
    assert result.computed_from == "default"
    _exact(result.cost, "0.06")
    assert result.cost > 0
    assert result.cost == result.computed == compute_cost(USAGE, DEFAULT)
    assert result.reported is None
    assert result.price is DEFAULT


def test_price_call_without_price_but_reported_cost() -> None:
    usage = dataclasses.replace(USAGE, reported_cost=D("0.000123"))
    with pytest.warns(DefaultPriceWarning):
        result = price_call("test:unpriced", usage, None, default=DEFAULT)
    assert result.pricing_source == "provider"
    assert result.cost == result.reported == D("0.000123")
    assert result.computed_from == "default"
    assert result.computed == D("0.06")


def test_price_call_strict_raises_without_price() -> None:
    with pytest.raises(MissingPrice, match="'test:unpriced'") as caught:
        price_call_strict("test:unpriced", USAGE, None)
    assert caught.value.model_id == "test:unpriced"
    assert caught.value.reason == "no_price"


def test_price_call_strict_raises_without_price_even_with_reported_cost() -> None:
    usage = dataclasses.replace(USAGE, reported_cost=D("0.000123"))
    with pytest.raises(MissingPrice):
        price_call_strict("test:unpriced", usage, None)


def test_price_call_strict_with_price_matches_best_effort() -> None:
    strict = price_call_strict("test:plain", USAGE, PLAIN)
    assert strict == price_call("test:plain", USAGE, PLAIN, default=DEFAULT)
    assert strict.pricing_source == "catalog"


def _silently(call: Callable[[], CallCost]) -> CallCost:
    """``call()``, failing if it warns (any warning, however it is filtered elsewhere)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    assert [str(w.message) for w in caught] == []
    return result


def test_price_call_warning_says_what_is_billed_and_at_what_price() -> None:
    with pytest.warns(DefaultPriceWarning) as record:
        price_call("test:unpriced", USAGE, None, default=DEFAULT)
    assert [str(w.message) for w in record] == [
        "no price for model 'test:unpriced'; priced at the default "
        "(0.00003/0.00006 USD per prompt/completion token)"
    ]


def test_price_call_warning_says_a_reported_cost_is_billed() -> None:
    usage = dataclasses.replace(USAGE, reported_cost=D("0.000123"))
    with pytest.warns(DefaultPriceWarning) as record:
        price_call("test:unpriced", usage, None, default=DEFAULT)
    assert [str(w.message) for w in record] == [
        "no price for model 'test:unpriced'; the provider's reported cost is billed; the "
        "computed cost uses the default (0.00003/0.00006 USD per prompt/completion token)"
    ]


def test_price_call_warn_false_prices_at_the_default_without_warning() -> None:
    # The router passes warn=False and logs once per model itself.
    result = _silently(
        lambda: price_call("test:unpriced", USAGE, None, default=DEFAULT, warn=False)
    )
    # 1000 × 0.00003 + 500 × 0.00006 = 0.06, marked as the default's
    assert result == CallCost(D("0.06"), "default", D("0.06"), None, "default", DEFAULT)


def test_price_call_warn_false_still_bills_a_reported_cost() -> None:
    usage = dataclasses.replace(USAGE, reported_cost=D("0.000123"))
    result = _silently(
        lambda: price_call("test:unpriced", usage, None, default=DEFAULT, warn=False)
    )
    assert result == CallCost(
        D("0.000123"), "provider", D("0.06"), D("0.000123"), "default", DEFAULT
    )


@pytest.mark.parametrize("warn", [True, False])
def test_price_call_with_a_catalog_price_neither_warns_nor_uses_the_default(warn: bool) -> None:
    result = _silently(lambda: price_call("test:plain", USAGE, PLAIN, default=DEFAULT, warn=warn))
    assert result == CallCost(D("0.006"), "catalog", D("0.006"), None, "catalog", PLAIN)


def test_estimated_usage_is_marked_estimated_whichever_price_is_used() -> None:
    usage = dataclasses.replace(USAGE, estimated=True)
    assert price_call("test:plain", usage, PLAIN, default=DEFAULT) == CallCost(
        D("0.006"), "estimated", D("0.006"), None, "catalog", PLAIN
    )
    assert price_call("test:unpriced", usage, None, default=DEFAULT, warn=False) == CallCost(
        D("0.06"), "estimated", D("0.06"), None, "default", DEFAULT
    )
    # A cost the provider reported is its figure, whatever the token counts were.
    reported = dataclasses.replace(usage, reported_cost=D("0.000123"))
    assert price_call("test:plain", reported, PLAIN, default=DEFAULT).pricing_source == "provider"


# ------------------------------------------------------------ properties

_MAX_TOKENS = 10**9


@st.composite
def prices_usd(draw: st.DrawFn) -> Decimal:
    """A Decimal between 0 and 1000 with up to 12 decimal places."""
    places = draw(st.integers(0, 12))
    units = draw(st.integers(0, 1000 * 10**places))
    return D(units).scaleb(-places)


@st.composite
def rates(draw: st.DrawFn) -> PriceRates:
    optional = st.none() | prices_usd()
    return PriceRates(
        prompt=draw(prices_usd()),
        completion=draw(prices_usd()),
        cache_read=draw(optional),
        cache_write=draw(optional),
        reasoning=draw(optional),
    )


@st.composite
def prices(draw: st.DrawFn, *, tiers: bool = True) -> Price:
    tier_list: tuple[PriceTier, ...] = ()
    if tiers:
        minimums = draw(st.lists(st.integers(0, 2 * _MAX_TOKENS), max_size=3, unique=True))
        tier_list = tuple(PriceTier(m, draw(rates())) for m in sorted(minimums))
    return Price(
        "test:drawn",
        draw(rates()),
        per_request=draw(prices_usd()),
        per_image=draw(prices_usd()),
        per_web_search=draw(prices_usd()),
        tiers=tier_list,
    )


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """A Usage whose parts never exceed their wholes."""
    prompt = draw(st.integers(0, _MAX_TOKENS))
    cached = draw(st.integers(0, prompt))
    written = draw(st.integers(0, prompt - cached))
    completion = draw(st.integers(0, _MAX_TOKENS))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=draw(st.integers(0, completion)),
        requests=draw(st.integers(0, 1000)),
        images=draw(st.integers(0, 1000)),
        web_searches=draw(st.integers(0, 1000)),
        reported_cost=draw(st.none() | prices_usd()),
    )


def oracle(usage: Usage, price: Price) -> Fraction:
    """The module's own formula, restated with exact fractions.

    It checks that the arithmetic is exact for every rate and fee, not that the formula is
    the right one: :func:`published_bill` checks that, from the providers' rule.
    """
    applicable = [t for t in price.tiers if t.min_prompt_tokens <= usage.prompt_tokens]
    r = max(applicable, key=lambda t: t.min_prompt_tokens).rates if applicable else price.rates
    f = Fraction
    cache_read = f(r.prompt if r.cache_read is None else r.cache_read)
    cache_write = f(r.prompt if r.cache_write is None else r.cache_write)
    reasoning = f(r.completion if r.reasoning is None else r.reasoning)
    u = usage
    return (
        f(r.prompt) * (u.prompt_tokens - u.cached_tokens - u.cache_write_tokens)
        + cache_read * u.cached_tokens
        + cache_write * u.cache_write_tokens
        + f(r.completion) * (u.completion_tokens - u.reasoning_tokens)
        + reasoning * u.reasoning_tokens
        + f(price.per_request) * u.requests
        + f(price.per_image) * u.images
        + f(price.per_web_search) * u.web_searches
    )


@given(usages(), prices())
def test_cost_is_exact(usage: Usage, price: Price) -> None:
    cost = compute_cost(usage, price)
    assert type(cost) is Decimal
    assert Fraction(cost) == oracle(usage, price)


@given(usages(), prices())
def test_cost_is_never_negative(usage: Usage, price: Price) -> None:
    cost = compute_cost(usage, price)
    assert type(cost) is Decimal
    assert cost >= 0
    result = price_call("test:drawn", usage, price, default=DEFAULT)
    assert type(result.cost) is Decimal
    assert type(result.computed) is Decimal
    assert result.cost >= 0


@given(usages(), usages(), prices(tiers=False))
def test_cost_is_additive_without_tiers(a: Usage, b: Usage, price: Price) -> None:
    assert compute_cost(a + b, price) == compute_cost(a, price) + compute_cost(b, price)


@given(usages(), usages(), usages())
def test_usage_addition_is_associative_and_commutative(a: Usage, b: Usage, c: Usage) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    total = a + b
    for name in _COUNT_FIELDS:
        assert getattr(total, name) == getattr(a, name) + getattr(b, name)
    if a.reported_cost is None or b.reported_cost is None:
        # A total is only known when every part reported one.
        assert total.reported_cost is None
    else:
        assert total.reported_cost == a.reported_cost + b.reported_cost


@given(rates())
def test_rates_round_trip_through_strings(r: PriceRates) -> None:
    assert PriceRates.from_strings(r.as_strings()) == r


# ------------------------------------------------------------ a larger prompt never costs less


def _effective(r: PriceRates) -> list[Decimal]:
    """The five rates a call is billed at, the ``None`` ones resolved."""
    return [
        r.prompt,
        r.completion,
        r.prompt if r.cache_read is None else r.cache_read,
        r.prompt if r.cache_write is None else r.cache_write,
        r.completion if r.reasoning is None else r.reasoning,
    ]


@st.composite
def rising_prices(draw: st.DrawFn) -> Price:
    """A tier table as providers publish them: no tier lowers any rate of the one below."""
    base = draw(rates())
    below = _effective(base)
    tiers = []
    for minimum in sorted(
        draw(st.lists(st.integers(1, 3_000_000), min_size=1, max_size=3, unique=True))
    ):
        below = [rate + draw(prices_usd()) for rate in below]
        tiers.append(PriceTier(minimum, PriceRates(*below)))
    return Price(
        "test:rising",
        base,
        per_request=draw(prices_usd()),
        per_image=draw(prices_usd()),
        per_web_search=draw(prices_usd()),
        tiers=tuple(tiers),
    )


@given(rising_prices(), st.data())
def test_a_larger_prompt_never_costs_less_across_a_tier_boundary(
    price: Price, data: st.DataObject
) -> None:
    # Around one tier's boundary m: a prompt of m - 1 - a tokens and one of m + b tokens, the
    # rest of the call the same. The larger one is billed wholly at the higher tier (the
    # provider's rule), and that tier's rates are no lower, so it cannot cost less.
    boundary = data.draw(st.sampled_from(price.tiers)).min_prompt_tokens
    small = boundary - 1 - data.draw(st.integers(0, min(boundary - 1, 1000)))
    large = boundary + data.draw(st.integers(0, 1000))
    cached = data.draw(st.integers(0, small))
    written = data.draw(st.integers(0, small - cached))
    completion = data.draw(st.integers(0, 100_000))
    usage = Usage(
        prompt_tokens=small,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=data.draw(st.integers(0, completion)),
        images=data.draw(st.integers(0, 5)),
        web_searches=data.draw(st.integers(0, 5)),
    )
    smaller = price_call("test:rising", usage, price, default=DEFAULT)
    larger = price_call(
        "test:rising", dataclasses.replace(usage, prompt_tokens=large), price, default=DEFAULT
    )
    assert larger.cost >= smaller.cost
    # One token across the boundary, too.
    at = dataclasses.replace(usage, prompt_tokens=boundary)
    just_below = dataclasses.replace(usage, prompt_tokens=boundary - 1)
    assert compute_cost(at, price) >= compute_cost(just_below, price)


# ------------------------------------------------------------ the providers' published rule

# An oracle written from what the providers publish, not from pricing.py's formula:
#
# - Prices are published in USD per 1M tokens (openai.com/api/pricing, anthropic.com/pricing,
#   ai.google.dev/gemini-api/docs/pricing); OpenRouter's /models catalog gives the same
#   figures per token as decimal strings ("0.000003" is $3 per 1M).
# - Cached input tokens are a part of the prompt tokens, billed at the cached-input price
#   instead of the input price (OpenAI's prompt caching guide: usage.prompt_tokens_details.
#   cached_tokens). OpenRouter reports Anthropic's cache writes the same way, as a part of
#   the prompt billed at the cache-write price. No cached price published: input price.
# - Reasoning ("thinking") tokens are output tokens: counted in completion_tokens and billed
#   at the output price (OpenAI's reasoning guide; Google's output price is "including
#   thinking tokens"). So the oracle never looks at reasoning_tokens.
# - A long-context price applies to the whole request once the prompt exceeds its threshold
#   (Gemini 2.5 Pro: "prompts <= 200k tokens" / "prompts > 200k tokens", input, output and
#   cache prices alike; Claude Sonnet 4 above 200K input tokens likewise).
# - Per-request, per-image and per-web-search fees add to the token charge.


_FREE = D(0)


@dataclass(frozen=True)
class Sheet:
    """One column of a provider's price page, in USD per 1M tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None


@dataclass(frozen=True)
class PriceList:
    """A model's published prices."""

    base: Sheet
    above: tuple[tuple[int, Sheet], ...] = ()
    """(N, sheet): the prices of a request whose prompt has more than N tokens."""
    per_request: Decimal = _FREE
    per_image: Decimal = _FREE
    per_web_search: Decimal = _FREE


def published_bill(prices: PriceList, usage: Usage) -> Decimal:
    """What the provider's price page says the call costs, in USD."""
    exceeded = [(n, sheet) for n, sheet in prices.above if usage.prompt_tokens > n]
    sheet = max(exceeded, key=lambda pair: pair[0])[1] if exceeded else prices.base
    cached_price = sheet.input if sheet.cached_input is None else sheet.cached_input
    write_price = sheet.input if sheet.cache_write is None else sheet.cache_write
    uncached = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    exact = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.InvalidOperation])
    with decimal.localcontext(exact):
        per_million = (
            uncached * sheet.input
            + usage.cached_tokens * cached_price
            + usage.cache_write_tokens * write_price
            + usage.completion_tokens * sheet.output
        )
        fees = (
            usage.requests * prices.per_request
            + usage.images * prices.per_image
            + usage.web_searches * prices.per_web_search
        )
        return per_million / 1_000_000 + fees


def catalog_price(prices: PriceList, model_id: str = "test:published") -> Price:
    """The price as the catalog stores it: USD per token, and a tier "above N" from N + 1
    prompt tokens (as ``litellm_table`` stores LiteLLM's ``above_200k`` from 200,001)."""

    def per_token(value: Decimal | None) -> Decimal | None:
        return None if value is None else value.scaleb(-6)

    def rates(sheet: Sheet) -> PriceRates:
        return PriceRates(
            sheet.input.scaleb(-6),
            sheet.output.scaleb(-6),
            cache_read=per_token(sheet.cached_input),
            cache_write=per_token(sheet.cache_write),
        )

    return Price(
        model_id,
        rates(prices.base),
        per_request=prices.per_request,
        per_image=prices.per_image,
        per_web_search=prices.per_web_search,
        tiers=tuple(PriceTier(n + 1, rates(sheet)) for n, sheet in prices.above),
    )


# Google's price page for Gemini 2.5 Pro (paid tier, per 1M tokens).
GEMINI_25_PRO = PriceList(
    base=Sheet(input=D("1.25"), output=D("10"), cached_input=D("0.125")),
    above=((200_000, Sheet(input=D("2.50"), output=D("15"), cached_input=D("0.25"))),),
)


def per_million_prices() -> st.SearchStrategy[Decimal]:
    """A published price: 0 to 200 USD per 1M tokens, to 3 decimals (1.25, 0.075, 22.5)."""
    return st.integers(0, 200_000).map(lambda n: D(n).scaleb(-3))


def fees() -> st.SearchStrategy[Decimal]:
    """A published fee: 0 to 1 USD per unit, to 5 decimals (0.0048 per image, 0.01 a search)."""
    return st.integers(0, 100_000).map(lambda n: D(n).scaleb(-5))


@st.composite
def sheets(draw: st.DrawFn) -> Sheet:
    optional = st.none() | per_million_prices()
    return Sheet(
        draw(per_million_prices()), draw(per_million_prices()), draw(optional), draw(optional)
    )


@st.composite
def published_calls(draw: st.DrawFn) -> tuple[PriceList, Usage]:
    """A price list with up to two long-context thresholds, and a call, often at one of them."""
    thresholds = draw(
        st.lists(
            st.sampled_from([32_000, 128_000, 200_000, 272_000]) | st.integers(0, 2_000_000),
            max_size=2,
            unique=True,
        )
    )
    prices = PriceList(
        base=draw(sheets()),
        above=tuple((n, draw(sheets())) for n in thresholds),
        per_request=draw(fees()),
        per_image=draw(fees()),
        per_web_search=draw(fees()),
    )
    near = [n + step for n in thresholds for step in (-1, 0, 1, 2) if n + step >= 0]
    anywhere = st.integers(0, 3_000_000)
    prompt = draw(st.sampled_from(near) | anywhere if near else anywhere)
    cached = draw(st.integers(0, prompt))
    written = draw(st.integers(0, prompt - cached))
    completion = draw(st.integers(0, 200_000))
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=draw(st.integers(0, completion)),
        requests=draw(st.integers(0, 3)),
        images=draw(st.integers(0, 20)),
        web_searches=draw(st.integers(0, 10)),
    )
    return prices, usage


@given(published_calls())
def test_cost_follows_the_published_rule(call: tuple[PriceList, Usage]) -> None:
    prices, usage = call
    result = price_call("test:published", usage, catalog_price(prices), default=DEFAULT)
    assert result.pricing_source == "catalog"
    assert type(result.cost) is Decimal
    assert result.cost == published_bill(prices, usage)


# ------------------------------------------------------------ real prices, worked by hand

# Prices as published in the real catalogs under tests/data/realdata (see tests/data/NOTICE):
# OpenRouter's /models answer of May 2025 (Roo-Code's fixture), a newer one of 2026
# (llm-openrouter's cassette) and LiteLLM's price table. The expected dollar amounts are
# worked out in the comments from the per-million prices.


def _openrouter_models(path: Path) -> dict[str, dict[str, Any]]:
    """model id -> its ``pricing`` object, from a /models answer (JSON, or a cassette of it)."""
    if path.suffix == ".yaml":
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        text = cassette["interactions"][0]["response"]["body"]["string"]
    else:
        text = path.read_text(encoding="utf-8")
    return {model["id"]: model["pricing"] for model in json.loads(text)["data"]}


def _from_openrouter(model_id: str, pricing: dict[str, Any]) -> Price:
    """A Price from an OpenRouter ``pricing`` object: USD per token as decimal strings.

    ``prompt``, ``completion``, ``input_cache_read`` and ``input_cache_write`` per token;
    ``request``, ``image`` and ``web_search`` per unit; each of ``overrides`` from its
    ``min_prompt_tokens`` up, with the rates it leaves out taken from the base.
    """

    def rates(rated: dict[str, Any]) -> PriceRates:
        def optional(key: str) -> Decimal | None:
            return None if rated.get(key) is None else D(rated[key])

        return PriceRates(
            D(rated["prompt"]),
            D(rated["completion"]),
            cache_read=optional("input_cache_read"),
            cache_write=optional("input_cache_write"),
        )

    return Price(
        model_id,
        rates(pricing),
        per_request=D(pricing.get("request", "0")),
        per_image=D(pricing.get("image", "0")),
        per_web_search=D(pricing.get("web_search", "0")),
        tiers=tuple(
            PriceTier(override["min_prompt_tokens"], rates({**pricing, **override}))
            for override in pricing.get("overrides", ())
        ),
    )


@functools.cache
def _litellm_table() -> dict[str, Any]:
    # parse_float=Decimal keeps the table's literal digits: 1.25e-06 is Decimal("0.00000125").
    table: dict[str, Any] = json.loads(LITELLM_TABLE.read_text(encoding="utf-8"), parse_float=D)
    return table


def _gemini_25_pro_from_litellm() -> Price:
    """LiteLLM's ``gemini/gemini-2.5-pro``: its ``above_200k_tokens`` rates from 200,001."""
    spec = _litellm_table()["gemini/gemini-2.5-pro"]
    above = "_above_200k_tokens"
    return Price(
        "gemini:gemini-2.5-pro",
        PriceRates(
            spec["input_cost_per_token"],
            spec["output_cost_per_token"],
            cache_read=spec["cache_read_input_token_cost"],
        ),
        tiers=(
            PriceTier(
                200_001,
                PriceRates(
                    spec[f"input_cost_per_token{above}"],
                    spec[f"output_cost_per_token{above}"],
                    cache_read=spec[f"cache_read_input_token_cost{above}"],
                ),
            ),
        ),
    )


def test_real_openai_o3_with_cached_and_reasoning_tokens() -> None:
    # openai/o3 on OpenRouter (May 2025): $10 / 1M input, $2.50 / 1M cached input, $40 / 1M
    # output. 12,000 prompt tokens of which 8,000 cached; 3,000 completion tokens of which
    # 2,500 reasoning (a part of the 3,000, billed once at the output price):
    #   (12000 - 8000) × 10 / 1M = 0.04
    # + 8000 × 2.50 / 1M         = 0.02
    # + 3000 × 40 / 1M           = 0.12
    # = 0.18
    price = _from_openrouter("openai/o3", _openrouter_models(OPENROUTER_MODELS)["openai/o3"])
    usage = Usage(
        prompt_tokens=12_000, completion_tokens=3_000, cached_tokens=8_000, reasoning_tokens=2_500
    )
    _exact(price_call("openai/o3", usage, price, default=DEFAULT).cost, "0.18")


def test_real_claude_sonnet_4_with_cache_writes_and_images() -> None:
    # anthropic/claude-sonnet-4 on OpenRouter (May 2025): $3 / 1M input, $0.30 / 1M cache
    # read, $3.75 / 1M cache write, $15 / 1M output, $0.0048 per image. 10,000 prompt tokens
    # of which 6,000 read from the cache and 2,000 written to it, 500 completion tokens,
    # 2 images:
    #   (10000 - 6000 - 2000) × 3 / 1M = 0.006
    # + 6000 × 0.30 / 1M               = 0.0018
    # + 2000 × 3.75 / 1M               = 0.0075
    # + 500 × 15 / 1M                  = 0.0075
    # + 2 × 0.0048                     = 0.0096
    # = 0.0324
    model = "anthropic/claude-sonnet-4"
    price = _from_openrouter(model, _openrouter_models(OPENROUTER_MODELS)[model])
    usage = Usage(
        prompt_tokens=10_000,
        completion_tokens=500,
        cached_tokens=6_000,
        cache_write_tokens=2_000,
        images=2,
    )
    _exact(price_call(model, usage, price, default=DEFAULT).cost, "0.0324")


def test_real_claude_sonnet_4_long_context_override_and_web_search() -> None:
    # anthropic/claude-sonnet-4 on OpenRouter (2026): $3 / $15 per 1M input / output, $0.30
    # cache read, $0.01 per web search, and an override from 200,000 prompt tokens: $6 / 1M
    # input, $0.60 / 1M cache read, $22.50 / 1M output, for the whole request.
    model = "anthropic/claude-sonnet-4"
    price = _from_openrouter(model, _openrouter_models(OPENROUTER_MODELS_2026)[model])
    # 250,000 prompt tokens (100,000 cached), 1,000 completion tokens, 2 web searches:
    #   150000 × 6 / 1M    = 0.9
    # + 100000 × 0.60 / 1M = 0.06
    # + 1000 × 22.50 / 1M  = 0.0225
    # + 2 × 0.01           = 0.02
    # = 1.0025
    long = Usage(
        prompt_tokens=250_000, completion_tokens=1_000, cached_tokens=100_000, web_searches=2
    )
    _exact(price_call(model, long, price, default=DEFAULT).cost, "1.0025")
    # The same call with 150,000 prompt tokens stays at the base prices:
    #   50000 × 3 / 1M + 100000 × 0.30 / 1M + 1000 × 15 / 1M + 2 × 0.01
    # = 0.15 + 0.03 + 0.015 + 0.02 = 0.215
    short = dataclasses.replace(long, prompt_tokens=150_000)
    _exact(price_call(model, short, price, default=DEFAULT).cost, "0.215")


def test_real_gemini_25_pro_bills_the_whole_request_above_200k() -> None:
    # gemini-2.5-pro (LiteLLM's table, and Google's price page): prompts <= 200k tokens
    # $1.25 / 1M input, $0.125 / 1M cached input, $10 / 1M output (thinking included);
    # prompts > 200k tokens $2.50, $0.25 and $15, for every token of the request.
    price = _gemini_25_pro_from_litellm()
    at_threshold = Usage(
        prompt_tokens=200_000, completion_tokens=2_000, cached_tokens=50_000, reasoning_tokens=1_500
    )
    #   (200000 - 50000) × 1.25 / 1M = 0.1875
    # + 50000 × 0.125 / 1M           = 0.00625
    # + 2000 × 10 / 1M               = 0.02
    # = 0.21375
    _exact(price_call("gemini-2.5-pro", at_threshold, price, default=DEFAULT).cost, "0.21375")
    # One prompt token more and the whole request is billed at the > 200k prices:
    #   (200001 - 50000) × 2.50 / 1M = 0.3750025
    # + 50000 × 0.25 / 1M            = 0.0125
    # + 2000 × 15 / 1M               = 0.03
    # = 0.4175025
    above = dataclasses.replace(at_threshold, prompt_tokens=200_001)
    _exact(price_call("gemini-2.5-pro", above, price, default=DEFAULT).cost, "0.4175025")
    # The independent oracle below agrees, from the per-million figures of the price page,
    # and LiteLLM's per-token figures are those figures divided by a million.
    assert published_bill(GEMINI_25_PRO, at_threshold) == D("0.21375")
    assert published_bill(GEMINI_25_PRO, above) == D("0.4175025")
    assert catalog_price(GEMINI_25_PRO, "gemini:gemini-2.5-pro") == price


# ------------------------------------------------------------ exactness guard


def test_many_digits_times_huge_count_stays_exact() -> None:
    rate = D("0.000001234567890123456789012345678901")  # 31 significant digits
    tokens = 987_654_321_987
    price = Price("test:precise", PriceRates(rate, rate))
    usage = Usage(prompt_tokens=tokens, completion_tokens=tokens - 1)
    cost = compute_cost(usage, price)
    assert Fraction(cost) == Fraction(rate) * (2 * tokens - 1)
    # The default 28-digit context would have rounded this.
    with decimal.localcontext(decimal.Context(prec=28)):
        assert rate * tokens + rate * (tokens - 1) != cost
    # And a float is off by much more than a rounding of the last digit.
    assert Fraction(float(rate) * (2 * tokens - 1)) != Fraction(cost)


def test_result_beyond_eighty_digits_raises_instead_of_rounding() -> None:
    rate = D("0." + "1" * 75)  # 75 significant digits
    price = Price("test:too-precise", PriceRates(rate, D(0)))
    with pytest.raises(PricingError) as caught:
        compute_cost(Usage(prompt_tokens=999_999_999), price)
    assert caught.value.message.startswith("cost of Usage(prompt_tokens=999999999")
    assert caught.value.message.endswith(
        "at 'test:too-precise' cannot be computed exactly (Inexact)"
    )
    assert caught.value.fix == "check the price and token counts: the result would need rounding"


# --- defects found in review, each pinned by a test ---------------------------------------


def test_tiers_given_out_of_order_are_sorted() -> None:
    high = PriceTier(200_000, PriceRates(D("0.000003"), D("0.000001")))
    mid = PriceTier(100_000, PriceRates(D("0.000002"), D("0.000001")))
    price = Price("m", PriceRates(D("0.000001"), D("0.000001")), tiers=(high, mid))
    assert [t.min_prompt_tokens for t in price.tiers] == [100_000, 200_000]
    assert price.rates_for(150_000).prompt == D("0.000002")


def test_openrouter_byok_cost_adds_the_upstream_charge() -> None:
    # OpenRouter's `cost` is only its fee under bring-your-own-key; the provider's
    # charge is cost_details.upstream_inference_cost: 0.00001 + 0.0002 = 0.00021
    usage = Usage.from_openai(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "cost": 0.00001,
            "is_byok": True,
            "cost_details": {"upstream_inference_cost": 0.0002},
        }
    )
    assert usage.reported_cost == D("0.00021")
    unknown = Usage.from_openai(
        {
            "prompt_tokens": 10,
            "cost": 0.00001,
            "is_byok": True,
            "cost_details": {"upstream_inference_cost": None},
        }
    )
    assert unknown.reported_cost is None  # the fee alone is not the bill
    plain = Usage.from_openai(
        {
            "prompt_tokens": 56,
            "completion_tokens": 12,
            "cost": 0.00005952,
            "is_byok": False,
            "cost_details": {"upstream_inference_cost": None},
        }
    )
    assert plain.reported_cost == D("0.00005952")


@pytest.mark.parametrize(
    ("cost", "reason"),
    [(True, "expected a number"), ([1], "expected a number"), ("abc", "not a decimal number")],
)
def test_a_reported_cost_that_is_not_a_number_is_invalid_usage(cost: object, reason: str) -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage.from_openai({"prompt_tokens": 1, "cost": cost})
    assert caught.value.field == "reported_cost"
    assert caught.value.value == str(cost)
    assert str(caught.value) == f"usage.reported_cost={cost}: {reason}"


def test_a_negative_reported_cost_keeps_its_value_in_the_error() -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage(prompt_tokens=1, reported_cost=D("-1"))
    assert caught.value.value == D("-1")


def test_the_cache_field_that_overflows_is_the_one_named() -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage(prompt_tokens=100, cached_tokens=50, cache_write_tokens=60)
    assert caught.value.field == "cache_write_tokens"
    with pytest.raises(InvalidUsage) as caught:
        Usage(prompt_tokens=100, cached_tokens=150)
    assert caught.value.field == "cached_tokens"
    # Cached tokens beyond the prompt are the culprit even with cache writes beside them...
    with pytest.raises(InvalidUsage) as caught:
        Usage(prompt_tokens=100, cached_tokens=150, cache_write_tokens=10)
    assert caught.value.field == "cached_tokens"
    # ...but cached tokens that fill the prompt exactly fit: the writes overflow.
    with pytest.raises(InvalidUsage) as caught:
        Usage(prompt_tokens=100, cached_tokens=100, cache_write_tokens=1)
    assert caught.value.field == "cache_write_tokens"


def test_sum_of_usages() -> None:
    parts = [Usage(prompt_tokens=10, completion_tokens=1), Usage(prompt_tokens=5)]
    total = sum(parts)
    assert total == Usage(prompt_tokens=15, completion_tokens=1, requests=2)


def test_a_sum_is_estimated_when_any_part_is() -> None:
    reported, estimated = Usage(prompt_tokens=10), Usage(prompt_tokens=5, estimated=True)
    assert (reported + estimated).estimated
    assert (estimated + reported).estimated
    assert not (reported + reported).estimated


def test_from_openai_missing_prompt_tokens_are_zero() -> None:
    assert Usage.from_openai({"completion_tokens": 3}) == Usage(completion_tokens=3)


def test_from_openai_a_total_below_its_parts_is_ignored() -> None:
    # Only a total above prompt + completion means hidden thinking tokens; one below them
    # (a provider that leaves something out of total_tokens) never shrinks the completion.
    usage = Usage.from_openai({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 110})
    assert (usage.completion_tokens, usage.reasoning_tokens) == (20, 0)


def test_gemini_thinking_tokens_outside_completion_tokens_are_billed() -> None:
    # Gemini's OpenAI endpoint: total 109 = prompt 35 + completion 12 + 62 thinking tokens
    usage = Usage.from_openai({"prompt_tokens": 35, "completion_tokens": 12, "total_tokens": 109})
    assert (usage.completion_tokens, usage.reasoning_tokens) == (74, 62)
    consistent = Usage.from_openai(
        {"prompt_tokens": 35, "completion_tokens": 12, "total_tokens": 47}
    )
    assert (consistent.completion_tokens, consistent.reasoning_tokens) == (12, 0)


def test_mistral_num_cached_tokens() -> None:
    usage = Usage.from_openai(
        {"prompt_tokens": 100, "completion_tokens": 5, "num_cached_tokens": 69}
    )
    assert usage.cached_tokens == 69


def test_hidden_thinking_tokens_reported_as_reasoning_are_not_counted_twice() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 35,
            "completion_tokens": 12,
            "total_tokens": 109,
            "completion_tokens_details": {"reasoning_tokens": 62},
        }
    )
    assert (usage.completion_tokens, usage.reasoning_tokens) == (74, 62)
