"""The Berkeley Function Calling Leaderboard (BFCL v4) as a labelled retrieval set: tool
retrieval.

The corpus is every function BFCL offers across its single-turn categories, one document
per function; a query is a question's user text; its relevant documents are the functions
its ground truth calls (``possible_answer/``). A retriever that ranks those functions first
would put the right tools in front of a model that has thousands to choose from.

Decisions:

- **Reading.** Through the project's BFCL importer (:func:`clearance.contracts.bfcl.read_bfcl`
  and :func:`~clearance.contracts.bfcl.bfcl_documents`), so questions, ground truth and
  names are read exactly as ``clearance contracts import-bfcl`` reads them. Multi-turn
  categories are not read (the importer skips them, see
  :mod:`clearance.contracts.bfcl_files`), so neither their questions nor
  ``multi_turn_func_doc/`` are in the set.
- **Document ids.** A document is a distinct function *definition* (its whole BFCL
  object: name, description, parameters), named by its contract name: the BFCL name with
  characters outside ``[A-Za-z0-9_-]`` turned into ``_`` (``math.factorial`` →
  ``math_factorial``). Identical definitions offered by several questions or categories
  are **merged** into one document; a same-named function defined differently elsewhere
  stays **distinct**, as ``<name>__<first 8 hex of its definition's SHA-256>``. Java and
  JavaScript definitions are never merged with Python ones (their parameters are shown
  as source text). The original BFCL name is kept in :attr:`ToolDocument.name`.
- **Document text.** Markdown: a heading with the contract name (and the BFCL name when
  it differs), the description, then a "Parameters" section with each parameter's dotted
  path, type and description (nested properties and array items included).
- **Queries.** Every question with a ground truth (the ``irrelevance``,
  ``live_irrelevance`` and ``live_relevance`` questions have none: their functions are
  in the corpus, the questions are not queries). The query id is the BFCL id, the text
  the user messages of the question's first turn (joined by a blank line; system
  messages left out), the relevant documents the distinct functions its ground truth
  calls, each grade 1. Queries carry no tags: the whole corpus is searched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.contracts.bfcl import bfcl_documents, read_bfcl
from clearance.contracts.bfcl_files import categories_in
from clearance.knowledge.labels import LabelledQuery, QuerySet

__all__ = ["BfclRetrievalSet", "ToolDocument", "build_bfcl_retrieval", "tool_document_text"]

KNOWLEDGE_BASE = "bfcl-tools"
"""The name the built query set carries."""


@dataclass(frozen=True, slots=True)
class ToolDocument:
    """One BFCL function as a knowledge-base document."""

    document_id: str
    """The contract name (see the module docstring)."""
    name: str
    """BFCL's own name for the function."""
    text: str
    """Markdown: heading, description, parameters."""


@dataclass(frozen=True, slots=True)
class BfclRetrievalSet:
    """The corpus and the labelled queries built from a BFCL folder."""

    documents: tuple[ToolDocument, ...]
    queryset: QuerySet
    by_category: Mapping[str, int]
    """Queries per category (categories without ground truth absent)."""
    skipped: Mapping[str, str]
    """Categories in the folder that were not read → why."""


def _parameters(schema: Any, prefix: str = "") -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    lines: list[str] = []
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, spec in properties.items():
            path = f"{prefix}{name}"
            spec = spec if isinstance(spec, Mapping) else {}
            kind = spec.get("type")
            kind_text = f" ({'/'.join(map(str, kind)) if isinstance(kind, list) else kind})"
            description = str(spec.get("description") or "").strip()
            lines.append(f"- `{path}`{kind_text if kind else ''}: {description}".rstrip(": "))
            lines.extend(_parameters(spec, f"{path}."))
            lines.extend(_parameters(spec.get("items"), f"{path}[]."))
    return lines


def tool_document_text(contract: Mapping[str, Any], bfcl_name: str) -> str:
    """The Markdown text of a function's document, from its contract document."""
    name = str(contract["name"])
    title = name if bfcl_name == name else f"{name} ({bfcl_name})"
    parts = [f"# {title}", str(contract.get("description") or "").strip()]
    parameters = _parameters(contract.get("input_schema"))
    if parameters:
        parts.append("## Parameters\n\n" + "\n".join(parameters))
    return "\n\n".join(part for part in parts if part) + "\n"


def build_bfcl_retrieval(
    directory: Path | str, categories: Sequence[str] | None = None
) -> BfclRetrievalSet:
    """The tool-retrieval corpus and query set of a BFCL folder.

    Args:
        directory: the BFCL folder (``BFCL_v4_<category>.json`` and ``possible_answer/``).
        categories: which single-turn categories to read (``None``: all in the folder).

    Raises:
        SourceFormatError: as :func:`clearance.contracts.bfcl.read_bfcl` does.
    """
    directory = Path(directory)
    skipped: dict[str, str] = {}
    if categories is None:
        categories, skipped = categories_in(directory)
    cases = read_bfcl(directory, categories)
    documents: list[ToolDocument] = []
    queries: list[LabelledQuery] = []
    by_category: dict[str, int] = {}
    fresh: list[dict[str, Any]] = []
    flows = iter(cases)
    # bfcl_documents yields, case by case, the contracts a case defines first, then the
    # case's flow, whose ``tools`` list the contract of each offered function in order
    for relative, document in bfcl_documents(cases):
        if relative.startswith("tools/"):
            fresh.append(document)
            continue
        case = next(flows)
        names = {
            str(tool).rsplit("@", 1)[0]: str(function.get("name", ""))
            for function, tool in zip(case.functions, document["tools"], strict=True)
        }
        for contract in fresh:
            bfcl_name = names[contract["name"]]
            documents.append(
                ToolDocument(contract["name"], bfcl_name, tool_document_text(contract, bfcl_name))
            )
        fresh.clear()
        called = list(dict.fromkeys(next(iter(call)) for call in document["bfcl"]["ground_truth"]))
        if not called:
            continue
        queries.append(LabelledQuery(case.id, document["user"], dict.fromkeys(called, 1)))
        by_category[case.category] = by_category.get(case.category, 0) + 1
    return BfclRetrievalSet(
        documents=tuple(documents),
        queryset=QuerySet(KNOWLEDGE_BASE, tuple(queries), source=str(directory)),
        by_category=by_category,
        skipped=skipped,
    )
