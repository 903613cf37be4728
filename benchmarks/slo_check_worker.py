"""One process of ``bench_slo.py --baseline``: ``check_slos`` timed with a given ``src`` tree.

Imports ``clearance`` from ``SRC`` (the current tree or a ``git archive`` of an earlier
one), opens the catalog at ``URL`` without migrating it, and times ``aggregate_calls``
by model and ``check_slos`` with the SLO policy ``POLICY`` over bench_slo's window, ``ROUNDS``
times each after one untimed warm-up call of each; prints one JSON line: the times, the
number of breaches and a digest of the figures (to check both trees agree).

    python benchmarks/slo_check_worker.py SRC URL ROUNDS POLICY
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path


def main() -> None:
    src, url, rounds, policy_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, src)
    from clearance.catalog.database import open_catalog
    from clearance.slo import CallFilter, aggregate_calls, check_slos, load_slo_policy

    until = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
    window = CallFilter(until - dt.timedelta(hours=1), until)
    policy = load_slo_policy(Path(policy_file))
    catalog = open_catalog(url, migrate=False)
    times: dict[str, list[float]] = {"aggregate": [], "check": []}
    stats = report = None
    try:
        for round_ in range(rounds + 1):
            with catalog.connect() as connection:
                started = time.perf_counter()
                stats = aggregate_calls(connection, window, ("model",))
                aggregated = time.perf_counter() - started
            with catalog.connect() as connection:
                started = time.perf_counter()
                report = check_slos(connection, policy, window)
                checked = time.perf_counter() - started
            if round_:  # the first is a warm-up (imports, caches, plans)
                times["aggregate"].append(aggregated)
                times["check"].append(checked)
    finally:
        catalog.dispose()
    assert stats is not None
    assert report is not None
    figures = sorted(repr(s) for s in stats)
    breaches = sorted(json.dumps(b.to_json(), sort_keys=True, default=str) for b in report.breaches)
    digest = hashlib.sha256("\n".join(figures + breaches).encode()).hexdigest()[:16]
    print(json.dumps({**times, "breaches": len(report.breaches), "digest": digest}))


if __name__ == "__main__":
    main()
