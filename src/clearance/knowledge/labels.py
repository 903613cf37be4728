"""Labelled query sets: the queries a knowledge base must answer and the documents that
answer them, read from YAML (one file per knowledge base).

A retriever configuration earns its clearance from such a set as a model earns its
from the eval suite: :mod:`clearance.knowledge.quality` runs every query and scores the
ranking against these labels.

FORMAT
------
::

    knowledge_base: ourco-help        # required: the knowledge base's name (reports use it)
    root: docs                        # optional: the folder the document ids are paths in,
                                      #   relative to this file (only for checks and ingest)
    queries:                          # required: a non-empty list
      - id: refund-window             # required: unique within the file ([A-Za-z0-9_.:/-]+)
        query: How long do I have to ask for a refund?   # required: non-empty text
        relevant: [billing/refunds.md]                   # required: document ids ...
      - id: sso-setup
        query: How do I turn on single sign-on with Okta?
        relevant:                                        # ... or ids with a grade 1-3
          admin/sso.md: 3                                #   (3 = answers it, 1 = related)
          security/overview.md: 1
        tags: [admin]                 # optional: search only documents with one of them

A list under ``relevant`` gives every document grade 1 (binary relevance); a mapping
gives graded relevance, used by nDCG (recall and MRR count any grade as relevant). A
document id is whatever the knowledge base stored the document under (for files, the
path it was ingested from). Unknown keys are refused, so a typo cannot silently drop a
label. Every error is a :class:`~clearance.errors.SourceFormatError` naming the file and
line, the JSON pointer of the field and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clearance.errors import SourceFormatError

__all__ = [
    "MAX_GRADE",
    "LabelledQuery",
    "QuerySet",
    "dump_queryset",
    "load_queryset",
]

MAX_GRADE = 3
"""The highest relevance grade (1 = related, 2 = partly answers, 3 = answers it)."""

_TOP_KEYS = ("knowledge_base", "root", "queries")
_QUERY_KEYS = ("id", "query", "relevant", "tags")
_ID = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_FORMAT_HINT = "see the FORMAT section of clearance.knowledge.labels"


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """One query and the documents that answer it."""

    id: str
    query: str
    relevant: Mapping[str, int] = field(hash=False)
    """Document id → relevance grade (1-3); never empty."""
    tags: tuple[str, ...] = ()
    """Search only documents carrying one of these tags (empty: all)."""


@dataclass(frozen=True, slots=True)
class QuerySet:
    """A knowledge base's labelled queries."""

    knowledge_base: str
    queries: tuple[LabelledQuery, ...]
    root: Path | None = None
    """The folder the document ids are paths in (resolved against the file), if given."""
    source: str = ""
    """The file it was read from (empty when built in code)."""

    def relevant_documents(self) -> frozenset[str]:
        """Every document id some query names as relevant."""
        return frozenset(doc for query in self.queries for doc in query.relevant)


class _Reader:
    """Composes the YAML keeping the line of every JSON pointer, for errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        self._constructor = yaml.SafeLoader("")

    def fail(self, message: str, pointer: str, fix: str) -> SourceFormatError:
        line = self._line(pointer)
        source = str(self.path) if line is None else f"{self.path}:{line}"
        return SourceFormatError(message, source=source, pointer=pointer, fix=fix)

    def _line(self, pointer: str) -> int | None:
        while pointer not in self.lines:
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]
        return self.lines[pointer]

    def read(self, node: yaml.Node, pointer: str = "") -> Any:
        self.lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
                self.lines[child] = key_node.start_mark.line + 1
                if key in result:
                    raise self.fail(f"duplicate key {key!r}", child, "keep only one of them")
                result[key] = self.read(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)


def load_queryset(path: Path | str) -> QuerySet:
    """Read a labelled query set (see FORMAT in the module docstring).

    Raises:
        SourceFormatError: an unreadable file, bad YAML, a missing or unknown key, an
            empty or duplicate id, a grade outside 1-3 (each names file, line, pointer, fix).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFormatError(
            f"cannot read the labelled query set: {exc}",
            source=str(path),
            fix="check the path, and that the file is UTF-8 YAML",
        ) from None
    reader = _Reader(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = str(path) if mark is None else f"{path}:{mark.line + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceFormatError(
            f"YAML syntax error: {problem}",
            source=where,
            fix="fix the YAML syntax (check indentation, colons and quotes)",
        ) from None
    if node is None:
        raise SourceFormatError(
            "the file is empty", source=str(path), fix=f"write a query set ({_FORMAT_HINT})"
        )
    data = reader.read(node)
    return _queryset(data, reader)


def _keys(reader: _Reader, data: Mapping[Any, Any], allowed: Sequence[str], pointer: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            raise reader.fail(f"unknown key {key!r}", f"{pointer}/{key}", hint)


def _text(reader: _Reader, value: Any, pointer: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise reader.fail(
            f"{what} must be a non-empty string, not {value!r}", pointer, f"write {what}"
        )
    return value


def _queryset(data: Any, reader: _Reader) -> QuerySet:
    if not isinstance(data, dict):
        raise reader.fail(
            "a query set must be a mapping with knowledge_base and queries", "", _FORMAT_HINT
        )
    _keys(reader, data, _TOP_KEYS, "")
    for key in ("knowledge_base", "queries"):
        if key not in data:
            raise reader.fail(f"missing key {key!r}", "", f"add {key}: ({_FORMAT_HINT})")
    name = _text(reader, data["knowledge_base"], "/knowledge_base", "the knowledge base's name")
    root: Path | None = None
    if "root" in data:
        root = reader.path.parent / _text(reader, data["root"], "/root", "root (a folder)")
    raw = data["queries"]
    if not isinstance(raw, list) or not raw:
        raise reader.fail("queries must be a non-empty list", "/queries", "list the queries")
    queries: list[LabelledQuery] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        query = _query(reader, item, f"/queries/{index}")
        if query.id in seen:
            raise reader.fail(
                f"query id {query.id!r} is used twice (first at /queries/{seen[query.id]})",
                f"/queries/{index}/id",
                "give every query its own id",
            )
        seen[query.id] = index
        queries.append(query)
    return QuerySet(name, tuple(queries), root=root, source=str(reader.path))


def _query(reader: _Reader, item: Any, pointer: str) -> LabelledQuery:
    if not isinstance(item, dict):
        raise reader.fail("a query must be a mapping", pointer, "write id, query and relevant")
    _keys(reader, item, _QUERY_KEYS, pointer)
    for key in ("id", "query", "relevant"):
        if key not in item:
            raise reader.fail(f"missing key {key!r}", pointer, f"add {key}: ({_FORMAT_HINT})")
    query_id = item["id"]
    if not isinstance(query_id, str | int) or not _ID.match(str(query_id)):
        raise reader.fail(
            f"query id {query_id!r} is not a name",
            f"{pointer}/id",
            "use letters, digits and _ . : / - only",
        )
    text = _text(reader, item["query"], f"{pointer}/query", "the query")
    relevant = _relevant(reader, item["relevant"], f"{pointer}/relevant")
    tags: tuple[str, ...] = ()
    if "tags" in item:
        raw = item["tags"]
        if not isinstance(raw, list) or not all(isinstance(t, str) and t.strip() for t in raw):
            raise reader.fail(
                "tags must be a list of non-empty strings", f"{pointer}/tags", "e.g. tags: [api]"
            )
        tags = tuple(raw)
    return LabelledQuery(str(query_id), text, relevant, tags)


def _relevant(reader: _Reader, raw: Any, pointer: str) -> dict[str, int]:
    fix = "list document ids, or map each id to a grade 1-3"
    if isinstance(raw, list):
        grades: dict[str, int] = {}
        for index, doc in enumerate(raw):
            where = f"{pointer}/{index}"
            doc_id = _text(reader, doc, where, "a document id")
            if doc_id in grades:
                raise reader.fail(f"document {doc_id!r} is listed twice", where, "list it once")
            grades[doc_id] = 1
    elif isinstance(raw, dict):
        grades = {}
        for doc, grade in raw.items():
            where = f"{pointer}/{str(doc).replace('~', '~0').replace('/', '~1')}"
            doc_id = _text(reader, doc, where, "a document id")
            if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= MAX_GRADE:
                raise reader.fail(
                    f"grade {grade!r} of {doc_id!r} is not an integer 1-{MAX_GRADE}",
                    where,
                    "3 = answers the query, 2 = partly answers it, 1 = related",
                )
            grades[doc_id] = grade
    else:
        raise reader.fail(f"relevant must be a list or a mapping, not {raw!r}", pointer, fix)
    if not grades:
        raise reader.fail("a query needs at least one relevant document", pointer, fix)
    return grades


def dump_queryset(queryset: QuerySet) -> str:
    """The YAML text of a query set, in the format :func:`load_queryset` reads (``root``
    is left out: it is a path on this machine)."""
    queries: list[dict[str, Any]] = []
    for query in queryset.queries:
        item: dict[str, Any] = {"id": query.id, "query": query.query}
        graded = any(grade != 1 for grade in query.relevant.values())
        item["relevant"] = dict(query.relevant) if graded else list(query.relevant)
        if query.tags:
            item["tags"] = list(query.tags)
        queries.append(item)
    document = {"knowledge_base": queryset.knowledge_base, "queries": queries}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
