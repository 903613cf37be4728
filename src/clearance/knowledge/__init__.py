"""Knowledge retrieval, gated like a model: org-scoped knowledge bases in the catalog
database, retrievers over them, a token budget for what they inject, and the quality
checks that clear a retriever configuration (issue 22)."""

from __future__ import annotations

from clearance.knowledge.base import (
    DeleteResult,
    IngestResult,
    LexicalRetriever,
    delete_documents,
    ingest_paths,
    ingest_text,
    knowledge_stats,
    query_terms,
)
from clearance.knowledge.chunking import MAX_CHARS, ParsedDocument, TextChunk, chunk_document
from clearance.knowledge.types import Chunk, Hit, Retriever

__all__ = [
    "MAX_CHARS",
    "Chunk",
    "DeleteResult",
    "Hit",
    "IngestResult",
    "LexicalRetriever",
    "ParsedDocument",
    "Retriever",
    "TextChunk",
    "chunk_document",
    "delete_documents",
    "ingest_paths",
    "ingest_text",
    "knowledge_stats",
    "query_terms",
]
