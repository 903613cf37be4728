"""The caches under ``.clearance/cache/``: probe answers by schema hash, one suite per root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance.contracts.bump import diff_contracts
from clearance.contracts.cache import ProbeCache, load_suite
from clearance.contracts.check import check_contracts
from clearance.contracts.probe import probe_compatibility

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "contracts"

OLD = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
NEW = {
    "type": "object",
    "properties": {"n": {"type": "integer", "maximum": 10}},
    "required": ["n"],
}
SETTINGS: dict[str, Any] = {"direction": "input", "max_examples": 40, "seed": 1}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A copy of the shipped starter suite (without the BFCL import), with its lock."""
    root = tmp_path / "contracts"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("bfcl"))
    return root


def test_a_probe_is_answered_from_the_file_in_a_later_run(tmp_path: Path) -> None:
    first = ProbeCache(tmp_path)
    computed = first.probe(OLD, NEW, **SETTINGS)
    assert (first.hits, first.misses) == (0, 1)
    assert computed == probe_compatibility(OLD, NEW, **SETTINGS)
    assert computed.counterexamples  # n > 10 is accepted by OLD, rejected by NEW
    first.save()
    assert json.loads((tmp_path / "probes.json").read_text())["format"]

    later = ProbeCache(tmp_path)
    assert later.probe(OLD, NEW, **SETTINGS) == computed
    assert (later.hits, later.misses) == (1, 0)


def test_a_changed_schema_or_setting_is_probed_again(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path)
    cache.probe(OLD, NEW, **SETTINGS)
    cache.save()
    wider = {**NEW, "properties": {"n": {"type": "integer", "maximum": 11}}}
    again = ProbeCache(tmp_path)
    again.probe(OLD, wider, **SETTINGS)
    again.probe(OLD, NEW, **{**SETTINGS, "max_examples": 41})
    again.probe(OLD, NEW, **{**SETTINGS, "direction": "output"})
    assert (again.hits, again.misses) == (0, 3)
    again.probe(OLD, NEW, **SETTINGS)
    assert again.hits == 1


def test_a_damaged_or_foreign_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    (tmp_path / "probes.json").write_text("{not json")
    cache = ProbeCache(tmp_path)
    cache.probe(OLD, NEW, **SETTINGS)
    cache.save()
    assert ProbeCache(tmp_path).probe(OLD, NEW, **SETTINGS) is not None
    (tmp_path / "probes.json").write_text(json.dumps({"format": "other", "entries": {}}))
    stranger = ProbeCache(tmp_path)
    stranger.probe(OLD, NEW, **SETTINGS)
    assert stranger.misses == 1


def test_without_a_folder_nothing_is_kept(tmp_path: Path) -> None:
    cache = ProbeCache(None)
    cache.probe(OLD, NEW, **SETTINGS)
    cache.save()
    cache.probe(OLD, NEW, **SETTINGS)
    assert (cache.hits, cache.misses) == (1, 1)  # kept in memory for the run only
    assert list(tmp_path.iterdir()) == []


def test_diff_contracts_uses_the_cache_and_gives_the_same_answer(tmp_path: Path) -> None:
    old = {"name": "t", "version": "1.0.0", "input_schema": OLD}
    new = {"name": "t", "version": "2.0.0", "input_schema": NEW}
    cache = ProbeCache(tmp_path)
    fresh = diff_contracts(old, new, probe_examples=40, probe_cache=cache)
    cached = diff_contracts(old, new, probe_examples=40, probe_cache=cache)
    assert cached == fresh == diff_contracts(old, new, probe_examples=40)
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_warm_check_reuses_every_probe_and_a_changed_schema_is_probed_again(
    suite: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    cold = check_contracts(suite, cache_dir=cache_dir)
    assert cold.ok
    assert (cold.probes_run, cold.probes_cached) == (3, 0)  # create_event in and out, search
    warm = check_contracts(suite, cache_dir=cache_dir)
    assert (warm.probes_run, warm.probes_cached) == (0, 3)
    assert warm.to_dict()["findings"] == cold.to_dict()["findings"]

    path = suite / "tools/search_contacts/1.1.0.yaml"
    document = yaml.safe_load(path.read_text())
    document["input_schema"]["properties"]["limit"]["maximum"] = 49
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    edited = check_contracts(suite, cache_dir=cache_dir)
    assert (edited.probes_run, edited.probes_cached) == (1, 2)
    assert check_contracts(suite, cache_dir=cache_dir, probe=False).probes_run == 0


def test_a_root_keeps_one_suite_pickle(suite: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    assert not load_suite(suite, cache_dir).cached
    assert load_suite(suite, cache_dir).cached
    (first,) = cache_dir.glob("suite-*.pickle")
    path = suite / "tools/get_contact/1.0.0.yaml"
    path.write_text(path.read_text() + "\n# edited\n")
    assert not load_suite(suite, cache_dir).cached
    (second,) = cache_dir.glob("suite-*.pickle")
    assert second != first
    other = tmp_path / "other"
    shutil.copytree(suite, other)
    load_suite(other, cache_dir)
    assert len(list(cache_dir.glob("suite-*.pickle"))) == 2  # another root's is kept
