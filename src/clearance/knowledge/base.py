"""An org's knowledge base: ingest files or text, delete by document or tag, stats, and
lexical retrieval with the catalog database's own full-text engine.

Documents are identified within their org by ``document_id``: for a file given by path,
its file name; for a file found under a folder given by path, its path relative to that
folder (``guides/billing.md``), so that re-ingesting the folder from anywhere names the
same documents. Re-ingesting a document whose content (sha256 of its bytes) and tags are
unchanged writes nothing and reports ``unchanged``; a changed one replaces its chunks.
Every ingest, replacement and deletion is audited in ``kb_audit`` (who, host, when).

A query is user text. :func:`query_terms` keeps its words (runs of letters and digits,
at most :data:`~clearance.catalog.kbstore.MAX_TERMS`), and the store matches any of them
as plain text: no character of a query is ever full-text syntax, and a query without a
word (empty, punctuation) finds nothing.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clearance.catalog import kbstore
from clearance.catalog.database import Catalog
from clearance.catalog.kbstore import OrgStats, WriteStatus
from clearance.errors import InputError
from clearance.knowledge.chunking import MAX_CHARS, DocumentFormat, chunk_document, format_for
from clearance.knowledge.types import Chunk, Hit

__all__ = [
    "DeleteResult",
    "IngestResult",
    "LexicalRetriever",
    "delete_documents",
    "ingest_paths",
    "ingest_text",
    "knowledge_stats",
    "query_terms",
]

_ORG_CHARS = 128
_DOCUMENT_CHARS = 512
_TAG_CHARS = 128
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one document did."""

    document_id: str
    status: WriteStatus
    """``ingested`` (new), ``replaced`` (changed) or ``unchanged`` (nothing written)."""
    chunks: int
    bytes: int
    source: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """What a deletion removed."""

    documents: int
    chunks: int


def query_terms(query: str) -> tuple[str, ...]:
    """The words of a user's query, lower-cased, each once, in order (at most
    :data:`~clearance.catalog.kbstore.MAX_TERMS`); ``()`` when it has none."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        seen.setdefault(word, None)
        if len(seen) == kbstore.MAX_TERMS:
            break
    return tuple(seen)


def _check(value: str, what: str, limit: int) -> str:
    if not value or not value.strip():
        raise InputError(f"the {what} is empty", fix=f"give a non-empty {what}")
    if len(value) > limit or "\x00" in value:
        raise InputError(
            f"the {what} {value[:60]!r} is longer than {limit} characters or holds a NUL",
            fix=f"use a {what} of at most {limit} printable characters",
        )
    return value


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({_check(tag.strip(), "tag", _TAG_CHARS) for tag in tags}))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ingest_text(
    catalog: Catalog,
    org_id: str,
    document_id: str,
    content: str | bytes,
    *,
    document_format: DocumentFormat = "markdown",
    source: str | None = None,
    tags: Iterable[str] = (),
    by: str | None = None,
    max_chars: int = MAX_CHARS,
) -> IngestResult:
    """Ingest one document's content (bytes are read as UTF-8) into ``org_id``'s base.

    Raises:
        InputError: an empty or too long org, document id or tag; bytes that are not
            UTF-8.
        CatalogUnavailable: the database cannot be reached.
    """
    _check(org_id, "org id", _ORG_CHARS)
    _check(document_id, "document id", _DOCUMENT_CHARS)
    raw = content.encode() if isinstance(content, str) else content
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{source or document_id}: not UTF-8 text (byte {error.start})",
            fix="save the file as UTF-8, or leave it out",
        ) from None
    parsed = chunk_document(text, document_format, max_chars=max_chars)
    document = kbstore.NewDocument(
        org_id=org_id,
        document_id=document_id,
        source=source,
        title=parsed.title,
        format=document_format,
        sha256=hashlib.sha256(raw).hexdigest(),
        tags=_tags(tags),
        bytes=len(raw),
        chunks=tuple((chunk.heading, chunk.text) for chunk in parsed.chunks),
    )
    status = kbstore.write_document(catalog, document, actor=by or getpass.getuser(), at=_now())
    return IngestResult(document_id, status, len(parsed.chunks), len(raw), source)


def _files(path: Path) -> list[tuple[str, Path, DocumentFormat]]:
    """(document id, file, format) of a file, or of every known file under a folder."""
    if path.is_dir():
        found = []
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(path)
            if any(part.startswith(".") for part in relative.parts) or not file.is_file():
                continue
            known = format_for(file.suffix)
            if known is not None:
                found.append((relative.as_posix(), file, known))
        return found
    if not path.exists():
        raise InputError(f"{path}: no such file or folder", fix="check the path")
    known = format_for(path.suffix)
    if known is None:
        raise InputError(
            f"{path}: clearance does not know the format of "
            f"{path.suffix or 'a file without a suffix'}",
            fix="ingest Markdown (.md), plain text (.txt) or HTML (.html) files",
        )
    return [(path.name, path, known)]


def ingest_paths(
    catalog: Catalog,
    org_id: str,
    paths: Sequence[Path],
    *,
    tags: Iterable[str] = (),
    by: str | None = None,
    max_chars: int = MAX_CHARS,
) -> list[IngestResult]:
    """Ingest files, and the Markdown, text and HTML files under folders (hidden ones
    left out), into ``org_id``'s base; one result per document, in order.

    Raises:
        InputError: a path that does not exist, a file of an unknown format, a file
            that is not UTF-8, two files that would have the same document id.
    """
    tags = _tags(tags)
    found = [entry for path in paths for entry in _files(path)]
    seen: dict[str, Path] = {}
    for document_id, file, _ in found:
        if document_id in seen and seen[document_id] != file:
            raise InputError(
                f"{seen[document_id]} and {file} would both be document {document_id!r}",
                fix="ingest them in separate commands under different folders",
            )
        seen[document_id] = file
    return [
        ingest_text(
            catalog,
            org_id,
            document_id,
            file.read_bytes(),
            document_format=known,
            source=str(file),
            tags=tags,
            by=by,
            max_chars=max_chars,
        )
        for document_id, file, known in found
    ]


def delete_documents(
    catalog: Catalog,
    org_id: str,
    *,
    document_id: str | None = None,
    tag: str | None = None,
    by: str | None = None,
) -> DeleteResult:
    """Delete one document, or every document carrying ``tag``, from ``org_id``'s base.

    Raises:
        InputError: neither or both of ``document_id`` and ``tag``; nothing to delete.
    """
    _check(org_id, "org id", _ORG_CHARS)
    if (document_id is None) == (tag is None):
        raise InputError(
            "delete takes a document id or a tag, one of the two",
            fix="name the document (--document ID) or the tag (--tag TAG)",
        )
    actor = by or getpass.getuser()
    if document_id is not None:
        documents, chunks = kbstore.delete_document(
            catalog, org_id, document_id, actor=actor, at=_now()
        )
        what = f"document {document_id!r}"
    else:
        assert tag is not None
        documents, chunks = kbstore.delete_tag(catalog, org_id, tag, actor=actor, at=_now())
        what = f"a document tagged {tag!r}"
    if documents == 0:
        raise InputError(
            f"org {org_id!r} has no {what} in its knowledge base",
            fix=f"see `clearance kb stats {org_id}` for what it holds",
        )
    return DeleteResult(documents, chunks)


def knowledge_stats(catalog: Catalog, org_id: str | None = None) -> list[OrgStats]:
    """What each org's knowledge base holds (only ``org_id``'s when given)."""
    return kbstore.org_stats(catalog, org_id)


class LexicalRetriever:
    """A :class:`~clearance.knowledge.types.Retriever` over the catalog's full-text index:
    SQLite FTS5 ranked by BM25, or PostgreSQL ``tsvector`` ranked by ``ts_rank_cd``.

    A chunk matches when it holds any word of the query (stemmed: English on
    PostgreSQL, Porter on SQLite), in its text or its heading path. On SQLite, a word
    in half the index's chunks or more, to which BM25 gives no weight, is left out of
    the match while at least ``k`` chunks hold another word of the query
    (:func:`~clearance.catalog.kbstore.search_chunks`): the same hits, found faster.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        """At most ``k`` hits from ``org_id``'s documents (only those carrying one of
        ``tags``, when given), best first; ``[]`` when the query has no word."""
        if k < 1:
            raise InputError(f"k={k}: a search returns at least one hit", fix="ask for k >= 1")
        terms = query_terms(query)
        if not terms:
            return []
        matches = kbstore.search_chunks(self.catalog, org_id, terms, k=k, tags=tuple(tags))
        return [
            Hit(
                Chunk(m.org_id, m.document_id, m.ordinal, m.heading, m.text, m.tags),
                rank,
                m.score,
            )
            for rank, m in enumerate(matches, start=1)
        ]

    def __repr__(self) -> str:
        return f"LexicalRetriever({self.catalog!r})"
