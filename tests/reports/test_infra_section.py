"""The report's infra section: each error's kind, HTTP status and the provider's message."""

from __future__ import annotations

import pandas as pd
import pytest

from clearance.reports.collect import _infra

SECRET = "hunter2-hunter2"


def test_infra_rows_give_kind_status_messages_and_the_command_that_re_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPSTREAM_TOKEN", SECRET)
    rows = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "case_id": ["a", "b", "c", "c", "d"],
            "failure_code": ["infra_error", "infra_error", "infra_error", None, None],
            "fallback_served": [False, False, False, True, False],
            "_judged": [False, False, False, False, True],
        }
    )
    evidence = {
        1: {"kind": "auth", "status_code": 401, "provider_message": f"bad key {SECRET}"},
        2: {
            "kind": "server_error",
            "status_code": 500,
            "provider_message": "upstream broke",
            "from_recording": True,
        },
        3: {"kind": "server_error", "status_code": 500, "provider_message": "upstream broke"},
    }
    groups = _infra(rows, evidence, "ref:ref/steady")
    assert [(g.kind, g.status_code, g.trials, g.cases) for g in groups] == [
        ("server_error", 500, 2, ("b", "c")),
        ("auth", 401, 1, ("a",)),
        ("fallback_served", None, 1, ("c",)),
    ]
    assert groups[0].example == "upstream broke"
    assert groups[0].fix == (
        "record them again: clearance eval --models ref:ref/steady --cases b --record-mode new"
    )
    assert groups[1].example == "bad key <redacted>"
