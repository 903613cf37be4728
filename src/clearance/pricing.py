"""The cost of a call, exactly, in USD.

Token convention (OpenAI and OpenRouter report usage this way, and so does
:class:`Usage`): ``prompt_tokens`` counts *every* input token, including those
read from the prompt cache (``cached_tokens``) and those written to it
(``cache_write_tokens``); ``completion_tokens`` counts every output token,
including ``reasoning_tokens``. Each token is billed once, at the rate of its
kind::

    (prompt - cached - cache_write) × prompt rate
  + cached                          × cache-read rate  (prompt rate if none)
  + cache_write                     × cache-write rate (prompt rate if none)
  + (completion - reasoning)        × completion rate
  + reasoning                       × reasoning rate   (completion rate if none)
  + requests × per-request fee + images × per-image fee + web searches × per-search fee

A price may have tiers (OpenRouter's ``overrides``, LiteLLM's ``above_200k``):
the tier with the largest ``min_prompt_tokens`` not above the call's prompt
tokens replaces the base rates, for every token of the call (Gemini 2.5 Pro and
Claude's long-context rates bill the whole request at the higher rate). A tier
is a whole :class:`PriceRates`: an optional rate it leaves ``None`` falls back to
the tier's own prompt or completion rate, not to the base price's; an importer
that wants the base's cache rate in a tier copies it in.

The price records (:class:`Price`, :class:`PriceRates`, :class:`PriceTier`) live in
:mod:`clearance.catalog.pricerecords`, beside the store that keeps them, and are
re-exported here. Every rate is checked when a price is built: a rate that is missing
(prompt, completion and the fees), not a ``Decimal``, not finite or negative raises
:class:`InvalidPrice`, which names the field and how to fix it.

Arithmetic runs in a decimal context that traps inexact results, so a cost is
either exact or an error, never silently rounded.

An answer that reports no usage is not free: its tokens are estimated from the
request and answer text (:func:`clearance.tokencount.estimate_usage`), the
:class:`Usage` is marked ``estimated`` and the cost ``pricing_source="estimated"``.
"""

from __future__ import annotations

import decimal
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from clearance.catalog.pricerecords import Price, PriceRates, PriceTier
from clearance.errors import InvalidPrice, InvalidUsage, MissingPrice, PricingError

__all__ = [
    "CallCost",
    "DefaultPriceWarning",
    "InvalidPrice",
    "Price",
    "PriceRates",
    "PriceTier",
    "PricingSource",
    "Usage",
    "compute_cost",
    "price_call",
    "price_call_strict",
]

PricingSource = Literal["provider", "catalog", "default", "estimated"]
_EXACT = decimal.Context(
    prec=80,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)


_COUNTS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "requests",
    "images",
    "web_searches",
)


class DefaultPriceWarning(UserWarning):
    """A call was priced with the configured default price because its model has none."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and billable units of one call (or the sum of several)."""

    prompt_tokens: int = 0
    """Every input token, cached ones included."""
    completion_tokens: int = 0
    """Every output token, reasoning included."""
    cached_tokens: int = 0
    """Input tokens read from the prompt cache (a part of ``prompt_tokens``)."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache (a part of ``prompt_tokens``)."""
    reasoning_tokens: int = 0
    """Output tokens spent on reasoning (a part of ``completion_tokens``)."""
    requests: int = 1
    """Billed requests, for per-request fees."""
    images: int = 0
    """Input images billed per image."""
    web_searches: int = 0
    """Web searches billed per search."""
    reported_cost: Decimal | None = None
    """The provider's own figure in USD (OpenRouter's ``usage.cost``), if it sent one."""
    estimated: bool = False
    """The counts are estimated from the text (the answer reported no usage), not
    reported by the provider; a sum is estimated when any part of it is."""

    def __post_init__(self) -> None:
        # One OR over the counts is negative exactly when one of them is: a single test on
        # the hot path, and the slow search for the culprit only when it fails.
        if (
            self.prompt_tokens
            | self.completion_tokens
            | self.cached_tokens
            | self.cache_write_tokens
            | self.reasoning_tokens
            | self.requests
            | self.images
            | self.web_searches
        ) < 0:
            for name in _COUNTS:
                if getattr(self, name) < 0:
                    raise InvalidUsage(name, getattr(self, name), "a count cannot be negative")
        if self.cached_tokens + self.cache_write_tokens > self.prompt_tokens:
            culprit = (
                "cached_tokens"
                if self.cached_tokens > self.prompt_tokens or not (self.cache_write_tokens)
                else "cache_write_tokens"
            )
            raise InvalidUsage(
                culprit,
                getattr(self, culprit),
                f"cached ({self.cached_tokens}) plus cache-write ({self.cache_write_tokens}) "
                f"tokens exceed prompt_tokens ({self.prompt_tokens}); they are a part of it",
            )
        if self.reasoning_tokens > self.completion_tokens:
            raise InvalidUsage(
                "reasoning_tokens",
                self.reasoning_tokens,
                f"exceeds completion_tokens ({self.completion_tokens}), of which it is a part",
            )
        if self.reported_cost is not None and (
            not self.reported_cost.is_finite() or self.reported_cost < 0
        ):
            raise InvalidUsage(
                "reported_cost", self.reported_cost, "a cost is a finite USD amount >= 0"
            )

    def __radd__(self, other: int) -> Usage:
        """``sum(usages)`` starts from ``0``; adding ``0`` leaves the usage as it is."""
        if other == 0:
            return self
        return NotImplemented

    def __add__(self, other: Usage) -> Usage:
        reported = (
            None
            if self.reported_cost is None or other.reported_cost is None
            else _EXACT.add(self.reported_cost, other.reported_cost)
        )
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.requests + other.requests,
            self.images + other.images,
            self.web_searches + other.web_searches,
            reported,
            self.estimated or other.estimated,
        )

    @classmethod
    def from_openai(cls, usage: dict[str, Any]) -> Usage:
        """Read an OpenAI / OpenRouter ``usage`` object.

        ``prompt_tokens_details.cached_tokens`` and ``.cache_write_tokens``,
        ``completion_tokens_details.reasoning_tokens`` and OpenRouter's ``cost``
        are taken when present; a float cost is read through its shortest repr.
        Two real quirks are absorbed: Mistral's top-level ``num_cached_tokens``, and
        Gemini's thinking tokens, counted in ``total_tokens`` but not in
        ``completion_tokens`` (the excess is billed as reasoning output).
        """
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        cost = _reported_cost(usage.get("cost"))
        if cost is not None and usage.get("is_byok"):
            # Bring-your-own-key: OpenRouter's `cost` is only its own fee; the provider's
            # charge is `cost_details.upstream_inference_cost`. Without it the reported
            # figure is not the whole bill, so it is not used.
            upstream = _reported_cost(
                (usage.get("cost_details") or {}).get("upstream_inference_cost")
            )
            cost = None if upstream is None else _EXACT.add(cost, upstream)
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        cached = int(prompt_details.get("cached_tokens") or usage.get("num_cached_tokens") or 0)
        reasoning = int(completion_details.get("reasoning_tokens") or 0)
        total = usage.get("total_tokens")
        if isinstance(total, int) and total > prompt + completion:
            # Gemini's OpenAI endpoint leaves its thinking tokens out of completion_tokens
            # but counts them in total_tokens; they are billed as output, so bill them.
            # (When it also reports them as reasoning_tokens, those are the same tokens.)
            hidden = total - prompt - completion
            completion += hidden
            reasoning = max(reasoning, hidden)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            cache_write_tokens=int(prompt_details.get("cache_write_tokens") or 0),
            reasoning_tokens=reasoning,
            reported_cost=cost,
        )


def _reported_cost(value: Any) -> Decimal | None:
    """A provider's cost figure as an exact Decimal (a float through its shortest repr)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidUsage("reported_cost", str(value), "expected a number")
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except decimal.InvalidOperation:
        raise InvalidUsage("reported_cost", str(value), "not a decimal number") from None


@dataclass(frozen=True, slots=True)
class CallCost:
    """What a call cost, and on what grounds."""

    cost: Decimal
    """USD: the figure to bill and log."""
    pricing_source: PricingSource
    """``provider`` (its reported cost), ``catalog`` (a stored price), ``default`` (the
    configured default price: the model has none) or ``estimated`` (the answer reported
    no usage: tokens estimated from the text, priced at the catalog or default price,
    see ``computed_from``)."""
    computed: Decimal
    """USD computed from the price (catalog or default), kept beside a reported one."""
    reported: Decimal | None = None
    """USD as the provider reported it."""
    computed_from: Literal["catalog", "default"] = "catalog"
    price: Price | None = field(default=None, repr=False)
    """The price used for ``computed``."""


def compute_cost(usage: Usage, price: Price) -> Decimal:
    """The exact cost of ``usage`` at ``price`` (USD), following the module's convention.

    Raises:
        PricingError: the exact result needs more than 80 significant digits.
    """
    try:
        return _compute(usage, price)
    except decimal.DecimalException as error:
        raise PricingError(
            f"cost of {usage} at {price.model_id!r} cannot be computed exactly "
            f"({type(error).__name__})",
            fix="check the price and token counts: the result would need rounding",
        ) from None


def _compute(usage: Usage, price: Price) -> Decimal:
    rates = price.rates_for(usage.prompt_tokens) if price.tiers else price.rates
    mul, add = _EXACT.multiply, _EXACT.add
    prompt_rate = rates.prompt
    completion_rate = rates.completion
    cached = usage.cached_tokens
    written = usage.cache_write_tokens
    reasoning = usage.reasoning_tokens
    total = mul(prompt_rate, usage.prompt_tokens - cached - written)
    total = add(total, mul(completion_rate, usage.completion_tokens - reasoning))
    if cached:
        rate = prompt_rate if rates.cache_read is None else rates.cache_read
        total = add(total, mul(rate, cached))
    if written:
        rate = prompt_rate if rates.cache_write is None else rates.cache_write
        total = add(total, mul(rate, written))
    if reasoning:
        rate = completion_rate if rates.reasoning is None else rates.reasoning
        total = add(total, mul(rate, reasoning))
    if price.per_request and usage.requests:
        total = add(total, mul(price.per_request, usage.requests))
    if price.per_image and usage.images:
        total = add(total, mul(price.per_image, usage.images))
    if price.per_web_search and usage.web_searches:
        total = add(total, mul(price.per_web_search, usage.web_searches))
    return total


def price_call(
    model_id: str, usage: Usage, price: Price | None, *, default: Price, warn: bool = True
) -> CallCost:
    """Price a call best-effort.

    A provider-reported cost is used when present, with the computed one kept
    beside it. With no catalog price, the conservative ``default`` price is
    used, a :class:`DefaultPriceWarning` is emitted and the result is marked
    ``computed_from="default"`` (and ``pricing_source="default"`` unless the
    provider reported a cost). Estimated usage (``usage.estimated``) without a
    reported cost is marked ``pricing_source="estimated"``, whichever price was
    used. ``warn=False`` leaves the warning to the caller (the
    router logs it once per model instead of once per call).
    """
    computed_from: Literal["catalog", "default"] = "catalog"
    if price is None and not warn:
        price, computed_from = default, "default"
    elif price is None:
        billed = (
            "the provider's reported cost is billed; the computed cost uses the default"
            if usage.reported_cost is not None
            else "priced at the default"
        )
        warnings.warn(
            f"no price for model {model_id!r}; {billed} "
            f"({default.rates.prompt}/{default.rates.completion} USD per prompt/completion token)",
            DefaultPriceWarning,
            stacklevel=2,
        )
        price, computed_from = default, "default"
    computed = compute_cost(usage, price)
    reported = usage.reported_cost
    if reported is not None:
        return CallCost(reported, "provider", computed, reported, computed_from, price)
    source: PricingSource = "estimated" if usage.estimated else computed_from
    return CallCost(computed, source, computed, None, computed_from, price)


def price_call_strict(model_id: str, usage: Usage, price: Price | None) -> CallCost:
    """Price a call from its catalog price, or raise.

    Raises:
        MissingPrice: the model has no catalog price (even if the provider reported a cost:
            strict pricing promises that every call can be checked against the catalog).
    """
    if price is None:
        raise MissingPrice(model_id, "no_price")
    return price_call(model_id, usage, price, default=price)
