"""Knowledge retrieval, gated like a model: org-scoped knowledge bases in the catalog
database, retrievers over them, a token budget for what they inject, and the quality
checks that clear a retriever configuration (issue 22)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from clearance.catalog.kbstore import OrgStats
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
from clearance.knowledge.budget import BudgetedContext, fit_context
from clearance.knowledge.chunking import MAX_CHARS, ParsedDocument, TextChunk, chunk_document
from clearance.knowledge.context import MAX_K, Knowledge, Retrieval, retrieve, retriever_name
from clearance.knowledge.inject import (
    CONTEXT_ROLE,
    CUT_MARK,
    chunk_label,
    context_header,
    context_message,
    inject_context,
)
from clearance.knowledge.labels import (
    MAX_GRADE,
    LabelledQuery,
    QuerySet,
    dump_queryset,
    load_queryset,
)
from clearance.knowledge.quality import (
    NDCG_DEPTH,
    MetricSummary,
    QueryScore,
    RetrievalReport,
    bootstrap_means,
    document_ranks,
    evaluate,
    ndcg_at,
    query_clusters,
    recall_at_k,
    reciprocal_rank,
    score_query,
)
from clearance.knowledge.types import Chunk, Hit, Retriever

if TYPE_CHECKING:
    from clearance.knowledge.bfcl_retrieval import (
        BfclRetrievalSet,
        ToolDocument,
        build_bfcl_retrieval,
        tool_document_text,
    )
    from clearance.knowledge.dense import (
        DenseRetriever,
        Embedder,
        HashingEmbedder,
        chunk_text_for_embedding,
        embed_chunks,
    )
    from clearance.knowledge.hybrid import RRF_K, HybridRetriever, reciprocal_rank_fusion
    from clearance.knowledge.minilm import MiniLMEmbedder

_LAZY = dict.fromkeys(
    ("BfclRetrievalSet", "ToolDocument", "build_bfcl_retrieval", "tool_document_text"),
    "clearance.knowledge.bfcl_retrieval",
) | {
    **dict.fromkeys(
        (
            "DenseRetriever",
            "Embedder",
            "HashingEmbedder",
            "chunk_text_for_embedding",
            "embed_chunks",
        ),
        "clearance.knowledge.dense",
    ),
    **dict.fromkeys(
        ("RRF_K", "HybridRetriever", "reciprocal_rank_fusion"), "clearance.knowledge.hybrid"
    ),
    "MiniLMEmbedder": "clearance.knowledge.minilm",
}
"""Imported on first use: the BFCL retrieval set reads BFCL through the contracts importer
(jsonschema and all), which a program that only searches a knowledge base never needs;
dense and hybrid retrieval import numpy, which lexical retrieval never needs."""

__all__ = [
    "CONTEXT_ROLE",
    "CUT_MARK",
    "MAX_CHARS",
    "MAX_GRADE",
    "MAX_K",
    "NDCG_DEPTH",
    "RRF_K",
    "BfclRetrievalSet",
    "BudgetedContext",
    "Chunk",
    "DeleteResult",
    "DenseRetriever",
    "Embedder",
    "HashingEmbedder",
    "Hit",
    "HybridRetriever",
    "IngestResult",
    "Knowledge",
    "LabelledQuery",
    "LexicalRetriever",
    "MetricSummary",
    "MiniLMEmbedder",
    "OrgStats",
    "ParsedDocument",
    "QueryScore",
    "QuerySet",
    "Retrieval",
    "RetrievalReport",
    "Retriever",
    "TextChunk",
    "ToolDocument",
    "bootstrap_means",
    "build_bfcl_retrieval",
    "chunk_document",
    "chunk_label",
    "chunk_text_for_embedding",
    "context_header",
    "context_message",
    "delete_documents",
    "document_ranks",
    "dump_queryset",
    "embed_chunks",
    "evaluate",
    "fit_context",
    "ingest_paths",
    "ingest_text",
    "inject_context",
    "knowledge_stats",
    "load_queryset",
    "ndcg_at",
    "query_clusters",
    "query_terms",
    "recall_at_k",
    "reciprocal_rank",
    "reciprocal_rank_fusion",
    "retrieve",
    "retriever_name",
    "score_query",
    "tool_document_text",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
