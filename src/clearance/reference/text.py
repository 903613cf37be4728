"""Reading a request's words: message text, word stems and clauses.

The simulator's notion of language is deliberately small: lower-cased word
stems compared as sets, a list of stop words, and a few clause markers
("and also", ";", a sentence starting with "Also"). It is enough to tell
``get_weather`` from ``send_email`` in a test prompt, and it is deterministic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "STOP_WORDS",
    "message_text",
    "name_words",
    "split_clauses",
    "stem",
    "stems",
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
_CLAUSE = re.compile(
    r"\s*(?:;|\band also\b|\band then\b|\bas well as\b|(?<=[.!?])\s+(?:also|then|and)\b)[\s,]*",
    re.IGNORECASE,
)


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


def words(text: str) -> list[str]:
    """The words of a text, in order (letters and digits)."""
    return _WORD.findall(text)


def stems(text: str) -> set[str]:
    """The stems of a text's words, stop words left out."""
    return {stem(w) for w in words(text) if w.lower() not in STOP_WORDS}


def name_words(name: str) -> list[str]:
    """The words of an identifier: ``get_current_weather``, ``getWeather``, ``search-web``."""
    spaced = _CAMEL.sub(" ", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def split_clauses(text: str) -> list[str]:
    """The clauses of a request that asks for several things ("... and also ...")."""
    return [part for part in (p.strip() for p in _CLAUSE.split(text)) if part]
