"""How long the README's "Gate your own model in ten minutes" takes, command by command.

Builds the wheel, then runs every command of the section as written, in an empty
folder, from the installed wheel, against a server (the reference simulator on a free
port by default, or ``--base-url`` for another, e.g. a LiteLLM proxy on :4000), and
prints the wall time of each command and of the whole. The same substitutions as
tests/test_quickstart.py: the wheel's path, the server's URL and, for the simulator,
the served model (``ref/steady`` for ``gpt-mock``).

    .venv/bin/python benchmarks/bench_quickstart.py [--base-url URL --model NAME] [--rounds N]

The README promises ten minutes for a person; the machine's share (install, every
command's start-up and work) should be a small part of that. The first command (venv
and pip install) depends on pip's cache and the package index, so it is shown apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_quickstart import (  # noqa: E402  (the test's README reader, not a copy)
    KEY,
    README_MODEL,
    README_URL,
    README_WHEEL,
    quickstart_blocks,
)


def commands() -> list[str]:
    """Each command of the section, backslash continuations joined, comments kept."""
    out: list[str] = []
    for block in quickstart_blocks():
        pending = ""
        for line in block.splitlines():
            if not line.strip():
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            out.append(pending + line)
            pending = ""
    return out


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--wheel",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "clearance"),
            "reference",
            "serve",
            "--port",
            "0",
            "--api-key-env",
            "MINE_API_KEY",
        ],
        env={**os.environ, "MINE_API_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def run_once(wheel: Path, base_url: str, model: str) -> list[tuple[str, float]]:
    """(command, seconds) for each command, in one shell, as a user would type them."""
    lines = commands()
    script = ["exec 3>timings.txt"]
    for index, line in enumerate(lines):
        line = line.replace(README_WHEEL, str(wheel)).replace(README_URL, base_url)
        line = line.replace(f":{README_MODEL}", f":{model}")
        script += ["__s=$EPOCHREALTIME", line, f'echo "{index} $__s $EPOCHREALTIME" >&3']
    repo_bin = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLEARANCE_", "VIRTUAL_ENV", "MINE_")) and k != "CI"
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != repo_bin)
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@example.com",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@example.com",
    )
    with tempfile.TemporaryDirectory() as home:
        subprocess.run(
            ["bash", "-eu", "-c", "\n".join(script)],
            cwd=home,
            env=env,
            check=True,
            capture_output=True,
        )
        timings = Path(home, "timings.txt").read_text().split("\n")
    out = []
    for row in filter(None, timings):
        index, start, end = row.split()
        out.append((lines[int(index)], float(end) - float(start)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: the simulator)")
    parser.add_argument("--model", default="ref/steady", help="the model it serves as gpt-mock")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as dist:
        wheel = build_wheel(Path(dist))
        simulator = None
        base_url = options.base_url
        if base_url is None:
            simulator, base_url = start_simulator()
        try:
            rounds = [run_once(wheel, base_url, options.model) for _ in range(options.rounds)]
        finally:
            if simulator is not None:
                simulator.terminate()
                simulator.communicate(timeout=10)
    print(
        f"server: {base_url} ({'reference simulator' if simulator else 'given'}), "
        f"model {options.model}; {options.rounds} rounds; {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    print("| command | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    totals: list[float] = []
    after_install: list[float] = []
    for index, (command, _) in enumerate(rounds[0]):
        times = [r[index][1] for r in rounds]
        shown = re.sub(r"\s+", " ", command)
        print(
            f"| `{shown[:90]}` | {statistics.median(times):.2f} | {min(times):.2f} | "
            f"{max(times):.2f} |"
        )
    for r in rounds:
        totals.append(sum(t for _, t in r))
        after_install.append(
            sum(t for c, t in r if not c.startswith(("python3 -m venv", "pip install")))
        )
    print(
        f"| **all commands** | {statistics.median(totals):.2f} | {min(totals):.2f} | "
        f"{max(totals):.2f} |"
    )
    print(
        f"| **all but the venv and pip install** | {statistics.median(after_install):.2f} | "
        f"{min(after_install):.2f} | {max(after_install):.2f} |"
    )


if __name__ == "__main__":
    main()
