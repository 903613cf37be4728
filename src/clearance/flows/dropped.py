"""Which schema violations use a constraint the model was never shown: ``dropped_constraint``.

Arguments are validated against the contract's schema as written. A provider that
speaks another protocol is sent a lowered schema (:mod:`clearance.providers.lowering`),
which may drop a keyword or weaken it. A violation is the model using that freedom when
a loss covers it (:func:`blame`) *and* the schema as sent accepts the value the
violation is about: an exclusive bound sent as an inclusive one explains the bound
itself, not a value past it. :func:`explain` says which of a call's violations those are;
the scorer reports them as ``dropped_constraint`` instead of ``schema_violation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clearance.providers.lowering import Loss, Lowered, lowered_for
from clearance.providers.types import Protocol

__all__ = ["blame", "explain", "schema_pointer"]

_SENT_AS: Mapping[str, tuple[str, ...]] = {
    "exclusiveMinimum": ("minimum",),
    "exclusiveMaximum": ("maximum",),
    "oneOf": ("anyOf",),
    "const": ("enum", "minimum", "maximum"),
    "enum": ("minimum", "maximum"),
}
"""Keyword -> the keywords lowering may send in its place (weakened)."""

_VALIDATORS: dict[int, tuple[Lowered, Any]] = {}


def schema_pointer(parts: Sequence[object]) -> str:
    """jsonschema's schema path (``absolute_schema_path``) as a JSON Pointer."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def explain(
    schema: Mapping[str, Any], arguments: Any, errors: Sequence[Any], protocol: Protocol
) -> list[Loss | None]:
    """For each jsonschema error of ``arguments`` against ``schema``, the loss of the
    lowering for ``protocol`` that let the model send it (``None``: the model broke a
    constraint it was shown)."""
    lowered = lowered_for(schema, protocol)
    losses = lowered.loosening
    if not losses:
        return [None] * len(errors)
    refused = {
        (tuple(error.absolute_path), str(error.validator))
        for error in _sent_validator(lowered).iter_errors(arguments)
    }
    found: list[Loss | None] = []
    for error in errors:
        loss = blame(error, losses)
        if loss is not None:
            path = tuple(error.absolute_path)
            kinds = (str(error.validator), *_SENT_AS.get(str(error.validator), ()))
            if any((path, kind) in refused for kind in kinds):
                loss = None  # the schema as sent refuses it too
        found.append(loss)
    return found


def blame(error: Any, losses: Sequence[Loss]) -> Loss | None:
    """The loss that covers a jsonschema ``ValidationError``, or ``None``.

    A violation is covered when a loss that loosens covers its schema path; a failed
    ``anyOf``/``oneOf`` is covered when one of its alternatives failed only on
    constraints lowering took away. ``oneOf`` sent as ``anyOf`` covers only a value that
    matches several alternatives.
    """
    pointer = schema_pointer(list(error.absolute_schema_path))
    no_match = error.validator == "oneOf" and bool(error.context)
    for loss in losses:
        if not loss.covers(pointer):
            continue
        if no_match and loss.keyword == "oneOf" and loss.action == "changed":
            continue  # anyOf refuses a value no alternative matches, as oneOf does
        return loss
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[object, list[Any]] = {}
        for sub in error.context:
            key = sub.relative_schema_path[0] if sub.relative_schema_path else None
            branches.setdefault(key, []).append(sub)
        for errors in branches.values():
            found = [blame(sub, losses) for sub in errors]
            if all(loss is not None for loss in found):
                return found[0]
    return None


def _sent_validator(lowered: Lowered) -> Any:
    """A validator of the schema as sent (kept while ``lowered`` is)."""
    found = _VALIDATORS.get(id(lowered))
    if found is not None and found[0] is lowered:
        return found[1]
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        lowered.as_json_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    if len(_VALIDATORS) >= 1024:
        _VALIDATORS.clear()
    _VALIDATORS[id(lowered)] = (lowered, validator)
    return validator
