"""What happened since the user's last message: the calls made and what they returned.

A :class:`Progress` holds the last user message (the request being served)
and every tool call made since, each with its decoded arguments and result.
The results' objects (a JSON result, and every object inside it) are
*records*. When the simulator fills a later call, :meth:`Progress.known`
offers values in this order:

- a property named like a key of a record: that key's value in the record
  that fits the request best (the one sharing most words with the user's
  message; on a tie the first, or the last when the user asks for the
  "last"/"latest" one), from the most recent result that has the key;
- the same property of an earlier call (``attendees`` passed to
  ``check_availability`` carry over to ``create_event``);
- for a required email property: the email addresses of the record that
  fits best (``to`` from a contact found by ``search_contacts``).

Optional properties take a record's value only when they are ids, and an
earlier call's argument always.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from clearance.reference.coercion import MISSING
from clearance.reference.text import message_text, stem, stems, strings, words, wordset
from clearance.reference.tools import is_id_name

__all__ = ["Done", "Progress", "read_progress"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LAST = wordset("last latest newest final")
_MAX_RECORDS = 200


@dataclass(frozen=True, slots=True)
class Done:
    """One tool call made since the user's message, and its result."""

    name: str
    arguments: Mapping[str, Any]
    """The decoded arguments ({} when they were not a JSON object)."""
    result: Any
    """The decoded JSON result, the raw text when it is not JSON, None when none came."""


def _decode(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses and json takes (NaN, integers past 64 bits)
        return json.loads(text)
    except ValueError:
        return text


def read_progress(messages: Sequence[Mapping[str, Any]]) -> Progress:
    """The request (last user message) and the calls made since, with their results."""
    start = len(messages)
    while start > 0 and messages[start - 1].get("role") != "user":
        start -= 1
    prompt = message_text(messages[start - 1]) if start > 0 else ""
    calls: list[tuple[str, str, Mapping[str, Any]]] = []
    results: dict[str, Any] = {}
    loose: list[tuple[str, Any]] = []
    for message in messages[start:]:
        role = message.get("role")
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(function, Mapping):
                    continue
                raw = function.get("arguments")
                arguments = _decode(raw) if isinstance(raw, str) else raw
                calls.append(
                    (
                        str(call.get("id")),
                        str(function.get("name")),
                        arguments if isinstance(arguments, Mapping) else {},
                    )
                )
        elif role in ("tool", "function"):
            result = _decode(message_text(message))
            if message.get("tool_call_id") is not None:
                results[str(message.get("tool_call_id"))] = result
            else:
                loose.append((str(message.get("name") or "the tool"), result))
    done = [Done(name, arguments, results.pop(cid, None)) for cid, name, arguments in calls]
    loose.extend(("the tool", result) for result in results.values())  # answers no call
    done.extend(Done(name, {}, result) for name, result in loose)
    return Progress(prompt, tuple(done))


def _records(value: Any, out: list[Mapping[str, Any]]) -> None:
    if len(out) >= _MAX_RECORDS:
        return
    if isinstance(value, Mapping):
        out.append(value)
        for item in value.values():
            if isinstance(item, Mapping | list):
                _records(item, out)
    elif isinstance(value, list):
        for item in value:
            _records(item, out)


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, Mapping)
    return True


class Progress:
    """The request being served and the calls made for it so far."""

    def __init__(self, prompt: str, calls: tuple[Done, ...]) -> None:
        self.prompt = prompt
        self.calls = calls
        self._prompt_stems: set[str] | None = None
        self._records: list[list[Mapping[str, Any]]] | None = None
        self._record_stems: dict[int, set[str]] = {}

    @property
    def prompt_stems(self) -> set[str]:
        """The stems of the request's words (the ones that tell records apart)."""
        if self._prompt_stems is None:
            self._prompt_stems = {s for s in stems(self.prompt) if len(s) > 2 and s.isalpha()}
        return self._prompt_stems

    def records(self) -> list[list[Mapping[str, Any]]]:
        """Each result's records (most recent call first)."""
        if self._records is None:
            found = []
            for done in reversed(self.calls):
                out: list[Mapping[str, Any]] = []
                _records(done.result, out)
                found.append(out)
            self._records = found
        return self._records

    def select(self, has: Callable[[Mapping[str, Any]], bool]) -> Mapping[str, Any] | None:
        """The record that fits the request best among the most recent result's records
        for which ``has(record)`` is true."""
        for group in self.records():
            candidates = [r for r in group if has(r)]
            if candidates:
                return self._best(candidates)
        return None

    def _best(self, candidates: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        wanted = self.prompt_stems
        last = bool(_LAST & {w.lower() for w in words(self.prompt)})
        best: tuple[int, Mapping[str, Any]] | None = None
        for record in reversed(candidates) if last else candidates:
            found = self._record_stems.get(id(record))
            if found is None:  # records live as long as this Progress: ids stay theirs
                found = {stem(w) for text in strings(record) for w in words(text)}
                self._record_stems[id(record)] = found
            overlap = len(found & wanted)
            if best is None or overlap > best[0]:
                best = (overlap, record)
        assert best is not None
        return best[1]

    def label(self, key: str, value: Any) -> str | None:
        """The name or title of the record whose ``key`` is ``value`` (for the final answer)."""
        for group in self.records():
            for record in group:
                if record.get(key) == value:
                    for field in ("title", "name", "subject", "label", "summary"):
                        text = record.get(field)
                        if isinstance(text, str) and text:
                            return text
        return None

    def carried(self, name: str, kind: str) -> Any:
        """The value an earlier call passed for a property of this name (the latest)."""
        for done in reversed(self.calls):
            value = done.arguments.get(name, MISSING)
            if value is not MISSING and _fits(value, kind):
                return value
        return MISSING

    def known(self, name: str, schema: Mapping[str, Any], kind: str, *, required: bool) -> Any:
        """A value for a property from the results and earlier calls (see the module doc)."""
        if not self.calls:
            return MISSING
        if required or is_id_name(name):
            record = self.select(lambda r: name in r and r[name] not in (None, "", []))
            if record is not None:
                value = record[name]
                if _fits(value, kind):
                    return value
                if kind == "array" and not isinstance(value, list | Mapping):
                    return [value]
        value = self.carried(name, kind)
        if value is not MISSING or not required:
            return value
        return self._email(name, schema, kind)

    def _email(self, name: str, schema: Mapping[str, Any], kind: str) -> Any:
        items = schema.get("items") if kind == "array" else schema
        fmt = items.get("format") if isinstance(items, Mapping) else None
        if fmt not in ("email", "idn-email") and "email" not in name.lower():
            return MISSING
        record = self.select(lambda r: any(_EMAIL.fullmatch(s) for s in _own_strings(r)))
        if record is None:
            return MISSING
        found = [s for s in _own_strings(record) if _EMAIL.fullmatch(s)]
        return found if kind == "array" else found[0]


def _own_strings(record: Mapping[str, Any]) -> list[str]:
    """The record's own string values (not those of nested records)."""
    return [v for v in record.values() if isinstance(v, str)]
