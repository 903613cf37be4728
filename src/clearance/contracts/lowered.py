"""Each contract as each provider family is sent it: the lowered schema, its losses, its lint.

:func:`lower_contract` lowers a contract's ``input_schema`` for one provider profile
(:mod:`clearance.providers.lowering`) and lints the result
(:mod:`clearance.contracts.lint`): the losses are facts about what the model is shown,
the findings what lowering cannot fix. ``contracts check`` and ``contracts lower`` read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clearance.contracts.lint import DEFAULT_PROFILES, LintFinding, lint_schema
from clearance.contracts.model import ContractSet, ToolContract
from clearance.providers.lowering import Lowered, lower_for_profile

__all__ = ["LoweringReport", "lower_contract", "lower_contracts"]


@dataclass(frozen=True, slots=True)
class LoweringReport:
    """One contract lowered for one provider profile: what is sent, what it lost, and
    what the provider would still refuse or ignore."""

    contract_key: str
    profile: str
    lowered: Lowered
    findings: tuple[LintFinding, ...]
    """The lint of the lowered schema (pointers into it): what lowering cannot fix."""

    @property
    def refused(self) -> tuple[LintFinding, ...]:
        """The findings the provider rejects the request for (``error``)."""
        return tuple(f for f in self.findings if f.severity == "error")


def lower_contract(contract: ToolContract, profile: str) -> LoweringReport:
    """The contract's ``input_schema`` lowered for ``profile``, its losses and its lint.

    Raises:
        InputError: an unknown profile.
    """
    lowered = lower_for_profile(contract.input_schema, profile)
    findings = lint_schema(lowered.schema, profile, contract_key=contract.key)
    return LoweringReport(contract.key, profile, lowered, tuple(findings))


def lower_contracts(
    contracts: ContractSet | Iterable[ToolContract], profiles: Sequence[str] = DEFAULT_PROFILES
) -> list[LoweringReport]:
    """Every contract lowered for every profile, in (name, version, profile) order."""
    return [lower_contract(c, profile) for c in contracts for profile in profiles]
