"""Action verbs: which words ask for which kind of action, and how to say it was done.

The simulator knows a few groups of verbs that mean the same action (``book``,
``add``, ``open`` and ``create`` all create something). A tool's verbs are the
groups of the first word of its name (``send_email``) and of the first word of
its description when that is a known verb ("Open a sales deal ..."). A tool
whose verbs are all *read* verbs only looks things up; a tool with another
known verb changes something. A verb right after a negation ("do not change
any deal") is *refused*.
"""

from __future__ import annotations

import functools
import re

from clearance.reference.text import name_words, stem, unquoted, words, wordset

__all__ = [
    "READ",
    "VERB_STEMS",
    "asked_verbs",
    "head_verbs",
    "is_read_only",
    "past_tense",
    "read_verbs",
    "refused_verbs",
    "tool_verbs",
    "verb_splitter",
]


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in text.split())


READ = _stems(
    "get list search find fetch lookup query show retrieve check view read browse display count"
)
"""Verbs that look something up without changing it."""
_GROUPS: tuple[frozenset[str], ...] = (
    READ,
    _stems("create add make open book schedule register insert reserve"),
    _stems("update change modify edit set mark move rename patch adjust"),
    _stems("delete remove erase drop destroy purge"),
    _stems("cancel abort revoke"),
    _stems("send email mail forward reply"),
    _stems("reschedule postpone move shift"),
    _stems("log record track"),
)
VERB_STEMS: frozenset[str] = frozenset().union(*_GROUPS)
"""Every verb the simulator knows (as stems)."""

_VERB_FORMS = frozenset(
    form
    for verb in VERB_STEMS
    for form in (verb, *(verb + end for end in ("e", "es", "s", "ed", "d", "ing")))
    if stem(form) in VERB_STEMS
)
"""The written forms of the known verbs (``book``, ``books``, ``booked``, ``booking``)."""
_WORD = re.compile(r"[a-z][a-z0-9]*|[0-9]+")
_NEGATIONS = wordset("not never without don dont doesn shouldn won mustn nor")

_IRREGULAR = {
    "send": "sent",
    "get": "got",
    "find": "found",
    "make": "made",
    "set": "set",
    "put": "put",
    "run": "ran",
    "read": "read",
    "write": "wrote",
    "buy": "bought",
    "pay": "paid",
    "take": "took",
    "give": "gave",
    "keep": "kept",
    "tell": "told",
    "sell": "sold",
    "build": "built",
    "hold": "held",
    "meet": "met",
    "do": "did",
    "cancel": "cancelled",
}
_DOUBLED = wordset("log tag stop plan ship drop chat skip swap trim grab pin")


_GROUP_OF = {verb: frozenset().union(*(g for g in _GROUPS if verb in g)) for verb in VERB_STEMS}


def _group_of(word: str) -> frozenset[str]:
    return _GROUP_OF.get(stem(word), frozenset())


@functools.lru_cache(maxsize=4_096)
def head_verbs(name: str, description: str) -> frozenset[str]:
    """The stems of the known verbs a tool is named and described with (``send_email``: send)."""
    heads = [*name_words(name)[:1], *(w.lower() for w in words(description)[:1])]
    return frozenset(stem(w) for w in heads if stem(w) in VERB_STEMS)


@functools.lru_cache(maxsize=4_096)
def tool_verbs(name: str, description: str) -> frozenset[str]:
    """The verb stems that ask for this tool: its head verbs and their synonyms."""
    return frozenset().union(*(_group_of(v) for v in head_verbs(name, description)))


def is_read_only(verbs: frozenset[str]) -> bool:
    """Whether a tool with these verbs only looks things up (no verb also counts as read)."""
    return verbs <= READ


@functools.lru_cache(maxsize=2_048)
def read_verbs(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the verb stems the text asks with, the verbs it refuses), outside quotes.

    A verb right after a negation is refused with all its synonyms ("do not change
    any deal" refuses every update verb); the others are asked for.
    """
    tokens = _WORD.findall(unquoted(text).lower())
    asked: set[str] = set()
    refused: frozenset[str] = frozenset()
    for index, token in enumerate(tokens):
        if token not in _VERB_FORMS:
            continue
        found = stem(token)
        if any(t in _NEGATIONS for t in tokens[max(0, index - 2) : index]):
            refused |= _GROUP_OF[found]
        else:
            asked.add(found)
    return frozenset(asked), refused


def asked_verbs(text: str) -> frozenset[str]:
    """The known verb stems the text uses outside quotes, refused ones left out."""
    return read_verbs(text)[0]


def refused_verbs(text: str) -> frozenset[str]:
    """The verb groups the text refuses ("do not change any deal" refuses every update verb)."""
    return read_verbs(text)[1]


@functools.lru_cache(maxsize=256)
def verb_splitter(verbs: frozenset[str]) -> re.Pattern[str] | None:
    """``and`` followed by one of these verbs (any inflection the stem covers), or None."""
    if not verbs:
        return None
    alternatives = "|".join(sorted((re.escape(v) for v in verbs), key=len, reverse=True))
    return re.compile(rf",?\s+and\s+(?=(?:{alternatives})(?:e|es|s|ed|d|ing)?\b)", re.IGNORECASE)


def past_tense(verb: str) -> str:
    """``log`` → ``logged``, ``create`` → ``created``, ``send`` → ``sent``."""
    verb = verb.lower()
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("e"):
        return verb + "d"
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    if verb in _DOUBLED:
        return verb + verb[-1] + "ed"
    return verb + "ed"
