"""``clearance.evaluation.audit`` on the real third-party cassettes in ``tests/data/realdata``.

The per-cassette expectations below were read by hand from the YAML files.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from clearance.errors import InputError
from clearance.evaluation import AuditReport, ExchangeAudit, audit_cassettes
from clearance.evaluation.audit import CallVerdict

CASSETTES = Path(__file__).parents[1] / "data" / "realdata" / "cassettes"


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit_cassettes(CASSETTES)


def _exchanges(report: AuditReport, cassette: str) -> list[ExchangeAudit]:
    found = [e for e in report.exchanges() if e.cassette == cassette]
    assert found, cassette
    return found


def _calls(report: AuditReport, cassette: str) -> list[CallVerdict]:
    return [call for exchange in _exchanges(report, cassette) for call in exchange.calls]


# ------------------------------------------------------------ totals


def test_every_cassette_is_read(report: AuditReport) -> None:
    # 35 OpenAI-compatible cassettes, 18 of Anthropic's Messages API, 19 of Gemini's API
    assert report.files == 72
    assert len(report.cassettes) == 72
    assert report.unreadable == ()


def _openai(report: AuditReport) -> AuditReport:
    """The report on the OpenAI-compatible cassettes alone."""
    native = ("anthropic/", "gemini/")
    return replace(
        report, cassettes=tuple(c for c in report.cassettes if not c.cassette.startswith(native))
    )


def test_totals(report: AuditReport) -> None:
    report = _openai(report)
    # 67 POSTs to .../chat/completions; llm-openrouter's GET /models interactions are skipped.
    assert len(report.exchanges()) == 67
    assert {e.protocol for e in report.exchanges()} == {"openai"}
    assert sum(c.skipped for c in report.cassettes) == 3
    calls = report.calls()
    assert len(calls) == 42
    assert all(call.verdict == "valid" for call in calls)
    rows = report.by_model()
    assert sum(row.responses for row in rows) == 67
    assert sum(row.tool_calls for row in rows) == 42
    for row in rows:
        assert row.valid + row.invalid_json + row.schema_violation + row.unknown_tool + (
            row.unusable_schema
        ) == (row.tool_calls)


def test_streaming_and_hosts(report: AuditReport) -> None:
    streamed = {e.cassette for e in report.exchanges() if e.streamed}
    assert "openllmetry/test_open_ai_function_calls_tools_streaming_parallel.yaml" in streamed
    assert "pydantic-ai/test_openrouter_stream_error.yaml" in streamed
    assert "openllmetry/test_open_ai_function_calls_tools_parallel.yaml" not in streamed
    hosts = {e.host for e in report.exchanges()}
    assert {"api.openai.com", "openrouter.ai", "api.groq.com", "router.huggingface.co"} <= hosts
    assert "generativelanguage.googleapis.com" in hosts


# ------------------------------------------------------------ by hand, cassette by cassette


def test_gemini_openai_endpoint_sends_empty_ids(report: AuditReport) -> None:
    name = "pydantic-ai/test_compatible_api_with_tool_calls_without_id.yaml"
    first = _exchanges(report, name)[0]
    assert first.host == "generativelanguage.googleapis.com"
    assert first.request_model == "gemini-2.5-pro-preview-05-06"
    [call] = first.calls
    assert (call.name, call.verdict, call.raw_arguments) == ("get_current_time", "valid", "{}")
    assert call.quirks == ("empty_id",)
    [row] = [r for r in report.by_model() if r.model == "gemini-2.5-pro-preview-05-06"]
    assert row.quirks == {"empty_id": 1}


def test_groq_tool_use_failed(report: AuditReport) -> None:
    """Groq refused gpt-oss's first call (400): its arguments break the schema sent.

    In the cassette the tool ``get_something_by_name`` takes ``{"name": string}``
    (``additionalProperties: false``); ``failed_generation`` holds ``{"foo": "bar"}``.
    The retry (interaction #1) sends ``{"name": "test"}``, which is valid.
    """
    name = "pydantic-ai/test_tool_use_failed_error.yaml"
    failed, retried, final = _exchanges(report, name)
    assert (failed.status, failed.error_kind) == (400, "bad_request")
    assert failed.calls == ()
    [rejected] = failed.rejected_calls
    assert rejected.name == "get_something_by_name"
    assert rejected.raw_arguments == {"foo": "bar"}
    assert rejected.verdict == "schema_violation"
    assert "'foo' was unexpected" in (rejected.message or "")
    assert "rejected_by_provider" in rejected.quirks
    [call] = retried.calls
    assert (call.verdict, call.raw_arguments) == ("valid", '{"name":"test"}')
    assert final.calls == ()
    [row] = [r for r in report.by_model() if r.model == "openai/gpt-oss-120b"]
    assert row.errors == {"bad_request": 1}
    assert (row.rejected, row.rejected_schema_violation, row.valid) == (1, 1, 1)


def test_openrouter_stream_error(report: AuditReport) -> None:
    """HTTP 200 whose stream carries ``{"error": {"code": 400, "message": "Token limit reached"}}``.

    OpenRouter's numeric code stands in for the status, so the kind is ``bad_request``.
    """
    [exchange] = _exchanges(report, "pydantic-ai/test_openrouter_stream_error.yaml")
    assert exchange.status == 200
    assert exchange.streamed
    assert exchange.error_kind == "bad_request"
    assert "Token limit reached" in (exchange.error_message or "")
    [row] = [r for r in report.by_model() if r.model == "minimax/minimax-m2:free"]
    assert row.errors == {"bad_request": 1}


def test_openrouter_429s(report: AuditReport) -> None:
    exchanges = _exchanges(report, "pydantic-ai/test_openrouter_errors_raised.yaml")
    assert [(e.status, e.error_kind) for e in exchanges] == [(429, "rate_limit")] * 3


def test_parallel_calls(report: AuditReport) -> None:
    for name in (
        "openllmetry/test_open_ai_function_calls_tools_parallel.yaml",
        "openllmetry/test_open_ai_function_calls_tools_streaming_parallel.yaml",
    ):
        first = _exchanges(report, name)[0]
        assert [(c.name, c.verdict) for c in first.calls] == [
            ("get_current_weather", "valid"),
            ("get_current_weather", "valid"),
        ]
        cities = [json.loads(str(c.raw_arguments))["location"] for c in first.calls]
        assert "Boston" in " ".join(cities)
        assert "San Francisco" in " ".join(cities)


def test_models_requested_and_served_are_both_kept(report: AuditReport) -> None:
    first = _exchanges(report, "llm/test_tools_streaming_variant_a.yaml")[0]
    assert (first.request_model, first.response_model) == ("gpt-4.1-mini", "moonshotai/kimi-k2")
    [row] = [r for r in report.by_model() if r.model == "gpt-4.1-mini"]
    assert row.served_as == ("moonshotai/kimi-k2",)


def test_request_body_stored_parsed_under_body(report: AuditReport) -> None:
    """The Hugging Face cassettes keep the request JSON parsed under ``body``."""
    [exchange] = _exchanges(
        report, "pydantic-ai/test_tool_choice_matrix[required-huggingface].yaml"
    )
    assert exchange.request_model == "meta-llama/Llama-4-Scout-17B-16E-Instruct"
    assert exchange.tools_sent == ("get_weather",)
    assert [(c.name, c.verdict) for c in exchange.calls] == [("get_weather", "valid")]


def test_model_not_found(report: AuditReport) -> None:
    [exchange] = _exchanges(report, "pydantic-ai/test_model_name_suggestion[groq].yaml")
    assert (exchange.status, exchange.error_kind) == (404, "model_not_found")


# ------------------------------------------------------------ made-up cassettes


def _made_up_cassette() -> str:
    tool = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    request = {
        "model": "m-1",
        "tools": [{"type": "function", "function": {"name": "add", "parameters": tool}}],
    }
    calls = [
        ("c1", "add", '{"a": "one"}'),
        ("c2", "sub", "{}"),
        ("c3", "add", '{"a": 1'),
    ]
    answer = {
        "model": "m-1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                        for i, n, a in calls
                    ],
                },
            }
        ],
    }
    interaction = {
        "request": {
            "body": json.dumps(request),
            "method": "POST",
            "uri": "https://api.example.com/v1/chat/completions",
        },
        "response": {
            "body": {"string": json.dumps(answer)},
            "headers": {"Content-Type": ["application/json"]},
            "status": {"code": 200, "message": "OK"},
        },
    }
    return str(yaml.safe_dump({"interactions": [interaction], "version": 1}))


def test_verdicts_on_a_made_up_cassette(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(_made_up_cassette(), encoding="utf-8")
    report = audit_cassettes(tmp_path)
    [exchange] = report.exchanges()
    assert exchange.response_quirks == ("stop_with_tool_calls",)
    verdicts = [(c.name, c.verdict, c.pointer) for c in exchange.calls]
    assert verdicts == [
        ("add", "schema_violation", "/a"),
        ("sub", "unknown_tool", None),
        ("add", "invalid_json", None),
    ]
    [row] = report.by_model()
    assert (row.schema_violation, row.unknown_tool, row.invalid_json, row.valid) == (1, 1, 1, 0)
    assert row.quirks == {"stop_with_tool_calls": 1, "truncated_json": 1}


def test_half_written_cassette_is_reported_and_the_audit_goes_on(tmp_path: Path) -> None:
    source = CASSETTES / "pydantic-ai" / "test_openrouter_tool_calling.yaml"
    text = source.read_text(encoding="utf-8")
    (tmp_path / "whole.yaml").write_text(text, encoding="utf-8")
    cut = text.index("arguments: '") + 20  # inside a quoted scalar
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "half.yaml").write_text(text[:cut], encoding="utf-8")
    (tmp_path / "sub" / "no_response.yaml").write_text(
        text[: text.index("  response:")], encoding="utf-8"
    )
    report = audit_cassettes(tmp_path)
    assert report.files == 3
    assert [c.cassette for c in report.cassettes] == ["whole.yaml"]
    assert [u.cassette for u in report.unreadable] == ["sub/half.yaml", "sub/no_response.yaml"]
    half, no_response = report.unreadable
    assert half.reason.startswith("sub/half.yaml: not valid YAML")
    assert "sub/no_response.yaml: interaction #0" in no_response.reason
    assert len(report.calls()) == 1
    assert report.to_dict()["unreadable"][0]["cassette"] == "sub/half.yaml"


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        audit_cassettes(tmp_path / "nowhere")


# ------------------------------------------------------------ the command


def _app() -> typer.Typer:
    from clearance.cli.audit import audit

    app = typer.Typer()
    app.command("audit")(audit)
    app.command("other")(lambda: None)  # two commands: typer keeps `audit` as a subcommand
    return app


def test_cli_out_writes_the_json_report_beside_the_table(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(_app(), ["audit", str(CASSETTES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "146 model response(s), 93 tool call(s), 92 valid" in result.output
    assert f"report written to {out}" in result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert (document["files"], document["responses"], document["tool_calls"]) == (72, 146, 93)
    assert (document["schema_violation"], document["unusable_schema"]) == (1, 0)
    rows = {row["model"]: row for row in document["by_model"]}
    assert rows["gemini-2.5-pro-preview-05-06"]["quirks"] == {"empty_id": 1}
    assert rows["openai/gpt-oss-120b"]["errors"] == {"bad_request": 1}
    assert document["unreadable"] == []


def test_cli_exits_2_when_a_cassette_cannot_be_read_naming_it_and_its_line(
    tmp_path: Path,
) -> None:
    """The audit of the others is still printed; the exit code says it is incomplete."""
    source = CASSETTES / "pydantic-ai" / "test_openrouter_tool_calling.yaml"
    (tmp_path / "whole.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("interactions:\n- request: {uri: 'http", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["audit", str(tmp_path), "--json"])
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["files"] == 2
    assert document["tool_calls"] == 1  # the readable one is still audited
    unreadable = document["unreadable"][0]
    assert (unreadable["cassette"], unreadable["line"]) == ("broken.yaml", 2)
    assert "broken.yaml: not valid YAML (line 2)" in unreadable["reason"]
    table = CliRunner().invoke(_app(), ["audit", str(tmp_path)])
    assert table.exit_code == 2
    assert "1 of 2 cassette(s) could not be read" in table.stderr
    assert "broken.yaml" in table.stderr
    assert "fix:" in table.stderr


def test_cli_json_is_a_switch_and_out_a_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    both = CliRunner().invoke(_app(), ["audit", str(CASSETTES), "--json", "--out", str(out)])
    assert both.exit_code == 0, both.output
    assert json.loads(both.stdout) == json.loads(out.read_text(encoding="utf-8"))
    # the old form `--json FILE` is gone: FILE is an extra argument
    old = CliRunner().invoke(_app(), ["audit", str(CASSETTES), "--json", str(out)])
    assert old.exit_code == 2


def test_cli_missing_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["audit", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere" in result.output


# ------------------------------------------------------------ native protocols


def test_anthropic_messages_cassettes_are_audited_natively() -> None:
    report = audit_cassettes(CASSETTES / "anthropic")
    assert (report.files, len(report.exchanges()), report.unreadable) == (18, 39, ())
    # the one interaction skipped is POST /v1/messages/count_tokens: no model answer
    assert sum(c.skipped for c in report.cassettes) == 1
    by_protocol = {e.protocol for e in report.exchanges()}
    assert by_protocol == {"anthropic", "gemini"}  # one history replayed to Gemini and back
    assert sum(e.streamed for e in report.exchanges()) == 6
    calls = report.calls()
    assert (len(calls), sum(c.verdict == "valid" for c in calls)) == (24, 23)
    # a real schema violation: Claude called stock_lookup with a key its schema forbids
    (bad,) = [c for c in calls if c.verdict != "valid"]
    assert (bad.name, bad.verdict, bad.raw_arguments) == (
        "stock_lookup",
        "schema_violation",
        {"ticker": "AAPL"},
    )
    assert "'ticker' was unexpected" in (bad.message or "")
    errors = {e.cassette.split("/")[-1]: e.error_kind for e in report.exchanges() if e.error_kind}
    assert errors == {
        "test_anthropic_explicit_effort_xhigh_unsupported_model_errors.yaml": "bad_request",
        "test_model_name_suggestion[anthropic].yaml": "model_not_found",
    }
    redacted = _exchanges(
        report, "pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.yaml"
    )
    assert redacted[0].response_quirks == ("redacted_thinking",)


def test_gemini_api_cassettes_are_audited_natively() -> None:
    report = audit_cassettes(CASSETTES / "gemini")
    assert (report.files, len(report.exchanges()), report.unreadable) == (19, 40, ())
    assert sum(c.skipped for c in report.cassettes) == 2  # cachedContents, not model answers
    protocols = [e.protocol for e in report.exchanges()]
    assert (protocols.count("gemini"), protocols.count("anthropic")) == (38, 2)
    assert sum(e.streamed for e in report.exchanges()) == 11
    calls = report.calls()
    # every call judged against the schema sent, Gemini's OpenAPI types (STRING...) read as
    # JSON Schema's: none is left unjudged
    assert (len(calls), sum(c.verdict == "valid" for c in calls)) == (27, 27)
    quirks = [q for c in calls for q in c.quirks]
    assert (quirks.count("missing_id"), quirks.count("empty_arguments")) == (21, 9)
    (error,) = [e for e in report.exchanges() if e.error_kind]
    assert error.error_kind == "model_not_found"
    assert error.request_model == "gemini-3.6-flahs"  # the model named in the URL path


def test_a_schema_no_validator_can_use_leaves_the_call_unjudged(tmp_path: Path) -> None:
    from clearance.calllog import validate_tool_calls
    from clearance.providers.wire import normalize_tool_call

    call = normalize_tool_call(0, "c1", "weather", '{"city": "Paris"}')
    bad_type = {"type": "object", "properties": {"city": {"type": "STRING"}}}
    bad_ref = {"$ref": "#/$defs/nowhere"}
    for schema in (bad_type, bad_ref):
        (verdict,) = validate_tool_calls([call], {"weather": schema})
        assert verdict["valid"] is False
        assert verdict["error"] == "unusable_schema"
        assert verdict["message"]
