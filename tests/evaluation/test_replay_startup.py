"""What a replay does not pay for: vcrpy (imported only to record or to explain a
mismatch), and garbage collections that walk what lives as long as the run.

The figures (issue 20, target 6) are in benchmarks/RESULTS.md, measured by
benchmarks/bench_evals.py; nothing here asserts a time.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError
from vcr.request import Request

from clearance.catalog.database import open_catalog
from clearance.contracts.cache import load_suite
from clearance.evaluation.cases import load_suites
from clearance.evaluation.cassettes import (
    CassetteFormatError,
    CassettePersister,
    CassetteSerializer,
)
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.matching import MATCHERS, body_key, explain_mismatch, route, sent_key
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import STEADY, ScriptedNetwork, make_project

ROOT = Path(__file__).resolve().parents[2]


def _imported_after(statement: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{statement}\nprint(','.join(m for m in {names!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in done.stdout.strip().split(",") if name]


def test_the_eval_path_imports_no_vcrpy() -> None:
    statement = (
        "import clearance.cli.evals, clearance.evaluation.engine, clearance.evaluation.replay\n"
        "import clearance.evaluation.pytest_plugin, clearance.evaluation.cassettes\n"
    )
    assert _imported_after(statement, ("vcr", "vcr.patch")) == []


def test_a_replay_from_a_shipped_cassette_imports_no_vcrpy() -> None:
    statement = (
        "from pathlib import Path\n"
        "from clearance.evaluation.cassettes import CassettePersister\n"
        "from clearance.evaluation.matching import route\n"
        f"found = sorted(Path({str(ROOT / 'evals' / 'cassettes')!r}).rglob('*.json'))\n"
        "interactions, header = CassettePersister.load_interactions(found[0])\n"
        "request = interactions[0].request\n"
        "assert request.route == route(request.method, request.uri) and request.key\n"
    )
    assert _imported_after(statement, ("vcr",)) == []


_segment = st.text(alphabet=st.sampled_from("abcXYZ019-._~%:@!$&'()*+,;= "), min_size=0, max_size=8)
_query_text = st.text(alphabet=st.sampled_from("ab01=&;+% -_.~?/"), max_size=20)


@given(
    method=st.sampled_from(["GET", "POST", "post", "DELETE"]),
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["127.0.0.1:8080", "api.example.com", "localhost"]),
    segments=st.lists(_segment, max_size=4),
    query=st.one_of(st.none(), _query_text),
    fragment=st.one_of(st.none(), st.text(alphabet="abc#?", max_size=4)),
)
def test_route_reads_a_request_line_as_vcrpy_does(
    method: str,
    scheme: str,
    host: str,
    segments: list[str],
    query: str | None,
    fragment: str | None,
) -> None:
    uri = f"{scheme}://{host}/" + "/".join(segments)
    if query is not None:
        uri += f"?{query}"
    if fragment is not None:
        uri += f"#{fragment}"
    request = Request(method, uri, b"", {})
    assert route(method, uri) == (request.method, request.path or "/", tuple(request.query))


def test_the_matchers_keep_vcrpys_names_in_a_mismatch() -> None:
    assert [m.__name__ for m in MATCHERS] == ["method", "path", "query", "json_body"]
    live = Request("POST", "http://h/v1/chat?b=2", b'{"a": 1}', {})
    recorded = Request("GET", "http://h/v1/other?b=3", b'{"a": 2}', {})
    message = explain_mismatch(live, recorded)
    assert message.startswith("method differs (sent != recorded): ")
    assert "path differs" in message
    assert "query differs" in message
    assert "body differs at /a: recorded 2, sent 1" in message


def test_vcrpy_still_reads_a_broken_cassette_as_its_decode_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteDecodeError) as raised:
        CassetteSerializer.deserialize("{not json")
    assert isinstance(raised.value, CassetteFormatError)
    assert raised.value.reason.startswith("not JSON")

    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "interactions": "no"}', encoding="utf-8")
    with pytest.raises(CassetteDecodeError) as raised:
        CassettePersister.load_cassette(broken, CassetteSerializer)
    assert isinstance(raised.value, CassetteFormatError)
    # clearance's own reading raises its own error, and says the same
    with pytest.raises(CassetteFormatError) as own:
        CassettePersister.load_interactions(broken)
    assert own.value.reason == raised.value.reason

    with pytest.raises(CassetteNotFoundError):
        CassettePersister.load_cassette(tmp_path / "missing.json", CassetteSerializer)
    with pytest.raises(FileNotFoundError):
        CassettePersister.load_interactions(tmp_path / "missing.json")


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_a_cached_suite_leaves_the_collector_as_it_was(
    tmp_path: Path, enabled: bool
) -> None:
    root = ROOT / "contracts"
    first = load_suite(root, tmp_path)
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        second = load_suite(root, tmp_path)
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()
    assert second.cached
    assert not first.cached
    assert second.flows == first.flows


@pytest.mark.parametrize("frozen_before", [False, True])
def test_a_run_leaves_the_collector_as_it_found_it(
    project: Path, catalog_url: str, frozen_before: bool
) -> None:
    config = make_project(project, catalog_url)
    catalog = open_catalog(config.resolved_database_url())
    try:
        suite = load_suites(config, ["contracts"])
        frozen = gc.get_freeze_count()
        if frozen_before:
            gc.freeze()  # a caller's own freeze (a server before it forks) is kept
        else:
            gc.unfreeze()  # an earlier in-process pytest session of this one may have frozen
        before = gc.get_freeze_count()
        run = Evaluation(
            config,
            catalog,
            suite,
            [STEADY],
            cases=list(suite.cases[:2]),
            trials=1,
            record_mode="all",
            network=ScriptedNetwork().transport,
            environ={},
            providers=SimulatorProviders(),
        ).run()
        # frozen objects freed meanwhile leave the count: what matters is that the run
        # neither unfroze the caller's objects nor left its own frozen
        assert (gc.get_freeze_count() > 0) is frozen_before
        assert (before > 0) is frozen_before
        assert run.planned == len(run.outcomes) == 2
    finally:
        catalog.dispose()
        if frozen and not gc.get_freeze_count():
            gc.freeze()
        elif not frozen:
            gc.unfreeze()


@given(
    body=st.one_of(
        st.binary(max_size=40),
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4).map(
            lambda d: repr(d).replace("'", '"').encode()
        ),
    )
)
def test_the_key_of_a_body_sent_again_is_the_key_made_afresh(body: bytes) -> None:
    assert sent_key(body) == body_key(body)[1]
    assert sent_key(bytes(body)) == body_key(body)[1]  # the kept one, for equal bytes
