"""Issue 22's knowledge commands from the installed wheel, in a project `clearance init` made.

The test below runs in tests/test_quickstart.py's module (which imports it), so it uses
that module's wheel and the virtualenv the quickstart installed it into: the wheel is
built once. This file is not collected on its own (its name does not start with
``test_``). Nothing of this repository is on the user's side: the commands are the
virtualenv's ``clearance``, run in a new folder outside the repository, offline (no
provider is called: ingest, search, the retrieval suite, the retrieval gate and the
report read and write only the project's catalog).

The project: four Markdown help pages in two folders, a labelled query set whose every
query has two relevant documents, two ``[[retrievers]]`` and a policy with a recall bar
of 0.8. Lexical retrieval at k = 5 finds both documents of each query (recall 1.0, so
enabled); the hybrid at k = 1 can return one document per query (recall 0.5 at most, so
disabled): the decisions do not depend on the bootstrap's draws.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.html import parse

if TYPE_CHECKING:
    from tests.test_quickstart import Quickstart

__all__ = ["test_knowledge_from_the_installed_wheel"]

DOCS = {
    "billing/refunds.md": """# Refunds

## Annual plans
An annual plan paid less than 30 days ago is refunded in full on request.

## Double charges
A card charged twice in one month gets the second charge refunded within 5 working days.
""",
    "billing/pricing.md": """# Plans and pricing

## Team plan
The Team plan costs 12 dollars per user per month, billed monthly or yearly.

## Free trial
Every plan starts with a 14-day free trial; no credit card is needed.
""",
    "api/rate-limits.md": """# Rate limits

## Requests per minute
The API accepts 600 requests per minute per key; above it answers 429 Too Many Requests.
""",
    "api/webhooks.md": """# Webhooks

## Signing
Every webhook delivery is signed with HMAC SHA-256 in the X-Signature header.
""",
}

QUERIES = """\
knowledge_base: acme-help
root: docs
queries:
  - id: refund-annual
    query: refund for an annual plan charged twice
    relevant: [billing/refunds.md, billing/pricing.md]
  - id: team-plan-price
    query: Team plan price per user and refund
    relevant: [billing/pricing.md, billing/refunds.md]
  - id: api-limits
    query: API requests per minute and webhook signing
    relevant: [api/rate-limits.md, api/webhooks.md]
  - id: webhook-signature
    query: webhook signature header for API requests
    relevant: [api/webhooks.md, api/rate-limits.md]
"""

RETRIEVERS = """
[[retrievers]]
name = "lexical-k5"
kind = "lexical"
k = 5

[[retrievers]]
name = "hybrid-k1"
kind = "hybrid"
embedder = "hashing"
k = 1

[knowledge]
default_retriever = "lexical-k5"
"""

POLICY = """\
version: 1
name: retrieval
expires_after_days: 30
retrieval:
  recall_at_k: {min_lower_bound: 0.8}
"""


def _project(quickstart: Quickstart, home: Path) -> tuple[Path, dict[str, str]]:
    """A new `clearance init` project with the docs, the labels and the retrievers."""
    from tests.test_quickstart import _user_env

    bin_dir = quickstart.venv / "bin"
    env = _user_env(PATH=f"{bin_dir}{os.pathsep}{_user_env()['PATH']}")
    init = [str(bin_dir / "clearance"), "init", "helpdesk", "--provider", "mine"]
    init += ["--base-url", "http://127.0.0.1:4000/v1", "--model", "mine:gpt-mock"]
    done = subprocess.run(init, cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    project = home / "helpdesk"
    for name, text in DOCS.items():
        (project / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "docs" / name).write_text(text, encoding="utf-8")
    (project / "labels").mkdir()
    (project / "labels" / "helpdesk.yaml").write_text(
        QUERIES.replace("root: docs", "root: ../docs")
    )
    (project / "gates" / "retrieval.yaml").write_text(POLICY)
    toml = (project / "clearance.toml").read_text()
    evals = "\n[evals]\n"
    assert toml.count(evals) == 1, "init's clearance.toml has one [evals] table"
    sets = '\nretrieval_sets = [{ path = "labels/helpdesk.yaml", org = "acme" }]\n'
    toml = toml.replace(evals, f"{evals}{sets.lstrip()}") + RETRIEVERS
    (project / "clearance.toml").write_text(toml)
    return project, env


def test_knowledge_from_the_installed_wheel(quickstart: Quickstart, tmp_path: Path) -> None:
    project, env = _project(quickstart, tmp_path)
    clearance = str(quickstart.venv / "bin" / "clearance")

    def run(*args: str, code: int = 0) -> str:
        done = subprocess.run(
            [clearance, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        output = done.stdout + done.stderr
        assert done.returncode == code, (
            f"clearance {' '.join(args)} exited {done.returncode}:\n" + output
        )
        return output

    ingested = json.loads(run("kb", "ingest", "acme", "docs", "--tags", "help", "--json"))
    assert sorted(r["document_id"] for r in ingested) == sorted(DOCS)
    assert {r["status"] for r in ingested} == {"ingested"}
    again = json.loads(run("kb", "ingest", "acme", "docs", "--tags", "help", "--json"))
    assert {r["status"] for r in again} == {"unchanged"}

    hits = json.loads(run("kb", "search", "acme", "refund annual plan", "--k", "2", "--json"))
    assert hits[0]["document_id"] == "billing/refunds.md"
    assert hits[0]["heading"] == "Refunds > Annual plans"
    assert hits[0]["tags"] == ["help"]
    assert json.loads(run("kb", "search", "other-org", "refund annual plan", "--json")) == []
    (stats,) = json.loads(run("kb", "stats", "--json"))
    assert (stats["org_id"], stats["documents"], stats["chunks"]) == ("acme", 4, 6)
    assert stats["tags"] == {"help": 4}

    scored = json.loads(run("eval", "--suites", "retrieval", "--json"))
    by_name = {s["retriever"]: s for s in scored["scores"]}
    assert set(by_name) == {"lexical-k5", "hybrid-k1"}
    assert by_name["lexical-k5"]["recall_at_k"]["low"] == 1.0
    assert by_name["hybrid-k1"]["recall_at_k"]["high"] <= 0.5
    assert scored["embedded_chunks"] == 6  # the hybrid's hashing vectors, stored on the way

    gated = json.loads(
        run("gate", "--retrieval", "--policy", "gates/retrieval.yaml", "--json", code=1)
    )
    decisions = {r["retriever"]: r["decision"] for r in gated["retrievers"]}
    assert decisions == {"lexical-k5": "enable", "hybrid-k1": "disable"}
    assert gated["written"] is True
    assert gated["policy"]["name"] == "retrieval"
    assert "enable" in run(
        "gate", "--retrieval", "--retrievers", "lexical-k5", "--policy", "retrieval"
    )

    run("report")
    html = project / "reports" / "html"
    page = parse(html / "retrieval.html")
    rows = {
        node.attrs["data-retriever"]: node.attrs["data-state"]
        for node in page.walk()
        if node.tag == "tr" and "data-retriever" in node.attrs
    }
    assert rows == {"lexical-k5": "enable", "hybrid-k1": "disable"}
    index = parse(html / "index.html")  # no model eval yet: the empty index links it
    assert "retrieval.html" in {node.attrs.get("href") for node in index.walk()}

    deleted = json.loads(run("kb", "delete", "acme", "--document", "api/webhooks.md", "--json"))
    assert (deleted["documents"], deleted["chunks"]) == (1, 1)
    (after,) = json.loads(run("kb", "stats", "acme", "--json"))
    assert (after["documents"], after["chunks"]) == (3, 5)
