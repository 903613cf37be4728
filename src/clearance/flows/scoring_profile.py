"""Scoring profiles: which rules judge a suite's cases, chosen per suite folder.

- ``clearance`` (the default): the case's matchers and the contract's JSON Schema, strictly
  (``contracts/FORMAT.md``): strings compare exactly unless a matcher says otherwise,
  ``5.0`` is an integer, every schema keyword counts, a turn that expects no call needs
  a text answer.
- ``bfcl``: BFCL's own AST checker rules, read from each case's ``bfcl:`` answer key
  (:mod:`clearance.flows.bfcl`): what an imported Berkeley Function Calling Leaderboard
  suite is judged by, so its numbers compare with the published leaderboard.

A suite folder chooses its profile in ``suite.yaml`` at its root (``contracts/bfcl/suite.yaml``,
which ``clearance contracts import-bfcl`` writes)::

    scoring: bfcl

A folder without the file is judged by ``clearance``. The profile is part of what a
result was judged by: it is in each case's fingerprint (when not the default) and in
the run's details, and the report names it per suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from clearance.errors import ContractError

__all__ = [
    "DEFAULT_PROFILE",
    "SCORING_PROFILES",
    "SUITE_FILE",
    "ScoringProfile",
    "read_scoring_profile",
    "suite_file_text",
]

ScoringProfile = Literal["clearance", "bfcl"]
SCORING_PROFILES: tuple[ScoringProfile, ...] = get_args(ScoringProfile)
DEFAULT_PROFILE: ScoringProfile = "clearance"
SUITE_FILE = "suite.yaml"
"""The file at a suite folder's root that names its scoring profile."""


def suite_file_text(profile: ScoringProfile, *, written_by: str | None = None) -> str:
    """The ``suite.yaml`` that selects ``profile`` (with a comment saying who wrote it)."""
    by = f" ({written_by} wrote it)" if written_by else ""
    return (
        f"# How clearance judges the cases in this folder{by}: contracts/FORMAT.md,\n"
        f'# "Scoring profiles". clearance: matchers and schemas, strictly; bfcl: BFCL\'s checker.\n'
        f"scoring: {profile}\n"
    )


def read_scoring_profile(root: Path) -> ScoringProfile:
    """The profile a suite folder chooses (``clearance`` when it has no ``suite.yaml``).

    Raises:
        ContractError: a ``suite.yaml`` that is not ``scoring: <profile>``.
    """
    from clearance.flows._source import read_document

    path = Path(root) / SUITE_FILE
    if not path.is_file():
        return DEFAULT_PROFILE
    document = read_document(path)
    data = document.data
    fix = f"write `scoring: <profile>` with one of {', '.join(SCORING_PROFILES)}"
    if not isinstance(data, dict):
        raise ContractError("suite.yaml must be an object", path=str(path), fix=fix)
    for key in data:
        if key != "scoring":
            raise ContractError(
                f"unknown key {key!r} in suite.yaml",
                path=str(path),
                line=document.lines.get(f"/{key}"),
                pointer=f"/{key}",
                fix=fix,
            )
    profile = data.get("scoring", DEFAULT_PROFILE)
    for known in SCORING_PROFILES:
        if profile == known:
            return known
    raise ContractError(
        f"unknown scoring profile {profile!r}",
        path=str(path),
        line=document.lines.get("/scoring"),
        pointer="/scoring",
        fix=fix,
    )
