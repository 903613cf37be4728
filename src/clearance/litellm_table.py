"""LiteLLM's ``model_prices_and_context_window.json`` as a second price source.

Numbers in that file are JSON numbers (``2.5e-06``); they are decoded straight
into :class:`Decimal`, so every imported price equals the file's literal.
Tiered keys (``input_cost_per_token_above_200k_tokens``) become price tiers
from 200,001 prompt tokens ("above" is strict). Batch, priority and flex rates
are other products, not the standard price, and are left out.

:func:`import_litellm` matches the table's keys to the catalog's models
(:meth:`LiteLLMTable.match`) and hands the matched prices to the price store.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearance.catalog.modelstore import list_providers, model_rows
from clearance.catalog.pricestore import add_litellm_prices
from clearance.errors import SourceFormatError
from clearance.exactjson import loads_exact, parse_decimal
from clearance.pricing import Price, PriceRates, PriceTier

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "LiteLLMEntry",
    "LiteLLMImportReport",
    "LiteLLMTable",
    "import_litellm",
    "read_litellm_table",
]

PRICED_MODES = frozenset({"chat", "completion", "responses"})
#: Gateway org prefix -> LiteLLM provider names that sell that org's models at list price.
_ORG_PROVIDERS: dict[str, set[str]] = {
    "openai": {"openai", "text-completion-openai"},
    "anthropic": {"anthropic"},
    "google": {"gemini"},
    "mistralai": {"mistral"},
    "deepseek": {"deepseek"},
    "x-ai": {"xai"},
    "cohere": {"cohere_chat", "cohere"},
}
#: Native protocol -> (its LiteLLM key for a model NAME, the litellm_provider it is under).
_NATIVE_KEYS: dict[str, tuple[str, str]] = {
    "anthropic": ("{}", "anthropic"),
    "gemini": ("gemini/{}", "gemini"),
}
_TIER_KEY = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


@dataclass(frozen=True, slots=True)
class LiteLLMEntry:
    """One priced model of the table."""

    key: str
    """The table's key (``gpt-4o``, ``openrouter/anthropic/claude-3-opus``)."""
    litellm_provider: str | None
    mode: str | None
    price: Price
    """With ``model_id`` set to :attr:`key`."""
    max_input_tokens: int | None


@dataclass(frozen=True, slots=True)
class LiteLLMTable:
    """The priced entries, and how many were passed over and why."""

    source: str
    entries: dict[str, LiteLLMEntry]
    skipped: dict[str, int]

    def match(
        self,
        provider: str,
        name: str,
        aliases: Mapping[str, str] | None = None,
        protocol: str = "openai",
    ) -> LiteLLMEntry | None:
        """The entry for catalog model ``PROVIDER:NAME``, by exact keys only.

        An explicit alias (``pricing.litellm_keys``) comes first. A provider that speaks
        a native protocol is then matched on that protocol's own keys only, listed under
        its own ``litellm_provider``: Anthropic's ``NAME`` (``claude-sonnet-4-5-20250929``)
        and Gemini's ``gemini/NAME`` (``gemini/gemini-2.5-pro``), whatever the provider is
        called (Vertex AI's and Bedrock's entries for the same models are other price
        lists). For the OpenAI protocol: ``PROVIDER/NAME``, ``NAME``, and for a gateway
        name ``ORG/MODEL`` the key ``MODEL`` when that entry's ``litellm_provider`` is
        ORG's own (``openai/gpt-4o`` → ``gpt-4o``). No fuzzy matching: a wrong price is
        worse than none.
        """
        if aliases and f"{provider}:{name}" in aliases:
            return self.entries.get(aliases[f"{provider}:{name}"])
        native = _NATIVE_KEYS.get(protocol)
        if native is not None:
            key, litellm_provider = native
            entry = self.entries.get(key.format(name))
            return (
                entry if entry is not None and entry.litellm_provider == litellm_provider else None
            )
        entry = self.entries.get(f"{provider}/{name}") or self.entries.get(name)
        if entry is not None:
            return entry
        org, slash, model = name.partition("/")
        if slash:
            entry = self.entries.get(model)
            if entry is not None and entry.litellm_provider in _ORG_PROVIDERS.get(org, {org}):
                return entry
        return None


def _rate(spec: Mapping[str, Any], key: str, source: str, pointer: str) -> Decimal | None:
    if spec.get(key) is None:
        return None
    return parse_decimal(spec[key], source=source, pointer=f"{pointer}/{key}")


def _first(value: Decimal | None, fallback: Decimal | None) -> Any:
    return fallback if value is None else value


def _entry(key: str, spec: Mapping[str, Any], source: str) -> LiteLLMEntry | str:
    """The entry, or the reason it is skipped."""
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    mode = spec.get("mode")
    if mode is not None and mode not in PRICED_MODES:
        return f"mode {mode}"
    prompt = _rate(spec, "input_cost_per_token", source, pointer)
    completion = _rate(spec, "output_cost_per_token", source, pointer)
    if prompt is None or completion is None:
        return "no per-token price"
    if prompt < 0 or completion < 0:
        return "negative price"
    cache_read = _rate(spec, "cache_read_input_token_cost", source, pointer)
    cache_write = _rate(spec, "cache_creation_input_token_cost", source, pointer)
    reasoning = _rate(spec, "output_cost_per_reasoning_token", source, pointer)
    tiers: list[PriceTier] = []
    for name in spec:
        found = _TIER_KEY.match(name)
        if not found:
            continue
        suffix = f"_above_{found.group(1)}k_tokens"
        tier_prompt = _rate(spec, name, source, pointer)
        tier_completion = _rate(spec, f"output_cost_per_token{suffix}", source, pointer)
        if tier_prompt is None or tier_completion is None:
            continue
        tiers.append(
            PriceTier(
                int(found.group(1)) * 1000 + 1,
                PriceRates(
                    tier_prompt,
                    tier_completion,
                    _first(
                        _rate(spec, f"cache_read_input_token_cost{suffix}", source, pointer),
                        cache_read,
                    ),
                    _first(
                        _rate(spec, f"cache_creation_input_token_cost{suffix}", source, pointer),
                        cache_write,
                    ),
                    reasoning,
                ),
            )
        )
    per_request = _first(_rate(spec, "input_cost_per_request", source, pointer), Decimal(0))
    max_input = spec.get("max_input_tokens")
    return LiteLLMEntry(
        key=key,
        litellm_provider=spec.get("litellm_provider"),
        mode=mode,
        price=Price(
            model_id=key,
            rates=PriceRates(prompt, completion, cache_read, cache_write, reasoning),
            source="litellm",
            per_request=per_request,
            tiers=tuple(sorted(tiers, key=lambda t: t.min_prompt_tokens)),
        ),
        max_input_tokens=max_input if isinstance(max_input, int) else None,
    )


def parse_litellm_table(document: Any, *, source: str) -> LiteLLMTable:
    """Parse the decoded table (``sample_spec`` is skipped).

    Raises:
        SourceFormatError: not an object of objects, or a price that is not a number.
    """
    if not isinstance(document, Mapping):
        raise SourceFormatError("expected an object of model entries", source=source)
    entries: dict[str, LiteLLMEntry] = {}
    skipped: dict[str, int] = {}
    for key, spec in document.items():
        if key == "sample_spec":
            continue
        if not isinstance(spec, Mapping):
            raise SourceFormatError("entry is not an object", source=source, pointer=f"/{key}")
        result = _entry(str(key), spec, source)
        if isinstance(result, str):
            skipped[result] = skipped.get(result, 0) + 1
        else:
            entries[result.key] = result
    return LiteLLMTable(source=source, entries=entries, skipped=skipped)


def read_litellm_table(path: Path) -> LiteLLMTable:
    """Read LiteLLM's price file.

    Raises:
        SourceFormatError: unreadable or malformed file.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceFormatError(f"cannot read: {exc.strerror}", source=str(path)) from None
    return parse_litellm_table(loads_exact(raw, source=str(path)), source=str(path))


@dataclass(slots=True)
class LiteLLMImportReport:
    """What ``prices import-litellm`` did."""

    source: str
    entries: int
    matched: list[tuple[str, str]] = field(default_factory=list)
    """(catalog model id, LiteLLM key)."""
    unmatched_models: int = 0
    prices_added: int = 0
    prices_unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "source": self.source,
            "entries": self.entries,
            "matched": len(self.matched),
            "catalog_models_without_entry": self.unmatched_models,
            "prices_added": self.prices_added,
            "prices_unchanged": self.prices_unchanged,
            "skipped_entries": self.skipped,
        }


def import_litellm(
    connection: Connection,
    table: LiteLLMTable,
    *,
    aliases: Mapping[str, str] | None = None,
    providers: Collection[str] | None = None,
    now: dt.datetime | None = None,
) -> LiteLLMImportReport:
    """Add LiteLLM prices for the catalog models the table names (as ``source="litellm"``).

    Each model is matched by its provider's protocol (:meth:`LiteLLMTable.match`).

    Args:
        connection: in the caller's transaction.
        table: the parsed table.
        aliases: catalog model id -> LiteLLM key, for names no rule matches.
        providers: only these providers' models (default: every model in the catalog).
        now: the versions' ``effective_at``.
    """
    report = LiteLLMImportReport(table.source, len(table.entries), skipped=dict(table.skipped))
    protocols = {entry.name: entry.protocol for entry in list_providers(connection)}
    prices: dict[str, tuple[Price, str]] = {}
    for row in model_rows(connection):
        if providers is not None and row.provider not in providers:
            continue
        protocol = protocols.get(row.provider, "openai")
        entry = table.match(row.provider, row.name, aliases, protocol)
        if entry is None:
            report.unmatched_models += 1
            continue
        report.matched.append((row.id, entry.key))
        prices[row.id] = (entry.price, entry.key)
    report.prices_added, report.prices_unchanged = add_litellm_prices(
        connection, prices, source=table.source, now=now
    )
    return report
