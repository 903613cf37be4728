"""Knowledge-base rows: documents, their tags and chunks, the audit trail, and full-text search.

Every statement on ``kb_documents``, ``kb_tags``, ``kb_chunks`` and ``kb_audit`` is here.
What a document is, how it is chunked and how a user's query becomes search terms are
:mod:`clearance.knowledge`'s; this store takes plain values.

Tenant isolation is kept here, in SQL: every statement names its org in its ``WHERE``
clause (and each join repeats the org), and a search's terms reach the database only as
bound parameters, quoted as FTS5 strings on SQLite (so no term is ever an operator:
``NEAR``, ``AND``, ``*``, ``-`` and quotes are text) and passed to ``plainto_tsquery`` on
PostgreSQL (which takes any text).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    table,
)

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

__all__ = [
    "MAX_TERMS",
    "AuditRow",
    "ChunkMatch",
    "DocumentRow",
    "NewDocument",
    "OrgStats",
    "WriteStatus",
    "audit_rows",
    "delete_document",
    "delete_tag",
    "document_rows",
    "org_stats",
    "search_chunks",
    "search_statement",
    "write_document",
]

MAX_TERMS = 64
"""At most this many search terms reach the database (the first ones are kept)."""

WriteStatus = Literal["ingested", "replaced", "unchanged"]

_D = t.kb_documents.c
_C = t.kb_chunks.c
_G = t.kb_tags.c
_A = t.kb_audit.c


@dataclass(frozen=True, slots=True)
class NewDocument:
    """A document to write, already chunked: ``chunks`` are ``(heading, text)`` in order."""

    org_id: str
    document_id: str
    source: str | None
    title: str | None
    format: str
    sha256: str
    tags: tuple[str, ...]
    bytes: int
    chunks: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One ``kb_documents`` row."""

    org_id: str
    document_id: str
    source: str | None
    title: str | None
    format: str
    sha256: str
    tags: tuple[str, ...]
    bytes: int
    chunks: int
    ingested_at: dt.datetime
    ingested_by: str


@dataclass(frozen=True, slots=True)
class ChunkMatch:
    """A chunk a search found, with the database's score (higher is better)."""

    org_id: str
    document_id: str
    ordinal: int
    heading: str
    text: str
    tags: tuple[str, ...]
    score: float


@dataclass(frozen=True, slots=True)
class OrgStats:
    """What one org's knowledge base holds."""

    org_id: str
    documents: int
    chunks: int
    bytes: int
    """Size of the documents as read."""
    text_chars: int
    """Characters of chunk text stored."""
    tags: dict[str, int]
    """Documents per tag."""
    last_ingested_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One ``kb_audit`` row."""

    at: dt.datetime
    actor: str
    host: str | None
    org_id: str
    action: str
    document_id: str | None
    tag: str | None
    documents: int
    chunks: int
    sha256: str | None


def _document_key(org_id: str, document_id: str) -> ColumnElement[bool]:
    return and_(_D.org_id == org_id, _D.document_id == document_id)


def _remove(connection: Connection, org_id: str, document_ids: Sequence[str]) -> int:
    """Delete documents of one org with their tags and chunks; the chunks removed."""
    if not document_ids:
        return 0
    chunks = connection.execute(
        select(func.count()).where(_C.org_id == org_id, _C.document_id.in_(document_ids))
    ).scalar_one()
    connection.execute(
        delete(t.kb_chunks).where(_C.org_id == org_id, _C.document_id.in_(document_ids))
    )
    connection.execute(
        delete(t.kb_tags).where(_G.org_id == org_id, _G.document_id.in_(document_ids))
    )
    connection.execute(
        delete(t.kb_documents).where(_D.org_id == org_id, _D.document_id.in_(document_ids))
    )
    return int(chunks)


def _audit(connection: Connection, **values: Any) -> None:
    connection.execute(insert(t.kb_audit).values(host=socket.gethostname(), **values))


def write_document(
    catalog: Catalog, document: NewDocument, *, actor: str, at: dt.datetime
) -> WriteStatus:
    """Store ``document`` (replacing the org's document of that id and its chunks), and
    audit it, in one transaction; ``unchanged`` (nothing written) when the stored one has
    the same sha256 and tags."""
    tags = sorted(set(document.tags))
    org_id, document_id = document.org_id, document.document_id
    with catalog.begin() as connection:
        before = connection.execute(
            select(_D.sha256, _D.tags).where(_document_key(org_id, document_id))
        ).first()
        if before is not None and before.sha256 == document.sha256 and list(before.tags) == tags:
            return "unchanged"
        if before is not None:
            _remove(connection, org_id, [document_id])
        connection.execute(
            insert(t.kb_documents).values(
                org_id=org_id,
                document_id=document_id,
                source=document.source,
                title=document.title,
                format=document.format,
                sha256=document.sha256,
                tags=tags,
                bytes=document.bytes,
                chunks=len(document.chunks),
                ingested_at=at,
                ingested_by=actor,
            )
        )
        if tags:
            connection.execute(
                insert(t.kb_tags),
                [{"org_id": org_id, "tag": tag, "document_id": document_id} for tag in tags],
            )
        if document.chunks:
            connection.execute(
                insert(t.kb_chunks),
                [
                    {
                        "org_id": org_id,
                        "document_id": document_id,
                        "ordinal": ordinal,
                        "heading": heading,
                        "text": text,
                    }
                    for ordinal, (heading, text) in enumerate(document.chunks)
                ],
            )
        status: WriteStatus = "ingested" if before is None else "replaced"
        _audit(
            connection,
            at=at,
            actor=actor,
            org_id=org_id,
            action="ingest" if before is None else "replace",
            document_id=document_id,
            documents=1,
            chunks=len(document.chunks),
            sha256=document.sha256,
        )
    return status


def delete_document(
    catalog: Catalog, org_id: str, document_id: str, *, actor: str, at: dt.datetime
) -> tuple[int, int]:
    """Delete one document of ``org_id`` and audit it: (documents, chunks) removed; (0, 0)
    and no audit row when there was none."""
    with catalog.begin() as connection:
        found = connection.execute(
            select(_D.document_id).where(_document_key(org_id, document_id))
        ).first()
        if found is None:
            return 0, 0
        chunks = _remove(connection, org_id, [document_id])
        _audit(
            connection,
            at=at,
            actor=actor,
            org_id=org_id,
            action="delete",
            document_id=document_id,
            documents=1,
            chunks=chunks,
        )
    return 1, chunks


def delete_tag(
    catalog: Catalog, org_id: str, tag: str, *, actor: str, at: dt.datetime
) -> tuple[int, int]:
    """Delete every document of ``org_id`` carrying ``tag`` and audit it: (documents,
    chunks) removed; (0, 0) and no audit row when none carries it."""
    with catalog.begin() as connection:
        documents = list(
            connection.execute(
                select(_G.document_id).where(_G.org_id == org_id, _G.tag == tag)
            ).scalars()
        )
        if not documents:
            return 0, 0
        chunks = _remove(connection, org_id, documents)
        _audit(
            connection,
            at=at,
            actor=actor,
            org_id=org_id,
            action="delete",
            tag=tag,
            documents=len(documents),
            chunks=chunks,
        )
    return len(documents), chunks


def document_rows(catalog: Catalog, org_id: str) -> list[DocumentRow]:
    """The documents of ``org_id``, by id."""
    with catalog.connect() as connection:
        rows = connection.execute(
            select(t.kb_documents).where(_D.org_id == org_id).order_by(_D.document_id)
        ).all()
    return [
        DocumentRow(
            r.org_id,
            r.document_id,
            r.source,
            r.title,
            r.format,
            r.sha256,
            tuple(r.tags),
            r.bytes,
            r.chunks,
            r.ingested_at,
            r.ingested_by,
        )
        for r in rows
    ]


def org_stats(catalog: Catalog, org_id: str | None = None) -> list[OrgStats]:
    """What each org's knowledge base holds (only ``org_id``'s when given), by org."""
    documents = select(
        _D.org_id,
        func.count().label("documents"),
        func.coalesce(func.sum(_D.chunks), 0).label("chunks"),
        func.coalesce(func.sum(_D.bytes), 0).label("bytes"),
        func.max(_D.ingested_at).label("last"),
    ).group_by(_D.org_id)
    chars = select(_C.org_id, func.sum(func.length(_C.text)).label("chars")).group_by(_C.org_id)
    tags = select(_G.org_id, _G.tag, func.count().label("n")).group_by(_G.org_id, _G.tag)
    if org_id is not None:
        documents = documents.where(_D.org_id == org_id)
        chars = chars.where(_C.org_id == org_id)
        tags = tags.where(_G.org_id == org_id)
    with catalog.connect() as connection:
        rows = connection.execute(documents.order_by(_D.org_id)).all()
        text_chars = {r.org_id: int(r.chars or 0) for r in connection.execute(chars)}
        per_tag: dict[str, dict[str, int]] = {}
        for r in connection.execute(tags.order_by(_G.org_id, _G.tag)):
            per_tag.setdefault(r.org_id, {})[r.tag] = int(r.n)
    return [
        OrgStats(
            r.org_id,
            int(r.documents),
            int(r.chunks),
            int(r.bytes),
            text_chars.get(r.org_id, 0),
            per_tag.get(r.org_id, {}),
            r.last,
        )
        for r in rows
    ]


def audit_rows(catalog: Catalog, org_id: str | None = None) -> list[AuditRow]:
    """The audit trail (of ``org_id`` when given), oldest first."""
    query = select(t.kb_audit).order_by(_A.id)
    if org_id is not None:
        query = query.where(_A.org_id == org_id)
    with catalog.connect() as connection:
        rows = connection.execute(query).all()
    return [
        AuditRow(
            r.at,
            r.actor,
            r.host,
            r.org_id,
            r.action,
            r.document_id,
            r.tag,
            r.documents,
            r.chunks,
            r.sha256,
        )
        for r in rows
    ]


# -- full-text search ------------------------------------------------------------------

_FTS = table("kb_fts", column("rowid"))
_FTS_SIZES = table("kb_fts_docsize", column("id"))
_FTS_TABLE: ColumnElement[Any] = literal_column("kb_fts")
_TSVECTOR: ColumnElement[Any] = literal_column("kb_chunks.kb_fts")
_TS_CONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")


def _fts5_string(term: str) -> str:
    """``term`` as an FTS5 string: quoted, so it is text whatever it holds."""
    return '"' + term.replace('"', '""') + '"'


def search_statement(
    dialect: str, org_id: str, terms: Sequence[str], *, k: int, tags: Sequence[str] = ()
) -> Select[Any]:
    """The search for chunks of ``org_id`` matching any of ``terms`` (at least one), best
    first, on ``dialect`` (``sqlite``: FTS5 and ``bm25``; ``postgresql``: ``tsvector``
    and ``ts_rank_cd``). Only chunks of documents carrying one of ``tags``, when given.

    The best ``k`` chunks are found first (the org's and tags' filters in that inner
    query), and only those ``k`` are joined to their documents for their tags."""
    terms = [term.replace("\x00", "") for term in terms[:MAX_TERMS]]
    if not terms:
        raise ValueError("a search needs at least one term")
    conditions: list[ColumnElement[bool]] = [_C.org_id == org_id]
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
    if dialect == "sqlite":
        expression = " OR ".join(_fts5_string(term) for term in terms)
        # bm25 is lower for better matches; the heading counts twice
        rank = func.bm25(_FTS_TABLE, 2.0, 1.0)
        best = (
            select(_C.id, (-rank).label("score"))
            .select_from(_FTS.join(t.kb_chunks, _C.id == _FTS.c.rowid))
            .where(_FTS_TABLE.op("MATCH")(bindparam("fts_query", expression)), *conditions)
            .order_by(rank, _C.id)
            .limit(k)
            .subquery("best")
        )
    else:
        queries: list[ColumnElement[Any]] = [
            func.plainto_tsquery(_TS_CONFIG, bindparam(f"term_{i}", term))
            for i, term in enumerate(terms)
        ]
        # one uncorrelated subquery (an InitPlan): the terms are parsed once per search,
        # not once per matching row, as a stable function in the select list would be
        query = select(reduce(lambda left, right: left.op("||")(right), queries)).scalar_subquery()
        score = func.ts_rank_cd(_TSVECTOR, query)
        best = (
            select(_C.id, score.label("score"))
            .where(_TSVECTOR.op("@@")(query), *conditions)
            .order_by(score.desc(), _C.id)
            .limit(k)
            .subquery("best")
        )
    return (
        select(_C.org_id, _C.document_id, _C.ordinal, _C.heading, _C.text, _D.tags, best.c.score)
        .select_from(
            best.join(t.kb_chunks, _C.id == best.c.id).join(
                t.kb_documents, and_(_D.org_id == _C.org_id, _D.document_id == _C.document_id)
            )
        )
        .where(_C.org_id == org_id, _D.org_id == org_id)
        .order_by(best.c.score.desc(), _C.id)
    )


PRUNE_FROM_ROWS = 2_000
"""The full-text index's size (rows, every org's) from which a SQLite search leaves out
the terms ``bm25`` weighs at ~0 (:func:`search_chunks`). Below it, ranking every match
costs less than counting each term's rows first: measured on the example knowledge base
(24 documents), pruning took a search from 1.2 to 5.6 ms p50."""


def _index_rows(connection: Connection) -> int:
    """Rows in SQLite's full-text index, every org's (``bm25``'s row count): one per
    indexed chunk, a few bytes each, cheaper to count than the chunks."""
    return int(connection.execute(select(func.count()).select_from(_FTS_SIZES)).scalar_one())


def _rare_in_bm25(connection: Connection, terms: Sequence[str], total: int) -> list[str]:
    """The ``terms`` to which SQLite's ``bm25`` gives weight: those in fewer than half of
    the full-text index's ``total`` rows. ``bm25`` clamps the IDF of a term in half the
    rows or more to 1e-6, so such a term moves a chunk's score by a few millionths at
    most; its rows are only ranked, at a cost, to come last. The counts are the index's
    own, over every org, as ``bm25``'s statistics are: only counts are read, never a row."""
    counts = [
        select(func.count())
        .select_from(_FTS)
        .where(_FTS_TABLE.op("MATCH")(bindparam(f"df_{i}", _fts5_string(term))))
        .scalar_subquery()
        for i, term in enumerate(terms)
    ]
    found = connection.execute(select(*counts)).one()
    return [term for term, n in zip(terms, found, strict=True) if 2 * n < total]


def search_chunks(
    catalog: Catalog, org_id: str, terms: Sequence[str], *, k: int, tags: Sequence[str] = ()
) -> list[ChunkMatch]:
    """At most ``k`` chunks of ``org_id`` matching any of ``terms``, best first
    (:func:`search_statement`); ``[]`` without terms or with ``k`` below 1.

    On SQLite, from :data:`PRUNE_FROM_ROWS` indexed chunks, terms that ``bm25`` weighs
    at ~0 (in half the index's rows or more) are left out of the match when the query has
    another term and at least ``k`` chunks hold one of the others: the same chunks in the
    same order (up to ties within a few millionths of a score), without ranking the
    thousands of rows that hold only the common words. With fewer than ``k`` such chunks,
    every term is matched."""
    terms = list(terms[:MAX_TERMS])
    if not terms or k < 1:
        return []
    with catalog.connect() as connection:
        rows: Sequence[Any] = ()
        if catalog.dialect == "sqlite" and len(terms) > 1:
            total = _index_rows(connection)
            rare = _rare_in_bm25(connection, terms, total) if total >= PRUNE_FROM_ROWS else []
            if rare and len(rare) < len(terms):
                statement = search_statement(catalog.dialect, org_id, rare, k=k, tags=tags)
                rows = connection.execute(statement).all()
        if len(rows) < k:
            statement = search_statement(catalog.dialect, org_id, terms, k=k, tags=tags)
            rows = connection.execute(statement).all()
    return [
        ChunkMatch(
            r.org_id, r.document_id, r.ordinal, r.heading, r.text, tuple(r.tags), float(r.score)
        )
        for r in rows
    ]
