"""The structural diff: two JSON Schemas walked side by side, each difference classified.

:func:`diff_schemas` walks two JSON Schema 2020-12 documents keyword by keyword and
returns one :class:`Change` per difference, marked breaking or not for the schema's
:data:`Direction`. It is the verdict on a new version; the other opinions live beside it:
:mod:`~clearance.contracts.probe` generates instances to confirm a change (a second
opinion), and :mod:`~clearance.contracts.bump` applies this walk to two versions of a
tool contract and checks the version number (``diff_contracts``, ``format_diff``).

Direction decides what "breaking" means. An ``input`` schema describes what the
model produces and the tool consumes: a change is breaking when the new schema
rejects arguments the old one accepted (narrowing) or changes their meaning. An
``output`` schema describes what the tool produces and the product consumes: a
change is breaking when the new schema allows values the old one did not
(widening); narrowing is safe.

Why this module is past 600 lines: it is one walk. :class:`_Walker` has one method per
keyword family (types, enums, bounds, strings, objects, arrays), all feeding one list of
changes and sharing one ``$ref`` bookkeeping, and the helpers above it serve only the
walk (the probe borrows the three that read a schema). Splitting it by keyword would put
one set of rules in several files.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from clearance.contracts.semver import Bump

if TYPE_CHECKING:
    # Imported from this module before the probe and the bump check had their own;
    # served lazily by __getattr__ below (they import this module).
    from clearance.contracts.bump import diff_contracts as diff_contracts
    from clearance.contracts.bump import format_diff as format_diff
    from clearance.contracts.probe import ProbeResult as ProbeResult
    from clearance.contracts.probe import probe_compatibility as probe_compatibility

__all__ = [
    "Change",
    "ChangeKind",
    "Direction",
    "diff_schemas",
]

Direction = Literal["input", "output"]
ChangeKind = Literal[
    "property_added_required",
    "property_added_optional",
    "property_removed",
    "property_renamed",
    "required_added",
    "required_removed",
    "type_narrowed",
    "type_widened",
    "type_changed",
    "enum_narrowed",
    "enum_widened",
    "const_changed",
    "bound_tightened",
    "bound_loosened",
    "pattern_changed",
    "pattern_added",
    "pattern_removed",
    "format_changed",
    "additional_properties_closed",
    "additional_properties_opened",
    "items_changed",
    "description_changed",
    "default_changed",
    "other",
]

# How a change moves the set of accepted instances. "safe" never breaks (annotations,
# defaults, the new-optional-property convention); "unknown" is a change the
# structural diff does not judge (it is reported, not breaking, and left to the probe).
_Polarity = Literal["narrows", "widens", "changes", "safe", "unknown"]


@dataclass(frozen=True, slots=True)
class Change:
    """One classified difference between two schemas (or two contract documents)."""

    pointer: str
    """JSON pointer of the changed place, in the new document where it exists."""
    kind: ChangeKind
    breaking: bool
    detail: str
    """A sentence a person understands: "property 'email' became required"."""

    @property
    def bump(self) -> Bump:
        """The smallest version bump this change alone calls for."""
        if self.breaking:
            return "major"
        return "patch" if self.kind == "description_changed" else "minor"


# --------------------------------------------------------------------------- helpers

_ANNOTATIONS = (
    "description",
    "title",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
)
_COUNT_BOUNDS = {
    "minLength": ("maxLength", "length"),
    "minItems": ("maxItems", "number of items"),
    "minProperties": ("maxProperties", "number of properties"),
}
_HANDLED = frozenset(
    {
        *_ANNOTATIONS,
        *_COUNT_BOUNDS,
        *(upper for upper, _ in _COUNT_BOUNDS.values()),
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "exclusiveMaximum",
        "pattern",
        "format",
        "default",
        "$ref",
        "$defs",
        "definitions",
    }
)


def _canonical(value: Any) -> Any:
    """A hashable form in which equal JSON values compare equal (1 == 1.0, True != 1)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return ("number", value)
    if isinstance(value, Mapping):
        return ("object", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canonical(v) for v in value))
    return ("other", repr(value))


def _same(a: Any, b: Any) -> bool:
    return bool(_canonical(a) == _canonical(b))


def _show(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _without_annotations(schema: Any) -> Any:
    if isinstance(schema, Mapping):
        return {
            k: _without_annotations(v) if k not in ("properties", "$defs") else v
            for k, v in schema.items()
            if k not in _ANNOTATIONS
        }
    return schema


def _resolve_pointer(root: Any, ref: str) -> Any:
    """The value at local reference ``#/a/b`` in ``root``; raises LookupError."""
    node = root
    for raw in ref[2:].split("/") if ref != "#" else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise LookupError(ref)
    return node


def _deref(schema: Any, root: Any) -> tuple[Any, str | None]:
    """Follow simple local ``$ref`` chains; sibling keywords win over the target's."""
    ref: str | None = None
    for _ in range(32):
        if not (isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str)):
            break
        target_ref = schema["$ref"]
        if not (target_ref == "#" or target_ref.startswith("#/")):
            break
        try:
            target = _resolve_pointer(root, target_ref)
        except LookupError:
            break
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if isinstance(target, bool):
            if siblings:
                break
            return target, target_ref
        schema = {**target, **siblings}
        ref = target_ref
    return schema, ref


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The declared types, or None when any type is allowed."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    return None


def _types_within(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether every value of types ``a`` is also of types ``b``."""
    if b is None:
        return True
    if a is None:
        return False
    return all(t in b or (t == "integer" and "number" in b) for t in a)


def _show_types(types: frozenset[str] | None) -> str:
    return "any type" if types is None else " or ".join(sorted(types)) or "no type"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric_bound(schema: Mapping[str, Any], upper: bool) -> tuple[float, bool, str] | None:
    """The tightest numeric bound: (value, exclusive, keyword) or None."""
    inclusive, exclusive = (
        ("maximum", "exclusiveMaximum") if upper else ("minimum", "exclusiveMinimum")
    )
    found: list[tuple[float, bool, str]] = []
    if _is_number(schema.get(inclusive)):
        found.append((float(schema[inclusive]), False, inclusive))
    if _is_number(schema.get(exclusive)):
        found.append((float(schema[exclusive]), True, exclusive))
    if not found:
        return None
    return max(found, key=lambda b: _tightness(b, upper))


def _tightness(bound: tuple[float, bool, str], upper: bool) -> tuple[float, int]:
    """Sort key: a larger key is a tighter bound."""
    value, exclusive, _ = bound
    return (-value if upper else value, 1 if exclusive else 0)


def _show_bound(bound: tuple[float, bool, str] | None, upper: bool) -> str:
    if bound is None:
        return "unbounded"
    value, exclusive, _ = bound
    symbol = ("<" if exclusive else "≤") if upper else (">" if exclusive else "≥")
    shown = int(value) if value.is_integer() else value
    return f"{symbol} {shown}"


def _extras(schema: Mapping[str, Any]) -> Literal["open", "closed", "schema"]:
    extra = schema.get("additionalProperties", True)
    if extra is True or (isinstance(extra, Mapping) and not extra):
        return "open"
    if extra is False:
        return "closed"
    return "schema"


def _breaks(polarity: _Polarity, direction: Direction) -> bool:
    if polarity == "changes":
        return True
    if polarity == "narrows":
        return direction == "input"
    if polarity == "widens":
        return direction == "output"
    return False


# --------------------------------------------------------------------------- structural


class _Walker:
    """Walks two schemas side by side and collects changes."""

    def __init__(self, old_root: Any, new_root: Any, direction: Direction) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.direction = direction
        self.changes: list[Change] = []
        self._seen: set[tuple[str | None, str | None]] = set()

    def add(self, pointer: str, kind: ChangeKind, polarity: _Polarity, detail: str) -> None:
        self.changes.append(Change(pointer, kind, _breaks(polarity, self.direction), detail))

    @staticmethod
    def label(where: str) -> str:
        return f"'{where}'" if where else "the top-level value"

    def node(self, old: Any, new: Any, pointer: str, where: str) -> None:
        old, old_ref = _deref(old, self.old_root)
        new, new_ref = _deref(new, self.new_root)
        if old_ref is not None or new_ref is not None:
            if (old_ref, new_ref) in self._seen:
                return
            self._seen.add((old_ref, new_ref))
            if new_ref is not None:
                pointer = new_ref[1:]
        if _same(old, new):
            return
        if isinstance(old, bool) or isinstance(new, bool):
            if new is False:
                detail = f"{self.label(where)} no longer accepts any value"
                self.add(pointer, "other", "narrows", detail)
                return
            if old is False:
                self.add(pointer, "other", "widens", f"{self.label(where)} now accepts values")
                return
            old = {} if old is True else old
            new = {} if new is True else new
        if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
            self.add(pointer, "other", "unknown", f"{self.label(where)} is not a schema object")
            return
        self.annotations(old, new, pointer, where)
        self.types(old, new, pointer, where)
        self.values(old, new, pointer, where)
        self.bounds(old, new, pointer, where)
        self.strings(old, new, pointer, where)
        self.default(old, new, pointer, where)
        self.objects(old, new, pointer, where)
        self.arrays(old, new, pointer, where)
        self.others(old, new, pointer, where)

    def annotations(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        for key in _ANNOTATIONS:
            if not _same(old.get(key), new.get(key)):
                verb = "added" if key not in old else "removed" if key not in new else "changed"
                detail = f"{key} of {self.label(where)} {verb}"
                self.add(f"{pointer}/{_escape(key)}", "description_changed", "safe", detail)

    def types(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        before, after = _types(old), _types(new)
        narrower, wider = _types_within(after, before), _types_within(before, after)
        if narrower and wider:
            return
        kind: ChangeKind
        polarity: _Polarity
        verb: str
        if narrower:
            kind, polarity, verb = "type_narrowed", "narrows", "narrowed"
        elif wider:
            kind, polarity, verb = "type_widened", "widens", "widened"
        else:
            kind, polarity, verb = "type_changed", "changes", "changed"
        detail = (
            f"type of {self.label(where)} {verb} from {_show_types(before)} to {_show_types(after)}"
        )
        self.add(f"{pointer}/type", kind, polarity, detail)

    def values(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        def allowed(schema: Mapping[str, Any]) -> list[Any] | None:
            if "const" in schema:
                return [schema["const"]]
            enum = schema.get("enum")
            return list(enum) if isinstance(enum, list) else None

        before, after = allowed(old), allowed(new)
        if before is None and after is None:
            return
        label = self.label(where)
        if "enum" not in old and "enum" not in new:  # const on one side or both
            if before is not None and after is not None:
                if not _same(before[0], after[0]):
                    detail = (
                        f"const of {label} changed from {_show(before[0])} to {_show(after[0])}"
                    )
                    self.add(f"{pointer}/const", "const_changed", "changes", detail)
            elif after is not None:
                detail = f"{label} is now fixed to {_show(after[0])}"
                self.add(f"{pointer}/const", "const_changed", "narrows", detail)
            else:
                detail = f"{label} is no longer fixed to {_show(before[0] if before else None)}"
                self.add(f"{pointer}/const", "const_changed", "widens", detail)
            return
        keyword = "enum" if "enum" in new else "const" if "const" in new else "enum"
        at = f"{pointer}/{keyword}"
        if before is None:
            detail = f"{label} is now restricted to {_show(after)}"
            self.add(at, "enum_narrowed", "narrows", detail)
            return
        if after is None:
            self.add(at, "enum_widened", "widens", f"{label} is no longer restricted to a list")
            return
        old_keys = {_canonical(v) for v in before}
        new_keys = {_canonical(v) for v in after}
        lost = [v for v in before if _canonical(v) not in new_keys]
        gained = [v for v in after if _canonical(v) not in old_keys]
        if lost:
            detail = f"{label} no longer accepts {', '.join(_show(v) for v in lost)}"
            self.add(at, "enum_narrowed", "narrows", detail)
        if gained:
            detail = f"{label} now also accepts {', '.join(_show(v) for v in gained)}"
            self.add(at, "enum_widened", "widens", detail)

    def bounds(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        label = self.label(where)
        for upper in (False, True):
            before, after = _numeric_bound(old, upper), _numeric_bound(new, upper)
            if before is None and after is None:
                continue
            if before is not None and after is not None:
                key_before, key_after = _tightness(before, upper), _tightness(after, upper)
                if key_before == key_after:
                    continue
                tighter = key_after > key_before
            else:
                tighter = before is None
            keyword = (after or before or (0.0, False, ""))[2]
            side = "upper" if upper else "lower"
            detail = (
                f"{side} bound of {label} went from {_show_bound(before, upper)}"
                f" to {_show_bound(after, upper)}"
            )
            self._bound(f"{pointer}/{keyword}", tighter, detail)
        for lower_key, (upper_key, what) in _COUNT_BOUNDS.items():
            for key, is_upper in ((lower_key, False), (upper_key, True)):
                a, b = old.get(key), new.get(key)
                a = a if _is_number(a) else (None if is_upper else 0)
                b = b if _is_number(b) else (None if is_upper else 0)
                if a == b:
                    continue
                if is_upper:
                    tighter = a is None or (b is not None and b < a)
                else:
                    tighter = bool(b is not None and a is not None and b > a)
                shown_a = "unbounded" if a is None else a
                shown_b = "unbounded" if b is None else b
                detail = f"{key} of {label} ({what}) went from {shown_a} to {shown_b}"
                self._bound(f"{pointer}/{key}", tighter, detail)

    def _bound(self, pointer: str, tighter: bool, detail: str) -> None:
        if tighter:
            self.add(pointer, "bound_tightened", "narrows", detail)
        else:
            self.add(pointer, "bound_loosened", "widens", detail)

    def strings(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        label = self.label(where)
        for key in ("pattern", "format"):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            at = f"{pointer}/{key}"
            kind: ChangeKind
            if a is None:
                kind = "pattern_added" if key == "pattern" else "format_changed"
                self.add(at, kind, "narrows", f"{label} must now match {key} {_show(b)}")
            elif b is None:
                kind = "pattern_removed" if key == "pattern" else "format_changed"
                self.add(at, kind, "widens", f"{label} no longer has {key} {_show(a)}")
            else:
                kind = "pattern_changed" if key == "pattern" else "format_changed"
                detail = f"{key} of {label} changed from {_show(a)} to {_show(b)}"
                self.add(at, kind, "changes", detail)

    def default(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        if ("default" in old) == ("default" in new) and _same(
            old.get("default"), new.get("default")
        ):
            return
        label = self.label(where)
        if "default" not in old:
            detail = f"{label} gained the default {_show(new['default'])}"
        elif "default" not in new:
            detail = f"{label} lost its default {_show(old['default'])}"
        else:
            detail = (
                f"default of {label} changed from {_show(old['default'])}"
                f" to {_show(new['default'])}; callers that omit it get a different value"
            )
        self.add(f"{pointer}/default", "default_changed", "safe", detail)

    def objects(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        old_props = old.get("properties") if isinstance(old.get("properties"), Mapping) else {}
        new_props = new.get("properties") if isinstance(new.get("properties"), Mapping) else {}
        assert isinstance(old_props, Mapping)
        assert isinstance(new_props, Mapping)
        old_req = {r for r in old.get("required", []) if isinstance(r, str)}
        new_req = {r for r in new.get("required", []) if isinstance(r, str)}
        old_extras, new_extras = _extras(old), _extras(new)

        def name(prop: str) -> str:
            return f"{where}.{prop}" if where else prop

        def at(prop: str) -> str:
            return f"{pointer}/properties/{_escape(prop)}"

        removed = [p for p in old_props if p not in new_props]
        added = [p for p in new_props if p not in old_props]
        renamed = _pair_renames(removed, added, old_props, new_props)
        for source, target in renamed:
            detail = f"property '{name(source)}' was renamed to '{name(target)}'"
            self.add(at(target), "property_renamed", "changes", detail)
            self.node(old_props[source], new_props[target], at(target), name(target))
        sources = {s for s, _ in renamed}
        targets = {t for _, t in renamed}

        for prop in added:
            if prop in targets:
                continue
            required = prop in new_req
            kind: ChangeKind = "property_added_required" if required else "property_added_optional"
            polarity: _Polarity
            if old_extras == "open":
                # The old schema accepted any value under this name; by convention a
                # new optional property is widening (the model never sent it).
                polarity = "narrows" if required else "safe"
            else:  # the old schema rejected (or constrained) this name
                polarity = "changes" if required else "widens"
            verb = "was added as required" if required else "was added as optional"
            self.add(at(prop), kind, polarity, f"property '{name(prop)}' {verb}")

        for prop in removed:
            if prop in sources:
                continue
            was_required = prop in old_req
            if new_extras == "open":
                polarity = "widens"
                note = "it is still accepted as an extra property, but no longer described"
            elif new_extras == "closed":
                polarity = "changes" if was_required else "narrows"
                note = "additional properties are not allowed, so it is now rejected"
            else:
                polarity = "changes"
                note = "its value is now checked against additionalProperties"
            detail = f"property '{name(prop)}' was removed; {note}"
            self.add(at(prop), "property_removed", polarity, detail)

        for prop in sorted(new_req - old_req):
            if prop not in targets and (prop in old_props or prop not in new_props):
                detail = f"property '{name(prop)}' became required"
                self.add(at(prop), "required_added", "narrows", detail)
        for prop in sorted(old_req - new_req):
            if prop not in sources and (prop in new_props or prop not in old_props):
                detail = f"property '{name(prop)}' is no longer required"
                self.add(at(prop), "required_removed", "widens", detail)

        for prop in new_props:
            if prop in old_props:
                self.node(old_props[prop], new_props[prop], at(prop), name(prop))

        extra_at = f"{pointer}/additionalProperties"
        label = self.label(where)
        if old_extras == "schema" and new_extras == "schema":
            self.node(old["additionalProperties"], new["additionalProperties"], extra_at, name("*"))
        elif old_extras != new_extras:
            if (old_extras, new_extras) in (
                ("open", "closed"),
                ("open", "schema"),
                ("schema", "closed"),
            ):
                how = "are no longer allowed" if new_extras == "closed" else "are now constrained"
                detail = f"additional properties of {label} {how}"
                self.add(extra_at, "additional_properties_closed", "narrows", detail)
            else:
                how = (
                    "are now allowed" if new_extras == "open" else "are now allowed under a schema"
                )
                detail = f"additional properties of {label} {how}"
                self.add(extra_at, "additional_properties_opened", "widens", detail)

    def arrays(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        label = self.label(where)
        before, after = old.get("items"), new.get("items")
        if before is not None and after is not None:
            self.node(before, after, f"{pointer}/items", f"{where}[]")
        elif before is not None or after is not None:
            trivial = (after if after is not None else before) in (True, {})
            if not trivial:
                narrows = after is not None
                how = "are now constrained" if narrows else "are no longer constrained"
                detail = f"items of {label} {how}"
                polarity: _Polarity = "narrows" if narrows else "widens"
                self.add(f"{pointer}/items", "items_changed", polarity, detail)
        old_prefix = old.get("prefixItems") if isinstance(old.get("prefixItems"), list) else []
        new_prefix = new.get("prefixItems") if isinstance(new.get("prefixItems"), list) else []
        assert isinstance(old_prefix, list)
        assert isinstance(new_prefix, list)
        for index, (a, b) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.node(a, b, f"{pointer}/prefixItems/{index}", f"{where}[{index}]")
        if len(old_prefix) != len(new_prefix):
            narrows = len(new_prefix) > len(old_prefix)
            detail = (
                f"prefixItems of {label} went from {len(old_prefix)} to {len(new_prefix)} positions"
            )
            polarity = "narrows" if narrows else "widens"
            self.add(f"{pointer}/prefixItems", "items_changed", polarity, detail)

    def others(
        self, old: Mapping[str, Any], new: Mapping[str, Any], pointer: str, where: str
    ) -> None:
        for key in sorted((set(old) | set(new)) - _HANDLED):
            if key in old and key in new and _same(old[key], new[key]):
                continue
            verb = "added" if key not in old else "removed" if key not in new else "changed"
            detail = (
                f"'{key}' of {self.label(where)} {verb}; the structural diff does not judge"
                " this keyword (see the probe)"
            )
            self.add(f"{pointer}/{_escape(key)}", "other", "unknown", detail)


def _pair_renames(
    removed: list[str],
    added: list[str],
    old_props: Mapping[str, Any],
    new_props: Mapping[str, Any],
) -> list[tuple[str, str]]:
    """Pairs (old name, new name): first identical sub-schemas, then equal descriptions."""
    pairs: list[tuple[str, str]] = []
    free = list(added)

    def description(schema: Any) -> Any:
        return schema.get("description") if isinstance(schema, Mapping) else None

    matchers: list[Callable[[Any, Any], bool]] = [
        lambda a, b: _same(_without_annotations(a), _without_annotations(b)),
        lambda a, b: description(a) is not None and _same(description(a), description(b)),
    ]
    unpaired = list(removed)
    for matches in matchers:
        for source in list(unpaired):
            target = next((t for t in free if matches(old_props[source], new_props[t])), None)
            if target is not None:
                pairs.append((source, target))
                free.remove(target)
                unpaired.remove(source)
    return pairs


def diff_schemas(
    old: Mapping[str, Any], new: Mapping[str, Any], *, direction: Direction
) -> list[Change]:
    """Classify every structural difference between two JSON Schema 2020-12 documents.

    Args:
        old: the schema of the older version.
        new: the schema of the newer version.
        direction: ``"input"`` (model → tool: narrowing breaks) or ``"output"``
            (tool → product: widening breaks).

    Returns:
        The changes in walk order, pointers relative to the schema root. Local
        ``$ref`` (``#/...``) are followed; a change inside a definition is reported
        once, at the definition's pointer.
    """
    walker = _Walker(old, new, direction)
    walker.node(old, new, "", "")
    return walker.changes


# --------------------------------------------------------------------------- moved names

_MOVED = {
    "ProbeResult": "clearance.contracts.probe",
    "probe_compatibility": "clearance.contracts.probe",
    "diff_contracts": "clearance.contracts.bump",
    "format_diff": "clearance.contracts.bump",
}


def __getattr__(name: str) -> Any:
    """The names that moved to :mod:`.probe` and :mod:`.bump`, for older imports."""
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
