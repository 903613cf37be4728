"""Anthropic's and Gemini's model lists: where to ask, one page's models, the next page.

Anthropic: ``GET {base_url}/models`` (``https://api.anthropic.com/v1``; a base URL
without ``/v1`` gets it), with ``x-api-key`` and ``anthropic-version``, answers::

    {"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929",
               "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}],
     "has_more": true, "first_id": "...", "last_id": "..."}

and the next page is asked for with ``after_id=<last_id>`` while ``has_more`` is true.

Gemini: ``GET {base_url}/models`` (``https://generativelanguage.googleapis.com/v1beta``;
a base URL without a version gets ``/v1beta``), with ``x-goog-api-key``, answers::

    {"models": [{"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro",
                 "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                 "supportedGenerationMethods": ["generateContent", "countTokens"],
                 "thinking": true, ...}],
     "nextPageToken": "..."}

and the next page is asked for with ``pageToken``. Only models that can
``generateContent`` are kept, under their name without ``models/``; the others
(embeddings, Imagen, Veo...) are named in :attr:`Page.skipped`.

Neither list carries prices: a model is ``unknown`` here, and LiteLLM's table prices it
(:mod:`clearance.litellm_table`). Every entry is kept whole in its ``raw``, fields this
module does not read included. A field it reads that has the wrong shape is a
:class:`~clearance.errors.SourceFormatError` naming the list (provider and URL) and the
JSON pointer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from clearance.catalog.modellist import DiscoveredModel
from clearance.errors import SourceFormatError
from clearance.exactjson import jsonable, parse_count

__all__ = [
    "ANTHROPIC_VERSION",
    "NATIVE_FORMATS",
    "PAGE_SIZE",
    "NativeFormat",
    "Page",
    "auth_headers",
    "models_url",
    "native_format",
    "page_params",
    "read_page",
]

NativeFormat = Literal["anthropic", "gemini"]
NATIVE_FORMATS: tuple[NativeFormat, ...] = ("anthropic", "gemini")
ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header sent (the Messages API's stable version)."""
PAGE_SIZE = 1000
"""Models asked for per page: the largest page both APIs give."""

_UNPRICED = {
    "anthropic": "Anthropic's model list carries no prices",
    "gemini": "Gemini's model list carries no prices",
}
_PRICE_FIX = "; LiteLLM's table prices it (`clearance prices import-litellm FILE`)"
_GEMINI_VERSION = re.compile(r"/v1(alpha|beta)?$")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a native model list."""

    models: tuple[DiscoveredModel, ...]
    skipped: tuple[str, ...]
    """Models on the page that are left out (Gemini's that cannot ``generateContent``)."""
    next_cursor: str | None
    """What asks for the next page (Anthropic's ``last_id`` while ``has_more``, Gemini's
    ``nextPageToken``); ``None`` on the last page."""


def native_format(document: Any) -> NativeFormat | None:
    """Which native list a decoded answer is, by its shape; ``None``: neither.

    Gemini's is ``{"models": [...]}`` of entries named ``models/...`` (an empty one is
    not told apart: it is no list to sync from); Anthropic's is ``{"data": [...]}`` with
    its paging keys (``has_more``, ``first_id``, ``last_id``) or entries of ``"type":
    "model"`` (OpenAI's entries say ``"object": "model"`` instead).
    """
    if not isinstance(document, Mapping):
        return None
    models = document.get("models")
    if isinstance(models, list) and "data" not in document:
        names = [entry.get("name") for entry in models if isinstance(entry, Mapping)]
        if names and all(isinstance(n, str) and n.startswith("models/") for n in names):
            return "gemini"
        return None
    data = document.get("data")
    if not isinstance(data, list):
        return None
    if {"has_more", "first_id", "last_id"} & document.keys():
        return "anthropic"
    entries = [entry for entry in data if isinstance(entry, Mapping)]
    if entries and all(e.get("type") == "model" and "object" not in e for e in entries):
        return "anthropic"
    return None


def models_url(fmt: NativeFormat, base_url: str) -> str:
    """The model list's URL under a provider's base URL (its version added when missing)."""
    base = base_url.rstrip("/")
    if fmt == "anthropic":
        return f"{base}/models" if base.endswith("/v1") else f"{base}/v1/models"
    return f"{base}/models" if _GEMINI_VERSION.search(base) else f"{base}/v1beta/models"


def auth_headers(fmt: NativeFormat, api_key: str | None) -> dict[str, str]:
    """The headers that authenticate a model-list request (none for the key when it is
    ``None``; Anthropic's version header always)."""
    if fmt == "anthropic":
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers
    return {"x-goog-api-key": api_key} if api_key else {}


def page_params(fmt: NativeFormat, cursor: str | None) -> dict[str, str]:
    """The query of a page request: the page size, and the cursor after the first page."""
    if fmt == "anthropic":
        params = {"limit": str(PAGE_SIZE)}
        if cursor is not None:
            params["after_id"] = cursor
        return params
    params = {"pageSize": str(PAGE_SIZE)}
    if cursor is not None:
        params["pageToken"] = cursor
    return params


def read_page(fmt: NativeFormat, document: Any, *, source: str) -> Page:
    """One decoded page of a native model list.

    Raises:
        SourceFormatError: the page or an entry does not have the expected shape; names
            ``source`` and the JSON pointer.
    """
    if fmt == "anthropic":
        return _anthropic_page(document, source)
    return _gemini_page(document, source)


def _model_id(value: Any, *, source: str, pointer: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise SourceFormatError(
            f"model id {value!r} is missing or not a clean string", source=source, pointer=pointer
        )
    return value


def _capabilities(reasoning: bool | None) -> dict[str, Any]:
    """What the list says a model can do: only Gemini's ``thinking``, nothing else."""
    return {
        "supported_parameters": None,
        "tools": None,
        "tool_choice": None,
        "structured_outputs": None,
        "reasoning": reasoning,
        "vision": None,
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _anthropic_page(document: Any, source: str) -> Page:
    if not isinstance(document, Mapping) or not isinstance(document.get("data"), list):
        raise SourceFormatError(
            'expected {"data": [...], "has_more": ...} (Anthropic\'s model list)',
            source=source,
            pointer="/data" if isinstance(document, Mapping) else "",
        )
    models = tuple(
        _anthropic_model(entry, f"/data/{index}", source)
        for index, entry in enumerate(document["data"])
    )
    has_more = document.get("has_more", False)
    if not isinstance(has_more, bool):
        raise SourceFormatError(
            f"has_more is {has_more!r}, not true or false", source=source, pointer="/has_more"
        )
    cursor = None
    if has_more:
        last = document.get("last_id")
        if not isinstance(last, str) or not last:
            raise SourceFormatError(
                f"has_more is true but last_id (where the next page starts) is {last!r}",
                source=source,
                pointer="/last_id",
            )
        cursor = last
    return Page(models, (), cursor)


def _anthropic_model(entry: Any, pointer: str, source: str) -> DiscoveredModel:
    if not isinstance(entry, Mapping):
        raise SourceFormatError("model entry is not an object", source=source, pointer=pointer)
    name = _model_id(entry.get("id"), source=source, pointer=f"{pointer}/id")
    return DiscoveredModel(
        name=name,
        display_name=_text(entry.get("display_name")),
        context_length=None,
        max_completion_tokens=None,
        capabilities=_capabilities(None),
        price=None,
        pricing_status="unknown",
        pricing_note=_UNPRICED["anthropic"] + _PRICE_FIX,
        raw=jsonable(entry),
    )


def _gemini_page(document: Any, source: str) -> Page:
    if not isinstance(document, Mapping):
        raise SourceFormatError('expected {"models": [...]} (Gemini\'s model list)', source=source)
    entries = document.get("models")
    if entries is None and not (document.keys() - {"nextPageToken"}):
        entries = []  # an empty page: Google leaves empty lists out of its JSON
    if not isinstance(entries, list):
        raise SourceFormatError(
            'expected {"models": [...]} (Gemini\'s model list)', source=source, pointer="/models"
        )
    models: list[DiscoveredModel] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        model = _gemini_model(entry, f"/models/{index}", source)
        if isinstance(model, str):
            skipped.append(model)
        else:
            models.append(model)
    token = document.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise SourceFormatError(
            f"nextPageToken is {token!r}, not text", source=source, pointer="/nextPageToken"
        )
    return Page(tuple(models), tuple(skipped), token or None)


def _gemini_model(entry: Any, pointer: str, source: str) -> DiscoveredModel | str:
    """The model, or its id when it cannot ``generateContent`` (left out)."""
    if not isinstance(entry, Mapping):
        raise SourceFormatError("model entry is not an object", source=source, pointer=pointer)
    full = entry.get("name")
    if not isinstance(full, str) or not full.startswith("models/"):
        raise SourceFormatError(
            f"model name {full!r} is not of the form 'models/<id>'",
            source=source,
            pointer=f"{pointer}/name",
        )
    name = _model_id(full.removeprefix("models/"), source=source, pointer=f"{pointer}/name")
    methods = entry.get("supportedGenerationMethods")
    if methods is not None and (
        not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
    ):
        raise SourceFormatError(
            f"supportedGenerationMethods is {methods!r}, not a list of method names",
            source=source,
            pointer=f"{pointer}/supportedGenerationMethods",
        )
    if "generateContent" not in (methods or []):
        return name
    thinking = entry.get("thinking")
    if thinking is not None and not isinstance(thinking, bool):
        raise SourceFormatError(
            f"thinking is {thinking!r}, not true or false",
            source=source,
            pointer=f"{pointer}/thinking",
        )
    return DiscoveredModel(
        name=name,
        display_name=_text(entry.get("displayName")),
        context_length=parse_count(
            entry.get("inputTokenLimit"), source=source, pointer=f"{pointer}/inputTokenLimit"
        ),
        max_completion_tokens=parse_count(
            entry.get("outputTokenLimit"), source=source, pointer=f"{pointer}/outputTokenLimit"
        ),
        capabilities=_capabilities(thinking),
        price=None,
        pricing_status="unknown",
        pricing_note=_UNPRICED["gemini"] + _PRICE_FIX,
        raw=jsonable(entry),
    )
