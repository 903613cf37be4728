"""The second opinion on a schema change: generated instances checked against the other schema.

:func:`probe_compatibility` draws instances of one schema with hypothesis-jsonschema and
keeps those the other schema rejects (:class:`ProbeResult`). For ``input`` the
instances come from the old schema and are checked against the new; for ``output``
from the new against the old. The structural walk (:mod:`~clearance.contracts.diff`)
is the verdict; :func:`~clearance.contracts.bump.diff_contracts` runs both and lists
where they disagree. Answers are kept between runs by
:class:`~clearance.contracts.cache.ProbeCache`.

hypothesis and hypothesis-jsonschema are imported inside the functions that use them:
importing this module loads neither.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clearance.contracts.diff import Direction, _deref, _same, _types

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["ProbeResult", "probe_compatibility"]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The second opinion: generated instances checked against the other schema.

    For ``input`` the instances are valid under the old schema and checked against
    the new; for ``output`` they are valid under the new schema and checked against
    the old. A counterexample is an instance the checking schema rejects.
    """

    direction: Direction
    checked: int
    """Instances generated and checked."""
    counterexamples: tuple[Any, ...] = ()
    """Up to three instances the checking schema rejects."""
    inconclusive: bool = False
    reason: str = ""
    """Why the probe is inconclusive (the generator failed or ran out of time)."""


class _OutOfTime(Exception):
    """Raised inside the probe when its time budget is spent."""


_JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_NOT_PLAIN = frozenset(
    {
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "enum",
        "const",
        "patternProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "prefixItems",
        "contains",
        "uniqueItems",
    }
)


def _inline(schema: Any, root: Any, depth: int = 0) -> Any:
    """A copy of ``schema`` with local ``$ref`` replaced by their targets."""
    if depth > 24:
        raise ValueError("the schema is recursive (or its $ref chain is very deep)")
    if isinstance(schema, Mapping):
        schema, _ = _deref(schema, root)
        if not isinstance(schema, Mapping):
            return schema
        if "$ref" in schema:
            raise ValueError(f"cannot follow $ref {schema['$ref']!r} locally")
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ("$defs", "definitions", "enum", "const", "default", "examples"):
                out[key] = value
            else:
                out[key] = _inline(value, root, depth + 1)
        return out
    if isinstance(schema, list):
        return [_inline(item, root, depth + 1) for item in schema]
    return schema


def _probe_strategy(schema: Mapping[str, Any]) -> SearchStrategy[Any]:
    """hypothesis-jsonschema's ``from_schema`` for the whole instance, as intended.

    The hand-built object strategy below is kept for the hypothesis releases whose API
    change broke ``from_schema`` on objects (6.170.10 and later, which pyproject now
    excludes): it is used only when ``from_schema`` cannot even draw one value.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis_jsonschema import from_schema

    whole = from_schema(dict(schema))
    try:

        @settings(
            database=None, max_examples=1, deadline=None, suppress_health_check=list(HealthCheck)
        )
        @given(whole)
        def draw_one(_: Any) -> None:
            return None

        draw_one()
    except AttributeError:  # many(...).more() is gone from this hypothesis
        return _strategy(_inline(schema, schema))
    return whole


def _strategy(schema: Any) -> SearchStrategy[Any]:
    """Instances of a ref-free schema (a superset; the caller filters with a validator).

    hypothesis-jsonschema 0.23.1 cannot generate objects with current hypothesis
    (it calls ``many.more()``, which hypothesis removed), so plain objects and arrays
    are composed here and only the leaves go to ``from_schema``.
    """
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    if schema is True or schema == {}:
        return _any_json()
    if schema is False:
        return st.nothing()
    if not isinstance(schema, Mapping) or set(schema) & _NOT_PLAIN:
        return from_schema(schema)
    types = _types(schema)
    if types is None or len(types) != 1:
        options = sorted(types) if types is not None else _JSON_TYPES
        return st.one_of([_strategy({**schema, "type": t}) for t in options])
    (kind,) = types
    if kind == "object":
        return _object_strategy(schema)
    if kind == "array":
        low = schema.get("minItems", 0)
        low = low if isinstance(low, int) else 0
        high = schema.get("maxItems", low + 3)
        high = min(high if isinstance(high, int) else low + 3, low + 3)
        return st.lists(_strategy(schema.get("items", True)), min_size=low, max_size=high)
    return from_schema(dict(schema))


def _object_strategy(schema: Mapping[str, Any]) -> SearchStrategy[dict[str, Any]]:
    from hypothesis import strategies as st

    properties = schema.get("properties", {})
    properties = properties if isinstance(properties, Mapping) else {}
    required = {r for r in schema.get("required", []) if isinstance(r, str)}
    extra = schema.get("additionalProperties", True)
    must = {p: _strategy(properties.get(p, extra)) for p in sorted(required)}
    may = {p: _strategy(s) for p, s in properties.items() if p not in required}
    base = st.fixed_dictionaries(must, optional=may)
    if extra is False:
        return base
    names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
    extras = st.dictionaries(
        names.filter(lambda n: n not in properties), _strategy(extra), max_size=2
    )
    return st.tuples(extras, base).map(lambda pair: {**pair[0], **pair[1]})


def _any_json() -> SearchStrategy[Any]:
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=5,
    )


def probe_compatibility(
    old_schema: Mapping[str, Any],
    new_schema: Mapping[str, Any],
    *,
    direction: Direction,
    max_examples: int = 200,
    seed: int = 0,
    time_budget: float = 20.0,
    max_counterexamples: int = 3,
) -> ProbeResult:
    """Look for instances one schema produces and the other rejects.

    For ``input``, instances valid under the old schema are checked against the new
    one; for ``output``, instances valid under the new schema against the old one.
    Deterministic for a given ``seed``. Any failure of the generator (a schema
    hypothesis-jsonschema cannot handle, an unsatisfiable schema, running past
    ``time_budget`` seconds) makes the result inconclusive rather than raising.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as seeded
    from jsonschema import Draft202012Validator

    source, target = (old_schema, new_schema) if direction == "input" else (new_schema, old_schema)
    checker = Draft202012Validator.FORMAT_CHECKER
    checked = 0
    counterexamples: list[Any] = []
    # The probe is a second opinion: whatever goes wrong in the third-party generator
    # (InvalidArgument, Unsatisfiable, unresolvable $ref, the many.more() breakage)
    # makes it inconclusive instead of failing the diff.
    try:
        Draft202012Validator.check_schema(source)
        Draft202012Validator.check_schema(target)
        accepts = Draft202012Validator(source, format_checker=checker).is_valid
        rejects = Draft202012Validator(target, format_checker=checker).is_valid
        strategy = _probe_strategy(source).filter(accepts)
        stop_at = time.monotonic() + time_budget

        @seeded(seed)
        @settings(
            database=None,
            derandomize=False,
            max_examples=max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @given(strategy)
        def collect(instance: Any) -> None:
            nonlocal checked
            if time.monotonic() > stop_at:
                raise _OutOfTime
            checked += 1
            fresh = not any(_same(instance, seen) for seen in counterexamples)
            if not rejects(instance) and len(counterexamples) < max_counterexamples and fresh:
                counterexamples.append(instance)
            if len(counterexamples) >= max_counterexamples:
                raise _OutOfTime  # enough evidence: stop drawing

        collect()
    except _OutOfTime:
        if not counterexamples:
            reason = f"generation exceeded {time_budget:g} s after {checked} instances"
            return ProbeResult(direction, checked, (), inconclusive=True, reason=reason)
    except Exception as error:
        reason = (
            f"hypothesis-jsonschema could not generate instances: {type(error).__name__}: {error}"
        )
        return ProbeResult(direction, checked, tuple(counterexamples), True, reason.strip())
    return ProbeResult(direction, checked, tuple(counterexamples))
