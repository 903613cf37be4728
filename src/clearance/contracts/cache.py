"""A cache of loaded suites, keyed by the bytes of every file they were loaded from.

Loading and checking a large suite (the 1,003 contracts and 800 cases of the BFCL
import) takes a second or two, while reading and hashing its files takes tens of
milliseconds. :func:`load_suite` hashes every contract and flow file under a root; when
a pickle of exactly those bytes is in the cache folder it is used, else the suite is
loaded with every check and, when it has no error, pickled for next time. A suite with
errors is never cached, so its errors are reported afresh each time.

The cache is a speed-up only: deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.contracts.model import ContractSet
from clearance.errors import ContractError

__all__ = ["LoadedSuite", "load_suite"]

_FORMAT = b"clearance-suite-cache-1"
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class LoadedSuite:
    """Contracts and flows of one root, with the hash of each file read."""

    contracts: ContractSet
    flows: list[Any]
    errors: list[ContractError]
    file_hashes: dict[str, str] = field(default_factory=dict)
    """Absolute path → SHA-256 (hex) of its bytes."""
    cached: bool = False
    """Whether it came from the cache."""


def _files(root: Path) -> list[Path]:
    """Every contract and flow file under ``root`` (os.walk: pathlib's rglob is several
    times slower on a suite of thousands of files)."""
    found: list[str] = []
    for folder in (root / "tools", root / "flows"):
        for directory, _, names in os.walk(folder):
            found.extend(os.path.join(directory, n) for n in names if n.endswith(_SUFFIXES))
    return [Path(p) for p in sorted(found)]


def _version() -> bytes:
    from clearance import __version__

    return __version__.encode()


def load_suite(root: Path, cache_dir: Path | None) -> LoadedSuite:
    """The contracts and flows under ``root``, from the cache when the files are unchanged.

    Args:
        root: the folder with ``tools/`` and ``flows/``.
        cache_dir: where pickles are kept (``None``: no cache).
    """
    from clearance.contracts.check import load_all

    root = root.resolve()
    hashes: dict[str, str] = {}
    overall = hashlib.sha256(_FORMAT + _version() + str(root).encode())
    for path in _files(root):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        hashes[str(path)] = digest
        overall.update(f"{path.relative_to(root)}\0{digest}\n".encode())
    target = cache_dir / f"suite-{overall.hexdigest()[:32]}.pickle" if cache_dir else None
    if target is not None and target.is_file():
        with contextlib.suppress(Exception):  # a stale or truncated pickle: load afresh
            with target.open("rb") as handle:
                contracts, flows = pickle.load(handle)
            return LoadedSuite(contracts, flows, [], hashes, cached=True)
    contracts, flows, errors = load_all(root)
    if target is not None and not errors:
        _write(target, (contracts, flows))
    return LoadedSuite(contracts, flows, errors, hashes)


def _write(target: Path, value: object) -> None:
    """Pickle atomically; a cache that cannot be written is simply not written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)
