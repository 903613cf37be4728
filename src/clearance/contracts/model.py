"""Tool contracts in memory: one :class:`ToolContract` per file, gathered in a :class:`ContractSet`.

The loader (:mod:`clearance.contracts.loader`) builds them; everything else reads them.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clearance.contracts.semver import Version, parse_version
from clearance.errors import ContractError

__all__ = ["ContractSet", "Criticality", "ToolContract", "UnknownContract"]

Criticality = Literal["critical", "standard"]
"""How high the gate's bar is for a tool: ``critical`` tools get the stricter one."""


@dataclass(frozen=True, slots=True)
class ToolContract:
    """One version of one tool, as written in ``contracts/tools/<name>/<version>.yaml``.

    The schemas are plain dicts shared with the contract: treat them as read-only
    (:meth:`openai_tool` and :meth:`anthropic_tool` hand out copies).
    """

    name: str
    version: Version
    description: str
    criticality: Criticality
    input_schema: dict[str, Any] = field(hash=False)
    """JSON Schema 2020-12 of the arguments the model must produce (top level: object)."""
    output_schema: dict[str, Any] = field(hash=False)
    """JSON Schema 2020-12 of what the tool returns."""
    valid_examples: tuple[dict[str, Any], ...] = field(hash=False)
    """Arguments that validate against ``input_schema``."""
    invalid_examples: tuple[tuple[dict[str, Any], str], ...] = field(hash=False)
    """(arguments, reason) pairs that must not validate against ``input_schema``."""
    path: Path
    content_hash: str
    """SHA-256 (hex) of the canonical JSON of the whole file (sorted keys, no spaces)."""

    @property
    def key(self) -> str:
        """``name@version``, the way flows and the lock file refer to this contract."""
        return f"{self.name}@{self.version}"

    def openai_tool(self) -> dict[str, Any]:
        """The tool as OpenAI's chat completions API takes it (``tools=[...]``)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.input_schema),
            },
        }

    def anthropic_tool(self) -> dict[str, Any]:
        """The tool as Anthropic's messages API takes it (``tools=[...]``)."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": copy.deepcopy(self.input_schema),
        }


class UnknownContract(ContractError, KeyError):
    """A ``name`` or ``name@version`` that no loaded contract answers to.

    It is a :class:`KeyError` too, so mapping-style callers can catch that.

    Attributes:
        ref: the reference asked for.
        candidates: close names or the versions that exist, best first.
    """

    def __init__(
        self,
        message: str,
        *,
        ref: str,
        candidates: Iterable[str] = (),
        path: str,
        line: int | None = None,
        pointer: str = "",
        fix: str | None = None,
    ) -> None:
        self.ref = ref
        self.candidates = tuple(candidates)
        super().__init__(message, path=path, line=line, pointer=pointer, fix=fix)

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message as a repr.
        return str(self.args[0]) if self.args else ""


class ContractSet:
    """Every loaded contract, looked up by name and version.

    Iterating yields the contracts in (name, version) order, versions compared as
    versions (``1.10.0`` after ``1.9.0``). ``set["name@1.2.0"]`` and ``"name@1.2.0" in
    set`` work on keys.
    """

    def __init__(self, contracts: Iterable[ToolContract] = (), *, root: Path | None = None):
        self.root = root
        by_key: dict[tuple[str, Version], ToolContract] = {}
        for contract in contracts:
            ident = (contract.name, contract.version)
            if ident in by_key:
                raise ContractError(
                    f"tool {contract.name!r} version {contract.version} is defined twice: "
                    f"{by_key[ident].path} and {contract.path}",
                    path=str(contract.path),
                    fix="keep one file per name and version",
                )
            by_key[ident] = contract
        self._by_ident = dict(sorted(by_key.items()))
        self._by_key = {c.key: c for c in self._by_ident.values()}
        self._versions: dict[str, list[Version]] = {}
        for name, version in self._by_ident:
            self._versions.setdefault(name, []).append(version)

    def __getitem__(self, key: str) -> ToolContract:
        """The contract for ``name@version`` (exactly; no latest-version lookup).

        Raises:
            UnknownContract: (a ``KeyError``) when there is none.
        """
        if "@" not in key:
            raise UnknownContract(
                f"{key!r} is not a NAME@VERSION key",
                ref=key,
                path=self._where(),
                fix="use resolve() for the latest version of a tool",
            )
        return self.resolve(key)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, ToolContract):
            return self._by_ident.get((item.name, item.version)) is item
        return isinstance(item, str) and item in self._by_key

    def __iter__(self) -> Iterator[ToolContract]:
        return iter(self._by_ident.values())

    def __len__(self) -> int:
        return len(self._by_ident)

    def __repr__(self) -> str:
        return f"ContractSet({list(self._by_key)!r})"

    def keys(self) -> list[str]:
        """Every ``name@version``, in (name, version) order."""
        return list(self._by_key)

    def names(self) -> list[str]:
        """The tool names, sorted."""
        return list(self._versions)

    def versions(self, name: str) -> list[ToolContract]:
        """Every version of a tool, lowest version first (empty if the tool is unknown)."""
        return [self._by_ident[(name, v)] for v in self._versions.get(name, ())]

    def latest(self, name: str) -> ToolContract:
        """The highest version of a tool.

        Raises:
            UnknownContract: no tool has that name.
        """
        versions = self._versions.get(name)
        if not versions:
            raise self._unknown_name(name, name, path=None, line=None, pointer="")
        return self._by_ident[(name, versions[-1])]

    def get(self, name: str, version: Version | str) -> ToolContract | None:
        """The contract for ``name`` at ``version``, or ``None``."""
        if isinstance(version, str):
            try:
                version = parse_version(version)
            except ValueError:
                return None
        return self._by_ident.get((name, version))

    def resolve(
        self, ref: str, *, path: str | None = None, line: int | None = None, pointer: str = ""
    ) -> ToolContract:
        """Find ``name@version``, or the latest version for a bare ``name``.

        Args:
            ref: ``name@1.2.0`` or ``name``.
            path, line, pointer: where the reference was written (a flow file), for the
                error; the contracts folder otherwise.

        Raises:
            UnknownContract: the name or the version does not exist (with close matches),
                or the version does not parse.
        """
        name, sep, version_text = ref.partition("@")
        if not sep:
            if name not in self._versions:
                raise self._unknown_name(ref, name, path=path, line=line, pointer=pointer)
            return self.latest(name)
        try:
            version = parse_version(version_text)
        except ValueError as exc:
            raise UnknownContract(
                f"bad tool reference {ref!r}: {exc}",
                ref=ref,
                path=path or self._where(),
                line=line,
                pointer=pointer,
                fix="write a tool reference as NAME@MAJOR.MINOR.PATCH, or NAME for the latest",
            ) from None
        if name not in self._versions:
            raise self._unknown_name(ref, name, path=path, line=line, pointer=pointer)
        contract = self._by_ident.get((name, version))
        if contract is None:
            known = [str(v) for v in self._versions[name]]
            raise UnknownContract(
                f"tool {name!r} has no version {version} (it has {', '.join(known)})",
                ref=ref,
                candidates=[f"{name}@{v}" for v in reversed(known)],
                path=path or self._where(),
                line=line,
                pointer=pointer,
                fix=f"use one of {', '.join(f'{name}@{v}' for v in known)}, "
                f"or add contracts/tools/{name}/{version}.yaml",
            )
        return contract

    def _where(self) -> str:
        return str(self.root) if self.root is not None else "<contracts>"

    def _unknown_name(
        self, ref: str, name: str, *, path: str | None, line: int | None, pointer: str
    ) -> UnknownContract:
        close = difflib.get_close_matches(name, list(self._versions), n=3, cutoff=0.6)
        fix = (
            f"did you mean {', '.join(map(repr, close))}?"
            if close
            else f"add contracts/tools/{name}/<version>.yaml, or check the name"
        )
        return UnknownContract(
            f"no tool named {name!r} in the contracts",
            ref=ref,
            candidates=close,
            path=path or self._where(),
            line=line,
            pointer=pointer,
            fix=fix,
        )
