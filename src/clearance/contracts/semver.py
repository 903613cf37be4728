"""Semantic versions of tool contracts, and the bump rules between two of them.

Only ``MAJOR.MINOR.PATCH`` is accepted: contract versions name files, and a
pre-release or build suffix would make two file names compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Bump", "Version", "bump_between", "bump_satisfies", "parse_version"]

Bump = Literal["major", "minor", "patch", "none"]
"""The size of a change between two versions; ``none`` for the same version."""

_RANK: dict[str, int] = {"none": 0, "patch": 1, "minor": 2, "major": 3}
_PART = r"(0|[1-9][0-9]*)"
_VERSION = re.compile(rf"{_PART}\.{_PART}\.{_PART}")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A semantic version; ordered by (major, minor, patch)."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        if min(self.major, self.minor, self.patch) < 0:
            raise ValueError(f"version parts must be non-negative, got {self}")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str) -> Version:
    """Parse ``MAJOR.MINOR.PATCH`` (non-negative integers, no leading zeros).

    Raises:
        ValueError: for anything else, with the reason in the message.
    """
    if not isinstance(text, str):
        raise ValueError(
            f"version must be a string like '1.2.0', got {type(text).__name__} {text!r}"
        )
    match = _VERSION.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", text):
            reason = "a part has a leading zero"
        elif re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+[-+].*", text):
            reason = "pre-release and build suffixes are not supported"
        else:
            reason = "expected MAJOR.MINOR.PATCH, three non-negative integers"
        raise ValueError(f"invalid version {text!r}: {reason}")
    major, minor, patch = (int(part) for part in match.groups())
    return Version(major, minor, patch)


def bump_between(old: Version, new: Version) -> Bump | Literal["downgrade"]:
    """The bump that leads from ``old`` to ``new`` (``downgrade`` if ``new`` is lower)."""
    if new < old:
        return "downgrade"
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    if new.patch != old.patch:
        return "patch"
    return "none"


def bump_satisfies(actual: Bump, required: Bump) -> bool:
    """Whether a bump of size ``actual`` is enough for a change that needs ``required``.

    A larger bump covers a smaller need (major ⊇ minor ⊇ patch), but ``none`` (the
    same version) never covers a change: a changed contract must get a new version.
    """
    if required != "none" and actual == "none":
        return False
    return _RANK[actual] >= _RANK[required]
