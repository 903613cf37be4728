"""A routed call's knowledge: what the caller asks for, and what retrieval brought.

``Router.complete(messages, org="acme", knowledge=Knowledge(org_id="acme", query=...,
budget_tokens=1500))`` retrieves from the org's knowledge base (:func:`retrieve`), cuts
the hits to the budget (:mod:`clearance.knowledge.budget`) and injects them as one
system message (:mod:`clearance.knowledge.inject`). What happened is a
:class:`Retrieval`: on the call's result (``RouterResult.retrieval``) and, through the
call log, as the call's ``retrievals`` row (:meth:`Retrieval.log_entry`; the query's
text is never logged, only its sha256 and length).

**When retrieval fails** (the database is down, the retriever raises): by default the
call goes on without context, and its ``retrievals`` row says why (``error``): an
answer from the model alone is better than none for most products, and the row makes
every such call visible. ``Knowledge(required=True)`` is for a product that must not
answer without its documents: the call then ends with
:class:`~clearance.errors.RetrievalFailed` before any provider is called, and is
logged (status ``error``) with its ``retrievals`` row.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from clearance.errors import InputError
from clearance.knowledge.budget import BudgetedContext, fit_context
from clearance.knowledge.types import Hit, Retriever

__all__ = ["MAX_K", "Knowledge", "Retrieval", "failed_retrieval", "retrieve", "retriever_name"]

log = logging.getLogger("clearance.knowledge")

MAX_K = 100
"""The most hits one call's retrieval may ask for."""
_NAME_CHARS = 128


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What a routed call asks of its org's knowledge base.

    Raises:
        InputError: a budget below 1, ``k`` outside 1..:data:`MAX_K`, a query or org
            that is not text.
    """

    org_id: str
    """The org whose knowledge base is searched: must be the call's ``org``."""
    query: str
    """What to search for (usually the user's last message); never logged as text."""
    budget_tokens: int
    """Most tokens the injected message may take, its framing included (estimated:
    :mod:`clearance.knowledge.budget`)."""
    tags: tuple[str, ...] = ()
    """Search only documents carrying one of these tags (empty: all)."""
    k: int = 5
    """Hits to retrieve before the budget cuts them."""
    required: bool = False
    """Fail the call when retrieval fails, instead of answering without context."""

    def __post_init__(self) -> None:
        if not isinstance(self.org_id, str) or not isinstance(self.query, str):
            raise InputError(
                "Knowledge(org_id=, query=) take text",
                fix="pass the org id and the query as strings",
            )
        if isinstance(self.budget_tokens, bool) or not isinstance(self.budget_tokens, int):
            raise InputError(
                f"Knowledge(budget_tokens={self.budget_tokens!r}) is not a whole number",
                fix="give the most tokens the injected context may take, e.g. 1500",
            )
        if self.budget_tokens < 1:
            raise InputError(
                f"Knowledge(budget_tokens={self.budget_tokens}) leaves no room for context",
                fix="give a budget of 1 token or more (the framing alone takes about 50)",
            )
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise InputError(
                f"Knowledge(k={self.k!r}) is not a number of hits from 1 to {MAX_K}",
                fix=f"ask for k between 1 and {MAX_K}",
            )
        if isinstance(self.tags, str):  # type: ignore[unreachable]  # a caller's mistake
            raise InputError(
                f"Knowledge(tags={self.tags!r}) is one string, not a list of tags",
                fix=f"pass tags=({self.tags!r},)",
            )
        object.__setattr__(self, "tags", tuple(self.tags))


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What a call's retrieval did: what was found, what was injected, what was cut."""

    org_id: str
    retriever: str
    """The retriever configuration's name (its ``name``, else its class's)."""
    query_sha256: str
    query_chars: int
    k: int
    hits: tuple[Hit, ...]
    """Everything retrieved, best first, before the budget."""
    context: BudgetedContext
    """What the budget kept (``context.message`` is what was injected)."""
    latency_ms: float
    """Search and budget, in milliseconds."""
    at: float
    """When it started (POSIX seconds)."""
    required: bool = False
    """Whether the call required it (``Knowledge.required``)."""
    error: str | None = None
    """Why retrieval failed (the error's class name; nothing was injected)."""
    detail: str | None = field(default=None, repr=False)
    """The failure's message, for the log (not stored in the row)."""

    @property
    def documents(self) -> int:
        """Distinct documents whose text was injected."""
        return len({hit.chunk.document_id for hit in self.context.kept})

    @property
    def tags(self) -> tuple[str, ...]:
        """The source tags of the chunks injected, sorted, each once."""
        return tuple(sorted({tag for hit in self.context.kept for tag in hit.chunk.tags}))

    def log_entry(self) -> dict[str, Any]:
        """The call's ``retrievals`` row, less its call id: JSON, for the call log."""
        context = self.context
        return {
            "org_id": self.org_id,
            "retriever": self.retriever,
            "query_sha256": self.query_sha256,
            "query_chars": self.query_chars,
            "k": self.k,
            "documents": self.documents,
            "chunks": len(context.kept),
            "bytes": context.bytes,
            "tokens": context.tokens,
            "tags": list(self.tags),
            "latency_ms": round(self.latency_ms, 3),
            "truncated": context.truncated,
            "cut_chunks": context.cut_chunks,
            "tokens_cut": context.tokens_cut,
            "error": self.error,
            "at": self.at,
        }


def retriever_name(retriever: Retriever) -> str:
    """How a retriever is named in the ``retrievals`` table: its ``name``, else its class's."""
    name = getattr(retriever, "name", None)
    if not isinstance(name, str) or not name:
        name = type(retriever).__name__
    return name[:_NAME_CHARS]


def retrieve(retriever: Retriever, knowledge: Knowledge, *, name: str | None = None) -> Retrieval:
    """Search, then cut to the budget; a failure is returned as a :class:`Retrieval`
    with ``error`` set and nothing injected (the caller decides what it means)."""
    at = time.time()
    t0 = time.perf_counter()
    name = name or retriever_name(retriever)
    try:
        hits = retriever.search(
            knowledge.org_id, knowledge.query, k=knowledge.k, tags=knowledge.tags
        )
        foreign = [hit for hit in hits if hit.chunk.org_id != knowledge.org_id]
        if foreign:  # a retriever bug must not leak another org's text into a prompt
            raise RuntimeError(
                f"the retriever returned {len(foreign)} chunk(s) of another org than "
                f"{knowledge.org_id!r}"
            )
    except Exception as failure:  # any retriever's failure: the caller's rule decides
        return failed_retrieval(knowledge, failure, name=name, at=at, t0=t0)
    hits = list(hits)[: knowledge.k]
    return Retrieval(
        org_id=knowledge.org_id,
        retriever=name,
        query_sha256=_sha256(knowledge.query),
        query_chars=len(knowledge.query),
        k=knowledge.k,
        hits=tuple(hits),
        context=fit_context(knowledge.org_id, hits, knowledge.budget_tokens),
        latency_ms=(time.perf_counter() - t0) * 1000,
        at=at,
        required=knowledge.required,
    )


def failed_retrieval(
    knowledge: Knowledge,
    failure: BaseException,
    *,
    name: str = "unknown",
    at: float | None = None,
    t0: float | None = None,
) -> Retrieval:
    """The :class:`Retrieval` of a search that raised ``failure``: nothing retrieved."""
    error = type(failure).__name__
    detail = (str(failure).splitlines() or [error])[0][:500]
    log.warning("retrieval for org %s failed: %s: %s", knowledge.org_id, error, detail)
    return Retrieval(
        org_id=knowledge.org_id,
        retriever=name,
        query_sha256=_sha256(knowledge.query),
        query_chars=len(knowledge.query),
        k=knowledge.k,
        hits=(),
        context=fit_context(knowledge.org_id, (), knowledge.budget_tokens),
        latency_ms=0.0 if t0 is None else (time.perf_counter() - t0) * 1000,
        at=time.time() if at is None else at,
        required=knowledge.required,
        error=error,
        detail=detail,
    )


def _sha256(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()
