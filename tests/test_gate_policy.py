"""Gate policy files: the shipped default, exact numbers, hashing and every refusal."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from clearance.errors import ConfigError
from clearance.gate.policy import GatePolicy, load_policies, load_policy, policy_hash

GATES = Path(__file__).resolve().parents[1] / "gates"

MINIMAL = "version: 1\nname: small\nflows: {min_lower_bound: 0.8}\n"


def write(folder: Path, text: str, name: str = "policy.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    return caught.value


def test_shipped_default_loads_with_its_values() -> None:
    path = GATES / "default.yaml"
    policy = load_policy(path)
    assert policy.name == "default"
    assert policy.version == 1
    assert policy.confidence == 0.95
    assert policy.interval == "wilson"
    assert policy.criticality is not None
    assert policy.criticality.critical is not None
    assert policy.criticality.critical.min_lower_bound == 0.95
    assert policy.criticality.standard is not None
    assert policy.criticality.standard.min_lower_bound == 0.85
    assert policy.flows is not None
    assert policy.flows.min_lower_bound == 0.85
    assert policy.pass_hat_k is not None
    assert (policy.pass_hat_k.k, policy.pass_hat_k.min) == (3, 0.80)
    assert policy.min_trials_per_case == 3
    assert policy.max_infra_error_share == 0.10
    assert policy.latency is not None
    assert policy.latency.p95_ms_max == 8000
    assert policy.cost is not None
    money = policy.cost.per_successful_task_max_usd
    assert isinstance(money, Decimal)
    assert money == Decimal("0.05")
    assert policy.regression is not None
    assert policy.regression.baseline == "org_default"
    assert (policy.regression.max_drop, policy.regression.level) == (0.05, 0.95)
    assert policy.expires_after_days == 30
    assert policy.required_models == ()
    assert policy.path == path
    assert policy.source_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    shipped = load_policies(GATES)
    assert shipped["default"] == policy
    # the starter suite (90 cases) settles default.yaml: no lower bar is shipped beside it
    assert sorted(shipped) == ["default"]


def test_policy_is_frozen() -> None:
    policy = load_policy(GATES / "default.yaml")
    with pytest.raises(ValueError, match="frozen"):
        policy.name = "other"  # type: ignore[misc]


def test_hash_follows_every_byte_and_only_the_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    first = load_policy(path).source_hash
    assert first == policy_hash(path)
    assert load_policy(path).source_hash == first  # same bytes, same hash
    assert policy_hash(write(tmp_path, MINIMAL, "copy.yaml")) == first  # path plays no part
    write(tmp_path, MINIMAL + " ")  # one trailing space: same policy, another file
    assert load_policy(path).source_hash != first
    write(tmp_path, MINIMAL.replace("0.8", "0.9"))
    assert policy_hash(path) != first


@pytest.mark.parametrize(
    ("text", "key", "suggestion", "line"),
    [
        (MINIMAL + "confidense: 0.9\n", "confidense", "confidence", 4),
        (
            "version: 1\nname: x\ncriticality:\n  critical: {min_lower_bound: 0.9}\n"
            "  standard: {min_lower_bond: 0.8}\n",
            "criticality.standard.min_lower_bond",
            "min_lower_bound",
            5,
        ),
        (MINIMAL + "regression: {baseline: org_default, max_dorp: 0.1}\n", "regression.max_dorp",
         "max_drop", 4),
    ],
)  # fmt: skip
def test_unknown_key_suggests_the_closest(
    tmp_path: Path, text: str, key: str, suggestion: str, line: int
) -> None:
    path = write(tmp_path, text)
    error = refusal(path)
    assert error.key == key
    assert error.source == str(path)
    assert error.fix == f"did you mean {suggestion!r}?"
    leaf = key.rsplit(".", 1)[-1]
    assert f"{path}: {key}: unknown key {leaf!r} at line {line}" in str(error)


@pytest.mark.parametrize(
    ("replace", "by", "key", "shown"),
    [
        ("0.95}", "1.5}", "criticality.critical.min_lower_bound", "got 1.5 at line 12"),
        ("confidence: 0.95", "confidence: 1.0", "confidence", "got 1.0 at line 7"),
        ("confidence: 0.95", "confidence: 0.5", "confidence", "got 0.5"),
        ("k: 3", "k: -1", "pass_hat_k.k", "got -1"),
        ("k: 3", "k: 2.5", "pass_hat_k.k", "got 2.5"),
        ("max_drop: 0.05", "max_drop: true", "regression.max_drop", "got True"),
        ('"0.05"', '"-1"', "cost.per_successful_task_max_usd", "got '-1'"),
        ("p95_ms_max: 8000", "p95_ms_max: .inf", "latency.p95_ms_max", "got inf"),
        ("interval: wilson", "interval: wilsen", "interval", "got 'wilsen'"),
        ("latency: {p95_ms_max: 8000}", "latency: 8000", "latency", "expected a mapping"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(
    tmp_path: Path, replace: str, by: str, key: str, shown: str
) -> None:
    text = (GATES / "default.yaml").read_text(encoding="utf-8")
    assert replace in text
    path = write(tmp_path, text.replace(replace, by, 1))
    error = refusal(path)
    assert error.key == key
    assert error.source == str(path)
    assert shown in error.message
    assert error.fix


def test_literal_typo_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "interval: clopper_pearson\n")
    assert refusal(path).fix == "did you mean 'clopper-pearson'?"


@pytest.mark.parametrize(
    ("written", "exact"),
    [("0.1", "0.1"), ("0.05", "0.05"), ("0.10000000000000000001", "0.10000000000000000001"),
     ("1_000.5", "1000.5"), ("2", "2"), ('"0.3"', "0.3"), ("1.5e-3", "0.0015")],
)  # fmt: skip
def test_money_is_read_exactly(tmp_path: Path, written: str, exact: str) -> None:
    path = write(tmp_path, MINIMAL + f"cost: {{per_successful_task_max_usd: {written}}}\n")
    cost = load_policy(path).cost
    assert cost is not None
    assert isinstance(cost.per_successful_task_max_usd, Decimal)
    assert cost.per_successful_task_max_usd == Decimal(exact)


def test_money_from_a_float_in_code_is_read_as_printed() -> None:
    policy = GatePolicy.model_validate(
        {"version": 1, "name": "code", "cost": {"per_successful_task_max_usd": 0.1}}
    )
    assert policy.cost is not None
    assert policy.cost.per_successful_task_max_usd == Decimal("0.1")
    assert policy.path is None
    assert policy.source_hash is None


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: x\nflows: {min_lower_bound: 0.8\nlatency: [\n")
    error = refusal(path)
    assert error.source == str(path)
    assert "not valid YAML at line " in error.message
    line = int(error.message.split("at line ")[1].split(",")[0])
    assert line in (4, 5)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("", None, "the file is empty"),
        ("- version: 1\n", None, "a list, not a mapping"),
        ("just text\n", None, "a str, not a mapping"),
        ("name: x\nflows: {min_lower_bound: 0.8}\n", "version", "version missing"),
        ("version: 2\nname: x\nflows: {min_lower_bound: 0.8}\n", "version", "2 is not supported"),
        ("version: true\nname: x\n", "version", "True is not supported"),
        ("version: 1\nflows: {min_lower_bound: 0.8}\n", "name", "required key is missing"),
        ("version: 1\nname: x\n", None, "checks nothing"),
        (MINIMAL + "flows: {min_lower_bound: 0.9}\n", "flows", "duplicate key 'flows' at line 4"),
        (MINIMAL + "source_hash: abc\n", "source_hash", "unknown key 'source_hash'"),
        (MINIMAL + "pass_hat_k: {k: 5, min: 0.8}\n", "min_trials_per_case", "below pass_hat_k.k"),
        (MINIMAL + "required_models: [a, a]\n", "required_models", "listed twice"),
        (MINIMAL + "criticality: {critical: {}}\n", "criticality.critical.min_lower_bound",
         "required key is missing"),
    ],
)  # fmt: skip
def test_malformed_files_are_refused_with_a_fix(
    tmp_path: Path, text: str, key: str | None, expected: str
) -> None:
    path = write(tmp_path, text)
    error = refusal(path)
    assert error.key == key
    assert error.source == str(path)
    assert expected in error.message
    assert error.fix


def test_optional_sections_can_be_omitted(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert policy.flows is not None
    assert policy.flows.min_lower_bound == 0.8
    assert policy.criticality is None
    assert policy.pass_hat_k is None
    assert policy.latency is None
    assert policy.cost is None
    assert policy.regression is None
    assert policy.max_infra_error_share is None
    assert (policy.confidence, policy.interval, policy.min_trials_per_case) == (0.95, "wilson", 3)
    assert policy.expires_after_days == 30
    never = load_policy(write(tmp_path, MINIMAL + "expires_after_days: null\n", "never.yaml"))
    assert never.expires_after_days is None


def test_load_policies_by_name_and_skips_slo(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "small.yaml")
    write(tmp_path, MINIMAL.replace("name: small", "name: strict"), "strict.yml")
    write(tmp_path, "objectives: [whatever]\n", "slo.yaml")
    write(tmp_path, "# notes\n", "README.md")
    policies = load_policies(tmp_path)
    assert sorted(policies) == ["small", "strict"]
    assert policies["strict"].path == tmp_path / "strict.yml"


def test_load_policies_refuses_a_duplicate_name(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(ConfigError) as caught:
        load_policies(tmp_path)
    assert caught.value.key == "name"
    assert caught.value.source == str(tmp_path / "b.yaml")
    assert str(tmp_path / "a.yaml") in caught.value.message


def test_load_policies_names_a_bad_file(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a.yaml")
    bad = write(tmp_path, MINIMAL + "latncy: {p95_ms_max: 1}\n", "b.yaml")
    with pytest.raises(ConfigError) as caught:
        load_policies(tmp_path)
    assert caught.value.source == str(bad)
    assert caught.value.fix == "did you mean 'latency'?"


def test_missing_file_and_folder_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        policy_hash(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="no such folder"):
        load_policies(tmp_path / "absent")


def test_unknown_key_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "criticality: {standard: {treshold: 0.8}}\n")
    error = refusal(path)
    assert error.key == "criticality.standard.treshold"
    assert error.fix == "known keys: min_lower_bound"
