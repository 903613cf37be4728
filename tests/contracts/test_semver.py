"""Semantic versions: parsing, ordering and the bump rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.contracts.semver import Version, bump_between, bump_satisfies, parse_version

versions = st.builds(Version, *(st.integers(0, 30) for _ in range(3)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.0.0", Version(0, 0, 0)), ("1.2.3", Version(1, 2, 3)), ("10.20.300", Version(10, 20, 300))],
)
def test_parse_version_accepts_major_minor_patch(text: str, expected: Version) -> None:
    assert parse_version(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.2", "expected MAJOR.MINOR.PATCH"),
        ("1.2.3.4", "expected MAJOR.MINOR.PATCH"),
        ("v1.2.3", "expected MAJOR.MINOR.PATCH"),
        ("-1.2.3", "expected MAJOR.MINOR.PATCH"),
        ("1.02.3", "leading zero"),
        ("01.2.3", "leading zero"),
        ("1.2.3-rc.1", "pre-release and build suffixes"),
        ("1.2.3+build", "pre-release and build suffixes"),
        ("", "expected MAJOR.MINOR.PATCH"),
        (" 1.2.3", "expected MAJOR.MINOR.PATCH"),
    ],
)
def test_parse_version_rejects_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="invalid version") as info:
        parse_version(text)
    assert reason in str(info.value)
    assert repr(text) in str(info.value)


def test_parse_version_rejects_a_number() -> None:
    with pytest.raises(ValueError, match=r"version must be a string like '1.2.0', got float 1.2"):
        parse_version(1.2)  # type: ignore[arg-type]


def test_negative_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Version(1, -1, 0)


def test_versions_order_numerically_not_as_text() -> None:
    texts = ["1.10.0", "1.9.0", "0.0.1", "2.0.0", "1.9.10", "1.9.2"]
    ordered = sorted(parse_version(t) for t in texts)
    assert [str(v) for v in ordered] == ["0.0.1", "1.9.0", "1.9.2", "1.9.10", "1.10.0", "2.0.0"]


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [
        ("1.2.3", "2.0.0", "major"),
        ("1.2.3", "2.5.7", "major"),
        ("1.2.3", "1.3.0", "minor"),
        ("1.2.3", "1.3.9", "minor"),
        ("1.2.3", "1.2.4", "patch"),
        ("1.2.3", "1.2.3", "none"),
        ("1.2.3", "1.2.2", "downgrade"),
        ("2.0.0", "1.9.9", "downgrade"),
    ],
)
def test_bump_between(old: str, new: str, bump: str) -> None:
    assert bump_between(parse_version(old), parse_version(new)) == bump


@pytest.mark.parametrize(
    ("actual", "required", "ok"),
    [
        ("major", "major", True),
        ("major", "minor", True),
        ("major", "patch", True),
        ("minor", "major", False),
        ("minor", "minor", True),
        ("minor", "patch", True),
        ("patch", "minor", False),
        ("patch", "patch", True),
        ("none", "patch", False),
        ("none", "major", False),
        ("none", "none", True),
        ("patch", "none", True),
    ],
)
def test_bump_satisfies(actual: str, required: str, ok: bool) -> None:
    assert bump_satisfies(actual, required) is ok  # type: ignore[arg-type]


@given(versions, versions)
def test_bump_between_agrees_with_ordering(old: Version, new: Version) -> None:
    bump = bump_between(old, new)
    assert (bump == "downgrade") == (new < old)
    assert (bump == "none") == (new == old)
    if bump == "major":
        assert new.major > old.major
    if bump == "minor":
        assert (new.major, new.minor > old.minor) == (old.major, True)
    if bump == "patch":
        assert (new.major, new.minor) == (old.major, old.minor)
        assert new.patch > old.patch


@given(versions)
def test_str_and_parse_round_trip(version: Version) -> None:
    assert parse_version(str(version)) == version


@given(st.sampled_from(["major", "minor", "patch", "none"]))
def test_a_bump_satisfies_itself_and_none_satisfies_no_change(bump: str) -> None:
    assert bump_satisfies(bump, bump)  # type: ignore[arg-type]
    assert bump_satisfies("none", bump) is (bump == "none")  # type: ignore[arg-type]
