"""Caches under ``.clearance/cache/``: loaded suites, and the probes of version diffs.

Loading and checking a large suite (the 1,003 contracts and 800 cases of the BFCL
import) takes a second or two, while reading and hashing its files takes tens of
milliseconds. :func:`load_suite` hashes every contract and flow file under a root; when
a pickle of exactly those bytes is in the cache folder it is used, else the suite is
loaded with every check and, when it has no error, pickled for next time. A suite with
errors is never cached, so its errors are reported afresh each time. Each root keeps
one pickle: writing a new one removes that root's older ones. The garbage collector is
paused while a pickle loads (the BFCL suite is ~19,000 objects, all live: the
collections they would trigger took about half the load).

The hypothesis second opinion on a version diff (``contracts check`` probes every pair
of consecutive versions) takes from a tenth of a second to several seconds, and its
answer depends only on the two schemas and the probe's settings. :class:`ProbeCache`
keeps each answer in ``probes.json``, keyed by a hash of both schemas, the direction,
the settings and the versions of clearance, hypothesis, hypothesis-jsonschema and
jsonschema; a changed schema (or an upgraded generator) is probed afresh.

The caches are a speed-up only: deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearance.contracts.model import ContractSet
from clearance.errors import ContractError

if TYPE_CHECKING:
    from clearance.contracts.diff import Direction
    from clearance.contracts.probe import ProbeResult

__all__ = ["LoadedSuite", "ProbeCache", "load_suite"]

# Bump it whenever loading checks more: a suite cached by a laxer check must be loaded
# afresh (2: flows naming a tool with no contract are errors; 3, 4: a bfcl answer key).
_FORMAT = b"clearance-suite-cache-4"
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


def _files(root: Path) -> list[str]:
    """Every contract and flow file under ``root``, as path strings (os.walk and strings:
    pathlib's rglob and a ``Path`` per file are several times slower on a suite of
    thousands of files)."""
    found: list[str] = []
    for folder in (root / "tools", root / "flows"):
        for directory, _, names in os.walk(folder):
            found.extend(os.path.join(directory, n) for n in names if n.endswith(_SUFFIXES))
    return sorted(found)


def _version() -> bytes:
    from clearance import __version__

    return __version__.encode()


def load_suite(root: Path, cache_dir: Path | None) -> LoadedSuite:
    """The contracts and flows under ``root``, from the cache when the files are unchanged.

    Args:
        root: the folder with ``tools/`` and ``flows/``.
        cache_dir: where pickles are kept (``None``: no cache).
    """
    root = root.resolve()
    hashes: dict[str, str] = {}
    overall = hashlib.sha256(_FORMAT + _version() + str(root).encode())
    # one pickle per root: writing a new one removes the root's older ones
    prefix = f"suite-{overall.copy().hexdigest()[:12]}-"
    under = len(os.path.join(root, ""))  # each file's path relative to the root follows
    for path in _files(root):
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        hashes[path] = digest
        overall.update(f"{path[under:]}\0{digest}\n".encode())
    target = cache_dir / f"{prefix}{overall.hexdigest()[:32]}.pickle" if cache_dir else None
    if target is not None and target.is_file():
        with contextlib.suppress(Exception):  # a stale or truncated pickle: load afresh
            contracts, flows = _read(target)
            return LoadedSuite(contracts, flows, [], hashes, cached=True)
    from clearance.contracts.check import load_all

    contracts, flows, errors = load_all(root)
    if target is not None and not errors:
        _write(target, (contracts, flows))
        for older in target.parent.glob(f"{prefix}*.pickle"):
            if older != target:
                with contextlib.suppress(OSError):
                    older.unlink()
    return LoadedSuite(contracts, flows, errors, hashes)


def _write(target: Path, value: object) -> None:
    """Pickle atomically; a cache that cannot be written is simply not written."""
    _write_bytes(target, lambda handle: pickle.dump(value, handle, pickle.HIGHEST_PROTOCOL))


def _read(target: Path) -> Any:
    """Unpickle, the garbage collector paused meanwhile: unpickling makes nothing but new,
    live objects, and every collection it would trigger walks them all again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with target.open("rb") as handle:
            return pickle.load(handle)
    finally:
        if enabled:
            gc.enable()


def _write_bytes(target: Path, dump: Any) -> None:
    """Write through ``dump(handle)`` to a temporary file, then move it into place."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        with os.fdopen(descriptor, "wb") as handle:
            dump(handle)
        os.replace(temporary, target)
    except (OSError, pickle.PicklingError, TypeError, ValueError, AttributeError):
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


_PROBE_FORMAT = "clearance-probe-cache-1"
_PROBE_FILE = "probes.json"
_PROBE_KEEP = 4096
"""Entries kept at most; the ones used least recently are dropped first."""
_PROBE_PACKAGES = ("hypothesis", "hypothesis-jsonschema", "jsonschema")


def _generator_versions() -> dict[str, str]:
    """The versions the probe's answer depends on (read from metadata: no import)."""
    from importlib.metadata import PackageNotFoundError, version

    from clearance import __version__

    found = {"clearance": __version__}
    for package in _PROBE_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


class ProbeCache:
    """Answers of :func:`~clearance.contracts.diff.probe_compatibility`, kept between runs.

    :meth:`probe` takes the arguments of ``probe_compatibility`` and returns the stored
    answer when the same schemas were probed with the same settings and the same
    generator versions; otherwise it probes and stores. :meth:`save` writes the file
    (atomically; a cache that cannot be written is simply not written).

    Args:
        cache_dir: the folder of ``probes.json`` (``None``: nothing is read or kept).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / _PROBE_FILE if cache_dir is not None else None
        self.hits = 0
        """Answers served from the cache."""
        self.misses = 0
        """Answers the probe had to compute."""
        self._entries: dict[str, dict[str, Any]] | None = None
        self._versions: dict[str, str] | None = None
        self._changed = False

    def probe(
        self,
        old_schema: Mapping[str, Any],
        new_schema: Mapping[str, Any],
        *,
        direction: Direction,
        max_examples: int = 200,
        seed: int = 0,
        time_budget: float = 20.0,
        max_counterexamples: int = 3,
    ) -> ProbeResult:
        """The probe's answer for these schemas and settings: stored, or computed now."""
        from clearance.contracts.probe import ProbeResult, probe_compatibility

        settings = {
            "direction": direction,
            "max_examples": max_examples,
            "seed": seed,
            "time_budget": time_budget,
            "max_counterexamples": max_counterexamples,
        }
        entries = self._load()
        key = self._key(old_schema, new_schema, settings)
        stored = entries.pop(key, None)
        if stored is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                result = ProbeResult(
                    direction=direction,
                    checked=int(stored["checked"]),
                    counterexamples=tuple(stored["counterexamples"]),
                    inconclusive=bool(stored["inconclusive"]),
                    reason=str(stored["reason"]),
                )
                entries[key] = stored  # now the most recently used
                self.hits += 1
                return result
        result = probe_compatibility(
            old_schema,
            new_schema,
            direction=direction,
            max_examples=max_examples,
            seed=seed,
            time_budget=time_budget,
            max_counterexamples=max_counterexamples,
        )
        self.misses += 1
        entry = {
            "checked": result.checked,
            "counterexamples": list(result.counterexamples),
            "inconclusive": result.inconclusive,
            "reason": result.reason,
        }
        try:
            json.dumps(entry, allow_nan=False)
        except (TypeError, ValueError):
            return result  # a counterexample JSON cannot hold: not kept
        entries[key] = entry
        self._changed = True
        return result

    def save(self) -> None:
        """Write the answers computed since loading (nothing when there are none)."""
        if self.path is None or not self._changed or self._entries is None:
            return
        kept = dict(list(self._entries.items())[-_PROBE_KEEP:])
        document = {"format": _PROBE_FORMAT, "entries": kept}
        text = json.dumps(document, sort_keys=False, separators=(",", ":")).encode()
        _write_bytes(self.path, lambda handle: handle.write(text))
        self._changed = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None and self.path.is_file():
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    document = json.loads(self.path.read_bytes())
                    if document.get("format") == _PROBE_FORMAT:
                        entries = document.get("entries")
                        if isinstance(entries, dict):
                            self._entries = {
                                k: v for k, v in entries.items() if isinstance(v, dict)
                            }
        return self._entries

    def _key(
        self, old_schema: Mapping[str, Any], new_schema: Mapping[str, Any], settings: object
    ) -> str:
        if self._versions is None:
            self._versions = _generator_versions()
        material = [_PROBE_FORMAT, self._versions, settings, old_schema, new_schema]
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()
