"""The version rule: does a new version number cover the changes it ships?

:func:`diff_contracts` compares two versions of one tool contract: the name,
description and criticality, then each schema with the structural walk
(:func:`~clearance.contracts.diff.diff_schemas`) and, unless told not to, the probe
(:func:`~clearance.contracts.probe.probe_compatibility`) as a second opinion. The
changes call for a bump (the largest :attr:`~clearance.contracts.diff.Change.bump`:
major for a breaking change, patch for an annotation, minor otherwise); the
:class:`ContractDiff` says whether the versions' own bump covers it.
:func:`format_diff` is its report for people. Version numbers are parsed and compared
by :mod:`~clearance.contracts.semver`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from clearance.contracts.diff import Change, Direction, _same, _show, diff_schemas
from clearance.contracts.probe import ProbeResult, probe_compatibility
from clearance.contracts.semver import Bump, bump_between, bump_satisfies, parse_version
from clearance.errors import ContractError

if TYPE_CHECKING:
    from clearance.contracts.cache import ProbeCache

__all__ = ["ContractDiff", "diff_contracts", "format_diff"]

ActualBump = Literal["major", "minor", "patch", "none", "downgrade"]


@dataclass(frozen=True, slots=True)
class ContractDiff:
    """Everything :func:`diff_contracts` found between two versions of one tool."""

    name: str
    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    """Pointers are into the contract document (``/input_schema/properties/email``)."""
    required_bump: Bump
    actual_bump: ActualBump
    ok: bool
    """Whether ``actual_bump`` covers ``required_bump`` (a downgrade never does)."""
    second_opinion: tuple[ProbeResult, ...] = ()
    """One probe per schema that changed beyond annotations; empty with ``probe=False``."""
    disagreements: tuple[str, ...] = ()


_RANK: dict[str, int] = {"none": 0, "patch": 1, "minor": 2, "major": 3}


def _actual_bump(old: Any, new: Any) -> ActualBump:
    """The bump from version ``old`` to ``new``; the parsing is ``semver.parse_version``'s."""
    versions = []
    for which, text in (("old", old), ("new", new)):
        try:
            versions.append(parse_version(text))
        except ValueError as error:
            raise ContractError(
                str(error),
                path=f"<{which} contract>",
                pointer="/version",
                fix="write the version as MAJOR.MINOR.PATCH, e.g. 1.2.0",
            ) from None
    return bump_between(versions[0], versions[1])


def _required_bump(changes: Iterable[Change]) -> Bump:
    return max((c.bump for c in changes), key=_RANK.__getitem__, default="none")


def _prefixed(changes: Iterable[Change], prefix: str) -> list[Change]:
    return [Change(prefix + c.pointer, c.kind, c.breaking, c.detail) for c in changes]


def diff_contracts(
    old_doc: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    *,
    probe: bool = True,
    probe_examples: int = 200,
    probe_budget_s: float = 20.0,
    probe_counterexamples: int = 3,
    seed: int = 0,
    probe_cache: ProbeCache | None = None,
) -> ContractDiff:
    """Classify the changes between two versions of a tool contract and check the bump.

    The structural diff is the verdict; with ``probe`` the schemas that changed
    beyond annotations are also probed, and disagreements are listed. With a
    ``probe_cache``, a pair of schemas probed before with the same settings is
    answered from it.

    Raises:
        ContractError: a ``version`` that is not ``MAJOR.MINOR.PATCH``.
    """
    changes: list[Change] = []
    if old_doc.get("name") != new_doc.get("name"):
        detail = (
            f"the tool was renamed from {_show(old_doc.get('name'))} to"
            f" {_show(new_doc.get('name'))}; calls to the old name fail"
        )
        changes.append(Change("/name", "other", True, detail))
    if not _same(old_doc.get("description"), new_doc.get("description")):
        changes.append(
            Change("/description", "description_changed", False, "the tool description changed")
        )
    if old_doc.get("criticality") != new_doc.get("criticality"):
        detail = (
            f"criticality changed from {_show(old_doc.get('criticality'))}"
            f" to {_show(new_doc.get('criticality'))} (the gate's bar changes)"
        )
        changes.append(Change("/criticality", "other", False, detail))

    probes: list[ProbeResult] = []
    disagreements: list[str] = []
    sections: tuple[tuple[str, Direction], ...] = (
        ("input_schema", "input"),
        ("output_schema", "output"),
    )
    for key, direction in sections:
        old_schema = old_doc.get(key) or {}
        new_schema = new_doc.get(key) or {}
        found = diff_schemas(old_schema, new_schema, direction=direction)
        changes.extend(_prefixed(found, f"/{key}"))
        if not probe or all(c.kind == "description_changed" for c in found):
            continue
        result = (probe_cache.probe if probe_cache is not None else probe_compatibility)(
            old_schema,
            new_schema,
            direction=direction,
            max_examples=probe_examples,
            seed=seed,
            time_budget=probe_budget_s,
            max_counterexamples=probe_counterexamples,
        )
        probes.append(result)
        disagreements.extend(_disagreements(key, direction, found, result))

    required = _required_bump(changes)
    actual = _actual_bump(old_doc.get("version"), new_doc.get("version"))
    ok = actual != "downgrade" and bump_satisfies(actual, required)
    return ContractDiff(
        name=str(new_doc.get("name", old_doc.get("name", ""))),
        old_version=str(old_doc.get("version")),
        new_version=str(new_doc.get("version")),
        changes=tuple(changes),
        required_bump=required,
        actual_bump=actual,
        ok=ok,
        second_opinion=tuple(probes),
        disagreements=tuple(disagreements),
    )


def _disagreements(
    key: str, direction: Direction, changes: list[Change], result: ProbeResult
) -> list[str]:
    breaking = any(c.breaking for c in changes)
    if not breaking and result.counterexamples:
        instance = _show(result.counterexamples[0])
        if direction == "input":
            how = "is accepted by the old input schema and rejected by the new"
        else:
            how = "is allowed by the new output schema and was not by the old"
        return [f"{key}: structural diff says compatible, but {instance} {how}"]
    if breaking and not result.counterexamples and not result.inconclusive:
        region = "narrowed" if direction == "input" else "widened"
        return [
            f"{key}: structural diff says breaking, but the probe found no counterexample"
            f" in {result.checked} instances (the {region} region may be rare)"
        ]
    return []


def format_diff(diff: ContractDiff) -> str:
    """A report for people: the verdict, each change, the probe and disagreements."""
    verdict = "OK" if diff.ok else "NOT OK"
    lines = [
        f"{diff.name} {diff.old_version} → {diff.new_version}: "
        f"needs a {diff.required_bump} bump, got {diff.actual_bump} — {verdict}"
    ]
    if not diff.changes:
        lines.append("  no changes")
    for change in diff.changes:
        level = "BREAKING" if change.breaking else change.bump
        lines.append(f"  {level:<8}  {change.kind:<29} {change.pointer or '/'}")
        lines.append(f"            {change.detail}")
    if diff.second_opinion:
        lines.append("second opinion (hypothesis-jsonschema):")
    for result in diff.second_opinion:
        section = f"{result.direction}_schema"
        if result.inconclusive:
            lines.append(f"  {section}: inconclusive: {result.reason}")
        elif result.counterexamples:
            shown = "; ".join(_show(c) for c in result.counterexamples)
            lines.append(
                f"  {section}: {len(result.counterexamples)} counterexample(s)"
                f" in {result.checked} instances: {shown}"
            )
        else:
            lines.append(f"  {section}: no counterexample in {result.checked} instances")
    if diff.disagreements:
        lines.append("disagreements:")
        lines.extend(f"  - {text}" for text in diff.disagreements)
    return "\n".join(lines)
