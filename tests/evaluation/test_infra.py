"""What an infrastructure error was: its kind, HTTP status and the provider's message."""

from __future__ import annotations

from typing import Any

from clearance.evaluation.infra import (
    InfraCause,
    describe_cause,
    group_infra,
    infra_cause,
    unjudged_reason,
)

SECRET = "s3cr3t-value-42"
ENV = {"UPSTREAM_API_KEY": SECRET}


def _http(status: int, message: str, **more: Any) -> dict[str, Any]:
    return {"kind": "server_error" if status >= 500 else "auth", "status_code": status,
            "provider_message": message, **more}  # fmt: skip


def test_a_cause_reads_every_shape_of_evidence_and_redacts_it() -> None:
    assert infra_cause(_http(500, f"broke for {SECRET}"), environ=ENV) == InfraCause(
        "server_error", 500, "broke for <redacted>"
    )
    # stored before provider_message existed: the last failed attempt says it
    older = {
        "kind": "rate_limit",
        "message": "ref (ref:ref/steady): HTTP 429: slow down",
        "attempts": [
            {"outcome": "error", "status_code": 429, "detail": "HTTP 429: slow down"},
            {"outcome": "error", "status_code": 429, "detail": "HTTP 429: still slow"},
        ],
    }
    assert infra_cause(older, environ={}) == InfraCause("rate_limit", 429, "HTTP 429: still slow")
    # a fallback's answer: the kind says so even when the evidence is gone
    assert infra_cause(None, failure_code="infra_error", fallback_served=True).kind == (
        "fallback_served"
    )
    assert infra_cause({}, failure_code="infra_error").kind == "infra_error"
    long = infra_cause(_http(500, "x" * 1000), environ={})
    assert len(long.message) == 300
    assert long.message.endswith("…")


def test_a_cause_in_words() -> None:
    assert describe_cause(InfraCause("server_error", 500, "upstream broke")) == (
        "HTTP 500 from provider: upstream broke"
    )
    assert describe_cause(InfraCause("timeout", None, "no answer in time")) == (
        "timeout: no answer in time"
    )
    assert describe_cause(InfraCause("fallback_served", 503, "spare answered")) == (
        "fallback_served (HTTP 503): spare answered"
    )
    assert describe_cause(InfraCause("auth", 401, "bad key", from_recording=True)) == (
        "HTTP 401 from provider: bad key [replayed from a recording]"
    )


def test_groups_are_by_kind_and_status_largest_first_with_their_messages() -> None:
    rows = [
        *[(f"c{i}", _http(500, f"broke #{i % 5}"), "infra_error", False) for i in range(12)],
        ("c1", _http(401, "bad key"), "infra_error", False),
        ("c2", {"kind": "timeout", "provider_message": "no answer in time"}, None, False),
        ("c3", _http(500, "broke #0", from_recording=True), "infra_error", False),
    ]
    groups = group_infra(rows, model_id="ref:ref/steady", environ={})
    assert [(g.kind, g.status_code, g.trials) for g in groups] == [
        ("server_error", 500, 13),
        ("auth", 401, 1),
        ("timeout", None, 1),
    ]
    first = groups[0]
    assert [(m.message, m.trials) for m in first.messages] == [
        ("broke #0", 4),
        ("broke #1", 3),
        ("broke #2", 2),
    ]
    assert first.other_messages == 2
    assert first.cases[:3] == ("c0", "c1", "c10")
    assert first.from_recording == 1
    assert first.fix == (
        "record them again: clearance eval --models ref:ref/steady --cases c3 --record-mode new"
    )
    assert groups[1].fix is None
    many = [(f"c{i}", _http(500, "x", from_recording=True), None, False) for i in range(11)]
    (group,) = group_infra(many, model_id="ref:ref/steady", environ={})
    assert group.fix == (
        "record again what failed (and only that): "
        "clearance eval --models ref:ref/steady --record-mode new"
    )


def test_a_model_with_nothing_judged_is_explained_by_its_commonest_causes() -> None:
    rows = [
        ("a", _http(500, "broke"), "infra_error", False),
        ("b", _http(500, "broke"), "infra_error", False),
        ("c", {"kind": "timeout", "provider_message": "no answer in time"}, None, False),
        ("d", {"kind": "connection", "provider_message": "refused"}, None, False),
    ]
    assert unjudged_reason("m:x", rows[:1], environ={}) == (
        "m:x: the 1 item failed on infrastructure (HTTP 500 from provider: broke); "
        "nothing was judged"
    )
    assert unjudged_reason("m:x", rows, environ={}) == (
        "m:x: all 4 items failed on infrastructure (HTTP 500 from provider: broke on 2; "
        "connection: refused on 1; 1 more cause(s)); nothing was judged"
    )
