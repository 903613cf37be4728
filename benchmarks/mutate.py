"""Mutation testing of the core modules, each with only its own tests (``make mutate``).

For each target below, mutmut (in the test extras) mutates one module, one mutant at a
time, and runs only the tests listed for it; a mutant that no test notices *survives*.
Each target runs in its own scratch tree under ``.mutants/<target>/`` (git-ignored), so
targets never see each other's mutants and the working tree is never touched.

    python benchmarks/mutate.py                 # every target
    python benchmarks/mutate.py killswitch      # one or more targets by name
    python benchmarks/mutate.py --list          # the targets, their modules and tests

It prints, per target, the mutants killed / total and the score, then every survivor
with its diff, and writes the same as JSON to ``.mutants/summary.json`` (``--work`` to
change the scratch directory). The scores and the reasons each remaining survivor is
harmless are in RESULTS.md ("Testing").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    module: str
    """The source file mutated, relative to the repository."""
    tests: tuple[str, ...]
    """The only tests run against its mutants."""
    also: tuple[str, ...] = ()
    """Other source files mutated with it (the store that holds the module's SQL)."""


TARGETS: dict[str, Target] = {
    "killswitch": Target(
        "src/clearance/killswitch.py",
        ("tests/test_killswitch.py",),
        also=("src/clearance/catalog/switchstore.py",),
    ),
    "pricing": Target(
        "src/clearance/pricing.py",
        ("tests/test_pricing.py",),
        also=("src/clearance/catalog/pricerecords.py",),
    ),
    "modelpolicy": Target("src/clearance/modelpolicy.py", ("tests/test_modelpolicy.py",)),
    "gate.stats": Target("src/clearance/gate/stats.py", ("tests/test_gate_stats.py",)),
    "gate.decide": Target("src/clearance/gate/decide.py", ("tests/test_gate_decide.py",)),
    "gate.adaptive": Target("src/clearance/gate/adaptive.py", ("tests/test_gate_adaptive.py",)),
    "flows.matching": Target(
        "src/clearance/flows/matching.py",
        ("tests/flows/test_matching.py", "tests/flows/test_hungarian.py"),
    ),
    "flows.matchers": Target("src/clearance/flows/matchers.py", ("tests/flows/test_matchers.py",)),
    "retryplan": Target("src/clearance/retryplan.py", ("tests/test_retryplan.py",)),
}

# What the tests read besides src/ and tests/ (mutmut copies these into its tree).
_ALSO_COPY = ("tests", "contracts", "gates", "evals", "README.md")


# mutmut runs pytest in its own process, one mutant per fork: never through xdist workers
# (``-n 0`` also overrides an ``-n auto`` in the project's addopts).
_PYTEST_ARGS = ", ".join(
    json.dumps(a)
    for a in ("-p", "no:cacheprovider", "-q", *(("-n", "0") if find_spec("xdist") else ()))
)


def _config(target: Target) -> str:
    quoted = ", ".join(json.dumps(t) for t in target.tests)
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = [{', '.join(json.dumps(m) for m in (target.module, *target.also))}]\n"
        f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        f"pytest_add_cli_args = [{_PYTEST_ARGS}]\n"
        f"also_copy = [{', '.join(json.dumps(p) for p in _ALSO_COPY)}]\n"
    )


def _prepare(name: str, target: Target, work: Path) -> Path:
    missing = [p for p in (target.module, *target.also, *target.tests) if not (ROOT / p).exists()]
    if missing:
        raise SystemExit(f"mutate: target {name}: {', '.join(missing)} not found")
    tree = work / name
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for part in ("src", *_ALSO_COPY):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tree / part, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, tree / part)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tree / "pyproject.toml").write_text(pyproject + _config(target), encoding="utf-8")
    return tree


def _mutmut(tree: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "CLEARANCE_MUTATION": "1"}
    env.pop("CLEARANCE_DATABASE_URL", None)
    out = log.open("w") if log is not None else subprocess.PIPE
    try:
        return subprocess.run(
            [str(MUTMUT), *args],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def _survivors(tree: Path) -> list[dict[str, str]]:
    listing = _mutmut(tree, "results").stdout or ""
    found = []
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status not in {"survived", "no tests", "timeout", "suspicious"} or not name:
            continue
        diff = _mutmut(tree, "show", name).stdout or ""
        changed = [
            row
            for row in diff.splitlines()
            if row[:1] in "+-" and not row.startswith(("+++", "---"))
        ]
        found.append({"mutant": name, "status": status, "diff": "\n".join(changed)})
    return found


def run(name: str, target: Target, work: Path = WORK) -> dict[str, object]:
    tree = _prepare(name, target, work)
    started = time.perf_counter()
    done = _mutmut(tree, "run", "--max-children", str(os.cpu_count() or 2), log=tree / "run.log")
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (tree / "run.log").read_text(errors="replace")[-1500:]
        return {
            "target": name,
            "module": target.module,
            "tests": list(target.tests),
            "error": f"mutmut run failed (see {tree}/run.log):\n{tail}",
            "score": None,
            "survivors": [],
        }
    _mutmut(tree, "export-cicd-stats")
    stats = json.loads((tree / "mutants" / "mutmut-cicd-stats.json").read_text())
    total = int(stats["total"]) - int(stats["skipped"])
    killed = int(stats["killed"]) + int(stats["timeout"]) + int(stats["segfault"])
    return {
        "target": name,
        "module": target.module,
        "tests": list(target.tests),
        "mutants": total,
        "killed": killed,
        "score": round(100 * killed / total, 1) if total else None,
        "seconds": round(seconds, 1),
        "survivors": _survivors(tree),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"any of: {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch directory")
    parser.add_argument("--min-score", type=float, default=90.0, help="exit 1 below (%%)")
    args = parser.parse_args(argv)
    if args.list:
        for key, target in TARGETS.items():
            print(f"{key:16} {target.module}  <- {' '.join(target.tests)}")
        return 0
    unknown = [n for n in args.targets if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}; use --list")
    if not MUTMUT.exists():
        raise SystemExit(f"mutate: {MUTMUT} not found: pip install -e '.[test]' (make mutate)")
    names = args.targets or list(TARGETS)
    results = []
    for name in names:
        print(f"mutating {TARGETS[name].module} ...", flush=True)
        result = run(name, TARGETS[name], args.work.resolve())
        results.append(result)
        if "error" in result:
            print(f"  {result['error']}", flush=True)
            continue
        print(
            f"  {result['killed']}/{result['mutants']} killed = {result['score']} %"
            f"  ({result['seconds']} s)",
            flush=True,
        )
    args.work.mkdir(exist_ok=True)
    (args.work / "summary.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\n{'target':16} {'killed':>7} {'total':>6} {'score':>7}")
    for r in results:
        if "error" in r:
            print(f"{r['target']:16} {'failed: see above':>22}")
            continue
        print(f"{r['target']:16} {r['killed']:>7} {r['mutants']:>6} {r['score']!s:>6}%")
    for r in results:
        survivors = r["survivors"]
        assert isinstance(survivors, list)
        if survivors:
            print(f"\n## {r['target']}: {len(survivors)} surviving")
            for s in survivors:
                print(f"- {s['mutant']} ({s['status']})\n{s['diff']}")
    low = [r["target"] for r in results if r["score"] is None or r["score"] < args.min_score]
    if low:
        print(f"\nbelow {args.min_score:g} %: {', '.join(map(str, low))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
