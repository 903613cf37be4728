"""Reading a provider's model list (``GET {base_url}/models``).

Four formats are understood: OpenRouter's (``pricing`` as USD-per-token
decimal strings, context lengths, supported parameters), OpenAI's plain
list (``id``, ``owned_by``), which vLLM, Ollama and LiteLLM's proxy also
serve, and the paginated native lists of Anthropic and Gemini, read by
:mod:`clearance.native_models` (without prices: LiteLLM's table gives theirs). The
format is the provider's protocol's (``anthropic``, ``gemini``), else the one the
answer's shape shows. A file may also be a catalog snapshot (``clearance models export``, read
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

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from clearance.catalog.modellist import DiscoveredModel, ModelList, PricingStatus
from clearance.errors import DiscoverySourceError, SourceFormatError
from clearance.exactjson import jsonable, loads_exact, parse_count, parse_decimal
from clearance.native_models import (
    PAGE_SIZE,
    NativeFormat,
    auth_headers,
    models_url,
    native_format,
    page_params,
    read_page,
)
from clearance.pricing import Price, PriceRates, PriceTier

if TYPE_CHECKING:
    from clearance.catalog_snapshot import CatalogSnapshot
    from clearance.providers.types import Protocol as WireProtocol

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

ModelsFormat = Literal["auto", "openai", "openrouter", "anthropic", "gemini"]
_ID_POINTERS = {"anthropic": "/data/{}/id", "gemini": ""}  # Gemini skips entries: no index
MAX_PAGES = 100
"""Pages read from one paginated list before giving up (100,000 models at 1,000 a page)."""


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
        minimum = parse_count(
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
    context = parse_count(
        entry.get("context_length", entry.get("max_model_len")),
        source=source,
        pointer=f"{pointer}/context_length",
    )
    max_completion = parse_count(
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


def parse_model_list(document: Any, *, source: str, fmt: ModelsFormat = "auto") -> ModelList:
    """Parse a decoded model list: ``{"data": [...]}`` or a bare list (OpenAI, OpenRouter),
    or one whole page of Anthropic's or Gemini's (``auto`` tells them apart by shape).

    Raises:
        SourceFormatError: the document or an entry does not have the expected shape;
            names the JSON pointer. Duplicate ids are an error too, and so is a native
            page that says more pages follow (syncing it would mark their models removed).
    """
    if fmt == "auto":
        fmt = native_format(document) or "auto"
    if fmt == "anthropic" or fmt == "gemini":
        page = read_page(fmt, document, source=source)
        if page.next_cursor is not None:
            raise SourceFormatError(
                "this is one page of a longer list (it names the next page), so the models "
                "on later pages would be marked removed",
                source=source,
                fix="sync from the provider (`clearance models sync --provider NAME`), which "
                "reads every page, or save every page's models into one list",
            )
        _no_duplicates(page.models, source, _ID_POINTERS[fmt])
        return ModelList(source=source, format=fmt, models=page.models, skipped=page.skipped)
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
    _no_duplicates(models, source, "/data/{}/id")
    return ModelList(source=source, format=fmt, models=tuple(models))


def _no_duplicates(models: Sequence[DiscoveredModel], source: str, pointer: str) -> None:
    """Refuse a model id listed twice; ``pointer`` is the id's with ``{}`` for the index
    (empty for a list read from several pages)."""
    seen: set[str] = set()
    for index, model in enumerate(models):
        if model.name in seen:
            raise SourceFormatError(
                f"model id {model.name!r} appears twice",
                source=source,
                pointer=pointer.format(index),
            )
        seen.add(model.name)


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
        uri = str(request.get("uri", "")).partition("?")[0].rstrip("/")
        if request.get("method") == "GET" and uri.endswith("/models"):
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
    protocol: WireProtocol = "openai",
    provider: str | None = None,
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> ModelList:
    """``GET`` a provider's model list, every page of it, and parse it.

    The request follows ``protocol``, or ``fmt`` when it names one (``openai`` or
    ``openrouter`` for a native provider's OpenAI-compatible endpoint):
    ``{base_url}/models`` with a bearer key for OpenAI's; Anthropic's with ``x-api-key``
    and ``anthropic-version``, Gemini's with ``x-goog-api-key``, each page after the
    first asked for by the cursor the last one gave (:mod:`clearance.native_models`).
    ``api_key_env``, the variable the key was read from, is named when the answer is 401
    or 403; ``provider`` is named in every error. The list's ``source`` is the URL.

    Raises:
        DiscoverySourceError: network failure or an HTTP error status.
        SourceFormatError: the answer is not a model list; names the provider, the page
            and the JSON pointer.
    """
    style: WireProtocol = "openai" if fmt == "openai" or fmt == "openrouter" else protocol
    if fmt == "anthropic" or fmt == "gemini":
        style = fmt
    elif fmt == "auto" and style != "openai":
        fmt = style
    if style == "openai":
        url = base_url.rstrip("/") + "/models"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        params: dict[str, str] = {}
    else:
        url = models_url(style, base_url)
        headers = auth_headers(style, api_key)
        params = page_params(style, None)
    label = f"{url} (provider {provider})" if provider else url  # what errors name
    with httpx.Client(
        timeout=timeout_s,
        transport=transport,
        headers={"Accept": "application/json", **headers},
    ) as client:
        fetch = functools.partial(_get, client, url, api_key=api_key, api_key_env=api_key_env)
        document = loads_exact(fetch(params).content, source=label)
        native = fmt if fmt == "anthropic" or fmt == "gemini" else None
        if fmt == "auto":
            native = native_format(document)
        if native is None:
            found = parse_model_list(document, source=label, fmt=fmt)
        else:
            found = _read_pages(native, document, fetch, label)
    return dataclasses.replace(found, source=url)


def _get(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    *,
    api_key: str | None,
    api_key_env: str | None,
) -> httpx.Response:
    """One page; a failure or an error status as a :class:`DiscoverySourceError`."""
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise DiscoverySourceError(url, f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        snippet = response.text[:300].replace(api_key or "\0", "***")
        status = response.status_code
        key = f" (key from {api_key_env})" if api_key_env and status in (401, 403) else ""
        raise DiscoverySourceError(url, f"HTTP {status}{key}: {snippet}", status_code=status)
    return response


def _read_pages(
    fmt: NativeFormat,
    first: Any,
    fetch: Callable[[Mapping[str, str]], httpx.Response],
    label: str,
) -> ModelList:
    """Every page of a native list, from its decoded first page on."""
    models: list[DiscoveredModel] = []
    skipped: list[str] = []
    cursors: set[str] = set()
    document, source = first, label
    for number in range(1, MAX_PAGES + 1):
        page = read_page(fmt, document, source=source)
        models.extend(page.models)
        skipped.extend(page.skipped)
        cursor = page.next_cursor
        if cursor is None:
            _no_duplicates(models, label, _ID_POINTERS[fmt] if number == 1 else "")
            return ModelList(label, fmt, tuple(models), tuple(skipped))
        if cursor in cursors:
            raise SourceFormatError(
                f"page {number} hands back the cursor {cursor!r} of an earlier page: the "
                "list would never end",
                source=source,
                pointer="/nextPageToken" if fmt == "gemini" else "/last_id",
            )
        cursors.add(cursor)
        source = f"{label}, page {number + 1}"
        document = loads_exact(fetch(page_params(fmt, cursor)).content, source=source)
    raise SourceFormatError(
        f"the list goes on past {MAX_PAGES} pages of {PAGE_SIZE} models",
        source=label,
        fix="check the base URL: no provider lists that many models",
    )
