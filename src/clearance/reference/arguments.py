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
right type. Optional properties appear only when the text names them, or
when their description insists ("Always give it when moving to closed_lost":
then only if that enum value was chosen).

Later calls of a task also take *known* values (the results and arguments of
earlier calls, see :mod:`clearance.reference.conversation`): after the
clause's own words and before the rest of the message. A string with a
``pattern`` takes only text that matches it; an id (``contact_id``) takes a
value written for it, a token of its pattern or an id-like token after the
noun of what it identifies ("user u_991"), then a known value, and only
then a name from the text (after the other required properties took theirs).
A ``reason`` takes the words after "because" or a colon; a ``date-time``
prefers a date written with its time. :func:`fill` also says which required
properties got a stand-in (nothing in the text or the results gave them).

The result is made to validate: bounds are clamped, lengths padded or cut,
enums respected, local ``$ref`` followed, the first non-null ``anyOf`` /
``oneOf`` branch taken.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from clearance.reference.coercion import (
    MISSING,
    as_format,
    conform,
    conform_array,
    enum_match,
    kind_of,
    matches,
    parse_number,
    placeholder,
    scalar,
    string_hint,
)
from clearance.reference.evidence import Evidence, Span, mentions, parse_flag, starts, variants
from clearance.reference.text import name_words, stem, wordset
from clearance.reference.tools import is_id_name

__all__ = ["FREE_TEXT_NAMES", "MISSING", "Filled", "Known", "fill", "fill_arguments", "placeholder"]

FREE_TEXT_NAMES = wordset(
    "query q search text prompt question message content body input keywords "
    "description note notes comment summary instructions request"
)
_GENERIC_NAME_WORDS = wordset(
    "is has include enable use should allow with want do num number count max min "
    "total n of the get set"
)
_REASON_NAMES = wordset("reason cause why explanation justification")
_REASON = re.compile(
    r"(?:\bbecause\b|\bsince\b|\bdue to\b|\bas\s+(?=they|she|he|we|it)|:\s)\s*"
    r"(?P<why>[A-Za-z][^.;!?\n\"“”]{2,300})"
)
_INSIST = re.compile(r"\balways\b", re.IGNORECASE)
_ID_TOKEN = re.compile(r"[\w.+-]*[\d_][\w.+-]*")
_ID_AFTER = re.compile(
    r"s?\s+(?:(?:id|number|no\.?)\s+)?#?(?P<id>[A-Za-z_-]*\d[\w-]*)(?![\w@.-]*\w)"
)
_QUOTED_VALUE = r"\"(?P<dq>[^\"\n]*)\"|“(?P<cq>[^”\n]*)”|'(?P<sq>[^'\n]*)'"
_VALUE = rf"(?:{_QUOTED_VALUE}|(?P<raw>[^,;\n]+))"
_LIST_VALUE = rf"(?:{_QUOTED_VALUE}|(?P<raw>[^;\n]+))"
_SEPARATOR = r"(?:(?P<sep>[:=]|\bis\b|\bnamed\b|\bcalled\b|\bof\b|\bto\b|\bas\b)\s*)?"


class Known(Protocol):
    """Where values known from earlier calls come from (``Progress.known``)."""

    def __call__(
        self, name: str, schema: Mapping[str, Any], kind: str, *, required: bool
    ) -> Any:  # pragma: no cover - a protocol
        """A value for the property, or :data:`MISSING`."""
        ...


@dataclass(frozen=True, slots=True)
class Filled:
    """Arguments, and the required properties that got a stand-in value."""

    arguments: dict[str, Any]
    unresolved: tuple[str, ...]
    """Names of required properties nothing gave a value for (placeholders were used)."""


def fill(
    parameters: Mapping[str, Any] | None,
    text: str,
    fallback: str | None = None,
    known: Known | None = None,
) -> Filled:
    """Arguments for a tool whose ``parameters`` schema is given, taken from ``text``.

    Args:
        parameters: the tool's JSON Schema (an object schema; ``None`` means no arguments).
        text: where to look first (the clause of the message that asks for this tool).
        fallback: where else to look for a *required* property (the whole message).
        known: values known from earlier calls, looked at after ``text``.
    """
    root = dict(parameters or {"type": "object", "properties": {}})
    evidence = [Evidence(text)]
    if fallback is not None and fallback != text:
        evidence.append(Evidence(fallback))
    filler = _Filler(root, evidence, known)
    value, _ = filler.object(root, required=True)
    return Filled(value if isinstance(value, dict) else {}, tuple(filler.unresolved))


def fill_arguments(
    parameters: Mapping[str, Any] | None,
    text: str,
    fallback: str | None = None,
    known: Known | None = None,
) -> dict[str, Any]:
    """The arguments :func:`fill` gives."""
    return fill(parameters, text, fallback, known).arguments


class _Filler:
    """Walks one schema, taking values from the evidence."""

    def __init__(
        self, root: dict[str, Any], evidence: list[Evidence], known: Known | None = None
    ) -> None:
        self.root = root
        self.evidence = evidence
        self.known = known
        self.unresolved: list[str] = []

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
                chosen = next((o for o in resolved if kind_of(o) != "null"), resolved[0])
                result = {**result, **chosen}
        parts = result.pop("allOf", None)
        if isinstance(parts, list):
            for piece in (self.resolve(p, depth + 1) for p in parts):
                properties = {**result.get("properties", {}), **piece.get("properties", {})}
                required = [*result.get("required", []), *piece.get("required", [])]
                result = {**result, **piece, "properties": properties, "required": required}
        return result

    # -- values ----------------------------------------------------------------------------

    def value(
        self, schema: Any, name: str, *, required: bool, insist: bool = False
    ) -> tuple[Any, bool]:
        """(value or MISSING, whether it came from the text or the known values).

        ``insist``: an optional property looked for like a required one, left out
        rather than given a stand-in when nothing gives it.
        """
        schema = self.resolve(schema)
        if "const" in schema:
            return (schema["const"], False) if required else (MISSING, False)
        kind = kind_of(schema)
        if kind == "object":
            return self.object(schema, required=required)
        wanted = required or insist
        # An id takes a value written for it, then a known one, and only then a name.
        id_like = wanted and is_id_name(name)
        found = self._extract(schema, kind, name, self.evidence[0], generic=wanted and not id_like)
        if found is MISSING and self.known is not None:
            found = self.known(name, schema, kind, required=wanted)
        if found is MISSING and id_like:
            found = self._extract(schema, kind, name, self.evidence[0], generic=True)
        for evidence in self.evidence[1:] if wanted else ():
            if found is not MISSING:
                break
            found = self._extract(schema, kind, name, evidence, generic=True)
        if found is not MISSING:
            return self.conform(found, schema, kind), True
        if not required:
            return MISSING, False
        self.unresolved.append(name)
        return self.conform(placeholder(schema), schema, kind), False

    def conform(self, value: Any, schema: dict[str, Any], kind: str) -> Any:
        """The value adjusted to the schema's constraints (so that it validates)."""
        if kind != "array" or not isinstance(value, list) or schema.get("enum"):
            return conform(value, schema, kind)
        items = self.resolve(schema.get("items", {}))

        def make(index: int) -> Any:
            if items.get("enum"):
                return items["enum"][index % len(items["enum"])]
            if kind_of(items) == "object":
                return self.object(items, required=True)[0]
            return self.conform(placeholder(items, index), items, kind_of(items))

        return conform_array([self.conform(v, items, kind_of(items)) for v in value], schema, make)

    def object(self, schema: Mapping[str, Any], *, required: bool) -> tuple[Any, bool]:
        """An object: required properties first (they take evidence first), in schema order.

        A required id that nothing names as such waits until the other required
        properties have taken their values: only then may it take a name that is left.
        """
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        needed = [str(n) for n in schema.get("required", []) if isinstance(n, str)]
        values: dict[str, Any] = {}
        from_text = False
        waiting: list[str] = []
        for name in [*needed, *(n for n in properties if n not in needed)]:
            schema_of = properties.get(name, {})
            needs = name in needed
            insist = not needs and self._insisted(schema_of, values, properties)
            if needs and is_id_name(name):
                value, found = self.value(schema_of, name, required=False)
                if value is MISSING:
                    waiting.append(name)
                    continue
            else:
                value, found = self.value(schema_of, name, required=needs, insist=insist)
            if value is not MISSING:
                values[name] = value
                from_text = from_text or found
        for name in waiting:
            values[name], found = self.value(properties.get(name, {}), name, required=True)
            from_text = from_text or found
        if not required and not from_text:
            return MISSING, False
        order = [*properties, *(n for n in needed if n not in properties)]
        return {n: values[n] for n in order if n in values}, from_text

    def _insisted(
        self, schema: Any, values: Mapping[str, Any], properties: Mapping[str, Any]
    ) -> bool:
        """Whether an optional property's description asks for it ("Always give it when
        moving to closed_lost": when the chosen values include such an enum value)."""
        description = schema.get("description") if isinstance(schema, Mapping) else None
        if not isinstance(description, str) or not _INSIST.search(description):
            return False
        for other, other_schema in properties.items():
            options = self.resolve(other_schema).get("enum") or []
            named = _named_options(description, tuple(o for o in options if isinstance(o, str)))
            if named and values.get(other) not in named:
                return False
        return True

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
        for match in _bound_matches(name, evidence.text, as_list):
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

    def _after_entity(self, name: str, evidence: Evidence) -> Span | None:
        """An id written after the noun of what it identifies ("user u_991", "order #12")."""
        parts = name_words(name)
        if len(parts) < 2:
            return None
        text = evidence.text
        for start, form in starts(variants(" ".join(parts[:-1])), text):
            match = _ID_AFTER.match(text, start + len(form))
            if match is not None and evidence.is_free(match.start("id"), match.end("id")):
                return Span(match.start("id"), match.end("id"), match.group("id"))
        return None

    def _enum(self, schema: dict[str, Any], name: str, evidence: Evidence) -> Any:
        options = list(schema["enum"])
        for raw, _, span in self._bound(name, evidence):
            match = enum_match(raw, options)
            if match is not MISSING:
                evidence.take(span)
                return match
        best: tuple[int, Any, Span] | None = None
        for option in options:
            if option is None or isinstance(option, dict | list):
                continue
            text = str(option).lower()
            for start, end in mentions(text, evidence.text):
                if evidence.is_free(start, end):
                    if best is None or start < best[0]:
                        best = (start, option, Span(start, end, text))
                    break
        if best is None:
            return MISSING
        evidence.take(best[2])
        return best[1]

    def _string(
        self, schema: dict[str, Any], name: str, evidence: Evidence, *, generic: bool
    ) -> Any:
        hint = string_hint(name, schema.get("format"))
        pattern = schema.get("pattern")
        id_like = is_id_name(name)

        def accept(raw: str) -> bool:
            return not isinstance(pattern, str) or matches(pattern, raw)

        for raw, explicit, span in self._bound(name, evidence):
            if hint is not None:
                typed = as_format(raw, hint, schema.get("format"))
                if typed is not None:
                    evidence.take(span)
                    return typed
            elif (explicit or raw[:1].isupper() or raw[:1].isdigit()) and accept(raw):
                evidence.take(span)
                return raw
        if id_like and isinstance(pattern, str):
            for match in _ID_TOKEN.finditer(evidence.text):
                token = match.group().rstrip(".,")
                end = match.start() + len(token)
                if matches(pattern, token) and evidence.is_free(match.start(), end):
                    return evidence.take(Span(match.start(), end, token))
        if id_like:
            named = self._after_entity(name, evidence)
            if named is not None and accept(named.value):
                return evidence.take(named)
        if hint is not None:
            pool = evidence.free(
                {"email": evidence.emails, "uri": evidence.urls, "date": evidence.dates}[hint]
            )
            if schema.get("format") == "date-time":
                pool = sorted(pool, key=lambda span: len(span.value) <= 10)
            for span in pool:
                typed = as_format(span.value, hint, schema.get("format"))
                if typed is not None:
                    evidence.take(span)
                    return typed
            return MISSING
        if not generic:
            return MISSING
        if name.lower() in _REASON_NAMES or _REASON_NAMES & set(name_words(name)):
            why = _REASON.search(evidence.text)
            if why is not None and evidence.is_free(why.start("why"), why.end("why")):
                return evidence.take(
                    Span(why.start("why"), why.end("why"), why.group("why").strip())
                )
        quoted = [q for q in evidence.free(evidence.quoted) if accept(q.value)]
        if quoted:
            return evidence.take(quoted[0])
        if name.lower() in FREE_TEXT_NAMES or FREE_TEXT_NAMES & set(name_words(name)):
            whole = evidence.text.strip()[:500]
            return whole if whole and accept(whole) else MISSING
        for pool in (evidence.proper, evidence.capitalized):
            names = [n for n in evidence.free(pool) if accept(n.value)]
            if names:
                return evidence.take(names[0])
        return MISSING

    def _number(self, kind: str, name: str, evidence: Evidence, *, generic: bool) -> Any:
        for raw, _, span in self._bound(name, evidence):
            number = parse_number(raw, kind)
            if number is not None:
                evidence.take(span)
                return number
        wanted = {stem(w) for w in name_words(name) if w not in _GENERIC_NAME_WORDS}
        spans = evidence.free(evidence.numbers)
        # "3 guests" before "guests: 3"-less "limit to 5": the word after a number binds tighter.
        for after in (True, False):
            for span in spans:
                number = parse_number(span.value, kind)
                near = (
                    evidence.words_after(span.end) if after else evidence.words_before(span.start)
                )
                if number is not None and wanted & set(near):
                    evidence.take(span)
                    return number
        if generic:
            for span in spans:
                number = parse_number(span.value, kind)
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
        kind = kind_of(items)
        for raw, _, span in self._bound(name, evidence, as_list=True):
            parts = [p.strip().strip("\"'") for p in re.split(r",|;|\band\b", raw)]
            values = [scalar(p, items, kind) for p in parts if p]
            if values and all(v is not MISSING for v in values):
                evidence.take(span)
                return values
        if items.get("enum"):
            found = []
            while (value := self._enum(items, "", evidence)) is not MISSING:
                found.append(value)
            return found or MISSING
        if kind == "string":
            hint = string_hint(name, items.get("format"))
            if hint is not None:
                pool = {"email": evidence.emails, "uri": evidence.urls, "date": evidence.dates}
                spans = evidence.free(pool[hint])
                values = [as_format(s.value, hint, items.get("format")) for s in spans]
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
                if parse_number(s.value, kind) is not None
            ]
        elif kind == "object":
            value, _ = self.object(items, required=True)
            return [value]
        else:
            return MISSING
        for span in spans:
            evidence.take(span)
        values = [scalar(s.value, items, kind) for s in spans]
        return values or MISSING


_AFTER_NAME = rf"(?:\s+(?:number|address|code))?(?![\w-])\s*{_SEPARATOR}"
_BOUND = {
    False: re.compile(_AFTER_NAME + _VALUE, re.IGNORECASE),
    True: re.compile(_AFTER_NAME + _LIST_VALUE, re.IGNORECASE),
}
"""What follows a property's name when the text gives its value: ``: value``, ``=value``,
`` "value"``, `` is value`` (also after "number", "address", "code": "phone number to")."""


def _bound_matches(name: str, text: str, as_list: bool) -> list[re.Match[str]]:
    """Each place the text writes the property's name followed by a value, in order."""
    after = _BOUND[as_list]
    found: list[re.Match[str]] = []
    resume = 0
    for start, form in starts(variants(name), text):
        if start < resume:
            continue
        match = after.match(text, start + len(form))
        if match is not None:
            found.append(match)
            resume = match.end()
    return found


@functools.lru_cache(maxsize=1_024)
def _named_options(description: str, options: tuple[str, ...]) -> tuple[str, ...]:
    """The enum values a description names as words."""
    return tuple(
        o for o in options if o in description and re.search(rf"\b{re.escape(o)}\b", description)
    )
