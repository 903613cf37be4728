"""The values knowledge retrieval passes around: a chunk of an org's document, a hit, and
what a retriever is.

A knowledge base belongs to one org (``org_id``); a document is one ingested file or
text, named by ``document_id`` (unique within its org); a chunk is a piece of a document
that retrieval returns, with the heading path it sits under. Every retriever — lexical
(the database's own full-text engine), dense or hybrid — is a :class:`Retriever`: given an
org, a query, ``k`` and tags, it returns at most ``k`` hits of that org only, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one document of one org, as stored and as retrieved."""

    org_id: str
    document_id: str
    """Unique within the org: the path the document was ingested from, or an id given."""
    ordinal: int
    """Position of the chunk within its document, from 0."""
    heading: str
    """The heading path the chunk sits under (``"Billing > Refunds"``; empty: none)."""
    text: str
    tags: tuple[str, ...] = ()
    """The document's tags (retrieval can be scoped to any of them)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk, its rank (1 = best) and the retriever's score (higher is
    better; only comparable within one search)."""

    chunk: Chunk
    rank: int
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Anything that searches an org's knowledge base."""

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        """At most ``k`` hits from ``org_id``'s documents (only those carrying one of
        ``tags``, when given), best first; ``[]`` when nothing matches."""
        ...
