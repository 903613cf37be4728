"""Reading a provider's model list (``GET {base_url}/models``).

Two formats are understood: OpenRouter's (``pricing`` as USD-per-token
decimal strings, context lengths, supported parameters) and OpenAI's plain
list (``id``, ``owned_by``), which vLLM, Ollama and LiteLLM's proxy also
serve. A file may also be a catalog snapshot (``clearance models export``, read
by :mod:`clearance.catalog_snapshot`). Prices go from their decimal strings
straight into :class:`Decimal`;
the JSON is parsed with ``parse_float=Decimal`` so a number never passes
through a binary float either.

OpenRouter conventions kept here:

- a negative price (``"-1"``, as on ``openrouter/auto``) means the price is
  decided per request: the model is marked ``dynamic`` and gets no price;
- ``internal_reasoning`` of ``0`` means reasoning tokens are billed as
  completion tokens (the common case), so no separate reasoning rate is kept;
- ``overrides`` with ``min_prompt_tokens`` become price tiers.

The records it produces (:class:`DiscoveredModel`, :class:`ModelList`) are defined in
:mod:`clearance.catalog.modellist`, so the catalog stores them without importing this
module, and re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from clearance.catalog.modellist import DiscoveredModel, ModelList, PricingStatus
from clearance.errors import DiscoverySourceError, SourceFormatError
from clearance.pricing import Price, PriceRates, PriceTier

if TYPE_CHECKING:
    from clearance.catalog_snapshot import CatalogSnapshot

__all__ = [
    "DiscoveredModel",
    "ModelList",
    "PricingStatus",
    "fetch_model_list",
    "jsonable",
    "parse_decimal",
    "parse_model_list",
    "read_model_list",
    "read_models_file",
]

ModelsFormat = Literal["auto", "openai", "openrouter"]


def parse_decimal(value: Any, *, source: str, pointer: str) -> Decimal:
    """A decimal from a JSON string or number, never through float.

    Raises:
        SourceFormatError: not a number, or a float (the JSON was parsed lossily).
    """
    if isinstance(value, bool | float):
        raise SourceFormatError(
            f"{value!r} is a {type(value).__name__}, not an exact decimal",
            source=source,
            pointer=pointer,
            fix="parse the JSON with parse_float=Decimal, or write prices as strings",
        )
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise SourceFormatError(
                f"{value!r} is not a decimal number", source=source, pointer=pointer
            ) from None
    else:
        raise SourceFormatError(
            f"expected a decimal string, found {type(value).__name__}",
            source=source,
            pointer=pointer,
        )
    if not result.is_finite():
        raise SourceFormatError(f"{value!r} is not finite", source=source, pointer=pointer)
    return result


def _optional_int(value: Any, *, source: str, pointer: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise SourceFormatError(
            f"expected an integer, found {value!r}", source=source, pointer=pointer
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise SourceFormatError(
            f"{value!r} is not an integer", source=source, pointer=pointer
        ) from None
    if number != number.to_integral_value() or number < 0:
        raise SourceFormatError(
            f"{value!r} is not a non-negative integer", source=source, pointer=pointer
        )
    return int(number)


_RATE_KEYS = {
    "prompt": "prompt",
    "completion": "completion",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
    "internal_reasoning": "reasoning",
}


def _openrouter_rates(
    pricing: Mapping[str, Any], *, source: str, pointer: str
) -> tuple[PriceRates | None, list[str]]:
    """Rates from one OpenRouter pricing object (or override); None when unpriced/dynamic."""
    values: dict[str, Decimal | None] = {}
    notes: list[str] = []
    for key, name in _RATE_KEYS.items():
        if key not in pricing or pricing[key] is None:
            values[name] = None
            continue
        number = parse_decimal(pricing[key], source=source, pointer=f"{pointer}/{key}")
        if number < 0:
            notes.append(f"{key}={pricing[key]} (negative: decided per request)")
            values[name] = None
        elif name == "reasoning" and number == 0:
            values[name] = None  # billed as completion tokens
        else:
            values[name] = number
    prompt, completion = values["prompt"], values["completion"]
    if prompt is None or completion is None:
        return None, notes
    return (
        PriceRates(
            prompt, completion, values["cache_read"], values["cache_write"], values["reasoning"]
        ),
        notes,
    )


def _fee(pricing: Mapping[str, Any], key: str, *, source: str, pointer: str) -> Decimal:
    if pricing.get(key) is None:
        return Decimal(0)
    number = parse_decimal(pricing[key], source=source, pointer=f"{pointer}/{key}")
    return max(number, Decimal(0))


def _openrouter_price(
    name: str, pricing: Any, *, source: str, pointer: str
) -> tuple[Price | None, PricingStatus, str | None]:
    if pricing is None:
        return None, "unknown", "no pricing in the model list"
    if not isinstance(pricing, Mapping):
        raise SourceFormatError("pricing is not an object", source=source, pointer=pointer)
    rates, notes = _openrouter_rates(pricing, source=source, pointer=pointer)
    if rates is None:
        if notes:
            return None, "dynamic", "; ".join(notes)
        return None, "unknown", "prompt or completion price missing"
    tiers: list[PriceTier] = []
    overrides = pricing.get("overrides") or []
    if not isinstance(overrides, list):
        raise SourceFormatError(
            "overrides is not a list", source=source, pointer=f"{pointer}/overrides"
        )
    for index, override in enumerate(overrides):
        where = f"{pointer}/overrides/{index}"
        if not isinstance(override, Mapping):
            raise SourceFormatError("override is not an object", source=source, pointer=where)
        minimum = _optional_int(
            override.get("min_prompt_tokens"), source=source, pointer=f"{where}/min_prompt_tokens"
        )
        if minimum is None:
            notes.append(f"override {index} has no min_prompt_tokens; ignored")
            continue
        merged = {**{k: pricing.get(k) for k in _RATE_KEYS}, **override}
        tier_rates, tier_notes = _openrouter_rates(merged, source=source, pointer=where)
        notes.extend(tier_notes)
        if tier_rates is not None:
            tiers.append(PriceTier(minimum, tier_rates))
    price = Price(
        model_id=name,
        rates=rates,
        source="provider",
        per_request=_fee(pricing, "request", source=source, pointer=pointer),
        per_image=_fee(pricing, "image", source=source, pointer=pointer),
        per_web_search=_fee(pricing, "web_search", source=source, pointer=pointer),
        tiers=tuple(sorted(tiers, key=lambda t: t.min_prompt_tokens)),
    )
    return price, "priced", "; ".join(notes) or None


def _capabilities(entry: Mapping[str, Any]) -> dict[str, Any]:
    params = entry.get("supported_parameters")
    caps: dict[str, Any] = {"supported_parameters": None}
    if isinstance(params, list):
        names = {str(p) for p in params}
        caps.update(
            supported_parameters=sorted(names),
            tools="tools" in names,
            tool_choice="tool_choice" in names,
            structured_outputs="structured_outputs" in names or "response_format" in names,
            reasoning="reasoning" in names or "include_reasoning" in names,
        )
    else:
        caps.update(tools=None, tool_choice=None, structured_outputs=None, reasoning=None)
    architecture = entry.get("architecture")
    inputs = architecture.get("input_modalities") if isinstance(architecture, Mapping) else None
    caps["vision"] = ("image" in inputs) if isinstance(inputs, list) else None
    return caps


def _entry(
    entry: Any, index: int, fmt: Literal["openai", "openrouter"], source: str
) -> DiscoveredModel:
    pointer = f"/data/{index}"
    if not isinstance(entry, Mapping):
        raise SourceFormatError("model entry is not an object", source=source, pointer=pointer)
    name = entry.get("id")
    if not isinstance(name, str) or not name or name != name.strip():
        raise SourceFormatError(
            f"model id {name!r} is missing or not a clean string",
            source=source,
            pointer=f"{pointer}/id",
        )
    top = entry.get("top_provider")
    top = top if isinstance(top, Mapping) else {}
    context = _optional_int(
        entry.get("context_length", entry.get("max_model_len")),
        source=source,
        pointer=f"{pointer}/context_length",
    )
    max_completion = _optional_int(
        top.get("max_completion_tokens"),
        source=source,
        pointer=f"{pointer}/top_provider/max_completion_tokens",
    )
    if fmt == "openrouter":
        price, status, note = _openrouter_price(
            name, entry.get("pricing"), source=source, pointer=f"{pointer}/pricing"
        )
    else:
        price, status, note = None, "unknown", "the OpenAI model list carries no prices"
    display = entry.get("name") if isinstance(entry.get("name"), str) else None
    return DiscoveredModel(
        name=name,
        display_name=display,
        context_length=context,
        max_completion_tokens=max_completion,
        capabilities=_capabilities(entry),
        price=price,
        pricing_status=status,
        pricing_note=note,
        raw=jsonable(entry),
    )


def jsonable(value: Any) -> Any:
    """The entry with Decimals back as strings, for a JSON column."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def parse_model_list(document: Any, *, source: str, fmt: ModelsFormat = "auto") -> ModelList:
    """Parse a decoded ``/models`` answer (``{"data": [...]}`` or a bare list).

    Raises:
        SourceFormatError: the document or an entry does not have the expected shape;
            names the JSON pointer. Duplicate ids are an error too.
    """
    entries = document.get("data") if isinstance(document, Mapping) else document
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise SourceFormatError(
            'expected {"data": [...]} (an OpenAI or OpenRouter model list)',
            source=source,
            pointer="/data" if isinstance(document, Mapping) else "",
        )
    if fmt == "auto":
        fmt = (
            "openrouter"
            if any(isinstance(e, Mapping) and "pricing" in e for e in entries)
            else "openai"
        )
    models = [_entry(entry, index, fmt, source) for index, entry in enumerate(entries)]
    seen: set[str] = set()
    for index, model in enumerate(models):
        if model.name in seen:
            raise SourceFormatError(
                f"model id {model.name!r} appears twice", source=source, pointer=f"/data/{index}/id"
            )
        seen.add(model.name)
    return ModelList(source=source, format=fmt, models=tuple(models))


def loads_exact(text: str | bytes, *, source: str) -> Any:
    """Decode JSON with every non-integer number as a :class:`Decimal`.

    Raises:
        SourceFormatError: not JSON; names the line and column.
    """
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            source=source,
        ) from None
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not UTF-8 text: {exc.reason}", source=source) from None


def read_model_list(path: Path, *, fmt: ModelsFormat = "auto") -> ModelList:
    """Read a saved ``/models`` answer: a JSON file, or a vcrpy cassette holding the request.

    Raises:
        SourceFormatError: unreadable or malformed file, or a catalog snapshot.
    """
    found = read_models_file(path, fmt=fmt)
    if not isinstance(found, ModelList):
        raise SourceFormatError(
            "this is a catalog snapshot, not a /models answer",
            source=str(path),
            fix=f"restore it with `clearance models sync --from {path}`",
        )
    return found


def read_models_file(path: Path, *, fmt: ModelsFormat = "auto") -> ModelList | CatalogSnapshot:
    """Read a saved ``/models`` answer, a vcrpy cassette holding the request, or a snapshot.

    A JSON document whose ``format`` is ``clearance-models`` is a catalog snapshot
    (``clearance models export``); ``fmt`` applies to the other kinds only.

    Raises:
        SourceFormatError: unreadable or malformed file; names the JSON pointer.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceFormatError(f"cannot read: {exc.strerror}", source=source) from None
    if path.suffix in (".yaml", ".yml"):
        raw = _body_from_cassette(raw, source)
    document = loads_exact(raw, source=source)
    from clearance.catalog_snapshot import is_snapshot, parse_snapshot  # it imports the catalog

    if is_snapshot(document):
        return parse_snapshot(document, source=source)
    return parse_model_list(document, source=source, fmt=fmt)


def _body_from_cassette(raw: bytes, source: str) -> bytes:
    import yaml

    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SourceFormatError(f"not valid YAML: {exc}", source=source) from None
    interactions = document.get("interactions") if isinstance(document, Mapping) else None
    for index, interaction in enumerate(interactions or []):
        request = interaction.get("request", {})
        if request.get("method") == "GET" and str(request.get("uri", "")).rstrip("/").endswith(
            "/models"
        ):
            body = interaction.get("response", {}).get("body", {})
            text = body.get("string")
            if isinstance(text, str):
                return text.encode()
            if isinstance(text, bytes):
                return text
            raise SourceFormatError(
                "the /models response body is not text",
                source=source,
                pointer=f"/interactions/{index}/response/body",
            )
    raise SourceFormatError("no GET .../models interaction in this cassette", source=source)


def fetch_model_list(
    base_url: str,
    *,
    api_key: str | None = None,
    api_key_env: str | None = None,
    fmt: ModelsFormat = "auto",
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> ModelList:
    """``GET {base_url}/models`` and parse the answer.

    ``api_key`` is sent as a bearer token; ``api_key_env``, the variable it was read
    from, is named when the answer is 401 or 403.

    Raises:
        DiscoverySourceError: network failure or an HTTP error status.
        SourceFormatError: the answer is not a model list.
    """
    url = base_url.rstrip("/") + "/models"
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise DiscoverySourceError(url, f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        snippet = response.text[:300].replace(api_key or "\0", "***")
        status = response.status_code
        key = f" (key from {api_key_env})" if api_key_env and status in (401, 403) else ""
        raise DiscoverySourceError(url, f"HTTP {status}{key}: {snippet}", status_code=status)
    return parse_model_list(loads_exact(response.content, source=url), source=url, fmt=fmt)
