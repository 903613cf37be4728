"""What a message offers as argument values: quoted strings, emails, URLs, dates, numbers.

An :class:`Evidence` is built once per text and hands each span out at most
once, so two properties of one call never get the same quoted string or the
same number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from clearance.reference.text import stem, words, wordset

__all__ = ["Evidence", "Span", "mentions", "parse_flag", "starts", "variants"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>)\]]+")
_DATE = re.compile(
    r"(?<!\d)\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|(?<!\w)'([^'\n]+)'(?!\w)")
_NUMBER = re.compile(r"(?<![\w.@/-])(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)(?![\w@]|\.\d)")
_PROPER = re.compile(
    r"\b(?:in|for|at|to|from|near|about|named|called|of|on)\s+"
    r"([A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*)*)"
)
_CAPITALIZED = re.compile(r"(?<![.!?:]\s)(?<!^)(?<![\w'\"“])([A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*)*)")
_NEGATIONS = wordset(
    "no not without never disable disabled exclude excluding skip false off don "
    "doesn isn shouldn won dont"
)
_YES = wordset("yes y true on enable enabled 1")
_NO = wordset("no n false off disable disabled 0")


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of the text: where it is and what it says."""

    start: int
    end: int
    value: str


@functools.lru_cache(maxsize=2_048)
def _found_in(text: str) -> dict[str, list[Span]]:
    """The spans found so far in a text, by kind: shared by every Evidence of that text
    (the spans depend on the text alone; what is taken is each Evidence's own)."""
    return {}


class Evidence:
    """The values one text offers, each to be taken once (each kind found when first asked).

    Evidences of the same text share what was found in it (a task fills several calls
    from one message, turn after turn).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.used: list[tuple[int, int]] = []
        self._found = _found_in(text)  # each kind of span, found when first asked

    @property
    def urls(self) -> list[Span]:
        """``http(s)://`` URLs."""
        return self._pool("urls", self._find_urls)

    def _find_urls(self) -> list[Span]:
        return [
            Span(m.start(), m.end(), m.group().rstrip(".,;:!?")) for m in _URL.finditer(self.text)
        ]

    @property
    def emails(self) -> list[Span]:
        """Email addresses (not inside a URL)."""
        return self._pool("emails", self._find_emails)

    def _find_emails(self) -> list[Span]:
        return [
            Span(m.start(), m.end(), m.group().rstrip("."))
            for m in _EMAIL.finditer(self.text)
            if not self._inside(m.start(), self.urls)
        ]

    @property
    def dates(self) -> list[Span]:
        """ISO dates and date-times."""
        return self._pool("dates", self._find_dates)

    def _find_dates(self) -> list[Span]:
        return [Span(m.start(), m.end(), m.group()) for m in _DATE.finditer(self.text)]

    @property
    def quoted(self) -> list[Span]:
        """Quoted strings (the value without its quotes)."""
        return self._pool("quoted", self._find_quoted)

    def _find_quoted(self) -> list[Span]:
        return [
            Span(m.start(), m.end(), next(g for g in m.groups() if g is not None))
            for m in _QUOTED.finditer(self.text)
        ]

    @property
    def _masked(self) -> list[Span]:
        return self._pool("_masked", self._find__masked)

    def _find__masked(self) -> list[Span]:
        return self.urls + self.emails + self.dates + self.quoted

    @property
    def numbers(self) -> list[Span]:
        """Numbers standing alone (not in a URL, email, date or quote)."""
        return self._pool("numbers", self._find_numbers)

    def _find_numbers(self) -> list[Span]:
        return [
            Span(m.start(), m.end(), m.group().replace(",", ""))
            for m in _NUMBER.finditer(self.text)
            if not self._inside(m.start(), self._masked)
        ]

    @property
    def proper(self) -> list[Span]:
        """Capitalised names after a preposition (``in New York``)."""
        return self._pool("proper", self._find_proper)

    def _find_proper(self) -> list[Span]:
        return [
            Span(m.start(1), m.end(1), m.group(1).rstrip("'-"))
            for m in _PROPER.finditer(self.text)
            if not self._inside(m.start(1), self._masked)
        ]

    @property
    def capitalized(self) -> list[Span]:
        """Capitalised words that do not start a sentence (``Book the Ritz``)."""
        return self._pool("capitalized", self._find_capitalized)

    def _find_capitalized(self) -> list[Span]:
        return [
            Span(m.start(1), m.end(1), m.group(1).rstrip("'-"))
            for m in _CAPITALIZED.finditer(self.text)
            if m.group(1) != "I" and not self._inside(m.start(1), self._masked)
        ]

    def _pool(self, kind: str, find: Callable[[], list[Span]]) -> list[Span]:
        found = self._found.get(kind)
        if found is None:
            found = self._found[kind] = find()
        return found

    @staticmethod
    def _inside(position: int, spans: list[Span]) -> bool:
        return any(s.start <= position < s.end for s in spans)

    def take(self, span: Span) -> str:
        """Mark a span used and return its value."""
        self.used.append((span.start, span.end))
        return span.value

    def is_free(self, start: int, end: int) -> bool:
        """Whether no taken span overlaps ``[start, end)``."""
        return all(end <= s or start >= e for s, e in self.used)

    def free(self, spans: list[Span]) -> list[Span]:
        """The spans not yet taken (nor overlapping a taken one)."""
        return [s for s in spans if self.is_free(s.start, s.end)]

    def words_before(self, position: int, count: int = 2) -> list[str]:
        """The stems of the ``count`` words before a position."""
        return [stem(w) for w in words(self.text[:position])[-count:]]

    def words_after(self, position: int, count: int = 2) -> list[str]:
        """The stems of the ``count`` words after a position."""
        return [stem(w) for w in words(self.text[position:])[:count]]

    def mention(self, name_stems: set[str]) -> bool | None:
        """Whether a word of a flag's name is mentioned: True, False after a negation, or None."""
        tokens = [w.lower() for w in words(self.text)]
        for index, token in enumerate(tokens):
            if stem(token) in name_stems:
                return not any(t in _NEGATIONS for t in tokens[max(0, index - 3) : index])
        return None

    def yes_no(self) -> bool | None:
        """A standalone yes/no/true/false in the text, if there is one."""
        for token in (w.lower() for w in words(self.text)):
            if token in ("yes", "true"):
                return True
            if token in ("no", "false"):
                return False
        return None


def parse_flag(value: str) -> bool | None:
    """``yes``/``true``/``on`` → True, ``no``/``false``/``off`` → False, else None."""
    token = value.strip().strip("\"'").lower()
    if token in _YES:
        return True
    if token in _NO:
        return False
    return None


@functools.lru_cache(maxsize=8_192)
def variants(name: str) -> tuple[str, ...]:
    """How people write a property name, lower-cased, longest first.

    ``due_date`` is written ``due_date``, ``due date``, ``due-date`` or ``dueDate``.
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    forms = {name, spaced, spaced.replace(" ", "_"), spaced.replace(" ", "-")}
    return tuple(sorted({f.lower() for f in forms if f}, key=len, reverse=True))


@functools.lru_cache(maxsize=1_024)
def _lowered(text: str) -> str:
    """The text in lower case, or as written when lower case would change its length."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def _word_character(character: str) -> bool:
    return character.isalnum() or character in "_-"


def starts(forms: tuple[str, ...], text: str) -> list[tuple[int, str]]:
    """(position, form) of every place one of the forms starts a word, in order (at one
    position the longest form first); case is ignored.

    A plain search for each form, where a compiled pattern per name would cost more
    than the search itself (every tool brings new names).
    """
    lowered = _lowered(text)
    found: list[tuple[int, str]] = []
    for form in forms:
        position = lowered.find(form)
        while position >= 0:
            if position == 0 or not _word_character(lowered[position - 1]):
                found.append((position, form))
            position = lowered.find(form, position + 1)
    if len(found) > 1:
        found.sort(key=lambda pair: (pair[0], -len(pair[1])))
    return found


def mentions(value: str, text: str) -> list[tuple[int, int]]:
    """(start, end) of every place the text names a value as a whole word (any case)."""
    found, resume = [], 0
    for start, form in starts(variants(value), text):
        end = start + len(form)
        if start < resume or (end < len(text) and _word_character(text[end])):
            continue
        found.append((start, end))
        resume = end
    return found
