"""``contracts.lock``: each contract's version and content hash, and each flow's hash.

The lock is what CI compares against: a contract whose content changed while its
version did not, a new version whose bump is smaller than its changes require, and
a lock that no longer matches the files all fail ``clearance contracts check``.
It is JSON with sorted keys, so a change to it reads well in a pull request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clearance.errors import ContractError

__all__ = [
    "LOCK_FILE",
    "Lock",
    "LockedTool",
    "document_hash",
    "read_document",
    "read_lock",
    "write_lock",
]

LOCK_FILE = "contracts.lock"
LOCK_FORMAT = 1


# libyaml's loader when PyYAML was built with it: the same documents, about nine times
# faster (contracts check reads every flow and each versioned contract again).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_document(path: Path) -> Any:
    """A contract or flow file, decoded (YAML or JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ContractError(f"cannot read: {error.strerror}", path=str(path)) from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, _YAML_LOADER)
    except (ValueError, yaml.YAMLError) as error:
        raise ContractError(f"cannot parse: {error}", path=str(path)) from None


def document_hash(document: Any) -> str:
    """sha256 of the document's canonical JSON (key order and formatting do not count)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LockedTool:
    """One tool version as locked."""

    name: str
    version: str
    hash: str
    criticality: str


@dataclass(slots=True)
class Lock:
    """The lock's content."""

    tools: dict[tuple[str, str], LockedTool] = field(default_factory=dict)
    flows: dict[str, str] = field(default_factory=dict)
    """Flow id -> content hash."""

    def to_json(self) -> str:
        """The lock file's text."""
        tools: dict[str, dict[str, dict[str, str]]] = {}
        for (name, version), entry in sorted(self.tools.items()):
            tools.setdefault(name, {})[version] = {
                "hash": entry.hash,
                "criticality": entry.criticality,
            }
        document = {
            "format": LOCK_FORMAT,
            "tools": tools,
            "flows": dict(sorted(self.flows.items())),
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def build(
        cls, tools: Iterable[tuple[str, str, str, str]], flows: Iterable[tuple[str, str]]
    ) -> Lock:
        """From (name, version, hash, criticality) and (flow id, hash) pairs."""
        lock = cls()
        for name, version, digest, criticality in tools:
            lock.tools[(name, version)] = LockedTool(name, version, digest, criticality)
        lock.flows.update(flows)
        return lock


def read_lock(root: Path) -> Lock | None:
    """The lock in the contracts folder, or ``None`` when there is none yet.

    Raises:
        ContractError: the file is not a lock this version of clearance writes.
    """
    path = root / LOCK_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ContractError(
            f"not a readable lock: {error}",
            path=str(path),
            fix="regenerate it with `clearance contracts lock`",
        ) from None
    if not isinstance(document, dict) or document.get("format") != LOCK_FORMAT:
        raise ContractError(
            f"unknown lock format {document.get('format') if isinstance(document, dict) else '?'}",
            path=str(path),
            fix="regenerate it with `clearance contracts lock`",
        )
    lock = Lock()
    try:
        for name, versions in document.get("tools", {}).items():
            for version, entry in versions.items():
                lock.tools[(name, version)] = LockedTool(
                    name, version, str(entry["hash"]), str(entry.get("criticality", ""))
                )
        lock.flows = {str(k): str(v) for k, v in document.get("flows", {}).items()}
    except (AttributeError, KeyError, TypeError) as error:
        raise ContractError(
            f"malformed lock entry: {error}",
            path=str(path),
            fix="regenerate it with `clearance contracts lock`",
        ) from None
    return lock


def write_lock(root: Path, lock: Lock) -> Path:
    """Write the lock atomically; returns its path."""
    path = root / LOCK_FILE
    temporary = path.with_suffix(".lock.tmp")
    temporary.write_text(lock.to_json(), encoding="utf-8")
    temporary.replace(path)
    return path
