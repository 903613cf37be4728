"""Eval cases: the flows and single-turn cases of each suite, with what they depend on.

A suite is a folder of contracts and flows (``contracts/`` for ``contracts`` and
``flows``, the imported BFCL folder for ``bfcl``). Each case knows the tool contracts
it offers, the schemas the scorer validates against, the tool and criticality its
results count for, the scoring profile its folder chooses (``suite.yaml``:
:mod:`clearance.flows.scoring_profile`), and a fingerprint (the case file's hash and
every contract's version and hash, and the profile when it is not the default) that
keys its recordings: a changed fingerprint makes them stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clearance.config import SUITES, ClearanceConfig, Suite
from clearance.contracts.cache import LoadedSuite
from clearance.contracts.model import ContractSet, ToolContract
from clearance.errors import ContractError, InputError
from clearance.flows.model import Flow
from clearance.flows.scoring_profile import DEFAULT_PROFILE, ScoringProfile, read_scoring_profile

__all__ = ["CaseKind", "EvalCase", "SuiteSet", "case_digest", "load_suites", "select_cases"]

CaseKind = Literal["contract", "flow", "bfcl"]
_KIND: dict[Suite, CaseKind] = {"contracts": "contract", "flows": "flow", "bfcl": "bfcl"}


@dataclass(frozen=True, slots=True, eq=False)
class EvalCase:
    """One case of one suite, ready to run against any model (compared by identity)."""

    id: str
    suite: Suite
    flow: Flow
    contracts: tuple[ToolContract, ...]
    """The offered tools' contracts, in the order the flow offers them."""
    tool: str | None
    """The tool its results count for (single-turn cases: the first expected tool)."""
    contract_version: str | None
    criticality: str | None
    """``critical`` when any tool it expects to be called is critical."""
    fingerprint: Mapping[str, Any] = field(hash=False)
    """What its recordings are keyed to: the case file's hash, each contract's version/hash."""
    schemas: Mapping[str, Mapping[str, Any]] = field(hash=False, repr=False)
    descriptions: Mapping[str, str] = field(hash=False, repr=False)
    scoring: ScoringProfile = DEFAULT_PROFILE
    """The scoring profile that judges it (its suite folder's ``suite.yaml``)."""

    @property
    def kind(self) -> CaseKind:
        """``contract``, ``flow`` or ``bfcl`` (the ``case_kind`` stored with results)."""
        return _KIND[self.suite]


@dataclass(frozen=True, slots=True)
class SuiteSet:
    """The cases of the chosen suites, with the hashes a run stores."""

    cases: tuple[EvalCase, ...]
    suites: tuple[Suite, ...]
    suite_hash: str
    """SHA-256 over every case's fingerprint (changes when any case or contract does)."""
    contracts_hash: str
    """SHA-256 over the versions and hashes of every contract the cases use."""
    contract_versions: Mapping[str, str] = field(hash=False)
    """Tool name → version used (the latest offered when a suite offers several)."""
    scoring: Mapping[str, ScoringProfile] = field(default_factory=dict, hash=False)
    """Suite → the scoring profile that judges its cases."""


def _file_hash(path: str, known: Mapping[str, str]) -> str:
    found = known.get(path) or known.get(str(Path(path).resolve()))
    return found or hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def case_digest(case: EvalCase) -> str:
    """SHA-256 of the case's fingerprint: changes when its file or a contract it offers does."""
    return _digest(case.fingerprint)


def _case(
    flow: Flow,
    suite: Suite,
    contracts: ContractSet,
    hashes: Mapping[str, str],
    scoring: ScoringProfile = DEFAULT_PROFILE,
) -> EvalCase:
    used = tuple(contracts[ref] for ref in flow.tools)
    by_name = {c.name: c for c in used}
    expected = [call.tool for step in flow.steps for call in step.calls]
    tool = expected[0] if expected else (used[0].name if len(used) == 1 else None)
    primary = by_name.get(tool) if tool is not None else None
    called = [by_name[name] for name in expected if name in by_name]
    criticality = (
        "critical"
        if any(c.criticality == "critical" for c in called)
        else (primary.criticality if primary is not None else "standard")
    )
    fingerprint: dict[str, Any] = {
        "case": _file_hash(flow.path, hashes)[:16],
        "tools": {c.name: f"{c.version}/{c.content_hash[:16]}" for c in used},
    }
    if scoring != DEFAULT_PROFILE:  # judged by other rules: not the same evidence
        fingerprint["scoring"] = scoring
    return EvalCase(
        id=flow.id,
        suite=suite,
        flow=flow,
        contracts=used,
        tool=tool,
        contract_version=str(primary.version) if primary is not None else None,
        criticality=criticality,
        fingerprint=fingerprint,
        schemas={c.name: c.input_schema for c in used},
        descriptions={c.name: c.description for c in used},
        scoring=scoring,
    )


def _load_root(root: Path, cache_dir: Path | None) -> LoadedSuite:
    from clearance.contracts.cache import load_suite

    if not root.is_dir():
        raise InputError(
            f"no suite folder at {root}",
            fix="create it (contracts/tools, contracts/flows) or fix [contracts] root / "
            "[evals] bfcl_root in clearance.toml",
        )
    loaded = load_suite(root, cache_dir)
    if loaded.errors:
        first: ContractError = loaded.errors[0]
        count = len(loaded.errors)
        more = f" (and {count - 1} more: run `clearance contracts check`)" if count > 1 else ""
        raise ContractError(
            first.message + more,
            path=first.path,
            line=first.line,
            pointer=first.pointer,
            fix=first.fix,
        )
    return loaded


def load_suites(
    config: ClearanceConfig, suites: Iterable[Suite], *, cache: bool = True
) -> SuiteSet:
    """The cases of ``suites``, each suite loaded and checked from its folder.

    Loaded suites are cached under ``.clearance/cache`` keyed by the bytes of every file
    (see :mod:`clearance.contracts.cache`); ``cache=False`` always loads afresh.

    Raises:
        InputError: an unknown suite name, or a suite folder that does not exist.
        ContractError: a contract or flow file that is wrong (the first one, with a count),
            a ``suite.yaml`` that names no known profile, or a ``bfcl`` suite with a case
            that has no answer key.
    """
    chosen: list[Suite] = []
    for name in suites:
        if name not in SUITES:
            raise InputError(f"unknown suite {name!r}", fix=f"choose among {', '.join(SUITES)}")
        if name not in chosen:
            chosen.append(name)
    loaded: dict[Path, LoadedSuite] = {}
    cache_dir = config.root / ".clearance" / "cache" if cache else None
    cases: list[EvalCase] = []
    scoring: dict[str, ScoringProfile] = {}
    for suite in chosen:
        root = config.bfcl_root() if suite == "bfcl" else config.contracts_root()
        if root not in loaded:
            loaded[root] = _load_root(root, cache_dir)
        suite_files = loaded[root]
        profile = scoring[suite] = read_scoring_profile(root)
        for flow in suite_files.flows:
            if suite == "flows" and flow.kind != "flow":
                continue
            if suite in ("contracts", "bfcl") and flow.kind != "case":
                continue
            if profile == "bfcl" and flow.bfcl is None:
                raise ContractError(
                    f"case {flow.id!r} has no bfcl answer key, and its folder is judged by the "
                    "bfcl scoring profile",
                    path=flow.path,
                    fix="import it again with `clearance contracts import-bfcl`, or set "
                    f"`scoring: clearance` in {root / 'suite.yaml'}",
                )
            cases.append(
                _case(flow, suite, suite_files.contracts, suite_files.file_hashes, profile)
            )
    seen: dict[str, EvalCase] = {}
    for case in cases:
        if case.id in seen:
            raise InputError(
                f"case id {case.id!r} is in both the {seen[case.id].suite} and the "
                f"{case.suite} suites",
                fix="rename one of the two flows: results and recordings are keyed by case id",
            )
        seen[case.id] = case
    used = {c.key: c for case in cases for c in case.contracts}
    versions: dict[str, str] = {}
    for contract in sorted(used.values(), key=lambda c: (c.name, c.version)):
        versions[contract.name] = str(contract.version)
    return SuiteSet(
        cases=tuple(cases),
        suites=tuple(chosen),
        suite_hash=_digest({case.id: case.fingerprint for case in cases}),
        contracts_hash=_digest({key: c.content_hash for key, c in sorted(used.items())}),
        contract_versions=versions,
        scoring=scoring,
    )


def select_cases(cases: Sequence[EvalCase], patterns: Sequence[str]) -> list[EvalCase]:
    """The cases whose id matches any of ``patterns`` (shell wildcards); all when empty.

    Raises:
        InputError: a pattern that matches no case (a typo must not silently run nothing).
    """
    if not patterns:
        return list(cases)
    from fnmatch import fnmatchcase

    chosen: list[EvalCase] = []
    for pattern in patterns:
        found = [c for c in cases if fnmatchcase(c.id, pattern)]
        if not found:
            import difflib

            close = difflib.get_close_matches(pattern, [c.id for c in cases], n=3)
            raise InputError(
                f"no case matches {pattern!r}",
                fix=f"did you mean {', '.join(close)}?"
                if close
                else "`clearance eval --list` shows the cases",
            )
        chosen.extend(c for c in found if c not in chosen)
    return [c for c in cases if c in chosen]
