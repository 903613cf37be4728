"""The token budget: cut retrieved context to what one request may inject.

**How tokens are counted.** With :mod:`clearance.tokencount`'s documented estimate, the
one the router already bills unreported usage with: every started 3 UTF-8 bytes is one
token, which leans high (English runs at about 4 bytes a token on current BPE
tokenizers), plus :data:`~clearance.tokencount.MESSAGE_OVERHEAD` tokens for the message.
A real tokenizer is not used: the models behind one router use different ones, and
``tiktoken`` downloads its vocabulary from the network on first use, which a
deployment without outbound access (many of clearance's users) cannot do. Counted this
way, a budget of N tokens is at most N tokens on a real tokenizer for most text
(English, code, JSON); only text denser than 3 bytes a token (rare) could exceed it.

**What is kept** (:func:`fit_context`), the injected message's framing included (the
header naming the org, each chunk's label line, the message overhead:
:mod:`clearance.knowledge.inject`):

1. whole chunks in rank order while they fit;
2. then, with ``cut=True`` (the default), the first chunk that does not fit is cut at a
   word boundary (at whitespace, never inside a word) to fill what is left, and ends
   with :data:`~clearance.knowledge.inject.CUT_MARK`; when not even its first word
   fits, it is dropped;
3. every chunk after it is dropped, even one small enough to fit: nothing kept ranks
   below something dropped or cut.

When not even the header and one label fit, nothing is injected (no message at all).
The estimate of the whole message never exceeds the budget (a hypothesis property test
checks it with :func:`~clearance.tokencount.estimate_tokens`). What was left out is
recorded: chunks dropped, whether one was cut, and the estimated tokens of the text
left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clearance.errors import InputError
from clearance.knowledge.inject import CUT_MARK, chunk_label, context_header, context_message
from clearance.knowledge.types import Hit
from clearance.tokencount import BYTES_PER_TOKEN, MESSAGE_OVERHEAD, estimate_tokens

__all__ = ["BudgetedContext", "fit_context"]

_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class BudgetedContext:
    """What of the retrieved hits one request injects, and what the budget left out."""

    org_id: str
    budget_tokens: int
    kept: tuple[Hit, ...]
    """The hits whose text is injected, best first (the last may be cut)."""
    texts: tuple[str, ...]
    """The text injected of each kept hit (a cut one ends with ``CUT_MARK``)."""
    message: dict[str, Any] | None
    """The message to inject; ``None`` when nothing is kept."""
    tokens: int
    """Estimated tokens of the message, its overhead included (0: no message)."""
    bytes: int
    """UTF-8 bytes of the message's content (0: no message)."""
    dropped_chunks: int
    """Hits left out whole."""
    cut_chunk: bool
    """Whether the last kept hit was cut."""
    tokens_cut: int
    """Estimated tokens of the retrieved text left out (dropped chunks and a cut's rest)."""

    @property
    def truncated(self) -> bool:
        """Whether the budget left anything out."""
        return self.dropped_chunks > 0 or self.cut_chunk

    @property
    def cut_chunks(self) -> int:
        """Hits the budget dropped or cut."""
        return self.dropped_chunks + self.cut_chunk


def fit_context(
    org_id: str, hits: Sequence[Hit], budget_tokens: int, *, cut: bool = True
) -> BudgetedContext:
    """The context message for ``hits`` (best first) within ``budget_tokens``.

    The rule is the module docstring's; ``cut=False`` drops the first chunk that does
    not fit whole instead of cutting it.

    Raises:
        InputError: a negative budget.
    """
    if budget_tokens < 0:
        raise InputError(
            f"budget_tokens={budget_tokens}: a token budget is 0 or more",
            fix="give the most tokens the injected context may take, e.g. 1500",
        )
    header = context_header(org_id)
    room = (budget_tokens - MESSAGE_OVERHEAD) * BYTES_PER_TOKEN - _size(header)
    kept: list[Hit] = []
    texts: list[str] = []
    cut_chunk = False
    tokens_cut = 0
    for position, hit in enumerate(hits):
        text = hit.chunk.text
        framing = _size(chunk_label(hit.chunk)) + 1  # the label and the text's line end
        need = framing + _size(text)
        if need <= room:
            kept.append(hit)
            texts.append(text)
            room -= need
            continue
        prefix = _cut_at_word(text, room - framing - _size(CUT_MARK)) if cut else ""
        if prefix:
            kept.append(hit)
            texts.append(prefix + CUT_MARK)
            cut_chunk = True
            tokens_cut += estimate_tokens(text[len(prefix) :].lstrip())
            position += 1
        tokens_cut += sum(estimate_tokens(h.chunk.text) for h in hits[position:])
        break
    if not kept:
        return BudgetedContext(
            org_id, budget_tokens, (), (), None, 0, 0, len(hits), False, tokens_cut
        )
    message = context_message(
        org_id, [(hit.chunk, text) for hit, text in zip(kept, texts, strict=True)]
    )
    content: str = message["content"]
    return BudgetedContext(
        org_id,
        budget_tokens,
        tuple(kept),
        tuple(texts),
        message,
        estimate_tokens(content) + MESSAGE_OVERHEAD,
        _size(content),
        len(hits) - len(kept),
        cut_chunk,
        tokens_cut,
    )


def _cut_at_word(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` UTF-8 bytes that ends at a word
    boundary (before whitespace), trailing whitespace removed; ``""`` when none."""
    if limit <= 0:
        return ""
    size = 0
    end = 0
    for end, character in enumerate(text):  # noqa: B007 (end is read after the loop)
        size += _size(character)
        if size > limit:
            break
    else:
        return text.rstrip()
    if _SPACE.match(text[end]):
        return text[:end].rstrip()
    boundary = max((m.start() for m in _SPACE.finditer(text, 0, end)), default=0)
    return text[:boundary].rstrip()


def _size(text: str) -> int:
    """UTF-8 bytes of ``text``, counted as :mod:`clearance.tokencount` counts them."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))
