"""A model's price as the catalog stores it: plain records, checked when built.

:class:`Price` is one version of a model's price: per-token :class:`PriceRates`, the
per-request, per-image and per-web-search fees, and :class:`PriceTier` rates that replace
the base ones from a prompt size up. :mod:`clearance.pricing` bills a call at a price
(and re-exports these records); :mod:`clearance.catalog.pricestore` stores and loads
them.

Every rate is checked when a price is built: a rate that is missing (prompt,
completion and the fees), not a ``Decimal``, not finite or negative raises
:class:`~clearance.errors.InvalidPrice`, which names the field and how to fix it.

This module imports nothing above it (only :mod:`clearance.errors`): the store below and
the pricing and discovery above all use it.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearance.errors import InvalidPrice

__all__ = ["Price", "PriceRates", "PriceTier"]

_ZERO = Decimal(0)
_FEE_UNITS = {
    "per_request": "USD per request",
    "per_image": "USD per input image",
    "per_web_search": "USD per web search",
}


def _check_rate(name: str, value: object) -> None:
    """Refuse a rate or fee that cannot bill: missing, not a Decimal, not finite, or < 0."""
    unit = _FEE_UNITS.get(name, "USD per token")
    if value is None:
        raise InvalidPrice(
            name,
            None,
            "missing",
            fix=f"give the {name} rate in {unit} (Decimal(0) if it is free); a model "
            "whose price is unknown has no Price, and is billed at the default price",
        )
    if not isinstance(value, Decimal):
        raise InvalidPrice(
            name,
            value,
            f"a rate is a Decimal, not {type(value).__name__}",
            fix=f"pass Decimal(text) in {unit}, read from the price list's text "
            "(a float is not exact)",
        )
    if not value.is_finite():
        raise InvalidPrice(
            name, value, "not a finite amount", fix=f"give a finite amount in {unit}"
        )
    if value < 0:
        raise InvalidPrice(
            name,
            value,
            "negative",
            fix=f"give an amount >= 0 in {unit}; a negative placeholder (OpenRouter's -1: "
            "priced per request) means the model has no fixed price, so store none",
        )


def _check_optional_rate(name: str, value: object) -> None:
    """As :func:`_check_rate`, except that ``None`` (bill at the base rate of its side) passes."""
    if value is not None:
        _check_rate(name, value)


@dataclass(frozen=True, slots=True)
class PriceRates:
    """Per-token rates in USD per token; ``None`` means "bill at the base rate of its side"."""

    prompt: Decimal
    completion: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None

    def __post_init__(self) -> None:
        _check_rate("prompt", self.prompt)
        _check_rate("completion", self.completion)
        _check_optional_rate("cache_read", self.cache_read)
        _check_optional_rate("cache_write", self.cache_write)
        _check_optional_rate("reasoning", self.reasoning)

    def as_strings(self) -> dict[str, str | None]:
        """The rates as exact decimal strings (for JSON columns)."""
        return {
            name: None if value is None else str(value)
            for name, value in (
                ("prompt", self.prompt),
                ("completion", self.completion),
                ("cache_read", self.cache_read),
                ("cache_write", self.cache_write),
                ("reasoning", self.reasoning),
            )
        }

    @classmethod
    def from_strings(cls, data: dict[str, Any]) -> PriceRates:
        """Inverse of :meth:`as_strings`.

        Raises:
            InvalidPrice: ``prompt`` or ``completion`` is missing, or a rate is not a
                decimal string of a finite amount >= 0.
        """

        def dec(name: str) -> Any:
            value = data.get(name)
            if not isinstance(value, str):
                return value  # None (no rate) passes; anything else is refused by __init__
            try:
                return Decimal(value)
            except decimal.InvalidOperation:
                raise InvalidPrice(
                    name,
                    value,
                    "not a decimal number",
                    fix="write the rate in USD per token as a decimal string, like '0.000003'",
                ) from None

        return cls(
            dec("prompt"),
            dec("completion"),
            dec("cache_read"),
            dec("cache_write"),
            dec("reasoning"),
        )


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Rates that apply from ``min_prompt_tokens`` prompt tokens up."""

    min_prompt_tokens: int
    rates: PriceRates

    def __post_init__(self) -> None:
        minimum = self.min_prompt_tokens
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
            raise InvalidPrice(
                "min_prompt_tokens",
                minimum,
                "a tier starts at a whole number of prompt tokens >= 0",
                fix="give the first prompt size the tier bills (200001 for a rate "
                "'above 200k tokens')",
            )
        _check_price_rates(self.rates)


def _check_price_rates(rates: object) -> None:
    if not isinstance(rates, PriceRates):
        raise InvalidPrice(
            "rates",
            rates,
            "not a PriceRates",
            fix="pass PriceRates(prompt, completion, ...) with Decimal rates in USD per token",
        )


@dataclass(frozen=True, slots=True)
class Price:
    """A model's price, as stored in the catalog (one version of it)."""

    model_id: str
    rates: PriceRates
    source: str = "manual"
    """Where it came from: ``provider``, ``litellm``, ``manual`` or ``default``."""
    per_request: Decimal = _ZERO
    """USD per request."""
    per_image: Decimal = _ZERO
    """USD per input image."""
    per_web_search: Decimal = _ZERO
    """USD per web search."""
    tiers: tuple[PriceTier, ...] = ()
    """Sorted by ``min_prompt_tokens`` (the constructor sorts them)."""
    price_id: int | None = None
    """Row id in the catalog's ``prices`` table."""

    def __post_init__(self) -> None:
        _check_price_rates(self.rates)
        _check_rate("per_request", self.per_request)
        _check_rate("per_image", self.per_image)
        _check_rate("per_web_search", self.per_web_search)
        for tier in self.tiers:
            if not isinstance(tier, PriceTier):
                raise InvalidPrice(
                    "tiers",
                    tier,
                    "not a PriceTier",
                    fix="pass each tier as PriceTier(min_prompt_tokens, PriceRates(...))",
                )
        ordered = tuple(sorted(self.tiers, key=lambda tier: tier.min_prompt_tokens))
        if ordered != self.tiers:
            object.__setattr__(self, "tiers", ordered)

    def rates_for(self, prompt_tokens: int) -> PriceRates:
        """The rates that apply to a call with this many prompt tokens."""
        rates = self.rates
        for tier in self.tiers:
            if prompt_tokens >= tier.min_prompt_tokens:
                rates = tier.rates
            else:
                break
        return rates
