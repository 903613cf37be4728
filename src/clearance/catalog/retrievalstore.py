"""``retrievals`` rows: one per knowledge retrieval a routed call made, linked to its
``ai_calls`` row by ``call_id``.

A retrieval travels with its call's row through the call log (writer, spill file,
journal, dead letters) as ``extra["retrieval"]`` (:data:`EXTRA_KEY`), a JSON object
that :func:`split_retrieval` takes out of the row just before the insert:
:func:`~clearance.catalog.callstore.insert_new_calls` writes the call's row and its
``retrievals`` row in one transaction, and only for a call not stored yet, so a row
replayed twice has one retrieval. The query's text is never stored (its sha256 and
length are). What a retrieval holds is :mod:`clearance.knowledge.context`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

__all__ = [
    "EXTRA_KEY",
    "RetrievalRow",
    "insert_retrievals",
    "read_retrievals",
    "retrieval_row",
    "split_retrieval",
]

EXTRA_KEY = "retrieval"
"""Where a call's retrieval waits in its row's ``extra`` until it is inserted."""

_COUNTS = ("query_chars", "k", "documents", "chunks", "bytes", "tokens", "cut_chunks")


@dataclass(frozen=True, slots=True)
class RetrievalRow:
    """A stored ``retrievals`` row."""

    call_id: str | None
    org_id: str
    retriever: str
    query_sha256: str
    query_chars: int
    k: int
    documents: int
    chunks: int
    bytes: int
    tokens: int
    tags: tuple[str, ...]
    latency_ms: float
    truncated: bool
    cut_chunks: int
    tokens_cut: int
    error: str | None
    created_at: dt.datetime


def split_retrieval(row: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any] | None]:
    """The call's row without its retrieval, and the retrieval (``None``: it has none)."""
    extra = row.get("extra")
    if not isinstance(extra, Mapping) or EXTRA_KEY not in extra:
        return row, None
    rest = {key: value for key, value in extra.items() if key != EXTRA_KEY}
    retrieval = extra[EXTRA_KEY]
    return {**row, "extra": rest or None}, dict(retrieval) if isinstance(retrieval, Mapping) else {}


def retrieval_row(call_id: str | None, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``retrievals`` row for a call's retrieval entry (``Retrieval.log_entry()``).

    Raises:
        ValueError: an entry that is not one (the insert is then refused like a bad
            value, and the call's row goes to the dead letters).
    """
    try:
        return _retrieval_row(call_id, entry)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"extra.{EXTRA_KEY} is not a retrieval entry: {error!r}") from None


def _retrieval_row(call_id: str | None, entry: Mapping[str, Any]) -> dict[str, Any]:
    at = entry["at"]
    created = (
        dt.datetime.fromtimestamp(float(at), dt.UTC)
        if isinstance(at, int | float)
        else dt.datetime.fromisoformat(str(at))
    )
    row: dict[str, Any] = {
        "call_id": call_id,
        "org_id": str(entry["org_id"]),
        "retriever": str(entry["retriever"]),
        "query_sha256": str(entry["query_sha256"]),
        "tags": [str(tag) for tag in entry.get("tags") or ()],
        "latency_ms": float(entry["latency_ms"]),
        "truncated": bool(entry["truncated"]),
        "tokens_cut": int(entry.get("tokens_cut") or 0),
        "error": None if entry.get("error") is None else str(entry["error"])[:64],
        "created_at": created,
    }
    for name in _COUNTS:
        row[name] = int(entry[name])
    return row


def insert_retrievals(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``retrievals`` rows in the caller's transaction."""
    if rows:
        connection.execute(insert(t.retrievals), list(rows))


def read_retrievals(
    catalog: Catalog,
    *,
    call_id: str | None = None,
    org_id: str | None = None,
    limit: int = 1000,
) -> list[RetrievalRow]:
    """Stored retrievals, oldest first: of one call, or of one org (both: of both).

    Raises:
        CatalogUnavailable: the database cannot be read.
    """
    c = t.retrievals.c
    query = select(t.retrievals).order_by(c.created_at, c.id).limit(limit)
    if call_id is not None:
        query = query.where(c.call_id == call_id)
    if org_id is not None:
        query = query.where(c.org_id == org_id)
    with catalog.connect() as connection:
        found = connection.execute(query).mappings().all()
    return [
        RetrievalRow(
            call_id=row["call_id"],
            org_id=row["org_id"],
            retriever=row["retriever"],
            query_sha256=row["query_sha256"],
            query_chars=row["query_chars"],
            k=row["k"],
            documents=row["documents"],
            chunks=row["chunks"],
            bytes=row["bytes"],
            tokens=row["tokens"],
            tags=tuple(row["tags"] or ()),
            latency_ms=row["latency_ms"],
            truncated=bool(row["truncated"]),
            cut_chunks=row["cut_chunks"],
            tokens_cut=row["tokens_cut"],
            error=row["error"],
            created_at=row["created_at"],
        )
        for row in found
    ]
