"""Labelled query sets: the YAML format, its errors, and the shipped example knowledge base
(``examples/knowledge``) whose labels must name documents that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.errors import SourceFormatError
from clearance.knowledge.labels import LabelledQuery, QuerySet, dump_queryset, load_queryset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "knowledge"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "queries.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_binary_and_graded_relevance_and_tags(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
knowledge_base: help
root: docs
queries:
  - id: refunds
    query: How long do I have to ask for a refund?
    relevant: [billing/refunds.md]
  - id: sso
    query: Turn on SSO
    relevant:
      admin/sso.md: 3
      security/overview.md: 1
    tags: [admin]
""",
    )
    queryset = load_queryset(path)
    assert queryset.knowledge_base == "help"
    assert queryset.root == tmp_path / "docs"
    assert queryset.source == str(path)
    first, second = queryset.queries
    assert first == LabelledQuery(
        "refunds", "How long do I have to ask for a refund?", {"billing/refunds.md": 1}
    )
    assert second.relevant == {"admin/sso.md": 3, "security/overview.md": 1}
    assert second.tags == ("admin",)
    assert queryset.relevant_documents() == {
        "billing/refunds.md",
        "admin/sso.md",
        "security/overview.md",
    }


@pytest.mark.parametrize(
    ("text", "where", "pointer", "message", "fix"),
    [
        (
            "knowledge_base: kb\nqueries:\n  - id: a\n    query: q\n    relevnt: [d]\n",
            ":5",
            "/queries/0/relevnt",
            "unknown key 'relevnt'",
            "did you mean 'relevant'?",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - id: a\n    query: q\n",
            ":3",
            "/queries/0",
            "missing key 'relevant'",
            "add relevant:",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - id: a\n    query: q\n    relevant: {d: 4}\n",
            ":5",
            "/queries/0/relevant/d",
            "grade 4 of 'd' is not an integer 1-3",
            "3 = answers the query",
        ),
        (
            "knowledge_base: kb\nqueries:\n"
            "  - {id: a, query: q, relevant: [d]}\n  - {id: a, query: r, relevant: [e]}\n",
            ":4",
            "/queries/1/id",
            "query id 'a' is used twice (first at /queries/0)",
            "give every query its own id",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - {id: a, query: '  ', relevant: [d]}\n",
            ":3",
            "/queries/0/query",
            "the query must be a non-empty string",
            "write the query",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - {id: a, query: q, relevant: []}\n",
            ":3",
            "/queries/0/relevant",
            "at least one relevant document",
            "list document ids",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - {id: a, query: q, relevant: [d, d]}\n",
            ":3",
            "/queries/0/relevant/1",
            "document 'd' is listed twice",
            "list it once",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - {id: 'a b', query: q, relevant: [d]}\n",
            ":3",
            "/queries/0/id",
            "query id 'a b' is not a name",
            "letters, digits",
        ),
        (
            "knowledge_base: kb\nqueries:\n  - {id: a, query: q, relevant: [d], tags: api}\n",
            ":3",
            "/queries/0/tags",
            "tags must be a list",
            "tags: [api]",
        ),
        ("knowledge_base: kb\nqueries: []\n", ":2", "/queries", "non-empty list", "list"),
        ("queries: []\n", ":1", "", "missing key 'knowledge_base'", "add knowledge_base:"),
        ("- a\n- b\n", ":1", "", "must be a mapping", "FORMAT"),
    ],
)
def test_errors_name_file_line_field_and_fix(
    tmp_path: Path, text: str, where: str, pointer: str, message: str, fix: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SourceFormatError) as caught:
        load_queryset(path)
    error = caught.value
    assert error.source == f"{path}{where}"
    assert error.pointer == pointer
    assert message in error.message
    assert error.fix is not None
    assert fix in error.fix


def test_yaml_syntax_empty_and_missing_files(tmp_path: Path) -> None:
    broken = _write(tmp_path, "knowledge_base: kb\nqueries: [\n  - a: b: c\n")
    with pytest.raises(SourceFormatError, match="YAML syntax error") as caught:
        load_queryset(broken)
    assert caught.value.source.startswith(f"{broken}:")
    empty = _write(tmp_path, "")
    with pytest.raises(SourceFormatError, match="the file is empty"):
        load_queryset(empty)
    with pytest.raises(SourceFormatError, match="cannot read") as missing:
        load_queryset(tmp_path / "nope.yaml")
    assert missing.value.fix is not None
    assert "check the path" in missing.value.fix


_names = st.from_regex(r"[a-z][a-z0-9_./-]{0,12}", fullmatch=True)


@st.composite
def _querysets(draw: st.DrawFn) -> QuerySet:
    ids = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    queries = []
    for query_id in ids:
        documents = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
        graded = draw(st.booleans())
        grades = {d: (draw(st.integers(1, 3)) if graded else 1) for d in documents}
        text = draw(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
        )
        text = text.strip() or "q"
        tags = tuple(draw(st.lists(_names, max_size=2)))
        queries.append(LabelledQuery(query_id, text, grades, tags))
    return QuerySet("kb", tuple(queries))


@given(_querysets())
def test_dump_then_load_gives_the_same_set(queryset: QuerySet) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "q.yaml"
        path.write_text(dump_queryset(queryset), encoding="utf-8")
        loaded = load_queryset(path)
    assert loaded.knowledge_base == queryset.knowledge_base
    assert [(q.id, q.query, dict(q.relevant), q.tags) for q in loaded.queries] == [
        (q.id, q.query, dict(q.relevant), q.tags) for q in queryset.queries
    ]


# -- the shipped example -------------------------------------------------------------------


def test_the_example_knowledge_base_loads_and_its_labels_name_its_documents() -> None:
    queryset = load_queryset(EXAMPLE / "queries.yaml")
    assert queryset.root == EXAMPLE / "docs"
    documents = {
        path.relative_to(queryset.root).as_posix()
        for path in queryset.root.rglob("*")
        if path.is_file()
    }
    assert 15 <= len(documents) <= 25
    assert 35 <= len(queryset.queries) <= 50
    missing = queryset.relevant_documents() - documents
    assert not missing, f"labels name documents that are not in {queryset.root}: {missing}"
    # some queries have two relevant documents, some are scoped by tags (a top folder)
    assert sum(1 for q in queryset.queries if len(q.relevant) >= 2) >= 5
    tagged = [q for q in queryset.queries if q.tags]
    assert len(tagged) >= 4
    folders = {d.split("/", 1)[0] for d in documents}
    for query in tagged:
        assert set(query.tags) <= folders, f"{query.id}: tags must be top folders"
        assert all(d.split("/", 1)[0] in query.tags for d in query.relevant), query.id
    # every document is reached by some query
    assert documents - queryset.relevant_documents() == set()
