"""Anthropic's and Gemini's model lists: pages followed, models filtered, bad answers named.

The pages are hand-written in the documented shapes (tests/data/handwritten/README.md):
no recorded answer of these endpoints could be copied.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.discovery import fetch_model_list, parse_model_list, read_model_list
from clearance.errors import DiscoverySourceError, SourceFormatError
from clearance.native_models import (
    ANTHROPIC_VERSION,
    auth_headers,
    models_url,
    native_format,
    page_params,
)
from tests.conftest import DATA, OPENROUTER_MODELS

HANDWRITTEN = DATA / "handwritten"
ANTHROPIC = "https://api.anthropic.com/v1"
GEMINI = "https://generativelanguage.googleapis.com/v1beta"


def page(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HANDWRITTEN / name).read_text())
    return loaded


class Pages:
    """A provider's paginated model list behind an ``httpx.MockTransport``.

    ``pages`` maps the cursor a request carries (``None`` for the first page) to the body.
    """

    def __init__(self, cursor_param: str, pages: dict[str | None, Any]) -> None:
        self.cursor_param = cursor_param
        self.pages = pages
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self.pages[request.url.params.get(self.cursor_param)]
        return httpx.Response(200, json=body)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def anthropic_pages() -> Pages:
    first = page("anthropic-models-page1.json")
    return Pages(
        "after_id",
        {None: first, first["last_id"]: page("anthropic-models-page2.json")},
    )


def gemini_pages() -> Pages:
    first = page("gemini-models-page1.json")
    return Pages(
        "pageToken",
        {None: first, first["nextPageToken"]: page("gemini-models-page2.json")},
    )


# -- Anthropic -------------------------------------------------------------------------------


def test_anthropic_list_is_read_page_after_page_with_its_headers() -> None:
    pages = anthropic_pages()
    model_list = fetch_model_list(
        ANTHROPIC,
        api_key="sk-ant-test",
        protocol="anthropic",
        provider="anthropic",
        transport=pages.transport,
    )
    assert model_list.format == "anthropic"
    assert [m.name for m in model_list.models] == [
        "claude-opus-4-5-20251101",
        "claude-haiku-4-5-20251001",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-1-20250805",
        "claude-3-haiku-20240307",
    ]
    assert model_list.source == f"{ANTHROPIC}/models"
    first, second = pages.requests
    assert str(first.url) == f"{ANTHROPIC}/models?limit=1000"
    assert dict(second.url.params) == {"limit": "1000", "after_id": "claude-sonnet-4-5-20250929"}
    for request in pages.requests:
        assert request.headers["x-api-key"] == "sk-ant-test"
        assert request.headers["anthropic-version"] == ANTHROPIC_VERSION
        assert "authorization" not in request.headers
    sonnet = model_list.models[2]
    assert sonnet.display_name == "Claude Sonnet 4.5"
    assert sonnet.price is None
    assert sonnet.pricing_status == "unknown"
    assert sonnet.pricing_note is not None
    assert "LiteLLM" in sonnet.pricing_note
    assert sonnet.raw["created_at"] == "2025-09-29T00:00:00Z"  # kept, though not read


def test_anthropic_base_url_without_its_version_gets_it() -> None:
    assert models_url("anthropic", "https://api.anthropic.com") == f"{ANTHROPIC}/models"
    assert models_url("anthropic", f"{ANTHROPIC}/") == f"{ANTHROPIC}/models"
    assert auth_headers("anthropic", None) == {"anthropic-version": ANTHROPIC_VERSION}
    assert page_params("anthropic", None) == {"limit": "1000"}


def test_a_saved_last_page_is_a_list_and_a_saved_first_page_is_refused(tmp_path: Path) -> None:
    last = read_model_list(HANDWRITTEN / "anthropic-models-page2.json")
    assert last.format == "anthropic"
    assert [m.name for m in last.models] == ["claude-opus-4-1-20250805", "claude-3-haiku-20240307"]
    with pytest.raises(SourceFormatError, match="one page of a longer list") as caught:
        read_model_list(HANDWRITTEN / "anthropic-models-page1.json")
    assert "marked removed" in str(caught.value)
    assert caught.value.fix is not None
    assert "--provider" in caught.value.fix


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (lambda d: d.pop("data"), "/data", "Anthropic's model list"),
        (lambda d: d["data"][1].pop("id"), "/data/1/id", "missing"),
        (lambda d: d["data"][0].update(id=" claude "), "/data/0/id", "not a clean string"),
        (lambda d: d["data"].__setitem__(2, "claude"), "/data/2", "not an object"),
        (lambda d: d.update(has_more="yes"), "/has_more", "not true or false"),
        (lambda d: d.pop("last_id"), "/last_id", "where the next page starts"),
        (lambda d: d["data"].append(dict(d["data"][0])), "/data/3/id", "appears twice"),
    ],
)
def test_malformed_anthropic_pages_name_the_provider_and_the_field(
    change: Any, pointer: str, message: str
) -> None:
    pages = anthropic_pages()
    broken = copy.deepcopy(pages.pages[None])
    change(broken)
    if pointer == "/data/3/id":
        broken["has_more"] = False  # a whole list in one page, with an id twice
    pages.pages[None] = broken
    with pytest.raises(SourceFormatError, match=message) as caught:
        fetch_model_list(
            ANTHROPIC, protocol="anthropic", provider="claude-direct", transport=pages.transport
        )
    assert caught.value.pointer == pointer
    assert "claude-direct" in caught.value.source
    assert f"{ANTHROPIC}/models" in caught.value.source


def test_an_error_on_a_later_page_names_the_page() -> None:
    pages = anthropic_pages()
    second = pages.pages["claude-sonnet-4-5-20250929"]
    second["data"][0]["id"] = 42
    with pytest.raises(SourceFormatError) as caught:
        fetch_model_list(ANTHROPIC, protocol="anthropic", provider="a", transport=pages.transport)
    assert caught.value.source.endswith(", page 2")
    assert caught.value.pointer == "/data/0/id"


def test_a_cursor_that_comes_back_is_refused_rather_than_followed_forever() -> None:
    first = page("anthropic-models-page1.json")
    looping = page("anthropic-models-page2.json")
    looping.update(has_more=True, last_id=first["last_id"])
    pages = Pages("after_id", {None: first, first["last_id"]: looping})
    with pytest.raises(SourceFormatError, match="never end") as caught:
        fetch_model_list(ANTHROPIC, protocol="anthropic", transport=pages.transport)
    assert caught.value.pointer == "/last_id"
    assert len(pages.requests) == 2


def test_an_id_on_two_pages_is_refused() -> None:
    pages = anthropic_pages()
    pages.pages["claude-sonnet-4-5-20250929"]["data"][1]["id"] = "claude-opus-4-5-20251101"
    with pytest.raises(SourceFormatError, match="'claude-opus-4-5-20251101' appears twice"):
        fetch_model_list(ANTHROPIC, protocol="anthropic", transport=pages.transport)


def test_a_refused_key_names_its_variable_and_hides_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "type": "error",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            },
        )

    with pytest.raises(DiscoverySourceError) as caught:
        fetch_model_list(
            ANTHROPIC,
            api_key="sk-ant-secret",
            api_key_env="ANTHROPIC_API_KEY",
            protocol="anthropic",
            transport=httpx.MockTransport(handler),
        )
    assert caught.value.status_code == 401
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert "sk-ant-secret" not in str(caught.value)


# -- Gemini ----------------------------------------------------------------------------------


def test_gemini_list_keeps_the_models_that_generate_content() -> None:
    pages = gemini_pages()
    model_list = fetch_model_list(
        GEMINI, api_key="AIza-test", protocol="gemini", provider="gemini", transport=pages.transport
    )
    assert model_list.format == "gemini"
    assert [m.name for m in model_list.models] == [
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash",
    ]
    assert model_list.skipped == ("gemini-embedding-001", "imagen-4.0-generate-001")
    first, second = pages.requests
    assert str(first.url) == f"{GEMINI}/models?pageSize=1000"
    assert second.url.params["pageToken"] == "Ch1tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA=="
    for request in pages.requests:
        assert request.headers["x-goog-api-key"] == "AIza-test"
        assert "key" not in request.url.params  # the key never rides in a URL
    pro, _, _, old = model_list.models
    assert pro.display_name == "Gemini 2.5 Pro"
    assert pro.context_length == 1_048_576
    assert pro.max_completion_tokens == 65_536
    assert pro.capabilities["reasoning"] is True
    assert old.capabilities["reasoning"] is None  # no `thinking` field: the list does not say
    assert pro.raw["name"] == "models/gemini-2.5-pro"
    assert pro.raw["topP"] == "0.95"  # an exact decimal, kept as text
    assert pro.price is None


def test_gemini_base_url_without_a_version_gets_v1beta() -> None:
    assert models_url("gemini", "https://generativelanguage.googleapis.com") == f"{GEMINI}/models"
    assert models_url("gemini", GEMINI) == f"{GEMINI}/models"
    v1 = "https://generativelanguage.googleapis.com/v1"
    assert models_url("gemini", v1) == f"{v1}/models"


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (lambda d: d.update(models={"a": 1}), "/models", "Gemini's model list"),
        (lambda d: d["models"][0].update(name="gemini-2.5-pro"), "/models/0/name", "models/<id>"),
        (lambda d: d["models"][2].pop("name"), "/models/2/name", "models/<id>"),
        (lambda d: d["models"][0].update(name="models/"), "/models/0/name", "missing"),
        (
            lambda d: d["models"][0].update(supportedGenerationMethods="generateContent"),
            "/models/0/supportedGenerationMethods",
            "not a list",
        ),
        (
            lambda d: d["models"][0].update(inputTokenLimit="lots"),
            "/models/0/inputTokenLimit",
            "not an integer",
        ),
        (lambda d: d["models"][2].update(thinking="auto"), "/models/2/thinking", "true or false"),
        (lambda d: d.update(nextPageToken=7), "/nextPageToken", "not text"),
    ],
)
def test_malformed_gemini_pages_name_the_provider_and_the_field(
    change: Any, pointer: str, message: str
) -> None:
    pages = gemini_pages()
    change(pages.pages[None])
    with pytest.raises(SourceFormatError, match=message) as caught:
        fetch_model_list(GEMINI, protocol="gemini", provider="google", transport=pages.transport)
    assert caught.value.pointer == pointer
    assert "google" in caught.value.source


def test_an_empty_gemini_page_is_an_empty_list_only_when_gemini_was_asked_for() -> None:
    empty = Pages("pageToken", {None: {}})
    model_list = fetch_model_list(GEMINI, protocol="gemini", transport=empty.transport)
    assert model_list.models == ()
    with pytest.raises(SourceFormatError, match="expected"):
        parse_model_list({"models": []}, source="x.json")  # auto: not told apart from junk


# -- the format: from the protocol, else from the shape -------------------------------------


def test_auto_tells_the_four_formats_apart_by_shape() -> None:
    assert native_format(page("anthropic-models-page2.json")) == "anthropic"
    assert native_format({"data": [{"type": "model", "id": "claude-x"}]}) == "anthropic"
    assert native_format(page("gemini-models-page2.json")) == "gemini"
    assert native_format({"data": [{"id": "gpt-4o", "object": "model"}]}) is None
    assert native_format(json.loads(OPENROUTER_MODELS.read_text())) is None
    assert parse_model_list(page("gemini-models-page2.json"), source="g").format == "gemini"
    assert parse_model_list({"data": [{"id": "x", "object": "model"}]}, source="o").format == (
        "openai"
    )


def test_an_openai_protocol_provider_answering_anthropic_s_shape_is_still_paged() -> None:
    """Anthropic's OpenAI-compatible endpoint lists models in Anthropic's own shape."""
    pages = anthropic_pages()
    model_list = fetch_model_list(ANTHROPIC, api_key="k", transport=pages.transport)
    assert model_list.format == "anthropic"
    assert len(model_list.models) == 5
    assert pages.requests[0].headers["authorization"] == "Bearer k"
    assert pages.requests[1].url.params["after_id"] == "claude-sonnet-4-5-20250929"


def test_an_explicit_format_wins_over_the_protocol() -> None:
    """Gemini's OpenAI-compatible endpoint: OpenAI's list, asked for as OpenAI's."""
    body = {"object": "list", "data": [{"id": "gemini-2.5-pro", "object": "model"}]}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    model_list = fetch_model_list(
        f"{GEMINI}/openai",
        api_key="AIza-test",
        protocol="gemini",
        fmt="openai",
        transport=httpx.MockTransport(handler),
    )
    assert model_list.format == "openai"
    assert [m.name for m in model_list.models] == ["gemini-2.5-pro"]
    assert str(seen[0].url) == f"{GEMINI}/openai/models"
    assert seen[0].headers["authorization"] == "Bearer AIza-test"


# -- properties and saved answers -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
        min_size=1,
        max_size=25,
        unique=True,
    ),
    cuts=st.lists(st.integers(min_value=1, max_value=24), max_size=6),
    fmt=st.sampled_from(["anthropic", "gemini"]),
)
def test_however_a_list_is_cut_into_pages_the_same_models_come_back_in_order(
    names: list[str], cuts: list[int], fmt: str
) -> None:
    bounds = sorted({0, len(names), *(c for c in cuts if c < len(names))})
    chunks = [names[start:end] for start, end in itertools.pairwise(bounds)]
    pages: dict[str | None, Any] = {}
    cursor: str | None = None  # what asks for the page being built
    for number, chunk in enumerate(chunks):
        more = number < len(chunks) - 1
        if fmt == "anthropic":
            pages[cursor] = {
                "data": [{"type": "model", "id": name} for name in chunk],
                "has_more": more,
                "first_id": chunk[0],
                "last_id": chunk[-1],
            }
            cursor = chunk[-1]  # the next page starts after this page's last id
        else:
            listed = [
                {"name": f"models/{name}", "supportedGenerationMethods": ["generateContent"]}
                for name in chunk
            ]
            pages[cursor] = {"models": listed, **({"nextPageToken": f"t{number}"} if more else {})}
            cursor = f"t{number}"
    server = Pages("after_id" if fmt == "anthropic" else "pageToken", pages)
    base = ANTHROPIC if fmt == "anthropic" else GEMINI
    model_list = fetch_model_list(base, protocol=fmt, transport=server.transport)  # type: ignore[arg-type]
    assert [model.name for model in model_list.models] == names
    assert len(server.requests) == len(chunks)


def test_a_cassette_of_a_gemini_list_request_with_a_query_is_read(tmp_path: Path) -> None:
    body = (HANDWRITTEN / "gemini-models-page2.json").read_text()
    cassette = {
        "interactions": [
            {
                "request": {"method": "GET", "uri": f"{GEMINI}/models?pageSize=1000"},
                "response": {"body": {"string": body}, "status": {"code": 200}},
            }
        ],
        "version": 1,
    }
    file = tmp_path / "gemini_models.yaml"
    file.write_text(yaml.safe_dump(cassette))
    model_list = read_model_list(file)
    assert model_list.format == "gemini"
    assert [m.name for m in model_list.models] == ["gemini-2.5-flash-lite", "gemini-2.0-flash"]
    assert model_list.skipped == ("imagen-4.0-generate-001",)


def test_a_404_names_where_each_protocol_lists_its_models() -> None:
    from clearance.errors import DiscoverySourceError

    error = DiscoverySourceError("https://example.test/v1/models", "HTTP 404", status_code=404)
    assert "Anthropic's API answer GET {base_url}/models" in error.fix
    assert "ending in /v1beta" in error.fix
    assert error.fix.endswith("nothing was changed in the catalog")
