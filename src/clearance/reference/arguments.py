"""Filling a tool's arguments from its JSON Schema and the user's words.

For each property the simulator looks, in order, for: a ``key: value`` or
``key=value`` naming the property (also ``key "quoted"``, ``key is X``); a
value of the property's kind found by its format or name (an email for
``format: email`` or a name with "email", a URL, an ISO date); an enum value
mentioned in the text; a number next to a word of the property's name
(``3 guests``); a flag's name after a negation (``without images``). These are
*specific* evidence and fill optional properties too. A required property
may also take *generic* evidence: the next unused quoted string, number or
capitalised name after a preposition (``in Paris``), or the whole text for a
free-text property (``query``, ``message``). Failing all that, the schema's
``default``, first ``enum`` value, ``examples[0]``, or a placeholder of the
right type. Optional properties appear only when the text names them.

The result is made to validate: bounds are clamped, lengths padded or cut,
enums respected, local ``$ref`` followed, the first non-null ``anyOf`` /
``oneOf`` branch taken.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from clearance.reference.evidence import Evidence, Span, parse_flag, variants_pattern
from clearance.reference.text import name_words, stem, wordset

__all__ = ["fill_arguments", "placeholder"]

MISSING: Any = object()
"""Nothing found (a sentinel; ``None`` is a JSON value)."""

FREE_TEXT_NAMES = wordset(
    "query q search text prompt question message content body input keywords "
    "description note notes comment summary instructions request"
)
_GENERIC_NAME_WORDS = wordset(
    "is has include enable use should allow with want do num number count max min "
    "total n of the get set"
)
_DATE_WORDS = wordset("date day deadline due birthday when")
_URL_WORDS = wordset("url uri link website homepage endpoint href")
_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)
_QUOTED_VALUE = r"\"(?P<dq>[^\"\n]*)\"|“(?P<cq>[^”\n]*)”|'(?P<sq>[^'\n]*)'"
_VALUE = rf"(?:{_QUOTED_VALUE}|(?P<raw>[^,;\n]+))"
_LIST_VALUE = rf"(?:{_QUOTED_VALUE}|(?P<raw>[^;\n]+))"
_SEPARATOR = r"(?:(?P<sep>[:=]|\bis\b|\bnamed\b|\bcalled\b|\bof\b|\bto\b|\bas\b)\s*)?"


def fill_arguments(
    parameters: Mapping[str, Any] | None, text: str, fallback: str | None = None
) -> dict[str, Any]:
    """Arguments for a tool whose ``parameters`` schema is given, taken from ``text``.

    Args:
        parameters: the tool's JSON Schema (an object schema; ``None`` means no arguments).
        text: where to look first (the clause of the message that asks for this tool).
        fallback: where else to look for a *required* property (the whole message).
    """
    root = dict(parameters or {"type": "object", "properties": {}})
    evidence = [Evidence(text)]
    if fallback is not None and fallback != text:
        evidence.append(Evidence(fallback))
    filler = _Filler(root, evidence)
    value, _ = filler.object(root, required=True)
    return value if isinstance(value, dict) else {}


def placeholder(schema: Mapping[str, Any], index: int = 0) -> Any:
    """A type-correct stand-in: ``default``, first ``enum``, ``examples[0]``, or by type."""
    if index == 0:
        if "default" in schema:
            return schema["default"]
        if schema.get("enum"):
            return schema["enum"][0]
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
    if "const" in schema:
        return schema["const"]
    kind = _kind(schema)
    if kind == "string":
        by_format = {
            "email": f"user{index or ''}@example.com",
            "uri": f"https://example.com/{index or ''}",
            "url": f"https://example.com/{index or ''}",
            "date": f"2024-01-{index + 1:02d}",
            "date-time": f"2024-01-{index + 1:02d}T00:00:00Z",
            "time": "00:00:00",
            "uuid": f"00000000-0000-4000-8000-{index:012d}",
        }
        return by_format.get(str(schema.get("format")), "example" + (f" {index}" if index else ""))
    if kind in ("integer", "number"):
        return index + 1
    if kind == "boolean":
        return index % 2 == 1
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


def _kind(schema: Mapping[str, Any]) -> str:
    """The JSON type to produce (the first non-null one, or inferred from keywords)."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if schema.get("enum"):
        first = schema["enum"][0]
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
            type(first), "string"
        )
    return "string"


class _Filler:
    """Walks one schema, taking values from the evidence."""

    def __init__(self, root: dict[str, Any], evidence: list[Evidence]) -> None:
        self.root = root
        self.evidence = evidence

    # -- schema ----------------------------------------------------------------------------

    def resolve(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        """Follow a local ``$ref``; take the first non-null ``anyOf``/``oneOf``; merge ``allOf``."""
        if not isinstance(schema, Mapping) or depth > 16:
            return {}
        result = dict(schema)
        ref = result.pop("$ref", None)
        if isinstance(ref, str) and ref.startswith("#"):
            target: Any = self.root
            for part in ref.lstrip("#").strip("/").split("/"):
                if not part:
                    continue
                key = part.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, Mapping) else None
            result = {**self.resolve(target, depth + 1), **result}
        for key in ("anyOf", "oneOf"):
            options = result.pop(key, None)
            if isinstance(options, list) and options:
                resolved = [self.resolve(o, depth + 1) for o in options]
                chosen = next((o for o in resolved if _kind(o) != "null"), resolved[0])
                result = {**result, **chosen}
        parts = result.pop("allOf", None)
        if isinstance(parts, list):
            for piece in (self.resolve(p, depth + 1) for p in parts):
                properties = {**result.get("properties", {}), **piece.get("properties", {})}
                required = [*result.get("required", []), *piece.get("required", [])]
                result = {**result, **piece, "properties": properties, "required": required}
        return result

    # -- values ----------------------------------------------------------------------------

    def value(self, schema: Any, name: str, *, required: bool) -> tuple[Any, bool]:
        """(value or MISSING, whether it came from the text)."""
        schema = self.resolve(schema)
        if "const" in schema:
            return (schema["const"], False) if required else (MISSING, False)
        kind = _kind(schema)
        if kind == "object":
            return self.object(schema, required=required)
        for position, evidence in enumerate(self.evidence):
            if position > 0 and not required:
                break
            found = self._extract(schema, kind, name, evidence, generic=required)
            if found is not MISSING:
                return self.conform(found, schema, kind), True
        if not required:
            return MISSING, False
        return self.conform(placeholder(schema), schema, kind), False

    def conform(self, value: Any, schema: dict[str, Any], kind: str) -> Any:
        """The value adjusted to the schema's constraints (so that it validates)."""
        if kind != "array" or not isinstance(value, list) or schema.get("enum"):
            return _conform(value, schema, kind)
        items = self.resolve(schema.get("items", {}))

        def make(index: int) -> Any:
            if items.get("enum"):
                return items["enum"][index % len(items["enum"])]
            if _kind(items) == "object":
                return self.object(items, required=True)[0]
            return self.conform(placeholder(items, index), items, _kind(items))

        return _conform_array([self.conform(v, items, _kind(items)) for v in value], schema, make)

    def object(self, schema: Mapping[str, Any], *, required: bool) -> tuple[Any, bool]:
        """An object: required properties first (they take evidence first), in schema order."""
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        needed = [str(n) for n in schema.get("required", []) if isinstance(n, str)]
        values: dict[str, Any] = {}
        from_text = False
        for name in [*needed, *(n for n in properties if n not in needed)]:
            value, found = self.value(properties.get(name, {}), name, required=name in needed)
            if value is not MISSING:
                values[name] = value
                from_text = from_text or found
        if not required and not from_text:
            return MISSING, False
        order = [*properties, *(n for n in needed if n not in properties)]
        return {n: values[n] for n in order if n in values}, from_text

    def _extract(
        self, schema: dict[str, Any], kind: str, name: str, evidence: Evidence, *, generic: bool
    ) -> Any:
        if schema.get("enum"):
            return self._enum(schema, name, evidence)
        if kind == "string":
            return self._string(schema, name, evidence, generic=generic)
        if kind in ("integer", "number"):
            return self._number(kind, name, evidence, generic=generic)
        if kind == "boolean":
            return self._flag(name, evidence, generic=generic)
        if kind == "array":
            return self._array(schema, name, evidence, generic=generic)
        if kind == "null":
            return None
        return MISSING

    # -- by kind ---------------------------------------------------------------------------

    def _bound(
        self, name: str, evidence: Evidence, *, as_list: bool = False
    ) -> list[tuple[str, bool, Span]]:
        """Values written next to the property's name: (value, explicit, span)."""
        if not name:
            return []
        found = []
        for match in _bound_pattern(name, as_list).finditer(evidence.text):
            sep = match.group("sep")
            group = next((g for g in ("dq", "cq", "sq") if match.group(g) is not None), "raw")
            raw = match.group(group)
            start = match.start(group)
            explicit = group != "raw" or sep in (":", "=")
            if group == "raw":
                if sep in (":", "="):
                    if not as_list:
                        raw = re.split(r"\s+and\s+", raw)[0]
                    raw = re.split(r"[.!?](?:\s|$)", raw)[0].strip()
                else:
                    raw = (raw.split() or [""])[0].rstrip(".,!?")
                    explicit = sep in ("is", "named", "called")
            if raw and evidence.is_free(start, start + len(raw)):
                found.append((raw, explicit, Span(start, start + len(raw), raw)))
        return found

    def _enum(self, schema: dict[str, Any], name: str, evidence: Evidence) -> Any:
        options = list(schema["enum"])
        for raw, _, span in self._bound(name, evidence):
            match = _enum_match(raw, options)
            if match is not MISSING:
                evidence.take(span)
                return match
        best: tuple[int, Any, Span] | None = None
        for option in options:
            if option is None or isinstance(option, dict | list):
                continue
            text = str(option).lower()
            for match in _mention_pattern(text).finditer(evidence.text):
                if evidence.is_free(match.start(), match.end()):
                    if best is None or match.start() < best[0]:
                        best = (match.start(), option, Span(match.start(), match.end(), text))
                    break
        if best is None:
            return MISSING
        evidence.take(best[2])
        return best[1]

    def _string(
        self, schema: dict[str, Any], name: str, evidence: Evidence, *, generic: bool
    ) -> Any:
        hint = _string_hint(name, schema.get("format"))
        for raw, explicit, span in self._bound(name, evidence):
            if hint is not None:
                typed = _typed(raw, hint, schema.get("format"))
                if typed is not None:
                    evidence.take(span)
                    return typed
            elif explicit or raw[:1].isupper() or raw[:1].isdigit():
                evidence.take(span)
                return raw
        if hint is not None:
            pool = {"email": evidence.emails, "uri": evidence.urls, "date": evidence.dates}[hint]
            for span in evidence.free(pool):
                typed = _typed(span.value, hint, schema.get("format"))
                if typed is not None:
                    evidence.take(span)
                    return typed
            return MISSING
        if not generic:
            return MISSING
        quoted = evidence.free(evidence.quoted)
        if quoted:
            return evidence.take(quoted[0])
        if name.lower() in FREE_TEXT_NAMES or FREE_TEXT_NAMES & set(name_words(name)):
            return evidence.text.strip()[:500] or MISSING
        for pool in (evidence.proper, evidence.capitalized):
            names = evidence.free(pool)
            if names:
                return evidence.take(names[0])
        return MISSING

    def _number(self, kind: str, name: str, evidence: Evidence, *, generic: bool) -> Any:
        for raw, _, span in self._bound(name, evidence):
            number = _parse_number(raw, kind)
            if number is not None:
                evidence.take(span)
                return number
        wanted = {stem(w) for w in name_words(name) if w not in _GENERIC_NAME_WORDS}
        spans = evidence.free(evidence.numbers)
        # "3 guests" before "guests: 3"-less "limit to 5": the word after a number binds tighter.
        for after in (True, False):
            for span in spans:
                number = _parse_number(span.value, kind)
                near = (
                    evidence.words_after(span.end) if after else evidence.words_before(span.start)
                )
                if number is not None and wanted & set(near):
                    evidence.take(span)
                    return number
        if generic:
            for span in spans:
                number = _parse_number(span.value, kind)
                if number is not None:
                    evidence.take(span)
                    return number
        return MISSING

    def _flag(self, name: str, evidence: Evidence, *, generic: bool) -> Any:
        for raw, _, span in self._bound(name, evidence):
            flag = parse_flag(raw)
            if flag is not None:
                evidence.take(span)
                return flag
        wanted = {stem(w) for w in name_words(name) if w not in _GENERIC_NAME_WORDS}
        mentioned = evidence.mention(wanted) if wanted else None
        if mentioned is not None:
            return mentioned
        if generic:
            answer = evidence.yes_no()
            if answer is not None:
                return answer
        return MISSING

    def _array(
        self, schema: dict[str, Any], name: str, evidence: Evidence, *, generic: bool
    ) -> Any:
        items = self.resolve(schema.get("items", {}))
        kind = _kind(items)
        for raw, _, span in self._bound(name, evidence, as_list=True):
            parts = [p.strip().strip("\"'") for p in re.split(r",|;|\band\b", raw)]
            values = [_scalar(p, items, kind) for p in parts if p]
            if values and all(v is not MISSING for v in values):
                evidence.take(span)
                return values
        if items.get("enum"):
            found = []
            while (value := self._enum(items, "", evidence)) is not MISSING:
                found.append(value)
            return found or MISSING
        if kind == "string":
            hint = _string_hint(name, items.get("format"))
            if hint is not None:
                pool = {"email": evidence.emails, "uri": evidence.urls, "date": evidence.dates}
                spans = evidence.free(pool[hint])
                values = [_typed(s.value, hint, items.get("format")) for s in spans]
                for span in spans:
                    evidence.take(span)
                return [v for v in values if v is not None] or MISSING
        if not generic:
            return MISSING
        if kind == "string":
            spans = evidence.free(evidence.quoted)
        elif kind in ("integer", "number"):
            spans = [
                s
                for s in evidence.free(evidence.numbers)
                if _parse_number(s.value, kind) is not None
            ]
        elif kind == "object":
            value, _ = self.object(items, required=True)
            return [value]
        else:
            return MISSING
        for span in spans:
            evidence.take(span)
        values = [_scalar(s.value, items, kind) for s in spans]
        return values or MISSING


@functools.lru_cache(maxsize=4_096)
def _bound_pattern(name: str, as_list: bool) -> re.Pattern[str]:
    """``name: value``, ``name=value``, ``name "value"``, ``name is value`` (any case)."""
    value = _LIST_VALUE if as_list else _VALUE
    pattern = rf"(?<![\w-])(?:{variants_pattern(name)})(?![\w-])\s*{_SEPARATOR}{value}"
    return re.compile(pattern, re.IGNORECASE)


@functools.lru_cache(maxsize=4_096)
def _mention_pattern(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{variants_pattern(text)})(?![\w-])", re.IGNORECASE)


# -- coercion ------------------------------------------------------------------------------


def _string_hint(name: str, fmt: Any) -> str | None:
    """``email``, ``uri`` or ``date`` when the format or the property's name says so."""
    if fmt == "email" or fmt == "idn-email":
        return "email"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return "uri"
    if fmt in ("date", "date-time"):
        return "date"
    if fmt is not None:
        return None
    parts = set(name_words(name))
    if "email" in parts or "emails" in parts:
        return "email"
    if parts & _URL_WORDS:
        return "uri"
    if parts & _DATE_WORDS or name.endswith(("_at", "_on")):
        return "date"
    return None


def _typed(raw: str, hint: str, fmt: Any) -> str | None:
    """A value of the hinted kind, written the way the format wants, or None."""
    if hint == "email":
        match = re.fullmatch(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", raw.strip())
        return match.group() if match else None
    if hint == "uri":
        return raw.strip() if re.fullmatch(r"https?://\S+", raw.strip()) else None
    match = _DATE.match(raw.strip())
    if match is None:
        return None
    day, clock, seconds, zone = match.groups()
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return None
    if fmt == "date":
        return day
    if fmt == "date-time":
        zone = zone if zone == "Z" or (zone and ":" in zone) else "Z"
        return f"{day}T{clock or '00:00'}{seconds or ':00'}{zone}"
    return match.group()


def _parse_number(raw: str, kind: str) -> int | float | None:
    try:
        number = float(raw.replace(",", "").strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if number.is_integer():
        return int(number)
    return None if kind == "integer" else number


def _enum_match(raw: str, options: list[Any]) -> Any:
    wanted = raw.strip().strip("\"'").lower().replace("-", " ").replace("_", " ")
    for option in options:
        if str(option).lower().replace("-", " ").replace("_", " ") == wanted:
            return option
    return MISSING


def _scalar(raw: str, schema: Mapping[str, Any], kind: str) -> Any:
    if schema.get("enum"):
        return _enum_match(raw, list(schema["enum"]))
    if kind in ("integer", "number"):
        number = _parse_number(raw, kind)
        return MISSING if number is None else number
    if kind == "boolean":
        flag = parse_flag(raw)
        return MISSING if flag is None else flag
    if kind == "string":
        hint = _string_hint("", schema.get("format"))
        if hint is None:
            return raw
        typed = _typed(raw, hint, schema.get("format"))
        return MISSING if typed is None else typed
    return MISSING


def _conform(value: Any, schema: Mapping[str, Any], kind: str) -> Any:
    """A scalar adjusted to the schema's constraints."""
    options = schema.get("enum")
    if options:
        return value if value in options else options[0]
    if kind == "string" and isinstance(value, str):
        return _conform_string(value, schema)
    if kind in ("integer", "number") and _is_number(value):
        return _conform_number(value, schema, kind)
    return value


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _conform_string(value: str, schema: Mapping[str, Any]) -> str:
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, value):
        candidates = [schema.get("default"), *(schema.get("examples") or [])]
        value = next((c for c in candidates if isinstance(c, str) and re.search(pattern, c)), value)
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if isinstance(maximum, int) and len(value) > maximum:
        value = value[:maximum]
    return value


def _conform_number(value: int | float, schema: Mapping[str, Any], kind: str) -> int | float:
    step = 1 if kind == "integer" else 0.5
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _is_number(exclusive_low) and value <= exclusive_low:
        value = exclusive_low + step
    if _is_number(exclusive_high) and value >= exclusive_high:
        value = exclusive_high - step
    if _is_number(low) and value < low:
        value = low
    if _is_number(high) and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    if kind == "integer":
        return math.ceil(value)
    return value


def _conform_array(
    values: list[Any], schema: Mapping[str, Any], make: Callable[[int], Any]
) -> list[Any]:
    if schema.get("uniqueItems"):
        unique: list[Any] = []
        for value in values:
            if value not in unique:
                unique.append(value)
        values = unique
    maximum, minimum = schema.get("maxItems"), schema.get("minItems")
    if isinstance(maximum, int):
        values = values[:maximum]
    if isinstance(minimum, int):
        index = 0
        while len(values) < minimum and index < minimum + 100:
            candidate = make(index)
            if not schema.get("uniqueItems") or candidate not in values:
                values.append(candidate)
            index += 1
    return values
