"""Reading a snapshot: every value checked, every error naming the file, pointer and fix."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast, get_args

from clearance.catalog.pricestore import PriceVersion
from clearance.catalog_snapshot.document import (
    AUDIT,
    FEES,
    FORMAT,
    PRICE_SOURCES,
    RATES,
    VERSION,
    CatalogSnapshot,
    ModelSnapshot,
    ProviderSnapshot,
)
from clearance.discovery import PricingStatus, jsonable, parse_decimal
from clearance.errors import SourceFormatError
from clearance.modelid import is_valid_provider_name
from clearance.pricing import Price, PriceRates, PriceTier
from clearance.providers.types import PROTOCOLS

__all__ = ["parse_snapshot"]

_MODELS_FORMATS = ("auto", "openai", "openrouter", "anthropic", "gemini")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIX = (
    "correct the value, or export the snapshot again with `clearance models export`; "
    "nothing was changed in the catalog"
)


class _Reader:
    """Checks one decoded snapshot; every error names the file and the JSON pointer."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, pointer: str, fix: str = _FIX) -> SourceFormatError:
        return SourceFormatError(message, source=self.source, pointer=pointer, fix=fix)

    def mapping(
        self, value: Any, pointer: str, *, required: Sequence[str], optional: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(f"expected an object, found {_kind(value)}", pointer)
        known = [*required, *optional]
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(f"unknown key {key!r}{hint}", f"{pointer}/{_escape(str(key))}")
        for key in required:
            if key not in value:
                raise self.error(f"missing key {key!r}", pointer)
        return value

    def text(
        self, value: Any, pointer: str, *, optional: bool = False, clean: bool = False
    ) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or (clean and (not value or value != value.strip())):
            wanted = "a non-empty string without surrounding space" if clean else "a string"
            raise self.error(f"expected {wanted}{' or null' if optional else ''}", pointer)
        return value

    def count(self, value: Any, pointer: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"expected a non-negative integer or null, found {value!r}", pointer)
        return value

    def choice(self, value: Any, pointer: str, choices: Sequence[str]) -> str:
        if value not in choices:
            raise self.error(f"{value!r} is not one of {', '.join(choices)}", pointer)
        return str(value)

    def amount(self, value: Any, pointer: str, *, optional: bool = False) -> Decimal | None:
        if value is None and optional:
            return None
        try:
            number = parse_decimal(value, source=self.source, pointer=pointer)
        except SourceFormatError as error:
            raise self.error(
                error.message.removeprefix(f"{self.source} at {pointer}: "),
                pointer,
                fix='write the amount as a decimal string, like "0.0000025" (USD); '
                "nothing was changed in the catalog",
            ) from None
        if number < 0:
            raise self.error(f"{value!r} is negative; a price is a USD amount >= 0", pointer)
        return number

    def timestamp(self, value: Any, pointer: str) -> dt.datetime:
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise self.error(
                f"{value!r} is not an ISO 8601 time with a UTC offset",
                pointer,
                fix="write it like 2026-12-01T09:00:00+00:00",
            )
        return parsed.astimezone(dt.UTC)

    def rates(self, value: Mapping[str, Any], pointer: str) -> PriceRates:
        prompt, completion, *others = (
            self.amount(
                value.get(f"{name}_per_token"),
                f"{pointer}/{name}_per_token",
                optional=name not in ("prompt", "completion"),
            )
            for name in RATES
        )
        assert prompt is not None
        assert completion is not None
        return PriceRates(prompt, completion, *others)

    def price(self, value: Any, pointer: str, model_id: str, source: str) -> PriceVersion:
        rate_keys = [f"{name}_per_token" for name in RATES]
        document = self.mapping(
            value,
            pointer,
            required=[*rate_keys[:2], "effective_at"],
            optional=[*rate_keys[2:], *(f"{fee}_usd" for fee in FEES), "tiers", *AUDIT],
        )
        fees = {
            fee: self.amount(document.get(f"{fee}_usd", "0"), f"{pointer}/{fee}_usd")
            for fee in FEES
        }
        tiers_value = document.get("tiers", [])
        if not isinstance(tiers_value, list):
            raise self.error(f"expected a list, found {_kind(tiers_value)}", f"{pointer}/tiers")
        tiers: list[PriceTier] = []
        for index, tier_value in enumerate(tiers_value):
            where = f"{pointer}/tiers/{index}"
            tier = self.mapping(
                tier_value,
                where,
                required=["min_prompt_tokens", *rate_keys[:2]],
                optional=rate_keys[2:],
            )
            minimum = self.count(tier["min_prompt_tokens"], f"{where}/min_prompt_tokens")
            if minimum is None:
                raise self.error("expected a non-negative integer", f"{where}/min_prompt_tokens")
            tiers.append(PriceTier(minimum, self.rates(tier, where)))
        audit = {
            name: self.text(document.get(name), f"{pointer}/{name}", optional=True)
            for name in AUDIT
        }
        return PriceVersion(
            price=Price(
                model_id=model_id,
                rates=self.rates(document, pointer),
                source=source,
                per_request=fees["per_request"] or Decimal(0),
                per_image=fees["per_image"] or Decimal(0),
                per_web_search=fees["per_web_search"] or Decimal(0),
                tiers=tuple(tiers),
            ),
            effective_at=self.timestamp(document["effective_at"], f"{pointer}/effective_at"),
            source_detail=self.source,
            **audit,
        )

    def model(self, value: Any, pointer: str, provider: str) -> ModelSnapshot:
        document = self.mapping(
            value,
            pointer,
            required=["name", "pricing_status", "removed"],
            optional=[
                "id",
                "display_name",
                "context_length",
                "max_completion_tokens",
                "capabilities",
                "prices",
                "source_metadata",
            ],
        )
        name = self.text(document["name"], f"{pointer}/name", clean=True)
        assert name is not None
        model_id = f"{provider}:{name}"
        if "id" in document and document["id"] != model_id:
            raise self.error(
                f"id {document['id']!r} does not match provider {provider!r} and name {name!r}",
                f"{pointer}/id",
                fix=f"write {model_id!r}, or leave the id out",
            )
        capabilities = document.get("capabilities", {})
        if not isinstance(capabilities, Mapping):
            raise self.error(
                f"expected an object, found {_kind(capabilities)}", f"{pointer}/capabilities"
            )
        metadata = document.get("source_metadata", {})
        if not isinstance(metadata, Mapping):
            raise self.error(
                f"expected an object, found {_kind(metadata)}", f"{pointer}/source_metadata"
            )
        removed = document["removed"]
        if not isinstance(removed, bool):
            raise self.error(f"expected true or false, found {removed!r}", f"{pointer}/removed")
        prices = self.mapping(
            document.get("prices", {}), f"{pointer}/prices", required=(), optional=PRICE_SOURCES
        )
        status = self.choice(
            document["pricing_status"], f"{pointer}/pricing_status", get_args(PricingStatus)
        )
        return ModelSnapshot(
            name=name,
            display_name=self.text(
                document.get("display_name"), f"{pointer}/display_name", optional=True
            ),
            context_length=self.count(document.get("context_length"), f"{pointer}/context_length"),
            max_completion_tokens=self.count(
                document.get("max_completion_tokens"), f"{pointer}/max_completion_tokens"
            ),
            capabilities=jsonable(capabilities),
            pricing_status=cast(PricingStatus, status),
            removed=removed,
            prices=tuple(
                self.price(prices[source], f"{pointer}/prices/{source}", model_id, source)
                for source in sorted(prices)
            ),
            source_metadata=jsonable(metadata),
        )

    def provider(self, value: Any, pointer: str) -> ProviderSnapshot:
        document = self.mapping(
            value,
            pointer,
            required=["name", "models"],
            optional=["base_url", "api_key_env", "models_format", "protocol"],
        )
        name = document["name"]
        if not isinstance(name, str) or not is_valid_provider_name(name):
            raise self.error(
                f"provider name {name!r} is not valid",
                f"{pointer}/name",
                fix="use lower case letters, digits and _.- (at most 63 characters)",
            )
        api_key_env = document.get("api_key_env")
        if api_key_env is not None and (
            not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)
        ):
            # the value itself is not repeated: it may be a key written by mistake
            raise self.error(
                "api_key_env is not the name of an environment variable",
                f"{pointer}/api_key_env",
                fix="write the variable's NAME (letters, digits, _), never the key itself",
            )
        models_value = document["models"]
        if not isinstance(models_value, list):
            raise self.error(f"expected a list, found {_kind(models_value)}", f"{pointer}/models")
        models = [
            self.model(entry, f"{pointer}/models/{index}", name)
            for index, entry in enumerate(models_value)
        ]
        _no_duplicates([m.name for m in models], self, f"{pointer}/models", "/name")
        return ProviderSnapshot(
            name=name,
            base_url=self.text(document.get("base_url"), f"{pointer}/base_url", optional=True),
            api_key_env=api_key_env,
            models_format=self.choice(
                document.get("models_format", "auto"),
                f"{pointer}/models_format",
                _MODELS_FORMATS,
            ),
            models=tuple(sorted(models, key=lambda m: m.name)),
            protocol=self.choice(
                document.get("protocol", "openai"), f"{pointer}/protocol", PROTOCOLS
            ),
        )


def parse_snapshot(document: Any, *, source: str) -> CatalogSnapshot:
    """Check a decoded snapshot (numbers decoded as :class:`Decimal`) and read it.

    Raises:
        SourceFormatError: not a snapshot, a newer version, or a bad value; names the
            file, the JSON pointer and the fix.
    """
    reader = _Reader(source)
    top = reader.mapping(
        document, "", required=["format", "version", "providers"], optional=["exported_at"]
    )
    if top["format"] != FORMAT:
        raise reader.error(f"format {top['format']!r} is not {FORMAT!r}", "/format")
    version = top["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise reader.error(f"expected an integer version, found {version!r}", "/version")
    if version != VERSION:
        raise reader.error(
            f"format version {version} is not the version {VERSION} this clearance reads",
            "/version",
            fix="upgrade clearance (pip install -U clearance)"
            if version > VERSION
            else "export the snapshot again with `clearance models export`",
        )
    exported_at = (
        reader.timestamp(top["exported_at"], "/exported_at")
        if "exported_at" in top
        else dt.datetime.fromtimestamp(0, dt.UTC)
    )
    providers_value = top["providers"]
    if not isinstance(providers_value, list):
        raise reader.error(f"expected a list, found {_kind(providers_value)}", "/providers")
    providers = [
        reader.provider(entry, f"/providers/{index}") for index, entry in enumerate(providers_value)
    ]
    _no_duplicates([p.name for p in providers], reader, "/providers", "/name")
    return CatalogSnapshot(
        source=source,
        exported_at=exported_at,
        providers=tuple(sorted(providers, key=lambda p: p.name)),
    )


def _no_duplicates(names: Sequence[str], reader: _Reader, pointer: str, key: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise reader.error(f"{name!r} appears twice", f"{pointer}/{index}{key}")
        seen.add(name)


def _escape(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
