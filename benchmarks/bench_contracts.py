"""Loading and checking contracts and flows at scale.

    .venv/bin/python benchmarks/bench_contracts.py

Three figures, each the median of a few runs in this process:
(a) load and validate 1,000+ contracts and 1,000+ flows made by copying the starter
    suite under new tool names (every rule of FORMAT.md applied, examples validated);
(b) the same for the real BFCL import shipped in contracts/bfcl (1,003 contracts,
    800 cases);
(c) ``clearance contracts check`` on the shipped starter suite, as a fresh process
    (imports, lock, version diffs with the probe, negative controls, lint).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from clearance.contracts.check import load_all

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "contracts"


def synthetic(target: Path, copies: int) -> tuple[int, int]:
    """The starter suite copied ``copies`` times: tool names, flow ids and schemas distinct."""
    tools = sorted(p for p in (SUITE / "tools").glob("*/*.yaml"))
    flows = sorted((SUITE / "flows").glob("*.yaml"))
    names = {p.parent.name for p in tools}
    for n in range(copies):
        for path in tools:
            document = yaml.safe_load(path.read_text())
            document["name"] = f"{document['name']}_{n}"
            # distinct schemas per copy, so no cache can make the copies free
            document["input_schema"]["description"] = f"copy {n}"
            document["output_schema"]["description"] = f"copy {n}"
            out = target / "tools" / document["name"] / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(yaml.safe_dump(document, sort_keys=False))
        for path in flows:
            text = path.read_text()
            for name in sorted(names, key=len, reverse=True):
                text = text.replace(f"{name}@", f"{name}_{n}@").replace(
                    f"tool: {name}\n", f"tool: {name}_{n}\n"
                )
            document = yaml.safe_load(text)
            document["id"] = f"{document['id']}_{n}"
            document["forbidden_tools"] = [f"{t}_{n}" for t in document.get("forbidden_tools", [])]
            if not document["forbidden_tools"]:
                del document["forbidden_tools"]
            (target / "flows").mkdir(exist_ok=True)
            (target / "flows" / f"{document['id']}.yaml").write_text(
                yaml.safe_dump(document, sort_keys=False)
            )
    return len(tools) * copies, len(flows) * copies


def timed(function: object, runs: int = 3) -> tuple[float, object]:
    """Median seconds over ``runs``; every run starts cold (the schema-check memo cleared)."""
    from clearance.contracts import loader

    times = []
    result = None
    for _ in range(runs):
        loader._VALID_SCHEMAS.clear()
        started = time.perf_counter()
        result = function()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    print(f"# {sys.executable} benchmarks/bench_contracts.py")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}; nproc {os.cpu_count()}; "
        f"python {platform.python_version()}; libyaml {yaml.__with_libyaml__}"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "contracts"
        made = synthetic(root, copies=63)
        seconds, (contracts, flows, errors) = timed(lambda: load_all(root))  # type: ignore[misc]
        assert not errors, errors[:3]
        print(
            f"(a) synthetic: {len(list(contracts))} contracts + {len(flows)} flows "
            f"(made {made}): {seconds:.2f} s"
        )
        shutil.rmtree(root)
    seconds, (contracts, flows, errors) = timed(lambda: load_all(SUITE / "bfcl"))  # type: ignore[misc]
    assert not errors, errors[:3]
    print(
        f"(b) BFCL import: {len(list(contracts))} contracts + {len(flows)} cases: {seconds:.2f} s"
    )
    command = [
        str(Path(sys.executable).parent / "clearance"),
        "contracts",
        "check",
        "--no-stale",
        "--root",
        str(SUITE),
    ]
    seconds, _ = timed(lambda: subprocess.run(command, check=True, capture_output=True))
    print(f"(c) `clearance contracts check` on the starter suite (fresh process): {seconds:.2f} s")
    command[-1] = str(SUITE / "bfcl")
    seconds, _ = timed(lambda: subprocess.run(command, check=True, capture_output=True), runs=1)
    print(f"(d) `clearance contracts check` on the BFCL import (fresh process): {seconds:.2f} s")


if __name__ == "__main__":
    main()
