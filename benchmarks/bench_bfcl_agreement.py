"""Does the ``bfcl`` scoring profile agree with the official BFCL checker? And is it as fast?

    .venv/bin/python benchmarks/bench_bfcl_agreement.py [--data DIR] [--per-case N] [--seed S]

A differential test, in four steps:

1. **Corpus.** From every single-turn category of a BFCL v4 folder (default
   ``../shared/realdata/bfcl``, else ``tests/data/realdata/bfcl``) it builds answers a
   model could give: the ground truth, and mutations of it chosen to sit on either side of
   BFCL's rules (string case and punctuation, ``5.0`` for an integer, ints in a float
   array, a missing required or an unexpected parameter, another tool, a call too many or
   too few, calls reordered, broken or blank JSON, text instead of a call, Java and
   JavaScript spellings...). ``--per-case`` mutations per case at most (seeded sample).
2. **Official verdicts.** ``bfcl-eval`` 2026.3.23 judges each answer in its own
   virtualenv, ``benchmarks/.venv-bfcl`` (created on first run: bfcl-eval without
   dependencies, then every dependency it declares except the two that pull PyTorch for its
   memory backends, which the checker never imports; plus ``soundfile``, which qwen-agent
   imports without declaring it). ``benchmarks/bfcl_official.py`` runs there.
3. **clearance's verdicts.** The folder is imported with ``import_bfcl`` (public API),
   loaded as ``clearance eval`` loads a suite, and each answer is played through
   ``run_flow(..., profile="bfcl")``; the ``clearance`` profile judges the same answers
   for comparison.
4. **Report.** Agreement and Cohen's kappa overall, a confusion matrix per category and
   per mutation, every disagreement grouped by (category, mutation) with an example, and
   CPU time per item: the official checker's judgement (decode + check), the bfcl
   profile's (answer normalized from the wire + turn judged), and ``run_flow`` whole.

Writes ``benchmarks/.out/bfcl_agreement.json`` (every disagreement, with the answer).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clearance.providers.types import ChatResponse
from clearance.providers.wire.normalize import normalize_tool_call

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".venv-bfcl"
OUT = ROOT / "benchmarks" / ".out"
BFCL_EVAL = "bfcl-eval==2026.3.23"
REQUIREMENTS = [
    # bfcl-eval 2026.3.23's declared dependencies, as pinned there, except
    # sentence-transformers and faiss-cpu (PyTorch, for the memory backends only)
    "requests", "tqdm", "numpy==1.26.4", "pandas", "huggingface_hub", "pydantic>=2.8.2",
    "python-dotenv>=1.0.1", "tree_sitter==0.21.3", "tree-sitter-java==0.21.0",
    "tree-sitter-javascript==0.21.4", "openai>=1.86.0", "mistralai==1.7.0",
    "anthropic>=0.75.0", "cohere==5.18.0", "typer>=0.12.5", "tabulate>=0.9.0",
    "datamodel-code-generator==0.25.7", "google-genai>=1.52.0", "qwen-agent",
    "mpmath==1.3.0", "tenacity>=8.5.0", "writer-sdk>=2.1.0", "overrides", "boto3",
    "beautifulsoup4", "html2text", "rank_bm25==0.2.2", "google-search-results",
    "networkx==3.3", "filelock==3.20.0",
    "soundfile",  # imported by qwen-agent, which bfcl-eval's model table imports
]  # fmt: skip


def ensure_venv() -> Path:
    """The benchmark's own interpreter with bfcl-eval (made on first use)."""
    python = VENV / "bin" / "python"
    stamp = VENV / f".{BFCL_EVAL}"
    if stamp.exists():
        return python
    print(f"creating {VENV.relative_to(ROOT)} with {BFCL_EVAL} (once; a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    (VENV / ".gitignore").write_text("*\n")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    subprocess.run([*pip, "--no-deps", BFCL_EVAL], check=True)
    stamp.touch()
    return python


# -- the corpus ---------------------------------------------------------------------------


@dataclass
class Answer:
    """A model's answer: calls (function index, or a name not offered; raw arguments) or text."""

    calls: list[tuple[int | str, str]] = field(default_factory=list)
    text: str | None = None


@dataclass
class Item:
    n: int
    case: str
    category: str
    mutation: str
    answer: Answer


@dataclass
class Case:
    id: str
    category: str
    functions: list[dict[str, Any]]
    truth: list[dict[str, dict[str, list[Any]]]]
    language: str

    def index(self, name: str) -> int:
        return next(i for i, f in enumerate(self.functions) if f["name"] == name)

    def declared(self, function: int) -> dict[str, Any]:
        return self.functions[function]["parameters"].get("properties", {})


def read_cases(data: Path) -> list[Case]:
    from clearance.contracts.bfcl import read_bfcl

    cases = []
    for case in read_bfcl(data):
        language = (
            "javascript"
            if "javascript" in case.category
            else "java"
            if "java" in case.category
            else "python"
        )
        cases.append(Case(case.id, case.category, case.functions, case.ground_truth, language))
    return cases


def _first(values: list[Any]) -> Any:
    for value in values:
        if not (isinstance(value, str) and value == ""):
            return _concrete(value)
    return _OMIT


_OMIT: Any = object()


def _nested(value: Any) -> bool:
    return (
        isinstance(value, dict) and bool(value) and all(isinstance(v, list) for v in value.values())
    )


def _concrete(value: Any) -> Any:
    if _nested(value):
        picked = {k: _first(v) for k, v in value.items()}
        return {k: v for k, v in picked.items() if v is not _OMIT}
    if isinstance(value, list) and any(_nested(v) for v in value):
        return [_concrete(v) for v in value]
    return value


def truth_arguments(values: dict[str, list[Any]]) -> dict[str, Any]:
    picked = {p: _first(v) for p, v in values.items()}
    return {p: v for p, v in picked.items() if v is not _OMIT}


def _source(case: Case, function: int, arguments: dict[str, Any]) -> dict[str, Any]:
    """Java and JavaScript arguments written as the source text a model sends."""
    if case.language == "python":
        return arguments
    from clearance.flows.bfcl.values import java_source, js_source

    write = java_source if case.language == "java" else js_source
    declared = case.declared(function)
    out = {}
    for name, value in arguments.items():
        spec = declared.get(name, {})
        items = spec.get("items", {}).get("type") if isinstance(spec.get("items"), dict) else None
        out[name] = write(value, str(spec.get("type", "any")), items)
    return out


def _dump(arguments: Any) -> str:
    return json.dumps(arguments, ensure_ascii=False)


def _truth_calls(case: Case) -> list[tuple[int, dict[str, Any]]]:
    calls = []
    for call in case.truth:
        ((name, values),) = call.items()
        function = case.index(name)
        calls.append((function, _source(case, function, truth_arguments(values))))
    return calls


def _answer(calls: list[tuple[int | str, dict[str, Any]]]) -> Answer:
    return Answer([(f, _dump(a)) for f, a in calls])


Mutation = Callable[[Case, random.Random], Answer | None]


def _params(case: Case, rng: random.Random, want: Callable[[str, Any, dict[str, Any]], bool]):
    """A random (call index, parameter, value, declaration) the predicate accepts."""
    calls = _truth_calls(case)
    found = []
    for c, (function, arguments) in enumerate(calls):
        declared = case.declared(function)
        for name, value in arguments.items():
            if want(name, value, declared.get(name, {})):
                found.append((c, name, value, declared.get(name, {})))
    if not found:
        return calls, None
    return calls, rng.choice(found)


def _change_param(how: Callable[[Any, dict[str, Any], random.Random], Any], want) -> Mutation:
    def mutate(case: Case, rng: random.Random) -> Answer | None:
        calls, picked = _params(case, rng, want)
        if picked is None:
            return None
        c, name, value, spec = picked
        new = how(value, spec, rng)
        if new is _SKIP:
            return None
        function, arguments = calls[c]
        arguments = dict(arguments)
        arguments[name] = new
        calls[c] = (function, arguments)
        return _answer(list(calls))

    return mutate


_SKIP: Any = object()


def _is_str(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return isinstance(value, str) and any(ch.isalpha() for ch in value)


def _is_int(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is int


def _is_float(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is float


def _is_bool(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is bool


def _is_list(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is list and len(value) >= 2


def _float_list(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is list and bool(value) and all(type(v) is float for v in value)


def _has_str_items(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is list and any(isinstance(v, str) for v in value)


def _is_dict(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is dict and bool(value)


def _dict_with_str(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return type(value) is dict and any(isinstance(v, str) and v for v in value.values())


def _any_param(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return True


def _swap_case(value: str, spec: dict[str, Any], rng: random.Random) -> Any:
    swapped = value.upper() if value != value.upper() else value.lower()
    return swapped if swapped != value else _SKIP


def _punctuate(value: str, spec: dict[str, Any], rng: random.Random) -> Any:
    if " " in value and rng.random() < 0.5:
        return value.replace(" ", rng.choice(["", "_", "-", "  "]))
    at = rng.randrange(len(value) + 1)
    return value[:at] + rng.choice([" ", ",", ".", "/", "-", "_", "*", "^"]) + value[at:]


def _other_string(value: str, spec: dict[str, Any], rng: random.Random) -> Any:
    return value + " extra" if rng.random() < 0.5 else "zzz " + value[: len(value) // 2]


def _quote_change(value: str, spec: dict[str, Any], rng: random.Random) -> Any:
    return value.replace('"', "'") if '"' in value else f"'{value}'"


def _int_to_float(value: int, spec: dict[str, Any], rng: random.Random) -> Any:
    return float(value)


def _float_to_int(value: float, spec: dict[str, Any], rng: random.Random) -> Any:
    return int(value) if value == int(value) else _SKIP


def _ints_in_list(value: list[float], spec: dict[str, Any], rng: random.Random) -> Any:
    new = [int(v) if v == int(v) else v for v in value]
    return new if new != value or any(type(v) is int for v in new) else _SKIP


def _number_text(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    return str(value)


def _bump(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    return value + 1 if type(value) is int else value * 2 + 1


def _flip(value: bool, spec: dict[str, Any], rng: random.Random) -> Any:
    return not value


def _bool_int(value: bool, spec: dict[str, Any], rng: random.Random) -> Any:
    return int(value)


def _null(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    return None


def _reverse(value: list[Any], spec: dict[str, Any], rng: random.Random) -> Any:
    new = list(reversed(value))
    return new if new != value else _SKIP


def _list_case(value: list[Any], spec: dict[str, Any], rng: random.Random) -> Any:
    return [v.upper() if isinstance(v, str) else v for v in value]


def _dict_case(value: dict[str, Any], spec: dict[str, Any], rng: random.Random) -> Any:
    keys = [k for k, v in value.items() if isinstance(v, str) and v]
    key = rng.choice(keys)
    return {**value, key: value[key].swapcase()}


def _dict_drop(value: dict[str, Any], spec: dict[str, Any], rng: random.Random) -> Any:
    key = rng.choice(list(value))
    return {k: v for k, v in value.items() if k != key}


def _dict_extra(value: dict[str, Any], spec: dict[str, Any], rng: random.Random) -> Any:
    return {**value, "unexpected_key": "x"}


def _other_alternative(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    options = []
    for c, call in enumerate(case.truth):
        ((_, values),) = call.items()
        for parameter, accepted in values.items():
            concrete = [_concrete(v) for v in accepted if not (isinstance(v, str) and v == "")]
            if len(concrete) >= 2:
                options.append((c, parameter, concrete[-1]))
    if not options:
        return None
    c, parameter, value = rng.choice(options)
    function, arguments = calls[c]
    arguments = dict(arguments)
    arguments.update(_source(case, function, {parameter: value}))
    calls[c] = (function, arguments)
    return _answer(list(calls))


def _omit_optional(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    changed = False
    for c, call in enumerate(case.truth):
        ((_, values),) = call.items()
        function, arguments = calls[c]
        kept = {p: v for p, v in arguments.items() if "" not in values.get(p, [])}
        changed |= kept != arguments
        calls[c] = (function, kept)
    return _answer(list(calls)) if changed else None


def _missing_required(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    options = [
        (c, p)
        for c, (function, arguments) in enumerate(calls)
        for p in case.functions[function]["parameters"].get("required", [])
        if p in arguments
    ]
    if not options:
        return None
    c, parameter = rng.choice(options)
    function, arguments = calls[c]
    calls[c] = (function, {p: v for p, v in arguments.items() if p != parameter})
    return _answer(list(calls))


def _extra_declared(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    options = [
        (c, p, spec)
        for c, (function, arguments) in enumerate(calls)
        for p, spec in case.declared(function).items()
        if p not in arguments
    ]
    if not options:
        return None
    c, parameter, spec = rng.choice(options)
    value = spec.get(
        "default", {"integer": 1, "float": 1.5, "boolean": True}.get(spec.get("type"), "x")
    )
    function, arguments = calls[c]
    arguments = dict(arguments)
    arguments[parameter] = _source(case, function, {parameter: value})[parameter]
    calls[c] = (function, arguments)
    return _answer(list(calls))


def _extra_undeclared(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    c = rng.randrange(len(calls))
    function, arguments = calls[c]
    calls[c] = (function, {**arguments, "unexpected_parameter": "x"})
    return _answer(list(calls))


def _wrong_function(case: Case, rng: random.Random) -> Answer | None:
    if len(case.functions) < 2:
        return None
    calls = _truth_calls(case)
    c = rng.randrange(len(calls))
    function, arguments = calls[c]
    others = [i for i in range(len(case.functions)) if i != function]
    calls[c] = (rng.choice(others), arguments)
    return _answer(list(calls))


def _invented_function(case: Case, rng: random.Random) -> Answer | None:
    calls: list[tuple[int | str, dict[str, Any]]] = list(_truth_calls(case))
    c = rng.randrange(len(calls))
    calls[c] = ("not_offered_tool", calls[c][1])
    return _answer(calls)


def _extra_call(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    return _answer([*calls, calls[rng.randrange(len(calls))]])


def _missing_call(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    if len(calls) < 2:
        return None
    del calls[rng.randrange(len(calls))]
    return _answer(list(calls))


def _reordered(case: Case, rng: random.Random) -> Answer | None:
    calls = _truth_calls(case)
    if len(calls) < 2:
        return None
    shuffled = calls[::-1] if rng.random() < 0.5 else rng.sample(calls, len(calls))
    return _answer(list(shuffled)) if shuffled != calls else None


def _raw(how: Callable[[str, random.Random], str]) -> Mutation:
    def mutate(case: Case, rng: random.Random) -> Answer | None:
        answer = _answer(list(_truth_calls(case)))
        c = rng.randrange(len(answer.calls))
        function, raw = answer.calls[c]
        answer.calls[c] = (function, how(raw, rng))
        return answer

    return mutate


def _text(text: str | None) -> Mutation:
    def mutate(case: Case, rng: random.Random) -> Answer | None:
        return Answer([], text)

    return mutate


def _java_long(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    return value[:-1] if isinstance(value, str) and value[-1:] in "lL" else _SKIP


def _capitalized(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    return value.capitalize() if value in ("true", "false") else _SKIP


def _not_a_string(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return [value]


def _spacing(value: Any, spec: dict[str, Any], rng: random.Random) -> Any:
    if not isinstance(value, str) or not any(c in value for c in "[{,"):
        return _SKIP
    return value.replace(", ", ",") if ", " in value else value.replace(",", ", ")


def _is_source(name: str, value: Any, spec: dict[str, Any]) -> bool:
    return isinstance(value, str)


AST_MUTATIONS: dict[str, Mutation] = {
    "ground_truth": lambda case, rng: _answer(list(_truth_calls(case))),
    "other_alternative": _other_alternative,
    "omit_optional": _omit_optional,
    "string_case": _change_param(_swap_case, _is_str),
    "string_punctuation": _change_param(_punctuate, _is_str),
    "string_changed": _change_param(_other_string, _is_str),
    "string_quotes": _change_param(_quote_change, _is_str),
    "int_as_float": _change_param(_int_to_float, _is_int),
    "float_as_int": _change_param(_float_to_int, _is_float),
    "ints_in_float_list": _change_param(_ints_in_list, _float_list),
    "number_as_string": _change_param(_number_text, lambda n, v, s: type(v) in (int, float)),
    "number_changed": _change_param(_bump, lambda n, v, s: type(v) in (int, float)),
    "bool_flipped": _change_param(_flip, _is_bool),
    "bool_as_int": _change_param(_bool_int, _is_bool),
    "null_value": _change_param(_null, _any_param),
    "list_reversed": _change_param(_reverse, _is_list),
    "list_string_case": _change_param(_list_case, _has_str_items),
    "dict_string_case": _change_param(_dict_case, _dict_with_str),
    "dict_key_missing": _change_param(_dict_drop, _is_dict),
    "dict_key_extra": _change_param(_dict_extra, _is_dict),
    "missing_required": _missing_required,
    "extra_declared": _extra_declared,
    "extra_undeclared": _extra_undeclared,
    "wrong_function": _wrong_function,
    "invented_function": _invented_function,
    "extra_call": _extra_call,
    "missing_call": _missing_call,
    "reordered": _reordered,
    "invalid_json": _raw(lambda raw, rng: raw[: max(1, len(raw) // 2)]),
    "empty_arguments": _raw(lambda raw, rng: rng.choice(["", " "])),
    "double_encoded": _raw(lambda raw, rng: json.dumps(raw)),
    "array_arguments": _raw(lambda raw, rng: f"[{raw}]"),
    "text_only": _text("I would call the tool, but I will describe it instead."),
    "empty_text": _text(""),
}
SOURCE_MUTATIONS: dict[str, Mutation] = {
    "source_long_without_suffix": _change_param(_java_long, _is_source),
    "source_bool_capitalized": _change_param(_capitalized, _is_source),
    "source_not_a_string": _change_param(_not_a_string, _is_source),
    "source_spacing": _change_param(_spacing, _is_source),
}


def _some_arguments(case: Case, function: int) -> dict[str, Any]:
    declared = case.declared(function)
    defaults = {"integer": 1, "float": 1.5, "boolean": True, "array": [], "dict": {}}
    arguments = {}
    for name in case.functions[function]["parameters"].get("required", []):
        spec = declared.get(name, {})
        arguments[name] = spec.get("default", defaults.get(spec.get("type"), "value"))
    return _source(case, function, arguments)


def _call(raw: Callable[[dict[str, Any]], str], count: int = 1) -> Mutation:
    def mutate(case: Case, rng: random.Random) -> Answer | None:
        if not case.functions:
            return None
        picks = [rng.randrange(len(case.functions)) for _ in range(count)]
        return Answer([(f, raw(_some_arguments(case, f))) for f in picks])

    return mutate


RELEVANCE_MUTATIONS: dict[str, Mutation] = {
    "text": _text("None of the tools I have can do that."),
    "empty_text": _text(""),
    "no_content": _text(None),
    "valid_call": _call(_dump),
    "two_calls": _call(_dump, count=2),
    "invented_call": lambda case, rng: Answer([("not_offered_tool", "{}")]),
    "invalid_json_call": _call(lambda a: _dump(a)[:-1] or "{"),
    "empty_arguments_call": _call(lambda a: ""),
    "double_encoded_call": _call(lambda a: json.dumps(_dump(a))),
    "array_arguments_call": _call(lambda a: "[]"),
}


ALWAYS = ("ground_truth", "reordered", "text", "valid_call")
"""Kept for every case where they apply; the other mutations are sampled."""


def build_corpus(cases: list[Case], per_case: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    for case in cases:
        if "relevance" in case.category:
            table = RELEVANCE_MUTATIONS
        elif case.language == "python":
            table = AST_MUTATIONS
        else:
            table = {**AST_MUTATIONS, **SOURCE_MUTATIONS}
        made: list[tuple[str, Answer]] = []
        for name, mutate in table.items():
            answer = mutate(case, random.Random(rng.random()))
            if answer is not None:
                made.append((name, answer))
        always = [(name, a) for name, a in made if name in ALWAYS]
        others = [(name, a) for name, a in made if name not in ALWAYS]
        keep = [*always, *rng.sample(others, max(0, min(len(others), per_case - len(always))))]
        for name, answer in keep:
            items.append(Item(len(items), case.id, case.category, name, answer))
    return items


# -- the two judges ------------------------------------------------------------------------


def official_result(case: Case, answer: Answer) -> Any:
    """The answer as BFCL's OpenAI function-calling handler stores it."""
    if not answer.calls:
        return answer.text
    out = []
    for function, raw in answer.calls:
        name = function if isinstance(function, str) else case.functions[function]["name"]
        out.append({name.replace(".", "_"): raw})
    return out


def official_verdicts(
    data: Path, cases: dict[str, Case], items: list[Item], repeat: int
) -> dict[int, dict]:
    python = ensure_venv()
    with tempfile.TemporaryDirectory() as folder:
        corpus, out = Path(folder) / "corpus.jsonl", Path(folder) / "verdicts.jsonl"
        with corpus.open("w", encoding="utf-8") as sink:
            for item in items:
                record = {
                    "n": item.n,
                    "id": item.case,
                    "category": item.category,
                    "result": official_result(cases[item.case], item.answer),
                }
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        script = ROOT / "benchmarks" / "bfcl_official.py"
        subprocess.run(
            [str(python), str(script), str(data), str(corpus), str(out), str(repeat)], check=True
        )
        verdicts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {v["n"]: v for v in verdicts}


@dataclass
class Suite:
    flows: dict[str, Any]
    schemas: dict[str, dict[str, Any]]
    names: dict[str, list[str]]
    """BFCL id → contract name of each offered function, in order."""


def load_suite(data: Path, folder: Path) -> Suite:
    from clearance.contracts.bfcl import import_bfcl
    from clearance.contracts.cache import load_suite as load

    import_bfcl(data, folder)
    loaded = load(folder, None)
    if loaded.errors:
        raise SystemExit(f"the import does not load: {loaded.errors[0]}")
    flows, schemas, names = {}, {}, {}
    for flow in loaded.flows:
        bfcl_id = flow.description.split(" case ", 1)[1].split(". Tools", 1)[0]
        flows[bfcl_id] = flow
        schemas[bfcl_id] = {
            ref.partition("@")[0]: loaded.contracts[ref].input_schema for ref in flow.tools
        }
        names[bfcl_id] = list(flow.tool_names)
    return Suite(flows, schemas, names)


def chat_response(names: list[str], answer: Answer) -> Any:
    """The answer as clearance's OpenAI provider would hand it over."""
    calls = tuple(
        normalize_tool_call(
            i, f"call_{i}", function if isinstance(function, str) else names[function], raw
        )
        for i, (function, raw) in enumerate(answer.calls)
    )
    return ChatResponse(
        content=answer.text,
        tool_calls=calls,
        finish_reason="tool_calls" if calls else "stop",
        finish_reason_raw="tool_calls" if calls else "stop",
        usage=None,
        model="bench",
    )


def clearance_verdicts(
    suite: Suite, items: list[Item], profile: Literal["clearance", "bfcl"]
) -> dict[int, dict]:
    """Each answer played through ``run_flow`` with ``profile``: verdict, failure codes."""
    from clearance.flows.scoring import run_flow

    out = {}
    for item in items:
        response = chat_response(suite.names[item.case], item.answer)
        verdict = run_flow(
            suite.flows[item.case],
            lambda messages, tools, response=response: response,
            tool_schemas=suite.schemas[item.case],
            profile=profile,
        )
        out[item.n] = {"valid": verdict.passed, "codes": sorted({f.code for f in verdict.failures})}
    return out


def timings(suite: Suite, items: list[Item], repeat: int) -> dict[str, list[list[int]]]:
    """CPU per item, ``repeat`` times in a row: the answer normalized from
    the wire as the OpenAI provider does it (ChatResponse included), the turn judged by the
    bfcl profile, and ``run_flow`` whole with each profile."""
    from clearance.flows.bfcl.judge import score_bfcl_turn
    from clearance.flows.scoring import run_flow

    found: dict[str, list[list[int]]] = {
        name: [[] for _ in items] for name in ("normalize", "judge", "flow", "strict")
    }
    clock = time.process_time_ns
    # one pass per measurement, as the official side runs its checker alone: each item
    # `repeat` times in a row
    for k, item in enumerate(items):
        key, names = suite.flows[item.case].bfcl, suite.names[item.case]
        for _ in range(repeat):
            start = clock()
            response = chat_response(names, item.answer)
            middle = clock()
            score_bfcl_turn(key, response, offered=names)
            end = clock()
            found["normalize"][k].append(middle - start)
            found["judge"][k].append(end - middle)
    for name, profile in (("flow", "bfcl"), ("strict", "clearance")):
        for k, item in enumerate(items):
            flow, names = suite.flows[item.case], suite.names[item.case]
            for _ in range(repeat):
                start = clock()
                run_flow(
                    flow,
                    lambda messages, tools, names=names, item=item: chat_response(
                        names, item.answer
                    ),
                    tool_schemas=suite.schemas[item.case],
                    profile=profile,  # type: ignore[arg-type]
                )
                found[name][k].append(clock() - start)
    return found


# -- the report ------------------------------------------------------------------------------


def kappa(pairs: list[tuple[bool, bool]]) -> float:
    n = len(pairs)
    agree = sum(a == b for a, b in pairs) / n
    p_a = sum(a for a, _ in pairs) / n
    p_b = sum(b for _, b in pairs) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return 1.0 if expected == 1 else (agree - expected) / (1 - expected)


def matrix_rows(
    items: list[Item], official: dict[int, dict], ours: dict[int, dict], key: Callable[[Item], str]
) -> Iterator[str]:
    cells: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        o, c = official[item.n]["valid"], ours[item.n]["valid"]
        cells[key(item)]["PP" if o and c else "PF" if o else "FP" if c else "FF"] += 1
    heads = ("n", "both pass", "both fail", "BFCL only", "ours only", "agree")
    yield f"{'':34} {heads[0]:>6} " + " ".join(f"{h:>10}" for h in heads[1:5]) + f" {heads[5]:>8}"
    for name in sorted(cells):
        row = cells[name]
        n = sum(row.values())
        agree = (row["PP"] + row["FF"]) / n
        yield (
            f"{name:34} {n:>6} {row['PP']:>10} {row['FF']:>10} {row['PF']:>10} {row['FP']:>10} "
            f"{agree:>8.2%}"
        )


def write_golden(
    path: Path, items: list[Item], official: dict[int, dict], ours: dict[int, dict], per_group: int
) -> None:
    """A replayable sample: per (category, mutation) the first ``per_group`` answers, and
    every answer the two checkers disagree on."""
    taken: Counter[tuple[str, str]] = Counter()
    lines = []
    for item in items:
        group = (item.category, item.mutation)
        disagree = official[item.n]["valid"] != ours[item.n]["valid"]
        if taken[group] >= per_group and not disagree:
            continue
        taken[group] += 1
        record = {
            "case": item.case,
            "category": item.category,
            "mutation": item.mutation,
            "calls": [[f, raw] for f, raw in item.answer.calls],
            "text": item.answer.text,
            "official": {k: official[item.n][k] for k in ("valid", "error_type", "raised")},
        }
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} official verdicts to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT.parent / "shared" / "realdata" / "bfcl"
    if not default.is_dir():
        default = ROOT / "tests" / "data" / "realdata" / "bfcl"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--per-case", type=int, default=6)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--examples", type=int, default=3, help="examples per disagreement group")
    parser.add_argument(
        "--golden",
        type=Path,
        help="also write a sample of the official verdicts here (JSON Lines: a few answers "
        "per category and mutation, and every disagreement), for tests to replay",
    )
    parser.add_argument("--golden-per-group", type=int, default=4)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes over the corpus (each side)"
    )
    args = parser.parse_args()

    cases = read_cases(args.data)
    by_id = {case.id: case for case in cases}
    items = build_corpus(cases, args.per_case, args.seed)
    print(f"corpus: {len(items)} answers to {len(cases)} BFCL cases in "
          f"{len({c.category for c in cases})} categories ({args.data})")  # fmt: skip

    started = time.perf_counter()
    official = official_verdicts(args.data, by_id, items, args.repeat)
    print(f"official checker: {time.perf_counter() - started:.1f} s wall (imports included)")
    with tempfile.TemporaryDirectory() as folder:
        suite = load_suite(args.data, Path(folder))
        ours = clearance_verdicts(suite, items, "bfcl")
        strict = clearance_verdicts(suite, items, "clearance")
        times = timings(suite, items, args.repeat)

    pairs = [(official[i.n]["valid"], ours[i.n]["valid"]) for i in items]
    strict_pairs = [(official[i.n]["valid"], strict[i.n]["valid"]) for i in items]
    agreement = sum(a == b for a, b in pairs) / len(pairs)
    print(f"\nbfcl profile vs official: agreement {agreement:.3%}, kappa {kappa(pairs):.4f}, "
          f"{sum(a != b for a, b in pairs)} disagreements of {len(pairs)}")  # fmt: skip
    strict_agreement = sum(a == b for a, b in strict_pairs) / len(strict_pairs)
    print(f"clearance profile vs official: agreement {strict_agreement:.2%}, "
          f"kappa {kappa(strict_pairs):.3f}")  # fmt: skip
    raised = sum(1 for v in official.values() if v["raised"])
    print(f"official pass rate {sum(a for a, _ in pairs) / len(pairs):.1%}; "
          f"the official checker raised on {raised} answers")  # fmt: skip

    print("\nper category (bfcl profile vs official):")
    for row in matrix_rows(items, official, ours, lambda i: i.category):
        print("  " + row)
    print("\nper mutation:")
    for row in matrix_rows(items, official, ours, lambda i: i.mutation):
        print("  " + row)

    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        if official[item.n]["valid"] != ours[item.n]["valid"]:
            groups[item.category, item.mutation].append(item)
    examples = []
    if groups:
        print("\ndisagreements (category, mutation: count; BFCL's verdict / ours):")
    for (category, mutation), found in sorted(groups.items()):
        first = found[0]
        theirs, mine = official[first.n], ours[first.n]
        print(f"  {category}, {mutation}: {len(found)}; e.g. {first.case}: BFCL "
              f"{'pass' if theirs['valid'] else 'fail'} "
              f"({theirs['error_type'] or theirs['raised']}) / ours "
              f"{'pass' if mine['valid'] else 'fail'} {mine['codes']}")  # fmt: skip
        for item in found[: args.examples]:
            examples.append(
                {
                    "case": item.case,
                    "category": category,
                    "mutation": mutation,
                    "answer": official_result(by_id[item.case], item.answer),
                    "official": official[item.n],
                    "clearance": ours[item.n],
                }
            )

    theirs = [official[item.n] for item in items]
    check = [
        [max(0, c - d) for c, d in zip(v["cpu_ns"], v["decode_ns"], strict=True)] for v in theirs
    ]
    rows = (
        ("official: decode + check", [v["cpu_ns"] for v in theirs]),
        ("  decode_ast alone", [v["decode_ns"] for v in theirs]),
        ("  check (the difference)", check),
        ("bfcl profile: normalize + judge",
         [[a + b for a, b in zip(n, j, strict=True)]
          for n, j in zip(times["normalize"], times["judge"], strict=True)]),
        ("  normalize (ChatResponse) alone", times["normalize"]),
        ("  judge alone", times["judge"]),
        ("run_flow, bfcl profile", times["flow"]),
        ("run_flow, clearance profile", times["strict"]),
    )  # fmt: skip
    print(f"\nCPU per item, microseconds (each judged {args.repeat} times in a row; the first "
          "time, then the fastest):")  # fmt: skip
    print(f"  {'':36} {'median':>8} {'mean':>8} {'median':>8} {'mean':>8}")
    for label, per_item in rows:
        first = [t[0] / 1e3 for t in per_item]
        best = [min(t) / 1e3 for t in per_item]
        print(f"  {label:36} {statistics.median(first):8.1f} {statistics.fmean(first):8.1f} "
              f"{statistics.median(best):8.1f} {statistics.fmean(best):8.1f}")  # fmt: skip

    print("\nCPU per item by category, median microseconds, first time and fastest "
          "(official check / bfcl judge):")  # fmt: skip
    by_category: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    for item, their, ours_ns in zip(items, check, times["judge"], strict=True):
        by_category[item.category].append((their[0], ours_ns[0], min(their), min(ours_ns)))
    for category, found in sorted(by_category.items()):
        a, b, c, d = (statistics.median(column) / 1e3 for column in zip(*found, strict=True))
        print(f"  {category:24} {a:7.1f} / {b:5.1f}   {c:7.1f} / {d:5.1f}")

    if args.golden is not None:
        write_golden(args.golden, items, official, ours, args.golden_per_group)
    OUT.mkdir(exist_ok=True)
    (OUT / "bfcl_agreement.json").write_text(
        json.dumps(
            {
                "items": len(items),
                "agreement": agreement,
                "kappa": kappa(pairs),
                "clearance_profile_agreement": strict_agreement,
                "disagreements": examples,
            },
            indent=1,
            ensure_ascii=False,
            default=str,
        )
    )
    print(f"\nwrote {(OUT / 'bfcl_agreement.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
