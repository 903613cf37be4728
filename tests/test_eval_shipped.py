"""The recordings shipped in ``evals/cassettes/``: complete, fresh, reviewable, secret-free.

``make test`` also replays them through ``pytest evals``; these tests say precisely what
is wrong when that replay cannot start (a missing or stale cassette, a leaked secret).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearance.config import load_config
from clearance.evaluation.cases import load_suites
from clearance.evaluation.recording import CassetteLibrary, cassette_path
from clearance.evaluation.scrub import scan_for_secrets

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "evals" / "cassettes"


@pytest.fixture(scope="module")
def shipped() -> list[Path]:
    files = sorted(CASSETTES.rglob("*.json"))
    assert files, f"no recordings under {CASSETTES}"
    return files


def test_no_shipped_cassette_holds_a_secret(shipped: list[Path]) -> None:
    leaks = {str(path.relative_to(ROOT)): scan_for_secrets(path) for path in shipped}
    assert {path: found for path, found in leaks.items() if found} == {}


def test_every_candidate_has_a_fresh_recording_of_every_case() -> None:
    config = load_config(ROOT / "clearance.toml", environ={})
    suite = load_suites(config, config.evals.suites)
    library = CassetteLibrary(config.cassettes_dir(), "none", environ={})
    problems = []
    for model_id in config.evals.models:
        for case in suite.cases:
            path = cassette_path(config.cassettes_dir(), model_id, case.id)
            if not path.is_file():
                problems.append(f"missing: {path.relative_to(ROOT)}")
                continue
            cassette = library.open(model_id, case.id, fingerprint=case.fingerprint)
            if cassette.stale_reason is not None:
                problems.append(f"stale: {path.relative_to(ROOT)}: {cassette.stale_reason}")
    assert problems == []


def test_bodies_are_stored_parsed_so_diffs_are_reviewable(shipped: list[Path]) -> None:
    document = json.loads(shipped[0].read_text(encoding="utf-8"))
    first = document["interactions"][0]
    assert first["request"]["body"]["json"]["messages"]
    assert set(first["response"]["body"]) & {"json", "sse"}
    assert document["clearance"]["fingerprint"]["tools"]


def test_the_flaky_recordings_hold_the_rate_limits_and_retries_they_replay() -> None:
    statuses: list[int] = []
    for path in sorted((CASSETTES / "ref" / "ref" / "flaky").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        statuses.extend(i["response"]["status"]["code"] for i in document["interactions"])
    # every distinct request of ref/flaky first gets a 429 (with Retry-After), then a 503
    assert statuses.count(429) == statuses.count(503) > 0
    assert statuses.count(200) >= statuses.count(429)
