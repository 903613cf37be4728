"""Reading a request's words: message text, word stems and clauses.

The simulator's notion of language is deliberately small: lower-cased word
stems compared as sets, a list of stop words, and a few clause markers
("and also", ";", ", then", a sentence starting with "Also", and ``and`` before
a verb of an offered tool). Quoted strings are values, never clause markers.
It is enough to tell ``get_weather`` from ``send_email`` in a test prompt, and
it is deterministic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "STOP_WORDS",
    "message_text",
    "name_words",
    "refers_back",
    "split_clauses",
    "stem",
    "stems",
    "strings",
    "unquoted",
    "words",
    "wordset",
]


def wordset(text: str) -> frozenset[str]:
    """The set of a text's space-separated words (word lists read best as words)."""
    return frozenset(text.split())


STOP_WORDS = wordset(
    "a an and any are as at be by can could do does for from give have how i if in "
    "into is it its me my of on or our please should so some tell than that the "
    "their them then there these this those to tool use using want was we what when "
    "where which who will with would you your function call current given specified "
    "provided"
)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CLAUSE = re.compile(
    r"(?:;|\band also\b|\band then\b|\bas well as\b|,\s*then\b"
    r"|(?<=[.!?])\s+(?:also|then|and)\b)[\s,]*",
    re.IGNORECASE,
)
_MAYBE_CLAUSES = re.compile(r";|\b(?:also|then|and|as well as)\b", re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|(?<!\w)'[^'\n]*'(?!\w)")
_ANAPHORA = wordset("it its them they their her him his she he one those these earliest latest")
"""Words by which a clause refers to what an earlier clause found or made."""


def message_text(message: Mapping[str, Any]) -> str:
    """The text of one chat message (a string, or the text parts of a content list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        ]
        return "\n".join(parts)
    return ""


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A crude, consistent stem: ``emails`` → ``email``, ``booking`` → ``book``."""
    word = word.lower().removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (object values and list items, depth first)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def words(text: str) -> list[str]:
    """The words of a text, in order (letters and digits)."""
    return _WORD.findall(text)


def stems(text: str) -> set[str]:
    """The stems of a text's words, stop words left out."""
    return {stem(w) for w in words(text) if w.lower() not in STOP_WORDS}


@functools.lru_cache(maxsize=16_384)
def name_words(name: str) -> tuple[str, ...]:
    """The words of an identifier: ``get_current_weather``, ``getWeather``, ``search-web``."""
    spaced = _CAMEL.sub(" ", name)
    return tuple(w.lower() for w in _NAME_SPLIT.split(spaced) if w)


@functools.lru_cache(maxsize=4_096)
def unquoted(text: str, blank: str = " ") -> str:
    """The text with quoted strings blanked out, same length (their words are values).

    A message that is one quotation from end to end is the request itself, not a value.
    """
    if '"' not in text and "'" not in text and "“" not in text:
        return text
    first = len(text) - len(text.lstrip())
    last = len(text.rstrip())

    def blanked(match: re.Match[str]) -> str:
        if match.start() == first and match.end() == last:
            return match.group()
        return blank * len(match.group())

    return _QUOTED.sub(blanked, text)


@functools.lru_cache(maxsize=2_048)
def split_clauses(text: str, splitter: re.Pattern[str] | None = None) -> tuple[str, ...]:
    """The clauses of a request that asks for several things ("... and also ...").

    Args:
        text: the request.
        splitter: a further clause marker (``and`` before a verb of an offered tool).
    """
    if _MAYBE_CLAUSES.search(text) is None:
        return (text.strip(),) if text.strip() else ()
    masked = unquoted(text, "\x00")  # not white space: markers must not swallow values
    cuts = [m.span() for m in _CLAUSE.finditer(masked)]
    if splitter is not None:
        cuts.extend(m.span() for m in splitter.finditer(masked))
    parts, start = [], 0
    for cut_start, cut_end in sorted(cuts):
        if cut_start >= start:
            parts.append(text[start:cut_start])
            start = cut_end
    parts.append(text[start:])
    return tuple(part for part in (p.strip() for p in parts) if part)


def refers_back(clause: str) -> bool:
    """Whether a clause points back at what came before ("book *the earliest one*")."""
    return any(w.lower() in _ANAPHORA for w in words(unquoted(clause)))
