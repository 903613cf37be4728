"""Dense retrieval's vectors: every statement on ``kb_vectors`` (migration 0009).

A vector belongs to one chunk and one embedder (its name and version): vectors of two
embedders never mix, and a chunk deleted or replaced takes its vectors with it (``ON
DELETE CASCADE``). What a vector means, and how a query is scored against them, are
:mod:`clearance.knowledge.dense`'s; this store takes and returns bytes.

Tenant isolation is kept here, in SQL, as in :mod:`clearance.catalog.kbstore`: a
candidate vector is read only when its row *and* its chunk's row name the asking org
(and, with tags, when the chunk's document carries one of them in ``kb_tags`` of that
org), so no vector of another org ever reaches the scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

__all__ = [
    "StoredChunk",
    "candidates_statement",
    "chunks_by_id",
    "chunks_without_vectors",
    "vector_candidates",
    "vector_counts",
    "write_vectors",
]

_V = t.kb_vectors.c
_C = t.kb_chunks.c
_D = t.kb_documents.c
_G = t.kb_tags.c


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as a dense search returns it."""

    chunk_id: int
    org_id: str
    document_id: str
    ordinal: int
    heading: str
    text: str
    tags: tuple[str, ...]


def chunks_without_vectors(
    catalog: Catalog, org_id: str, embedder: str
) -> list[tuple[int, str, str]]:
    """``(chunk id, heading, text)`` of every chunk of ``org_id`` that has no vector of
    ``embedder`` yet, in id order."""
    has_vector = exists().where(_V.chunk_id == _C.id, _V.embedder == embedder)
    statement = (
        select(_C.id, _C.heading, _C.text).where(_C.org_id == org_id, ~has_vector).order_by(_C.id)
    )
    with catalog.connect() as connection:
        return [(int(r.id), r.heading, r.text) for r in connection.execute(statement)]


def write_vectors(
    catalog: Catalog,
    org_id: str,
    embedder: str,
    dimensions: int,
    vectors: Sequence[tuple[int, bytes]],
) -> int:
    """Store ``(chunk id, float32 bytes)`` pairs of ``org_id``'s chunks for ``embedder``
    in one transaction; the number written.

    Raises:
        ValueError: a chunk id that is not one of ``org_id``'s chunks, or a vector whose
            size is not ``dimensions`` float32 values (a caller's bug, never user input).
    """
    if not vectors:
        return 0
    ids = sorted({chunk_id for chunk_id, _ in vectors})
    if any(len(blob) != 4 * dimensions for _, blob in vectors):
        raise ValueError(f"every vector must be {dimensions} float32 values")
    with catalog.begin() as connection:
        owned = connection.execute(
            select(func.count()).where(_C.org_id == org_id, _C.id.in_(ids))
        ).scalar_one()
        if owned != len(ids):
            raise ValueError(f"{len(ids) - owned} chunk id(s) are not chunks of org {org_id!r}")
        connection.execute(
            insert(t.kb_vectors),
            [
                {
                    "chunk_id": chunk_id,
                    "embedder": embedder,
                    "org_id": org_id,
                    "dimensions": dimensions,
                    "vector": blob,
                }
                for chunk_id, blob in vectors
            ],
        )
    return len(vectors)


def candidates_statement(org_id: str, embedder: str, tags: Sequence[str] = ()) -> Select[Any]:
    """The ``(chunk_id, vector)`` rows a dense search of ``org_id`` scores: ``embedder``'s
    vectors of the org's chunks (only of documents carrying one of ``tags``, when given)."""
    conditions: list[ColumnElement[bool]] = [
        _V.org_id == org_id,
        _V.embedder == embedder,
        _C.org_id == org_id,
    ]
    if tags:
        conditions.append(
            exists()
            .where(
                _G.org_id == org_id,
                _G.org_id == _C.org_id,
                _G.document_id == _C.document_id,
                _G.tag.in_(sorted(set(tags))),
            )
            .correlate(t.kb_chunks)
        )
    return (
        select(_V.chunk_id, _V.vector)
        .select_from(t.kb_vectors.join(t.kb_chunks, _C.id == _V.chunk_id))
        .where(*conditions)
        .order_by(_V.chunk_id)
    )


def vector_candidates(
    catalog: Catalog, org_id: str, embedder: str, tags: Sequence[str] = ()
) -> list[tuple[int, bytes]]:
    """The rows of :func:`candidates_statement`, in chunk id order."""
    with catalog.connect() as connection:
        rows = connection.execute(candidates_statement(org_id, embedder, tags)).all()
    return [(int(r.chunk_id), bytes(r.vector)) for r in rows]


def chunks_by_id(catalog: Catalog, org_id: str, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
    """``org_id``'s chunks among ``chunk_ids``, by id (another org's id is left out)."""
    if not chunk_ids:
        return {}
    same_document = and_(_D.org_id == _C.org_id, _D.document_id == _C.document_id)
    statement = (
        select(_C.id, _C.org_id, _C.document_id, _C.ordinal, _C.heading, _C.text, _D.tags)
        .select_from(t.kb_chunks.join(t.kb_documents, same_document))
        .where(_C.org_id == org_id, _D.org_id == org_id, _C.id.in_(sorted(set(chunk_ids))))
    )
    with catalog.connect() as connection:
        rows = connection.execute(statement).all()
    return {
        int(r.id): StoredChunk(
            int(r.id), r.org_id, r.document_id, r.ordinal, r.heading, r.text, tuple(r.tags)
        )
        for r in rows
    }


def vector_counts(catalog: Catalog, org_id: str) -> dict[str, int]:
    """How many vectors ``org_id`` has per embedder."""
    statement = (
        select(_V.embedder, func.count())
        .where(_V.org_id == org_id)
        .group_by(_V.embedder)
        .order_by(_V.embedder)
    )
    with catalog.connect() as connection:
        return {embedder: int(count) for embedder, count in connection.execute(statement)}
