"""Lint findings a project accepts by design, per provider profile.

``contracts/lint-acknowledgements.yaml`` sits beside ``contracts.lock`` (outside the
contract files, so acknowledging a finding changes no contract hash and no recording):

.. code-block:: yaml

    acknowledge:
      gemini:                                # a lint profile
        - rule: gemini/additional-properties # one of that profile's rule ids
          tools: ["*"]                       # name or name@version, shell wildcards
          pointers: ["*/format"]             # optional: JSON pointers, shell wildcards
          reason: Gemini clients drop it; arguments are validated on receipt.

``clearance contracts check`` counts an acknowledged finding instead of printing it as
a warning, keeps it in ``--json`` with ``"acknowledged": true``, and warns about an
acknowledgement that no longer matches any finding. The format is in
``contracts/FORMAT.md``.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearance.contracts.lint import RULES, LintFinding
from clearance.providers.profiles import PROFILES

if TYPE_CHECKING:
    from clearance.contracts.loader import _Document

__all__ = ["ACKNOWLEDGEMENTS_FILE", "Acknowledgement", "read_acknowledgements"]

ACKNOWLEDGEMENTS_FILE = "lint-acknowledgements.yaml"
"""Its name, in the contracts folder beside ``contracts.lock``."""

_ENTRY_KEYS = ("rule", "tools", "pointers", "reason")


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Findings of one lint rule that a project accepts, and why."""

    profile: str
    rule: str
    """A :data:`~clearance.contracts.lint.RULES` id of ``profile``."""
    tools: tuple[str, ...]
    """``name`` or ``name@version`` patterns (shell wildcards) of the contracts covered."""
    pointers: tuple[str, ...]
    """JSON pointer patterns (shell wildcards) of the findings covered; empty: any."""
    reason: str
    """Why the finding is by design: shown with it, and in ``--json``."""
    where: str
    """``<file>#<JSON pointer>`` of the entry, for messages about it."""

    def covers(self, finding: LintFinding) -> bool:
        """Whether ``finding`` is one this entry accepts."""
        if finding.rule != self.rule:
            return False
        name = finding.contract_key.partition("@")[0]
        if not any(
            fnmatch.fnmatchcase(finding.contract_key, pattern) or fnmatch.fnmatchcase(name, pattern)
            for pattern in self.tools
        ):
            return False
        return not self.pointers or any(
            fnmatch.fnmatchcase(finding.pointer, pattern) for pattern in self.pointers
        )


def read_acknowledgements(root: Path) -> tuple[Acknowledgement, ...]:
    """The acknowledgements in ``root/lint-acknowledgements.yaml`` (none when it is absent).

    Raises:
        ContractError: the file does not parse or breaks the format (names the line, the
            JSON pointer and the fix).
    """
    from clearance.contracts.loader import _parse  # the parser that keeps line numbers

    path = root / ACKNOWLEDGEMENTS_FILE
    if not path.is_file() or _is_blank(path):
        return ()
    document = _parse(path)
    data = document.data
    fix = (
        "the file has one key, acknowledge: a mapping of lint profile to entries "
        "(see contracts/FORMAT.md)"
    )
    if not isinstance(data, dict):
        raise document.error("the file is not a mapping", "", fix)
    unknown = sorted(set(data) - {"acknowledge"})
    if unknown:
        raise document.error(f"unknown key {unknown[0]!r}", f"/{unknown[0]}", fix)
    by_profile = data.get("acknowledge") or {}
    if not isinstance(by_profile, dict):
        raise document.error(
            "acknowledge must map a lint profile to a list of entries",
            "/acknowledge",
            f"write e.g. acknowledge: {{gemini: [{{rule: gemini/format, reason: ...}}]}} "
            f"(profiles: {', '.join(PROFILES)})",
        )
    found: list[Acknowledgement] = []
    for profile, entries in by_profile.items():
        base = f"/acknowledge/{profile}"
        if profile not in PROFILES:
            raise document.error(
                f"unknown lint profile {profile!r}",
                base,
                _did_you_mean(str(profile), PROFILES, "a profile"),
            )
        if not isinstance(entries, list):
            raise document.error(
                f"the entries of {profile} must be a list", base, "write - rule: ... items"
            )
        for index, entry in enumerate(entries):
            found.append(_entry(document, profile, entry, f"{base}/{index}"))
    return tuple(found)


def _is_blank(path: Path) -> bool:
    """Empty, or comments only."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) is None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the parser reports it, with the line


def _entry(document: _Document, profile: str, entry: Any, pointer: str) -> Acknowledgement:
    if not isinstance(entry, dict):
        raise document.error(
            "an entry must be a mapping", pointer, "write rule:, reason: and optionally tools:"
        )
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise document.error(
            f"unknown key {unknown[0]!r}",
            f"{pointer}/{unknown[0]}",
            _did_you_mean(unknown[0], _ENTRY_KEYS, "a key"),
        )
    rules = tuple(rule.id for rule in RULES if rule.profile == profile)
    rule = entry.get("rule")
    if rule not in rules:
        raise document.error(
            f"{rule!r} is not a rule of the {profile} profile",
            f"{pointer}/rule",
            _did_you_mean(str(rule), rules, "a rule id"),
        )
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise document.error(
            f"the acknowledgement of {rule} gives no reason",
            f"{pointer}/reason" if "reason" in entry else pointer,
            "say in reason: why the finding is by design (it is shown with the finding)",
        )
    return Acknowledgement(
        profile=profile,
        rule=rule,
        tools=_patterns(document, entry, "tools", pointer, default=("*",)),
        pointers=_patterns(document, entry, "pointers", pointer, default=()),
        reason=" ".join(reason.split()),
        where=f"{document.path}#{pointer}",
    )


def _patterns(
    document: _Document, entry: dict[str, Any], key: str, pointer: str, *, default: tuple[str, ...]
) -> tuple[str, ...]:
    if key not in entry:
        return default
    value = entry[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise document.error(
            f"{key} must be a non-empty list of strings",
            f"{pointer}/{key}",
            f'write e.g. {key}: ["*"] (shell wildcards), or leave {key} out',
        )
    return tuple(value)


def _did_you_mean(word: str, choices: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    known = f"use {what}: {', '.join(choices)}"
    return f"did you mean {close[0]!r}? ({known})" if close else known
