"""Tool contracts: versioned schemas of the tools a product offers to models.

The file format is ``contracts/FORMAT.md``. :func:`load_contracts` reads and checks
a contracts folder; :func:`lower_contract` says what each provider family is sent in
place of a contract's schema and what that loses, and :func:`lint_contract` what a family
would refuse; :mod:`~clearance.contracts.semver` holds the version rules.
"""

from __future__ import annotations

from clearance.contracts.lint import (
    RULES,
    LintFinding,
    LintRule,
    lint_contract,
    lint_contracts,
    lint_schema,
)
from clearance.contracts.loader import load_contract, load_contracts
from clearance.contracts.lowered import LoweringReport, lower_contract, lower_contracts
from clearance.contracts.model import ContractSet, Criticality, ToolContract, UnknownContract
from clearance.contracts.semver import Bump, Version, bump_between, bump_satisfies, parse_version
from clearance.providers.profiles import PROFILES

__all__ = [
    "PROFILES",
    "RULES",
    "Bump",
    "ContractSet",
    "Criticality",
    "LintFinding",
    "LintRule",
    "LoweringReport",
    "ToolContract",
    "UnknownContract",
    "Version",
    "bump_between",
    "bump_satisfies",
    "lint_contract",
    "lint_contracts",
    "lint_schema",
    "load_contract",
    "load_contracts",
    "lower_contract",
    "lower_contracts",
    "parse_version",
]
