"""The model snapshot on the call log's every path: written, spilled and replayed, journaled
and replayed from a dead process, set aside in a dead letter and loaded back by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from clearance.calllog import CallLog, CallRecord, journal_line, new_call_id, replay_spill
from clearance.catalog import tables as t
from clearance.catalog.callstore import row_from_json, row_to_json
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.config import load_config
from clearance.discovery import parse_model_list
from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.base import Provider
from clearance.providers.gemini import GeminiProvider
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

SNAPSHOT = "gpt-4o-2024-08-06@fp_7f6be3efb0"
REALDATA = Path(__file__).parent / "data" / "realdata" / "cassettes"


def record(**fields: object) -> CallRecord:
    base: dict[str, object] = {
        "call_id": new_call_id(),
        "started_at": dt.datetime.now(dt.UTC),
        "status": "ok",
        "served_model": "p:gpt-4o",
        "model_snapshot": SNAPSHOT,
        "cost": Decimal("0.0000125"),
    }
    base.update(fields)
    return CallRecord(**base)  # type: ignore[arg-type]


def snapshots(catalog: Catalog) -> dict[str, str | None]:
    with catalog.connect() as connection:
        return {row.call_id: row.model_snapshot for row in connection.execute(select(t.ai_calls))}


def test_the_writer_stores_the_snapshot_and_a_provider_s_odd_text_is_cut_not_refused(
    catalog: Catalog, tmp_path: Path
) -> None:
    # the snapshot is the provider's text: a control character or an overlong one must not
    # send the row to the dead letters (PostgreSQL refuses U+0000 in VARCHAR)
    plain = record()
    odd = record(model_snapshot="m\x00" + "x" * 300)
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=10, flush_interval_s=60)
    for item in (plain, odd):
        log.record(item)
    log.close()
    stored = snapshots(catalog)
    assert stored[plain.call_id] == SNAPSHOT
    assert stored[odd.call_id] == ("m\ufffd" + "x" * 300)[:255]
    assert not list((tmp_path / "spill").glob("dead-letters-*.jsonl"))
    with catalog.connect() as connection:
        extra = connection.execute(
            select(t.ai_calls.c.extra).where(t.ai_calls.c.call_id == odd.call_id)
        ).scalar_one()
    assert extra == {"truncated": {"model_snapshot": 302}}


def test_a_spilled_row_keeps_its_snapshot_through_replay(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = open_catalog(f"sqlite:///{path}")
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=5, flush_interval_s=0.05)
    path.rename(tmp_path / "moved.db")  # the database is gone: rows spill
    catalog.dispose()
    items = [record(model_snapshot=f"m@fp_{n}") for n in range(3)] + [record(model_snapshot=None)]
    for item in items:
        log.record(item)
    log.close()
    assert log.spilled == 4
    catalog.dispose()
    path.unlink()
    (tmp_path / "moved.db").rename(path)
    spilled = [
        row_from_json(line)
        for file in (tmp_path / "spill").glob("ai_calls-*.jsonl")
        for line in file.read_text().splitlines()
    ]
    assert sorted(str(row["model_snapshot"]) for row in spilled) == [
        "None",
        "m@fp_0",
        "m@fp_1",
        "m@fp_2",
    ]
    restored = open_catalog(f"sqlite:///{path}")
    assert replay_spill(restored, tmp_path / "spill").inserted == 4
    assert snapshots(restored) == {item.call_id: item.model_snapshot for item in items}
    restored.dispose()


def test_a_dead_process_s_journal_replays_with_its_snapshots(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    items = [record(model_snapshot="claude-sonnet-4-5-20250929"), record(model_snapshot=None)]
    lines = []
    for item in items:
        line = journal_line(item)
        assert line is not None
        lines.append(line.decode().strip())
    folder = spill / "journal"
    folder.mkdir(parents=True)
    header = {"$journal": {"version": 1, "pid": 999999, "catalog": catalog.display_url}}
    (folder / "journal-999999-deadbeef-0000.jsonl").write_text(
        "\n".join([json.dumps(header), *lines]) + "\n"
    )
    report = replay_spill(catalog, spill)
    assert (report.journals, report.inserted) == (1, 2)
    assert snapshots(catalog) == {item.call_id: item.model_snapshot for item in items}


def test_a_dead_letter_holds_the_snapshot_and_loads_back_with_it(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=10, flush_interval_s=60)
    bad = record(org_id="x" * 5000, model_snapshot="gemini-2.5-flash-preview-05-20")
    log.record(bad)
    log.close()
    (letter_file,) = spill.glob("dead-letters-*.jsonl")
    letter = json.loads(letter_file.read_text())
    assert letter["row"]["model_snapshot"] == "gemini-2.5-flash-preview-05-20"
    # fixed by hand and put back as a spill file, as `clearance calls dead-letters` says
    row = dict(letter["row"])
    row["org_id"] = "acme"
    fixed = row_from_json(json.dumps(row))
    (spill / "ai_calls-fixed.jsonl").write_text(row_to_json(fixed) + "\n")
    letter_file.unlink()
    assert replay_spill(catalog, spill).inserted == 1
    assert snapshots(catalog) == {bad.call_id: "gemini-2.5-flash-preview-05-20"}


def _recorded_answer(relative: str) -> dict[str, Any]:
    """The first answer of a real cassette (tests/data/realdata; see its MANIFEST)."""
    document = yaml.safe_load((REALDATA / relative).read_text(encoding="utf-8"))
    answer: dict[str, Any] = document["interactions"][0]["response"]["parsed_body"]
    return answer


OPENAI_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_7f6be3efb0",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


@pytest.mark.any_dialect  # the writer's SQL runs on both above; this is the router's record
@pytest.mark.parametrize(
    ("protocol", "model", "answer", "expected"),
    [
        ("openai", "gpt-4o", OPENAI_ANSWER, SNAPSHOT),
        (
            "anthropic",
            "claude-sonnet-4-5",
            _recorded_answer("anthropic/pydantic-ai/test_anthropic_cache_real_api.yaml"),
            "claude-sonnet-4-5-20250929",  # Anthropic's `model`: the dated snapshot
        ),
        (
            "gemini",
            "gemini-2.5-flash",
            _recorded_answer("gemini/pydantic-ai/test_google_model_max_tokens.yaml"),
            "gemini-2.5-flash",  # Gemini's `modelVersion`
        ),
    ],
)
def test_each_protocol_s_reported_identity_reaches_the_call_s_row(
    catalog: Catalog,
    tmp_path: Path,
    protocol: str,
    model: str,
    answer: dict[str, Any],
    expected: str,
) -> None:
    classes: dict[str, type[Any]] = {
        "openai": OpenAICompatibleProvider,
        "anthropic": AnthropicProvider,
        "gemini": GeminiProvider,
    }
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1", protocol=protocol)
        listed = parse_model_list({"data": [{"id": model}]}, source="t")
        sync_models(connection, "p", listed, enable_new=True)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    provider: Provider = classes[protocol](
        "p", "https://p.example/v1", api_key="k", transport=transport, async_transport=transport
    )
    (tmp_path / "clearance.toml").write_text("[gate]\nrequire_decision = false\n")
    config = load_config(environ={}, cwd=tmp_path)
    router = Router(config, catalog, providers={"p": provider})
    try:
        result = router.complete([{"role": "user", "content": "hi"}], model=f"p:{model}")
        assert result.response.snapshot == expected
        assert router.calllog is not None
        router.calllog.flush()
    finally:
        router.close()
    assert list(snapshots(catalog).values()) == [expected]
