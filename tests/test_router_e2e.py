"""The router end to end: real HTTP to the reference provider, a real catalog, real processes."""

from __future__ import annotations

import json
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from clearance.calllog import replay_spill
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.orgstore import set_fallback_chain
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import fetch_model_list
from clearance.errors import KillSwitchActive, ProviderServerError
from clearance.killswitch import set_switch
from clearance.reference import ReferenceServer
from clearance.router import Router
from tests.support.postgres import create_database, drop_database, to_conninfo
from tests.support.processes import child
from tests.support.waiting import wait_until

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]
ASK = [{"role": "user", "content": 'What is the weather in "Oslo" in celsius?'}]


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(seed=1) as running:
        yield running


def make_config(tmp_path: Path, server: ReferenceServer, **sections: str) -> ClearanceConfig:
    bodies = {
        "router": "retries_per_model = 2\nbackoff_base_s = 0.01\nmax_attempts = 10",
        "calllog": "flush_interval_s = 0.02",
        # routing mechanics, not the gate: serve enabled models the gate never judged
        "gate": "require_decision = false",
    }
    for section, body in sections.items():
        bodies[section] = bodies.get(section, "") + "\n" + body
    text = f'[[providers]]\nname = "ref"\nbase_url = "{server.base_url}"\n'
    for section, body in bodies.items():
        text += f"[{section}]\n{body}\n"
    (tmp_path / "clearance.toml").write_text(text)
    return load_config(environ={}, cwd=tmp_path)


def seed(catalog: Catalog, server: ReferenceServer) -> None:
    models = fetch_model_list(server.base_url)
    with catalog.begin() as connection:
        ensure_provider(connection, "ref", base_url=server.base_url)
        sync_models(connection, "ref", models, enable_new=True)


@pytest.fixture
def routed(
    catalog: Catalog, server: ReferenceServer, tmp_path: Path
) -> Iterator[tuple[Router, Catalog]]:
    seed(catalog, server)
    router = Router(make_config(tmp_path, server), catalog, sleep=lambda s: None)
    yield router, catalog
    router.close()


def rows(router: Router, catalog: Catalog) -> list[Any]:
    assert router.calllog is not None
    router.calllog.flush()
    with catalog.connect() as connection:
        return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))


def test_a_tool_call_through_the_router_is_valid_priced_and_logged(
    routed: tuple[Router, Catalog],
) -> None:
    router, catalog = routed
    result = router.complete(ASK, TOOLS, model="ref:ref/steady")
    (call,) = result.response.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "Oslo", "unit": "celsius"}
    assert result.cost.pricing_source == "catalog"
    assert result.cost.cost > 0
    (row,) = rows(router, catalog)
    assert (row.served_model, row.tool_calls, row.tool_calls_valid) == ("ref:ref/steady", 1, 1)
    assert row.cost == result.cost.cost


def test_server_errors_fall_back_along_the_chain(routed: tuple[Router, Catalog]) -> None:
    router, catalog = routed
    with catalog.begin() as connection:
        set_fallback_chain(
            connection, "ref:ref/status-500", ["ref:ref/error-in-200", "ref:ref/steady"]
        )
    router.refresh()
    result = router.complete(ASK, TOOLS, model="ref:ref/status-500")
    assert result.served_model == "ref:ref/steady"
    assert result.fallback_reason == "server_error"
    kinds = [(a.model_id, a.error_kind) for a in result.attempts if a.outcome == "error"]
    assert (
        kinds
        == [("ref:ref/status-500", "server_error")] * 3
        + [("ref:ref/error-in-200", "server_error")] * 3
    )


def test_flaky_is_retried_through_429_and_503(routed: tuple[Router, Catalog]) -> None:
    router, _ = routed
    # the schedule counts attempts per distinct request: make this one new to the server
    messages = [{"role": "user", "content": f"weather in Bergen, flaky test {uuid.uuid4()}"}]
    result = router.complete(messages, TOOLS, model="ref:ref/flaky")
    assert result.served_model == "ref:ref/flaky"
    assert [a.error_kind for a in result.attempts] == ["rate_limit", "server_error", None]
    assert result.attempts[0].retry_after_s == 1.0


def test_a_timeout_falls_back(routed: tuple[Router, Catalog]) -> None:
    router, catalog = routed
    with catalog.begin() as connection:
        set_fallback_chain(connection, "ref:ref/hang", ["ref:ref/steady"])
    router.refresh()
    result = router.complete(ASK, TOOLS, model="ref:ref/hang", timeout_s=0.2)
    assert result.served_model == "ref:ref/steady"
    assert result.fallback_reason == "timeout"


def test_context_length_falls_back_to_a_larger_window(routed: tuple[Router, Catalog]) -> None:
    router, catalog = routed
    with catalog.begin() as connection:
        set_fallback_chain(connection, "ref:ref/context-small", ["ref:ref/steady"])
    router.refresh()
    long = [{"role": "user", "content": "weather in Oslo " + "please " * 3000}]
    result = router.complete(long, TOOLS, model="ref:ref/context-small")
    assert result.served_model == "ref:ref/steady"
    assert result.fallback_reason == "context_length"


def test_an_error_inside_a_stream_is_an_error_not_a_clean_stop(
    routed: tuple[Router, Catalog],
) -> None:
    router, _ = routed
    with pytest.raises(ProviderServerError):
        router.complete(ASK, model="ref:ref/stream-error", stream=True, allow_fallback=False)
    streamed = router.complete(ASK, TOOLS, model="ref:ref/steady", stream=True)
    assert streamed.response.tool_calls[0].arguments == {"city": "Oslo", "unit": "celsius"}


WATCHER = textwrap.dedent(
    """
    import sys, time
    from clearance.catalog.database import open_catalog
    from clearance.config import load_config
    from clearance.errors import KillSwitchActive
    from clearance.router import Router
    config = load_config(cwd=__import__("pathlib").Path(sys.argv[2]))
    router = Router(config, open_catalog(sys.argv[1]))
    messages = [{"role": "user", "content": "hello"}]
    router.complete(messages, model="ref:ref/steady")
    print("served", flush=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            router.complete(messages, model="ref:ref/steady")
        except KillSwitchActive as error:
            print(f"refused {time.time()} {error.scope}", flush=True)
            break
        time.sleep(0.01)
    router.close()
    """
)


@pytest.mark.slow
def test_a_kill_switch_stops_a_router_in_another_process(
    catalog_url: str, server: ReferenceServer, tmp_path: Path
) -> None:
    catalog = open_catalog(catalog_url)
    seed(catalog, server)
    config_dir = tmp_path / "other"
    config_dir.mkdir()
    make_config(config_dir, server)
    with child(
        [sys.executable, "-c", WATCHER, catalog_url, str(config_dir)],
        env={"PATH": "/usr/bin:/bin"},
        stderr=False,
    ) as other:
        # one call served: the other router has read the kill switch state (no switch)
        assert other.readline(timeout=30).strip() == "served"
        thrown = time.time()
        set_switch(catalog, "global", active=True, reason="e2e kill")
        line = other.readline().split()
        other.wait(timeout=30)
    assert line[0] == "refused"
    assert line[2] == "global"
    assert float(line[1]) - thrown <= 1.0 + 1.0  # cache time plus scheduling margin
    with catalog.connect() as connection:
        refused = connection.execute(
            select(func.count()).select_from(t.ai_calls).where(t.ai_calls.c.status == "refused")
        ).scalar()
    assert refused == 1
    catalog.dispose()


@pytest.fixture
def outage_url(postgres_template: tuple[str, str]) -> Iterator[tuple[str, str]]:
    admin, template = postgres_template
    name = f"e2e_outage_{int(time.time() * 1000) % 10**9}"
    url = create_database(admin, name, template=template)
    yield admin, url
    outage(admin, url, down=False)
    drop_database(admin, name)


def outage(admin: str, url: str, *, down: bool) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(to_conninfo(admin), autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


@pytest.mark.postgres
@pytest.mark.parametrize("fail_open", [False, True])
def test_a_database_outage_during_calls_loses_no_row(
    outage_url: tuple[str, str], server: ReferenceServer, tmp_path: Path, fail_open: bool
) -> None:
    admin, url = outage_url
    catalog = open_catalog(url)
    seed(catalog, server)
    config = make_config(
        tmp_path,
        server,
        killswitch=f"fail_open = {str(fail_open).lower()}\ncache_ttl_s = 0.05",
        router="policy_cache_ttl_s = 0.05",
    )
    router = Router(config, catalog)
    outcomes: list[str] = []

    def call(n: int) -> None:
        try:
            router.complete([{"role": "user", "content": f"call {n}"}], model="ref:ref/steady")
            outcomes.append("ok")
        except KillSwitchActive as error:
            outcomes.append(f"refused:{error.scope}")

    for n in range(10):
        call(n)
    assert router.calllog is not None
    router.calllog.flush()
    outage(admin, url, down=True)
    # both caches (0.05 s) expire, so the next calls try the catalog and find it down
    policy_state = router.state()  # the background re-read fails: this state stays
    guard = router.killswitch
    wait_until(
        lambda: (
            time.monotonic() - policy_state.read_at >= 0.05
            and guard._clock() - guard._read_at >= guard.cache_ttl_s
        ),
        "the router's policy and kill switch caches expired",
        timeout=5,
    )
    for n in range(10, 30):
        call(n)
    router.calllog.flush()
    outage(admin, url, down=False)
    for n in range(30, 35):
        call(n)
    router.close()
    during = outcomes[10:30]
    assert during == (["ok"] * 20 if fail_open else ["refused:unreadable"] * 20)
    assert router.calllog.spilled >= 20
    replay = replay_spill(catalog, config.spill_dir())
    assert replay.inserted >= 20
    with catalog.connect() as connection:
        logged = connection.execute(select(t.ai_calls.c.status)).scalars().all()
    assert len(logged) == 35
    assert sorted(set(logged)) == (["ok"] if fail_open else ["ok", "refused"])
    catalog.dispose()


def test_clearance_call_cli_end_to_end(
    server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from clearance.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(TOOLS))
    runner = CliRunner()
    served = runner.invoke(
        app,
        [
            "call",
            "--base-url",
            server.base_url,
            "--model",
            "ref/steady",
            "--message",
            ASK[0]["content"],
            "--tools",
            str(tools),
            "--json",
        ],
    )
    assert served.exit_code == 0, served.stderr
    document = json.loads(served.stdout)
    assert document["served_model"] == "direct:ref/steady"
    assert document["tool_calls"][0]["arguments"] == {"city": "Oslo", "unit": "celsius"}
    assert document["pricing_source"] == "default"  # an ad-hoc model has no catalog price
    assert runner.invoke(app, ["killswitch", "on", "--reason", "test"]).exit_code == 0
    refused = runner.invoke(
        app, ["call", "--base-url", server.base_url, "--model", "ref/steady", "--message", "hi"]
    )
    assert refused.exit_code == 1
    assert "kill switch on (global): test" in refused.stderr
    status = runner.invoke(app, ["killswitch", "status", "--json"])
    assert json.loads(status.stdout)[0]["active"] is True


def test_clearance_call_json_reports_a_failure_with_its_attempts(
    server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from clearance.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    result = CliRunner().invoke(
        app,
        [
            "call",
            "--base-url",
            server.base_url,
            "--model",
            "ref/status-401",
            "--message",
            "hi",
            "--json",
        ],
    )
    assert result.exit_code == 2  # a refused key: the caller's to fix, as without --json
    document = json.loads(result.stdout)
    assert (document["ok"], document["kind"], document["refused"]) == (False, "auth", False)
    assert "check" in document["fix"]
    assert [a["error_kind"] for a in document["attempts"]] == ["auth"]
