"""A retriever built from its configuration (``[[retrievers]]`` in clearance.toml), and
the fingerprint that ties an evaluation or a gate decision to that configuration.

A :class:`ConfiguredRetriever` is a :class:`~clearance.knowledge.types.Retriever` with a
``name`` (the ``retrievals`` rows and the gate use it) and a :meth:`prepare` step: dense
and hybrid retrieval need the org's chunks embedded by the configured embedder first
(only the chunks without a vector are embedded, so a second call is cheap).

:func:`config_fingerprint` is the sha256 of the configuration's canonical JSON (name,
kind, k, embedder, and the embedder's version for dense and hybrid): a decision taken on
``lexical-k5`` with ``k = 5`` does not clear a ``lexical-k5`` edited to ``k = 3``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clearance.knowledge.base import LexicalRetriever
from clearance.knowledge.types import Hit, Retriever

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import RetrieverConfig
    from clearance.knowledge.dense import Embedder

__all__ = ["ConfiguredRetriever", "build_retriever", "config_document", "config_fingerprint"]

_EMBEDDER_VERSIONS = {"hashing": "hashing-256@1", "minilm": "all-MiniLM-L6-v2"}
"""What each embedder name stands for in the fingerprint (MiniLM's weights are checked by
sha256 when loaded, so the name pins them)."""


def config_document(config: RetrieverConfig) -> dict[str, Any]:
    """The configuration as stored beside its scores and decisions."""
    document: dict[str, Any] = {"name": config.name, "kind": config.kind, "k": config.k}
    if config.embedder is not None:
        document["embedder"] = config.embedder
        document["embedder_version"] = _EMBEDDER_VERSIONS[config.embedder]
    return document


def config_fingerprint(config: RetrieverConfig) -> str:
    """sha256 (hex) of :func:`config_document` as canonical JSON."""
    canonical = json.dumps(config_document(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _embedder(name: str) -> Embedder:
    if name == "minilm":
        from clearance.knowledge.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from clearance.knowledge.dense import HashingEmbedder

    return HashingEmbedder()


class ConfiguredRetriever:
    """A retriever as its ``[[retrievers]]`` entry describes it.

    Raises:
        ConfigError: (when built) ``embedder = "minilm"`` without the ``dense`` extra.
    """

    def __init__(self, config: RetrieverConfig, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog
        self.embedder: Embedder | None = None
        lexical = LexicalRetriever(catalog)
        self.retriever: Retriever = lexical
        if config.kind != "lexical":
            from clearance.knowledge.dense import DenseRetriever

            assert config.embedder is not None  # RetrieverConfig checks it
            self.embedder = _embedder(config.embedder)
            dense = DenseRetriever(catalog, self.embedder)
            if config.kind == "dense":
                self.retriever = dense
            else:
                from clearance.knowledge.hybrid import HybridRetriever

                self.retriever = HybridRetriever(lexical, dense)

    @property
    def name(self) -> str:
        """The configuration's name."""
        return self.config.name

    @property
    def k(self) -> int:
        """The configured number of hits."""
        return self.config.k

    def prepare(self, org_id: str) -> int:
        """Embed ``org_id``'s chunks that have no vector of this embedder yet (dense and
        hybrid); how many were embedded (0 for lexical)."""
        if self.embedder is None:
            return 0
        from clearance.knowledge.dense import embed_chunks

        return embed_chunks(self.catalog, org_id, self.embedder)

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        """The configured retriever's hits (``k`` as asked: evaluation asks for 10)."""
        return self.retriever.search(org_id, query, k=k, tags=tags)

    def __repr__(self) -> str:
        return f"ConfiguredRetriever({self.config.name!r}, kind={self.config.kind!r})"


def build_retriever(config: RetrieverConfig, catalog: Catalog) -> ConfiguredRetriever:
    """The retriever ``config`` describes, over ``catalog``'s knowledge bases."""
    return ConfiguredRetriever(config, catalog)
