"""Knowledge retrieval, gated like a model: org-scoped knowledge bases in the catalog
database, retrievers over them, a token budget for what they inject, and the quality
checks that clear a retriever configuration (issue 22)."""

from __future__ import annotations

from clearance.knowledge.types import Chunk, Hit, Retriever

__all__ = ["Chunk", "Hit", "Retriever"]
