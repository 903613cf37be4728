"""Tests of ``clearance.pricing``: the exact cost of a call.

Hand-computed examples first (the arithmetic is in a comment beside each),
then reading OpenAI / OpenRouter usage objects, ``Usage`` validation,
``price_call`` / ``price_call_strict``, and hypothesis properties checked
against an independent oracle written with :class:`fractions.Fraction`.
"""

from __future__ import annotations

import dataclasses
import decimal
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.errors import InvalidUsage, MissingPrice, PricingError
from clearance.pricing import (
    CallCost,
    DefaultPriceWarning,
    Price,
    PriceRates,
    PriceTier,
    Usage,
    compute_cost,
    price_call,
    price_call_strict,
)

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
    with pytest.raises(InvalidUsage, match=rf"usage\.{name}=-1") as caught:
        Usage(**counts)
    assert caught.value.field == name
    assert caught.value.value == -1


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
    Usage(completion_tokens=10, reasoning_tokens=10)


@pytest.mark.parametrize("cost", ["-0.01", "NaN", "Infinity"])
def test_reported_cost_must_be_a_cost(cost: str) -> None:
    with pytest.raises(InvalidUsage, match="reported_cost") as caught:
        Usage(reported_cost=D(cost))
    assert caught.value.field == "reported_cost"


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
    assert record[0].filename == __file__
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
    """The module's formula, evaluated independently with exact fractions."""
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
    with pytest.raises(PricingError, match="cannot be computed exactly"):
        compute_cost(Usage(prompt_tokens=999_999_999), price)


# --- defects found in review, each pinned by a test ---------------------------------------


@pytest.mark.parametrize("bad", [D("NaN"), D("-0.000001"), D("Infinity")])
def test_a_price_that_is_not_a_finite_non_negative_amount_is_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="finite USD amount"):
        PriceRates(bad, D("0.000001"))
    with pytest.raises(ValueError, match="per_request"):
        Price("m", PriceRates(D("0.000001"), D("0.000001")), per_request=bad)


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


@pytest.mark.parametrize("cost", [True, "abc", [1]])
def test_a_reported_cost_that_is_not_a_number_is_invalid_usage(cost: object) -> None:
    with pytest.raises(InvalidUsage) as caught:
        Usage.from_openai({"prompt_tokens": 1, "cost": cost})
    assert caught.value.field == "reported_cost"


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


def test_sum_of_usages() -> None:
    parts = [Usage(prompt_tokens=10, completion_tokens=1), Usage(prompt_tokens=5)]
    total = sum(parts)
    assert total == Usage(prompt_tokens=15, completion_tokens=1, requests=2)


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
