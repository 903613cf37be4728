"""The call journal (issue 15): rows lost to ``kill -9``, and what the journal costs per call.

(a) A router process calls the reference simulator (its own process) at full speed and
prints each ``call_id`` as ``complete`` returns it; after ``--seconds`` it gets SIGKILL.
The rows of the calls it returned that are not in ``ai_calls`` once the next process
has loaded what there is to load (``replay_spill``: the spill files and, with the
journal, the journals of ended processes) are lost. Each round uses a fresh SQLite
catalog with the default call log settings (batches of 200, every 0.5 s).

    .venv/bin/python benchmarks/bench_journal.py [--rounds 5] [--seconds 2]

Modes: ``journal`` (the default configuration), ``no-journal`` (``calllog.journal =
false``: the writer as it was, queue and batches only). ``--src FOLDER`` runs the killed
router on another tree's ``src`` (``git archive COMMIT src | tar -x -C /tmp/before``) in
place of ``no-journal``: the code before the journal existed.

(b) The journal's cost per call, timed inside ``CallLog.record`` during ``--calls`` real
router calls in this process: the encoding of the record (``journal_line``) and the
``os.write`` of its line (``Journal.append``), each and together, and the fsync the
writer thread does once per flush interval.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_router import MESSAGES, TOOLS  # noqa: E402  (the router benchmark's call, not a copy)

CHILD = f"""
import sys
from pathlib import Path
from clearance.catalog.database import open_catalog
from clearance.config import load_config
from clearance.router import Router
tools = {TOOLS!r}
messages = {MESSAGES!r}
config = load_config(cwd=Path(sys.argv[1]))
router = Router(config, open_catalog(config.resolved_database_url()))
out = sys.stdout
while True:
    out.write(router.complete(messages, tools, model="ref:ref/steady").call_id + "\\n")
    out.flush()
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "clearance.reference", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        raise SystemExit(f"reference server did not start: {base_url!r}")
    return process, base_url


def project(base_url: str, folder: Path, *, journal: bool | None) -> Any:
    """A project folder with a seeded SQLite catalog; returns its configuration."""
    from clearance.catalog.database import open_catalog
    from clearance.catalog.modelstore import ensure_provider, sync_models
    from clearance.config import load_config
    from clearance.discovery import fetch_model_list

    calllog = "" if journal is None else f"[calllog]\njournal = {str(journal).lower()}\n"
    (folder / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{folder}/catalog.db"\n'
        f'[[providers]]\nname = "ref"\nbase_url = "{base_url}"\n'
        "[router]\nretries_per_model = 0\n[gate]\nrequire_decision = false\n" + calllog
    )
    config = load_config(environ={}, cwd=folder)
    catalog = open_catalog(config.resolved_database_url())
    with catalog.begin() as connection:
        ensure_provider(connection, "ref", base_url=base_url)
        sync_models(connection, "ref", fetch_model_list(base_url), enable_new=True)
    catalog.dispose()
    return config


def kill_round(base_url: str, mode: str, seconds: float, src: Path | None) -> dict[str, Any]:
    """One router process killed with SIGKILL after ``seconds`` at full speed."""
    from sqlalchemy import select

    from clearance.calllog import replay_spill
    from clearance.catalog import tables as t
    from clearance.catalog.database import open_catalog

    folder = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    try:
        journal = {"journal": True, "no-journal": False, "before": None}[mode]
        config = project(base_url, folder, journal=journal)
        env = dict(os.environ)
        env.pop("CLEARANCE_CONFIG", None)
        if src is not None and mode == "before":
            env["PYTHONPATH"] = str(src)
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=folder,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline().strip()
        if not first:
            raise SystemExit(f"the router process failed: {process.stderr.read()[-2000:]}")
        # read its output as it comes: a full pipe would stall it (and let its writer
        # thread catch up), and this is about a process killed at full speed
        rest: list[str] = []
        stdout = process.stdout
        reader = threading.Thread(target=lambda: rest.extend(stdout.read().split()))
        reader.start()
        started = time.perf_counter()
        time.sleep(seconds)
        process.send_signal(signal.SIGKILL)
        killed_at = time.perf_counter()
        process.wait()
        reader.join()
        returned = [first, *rest]
        catalog = open_catalog(config.resolved_database_url())
        with catalog.connect() as connection:
            before_replay = set(connection.execute(select(t.ai_calls.c.call_id)).scalars())
        report = replay_spill(catalog, config.spill_dir())
        with catalog.connect() as connection:
            stored = set(connection.execute(select(t.ai_calls.c.call_id)).scalars())
        catalog.dispose()
        lost = [call_id for call_id in returned if call_id not in stored]
        return {
            "mode": mode,
            "returned": len(returned),
            "calls_per_s": round(len(returned) / (killed_at - started), 1),
            "written_before_kill": len(before_replay & set(returned)),
            "loaded_by_replay": report.inserted,
            "journals_replayed": report.journals,
            "lost": len(lost),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def append_cost(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    """The journal's cost per call: alone, inside real calls, and on sequential throughput."""
    import clearance.calllog as calllog
    from clearance.catalog.database import open_catalog
    from clearance.journal import Journal
    from clearance.router import Router

    folder = Path(tempfile.mkdtemp(prefix="bench-journal-cost-"))
    encode: list[float] = []
    write: list[float] = []
    syncs: list[float] = []
    sizes: list[int] = []
    records: list[Any] = []
    original_line = calllog.journal_line
    original_append = Journal.append
    original_sync = Journal.sync

    def timed_line(record: Any) -> bytes | None:
        records.append(record)
        started = time.perf_counter_ns()
        line = original_line(record)
        encode.append((time.perf_counter_ns() - started) / 1000)
        sizes.append(len(line or b""))
        return line

    def timed_append(self: Journal, line: bytes) -> Any:
        started = time.perf_counter_ns()
        segment = original_append(self, line)
        write.append((time.perf_counter_ns() - started) / 1000)
        return segment

    def timed_sync(self: Journal) -> None:
        started = time.perf_counter_ns()
        original_sync(self)
        syncs.append((time.perf_counter_ns() - started) / 1000)

    try:
        # sequential throughput, journal on and off, in interleaved rounds
        routers = {}
        for journal in (True, False):
            sub = folder / f"journal-{journal}"
            sub.mkdir()
            config = project(base_url, sub, journal=journal)
            routers[journal] = Router(config, open_catalog(config.resolved_database_url()))
            for _ in range(50):  # warm-up: connections, caches
                routers[journal].complete(MESSAGES, TOOLS, model="ref:ref/steady")
        per_call: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for journal, router in routers.items():
                started = time.perf_counter()
                for _ in range(calls // rounds):
                    router.complete(MESSAGES, TOOLS, model="ref:ref/steady")
                per_call[journal].append((time.perf_counter() - started) / (calls // rounds))
        for router in routers.values():
            router.close()
        # inside real calls: the journal's part of CallLog.record, timed where it runs
        calllog.journal_line = timed_line  # type: ignore[assignment]
        Journal.append = timed_append  # type: ignore[method-assign]
        Journal.sync = timed_sync  # type: ignore[method-assign]
        sub = folder / "in-situ"
        sub.mkdir()
        config = project(base_url, sub, journal=True)
        router = Router(config, open_catalog(config.resolved_database_url()))
        for _ in range(50):
            router.complete(MESSAGES, TOOLS, model="ref:ref/steady")
        encode.clear()
        write.clear()
        sizes.clear()
        records.clear()
        for _ in range(calls):
            router.complete(MESSAGES, TOOLS, model="ref:ref/steady")
        router.close()
        in_situ = (list(encode), list(write))
        # alone: the same records appended back to back to a journal of their own
        encode.clear()
        write.clear()
        alone = Journal(folder / "alone", {"catalog": "bench"})
        for record in list(records):
            line = timed_line(record)
            assert line is not None
            timed_append(alone, line)
        alone.close()
    finally:
        calllog.journal_line = original_line  # type: ignore[assignment]
        Journal.append = original_append  # type: ignore[method-assign]
        Journal.sync = original_sync  # type: ignore[method-assign]
        shutil.rmtree(folder, ignore_errors=True)

    def parts(encoded: list[float], written: list[float]) -> dict[str, Any]:
        total = [a + b for a, b in zip(encoded, written, strict=True)]
        return {
            "encode_us": _summary(encoded),
            "write_us": _summary(written),
            "total_us": _summary(total),
        }

    on = statistics.median(per_call[True]) * 1e6
    off = statistics.median(per_call[False]) * 1e6
    return {
        "calls": calls,
        "line_bytes": int(statistics.median(sizes)),
        "alone": parts(encode, write),
        "in_situ": parts(*in_situ),
        "fsync_us": _summary(syncs) if syncs else None,
        "fsyncs": len(syncs),
        "per_call_us": {"journal": round(on, 1), "no-journal": round(off, 1)},
        "per_call_added_us": round(on - off, 1),
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": round(statistics.median(ordered), 2), "p90": at(0.9), "p99": at(0.99)}


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return (
        f"{model}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="kills per mode")
    parser.add_argument("--seconds", type=float, default=2.0, help="run time before the kill")
    parser.add_argument("--calls", type=int, default=3000, help="calls timed for the cost")
    parser.add_argument("--src", type=Path, help="the tree before the journal (its src/)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    print(machine(), file=sys.stderr)
    server, base_url = start_server()
    try:
        modes = ["journal", "before" if options.src else "no-journal"]
        rounds = [
            kill_round(base_url, mode, options.seconds, options.src)
            for _ in range(options.rounds)
            for mode in modes  # interleaved, so load hits both alike
        ]
        cost = append_cost(base_url, options.calls, options.rounds)
    finally:
        server.terminate()
        server.wait()
    if options.json:
        print(json.dumps({"machine": machine(), "kills": rounds, "cost": cost}, indent=2))
        return
    print("| mode | round | calls returned | calls/s | written before the kill | "
          "loaded by replay | lost |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        mine = [r for r in rounds if r["mode"] == mode]
        for n, r in enumerate(mine, 1):
            print(
                f"| {mode} | {n} | {r['returned']} | {r['calls_per_s']} | "
                f"{r['written_before_kill']} | {r['loaded_by_replay']} | {r['lost']} |"
            )
        print(f"| {mode} | total | {sum(r['returned'] for r in mine)} | | | | "
              f"{sum(r['lost'] for r in mine)} |")  # fmt: skip
    print()
    print(
        f"journal cost per call ({cost['calls']} router calls, "
        f"{cost['line_bytes']}-byte lines), µs:"
    )
    for where in ("alone", "in_situ"):
        for name in ("encode_us", "write_us", "total_us"):
            print(f"  {where} {name}: {cost[where][name]}")
    print(f"  fsync (writer thread, once per interval): {cost['fsync_us']} x {cost['fsyncs']}")
    print(f"  sequential call, median of rounds: {cost['per_call_us']} "
          f"(journal adds {cost['per_call_added_us']} µs)")  # fmt: skip


if __name__ == "__main__":
    main()
