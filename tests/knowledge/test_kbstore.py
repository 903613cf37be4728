"""Knowledge bases in the catalog: ingest, replace, delete, audit, stats and lexical
search on SQLite (FTS5, BM25) and PostgreSQL (tsvector, ts_rank_cd)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite

from clearance.catalog import kbstore
from clearance.catalog.database import Catalog
from clearance.errors import InputError
from clearance.knowledge import LexicalRetriever, Retriever
from clearance.knowledge.base import (
    delete_documents,
    ingest_paths,
    ingest_text,
    knowledge_stats,
    query_terms,
)

CORPUS = {
    "billing.md": (
        "# Billing\n\nInvoices are sent on the first day of each month.\n\n"
        "## Refunds\n\nA refund is paid back to the original card within five business days."
    ),
    "security.md": (
        "# Security\n\nPasswords are hashed with Argon2. Two-factor authentication is "
        "available for every account.\n\n## Sessions\n\nA session expires after 30 minutes "
        "of inactivity."
    ),
    "shipping.txt": "Parcels ship from Rotterdam.\n\nInternational delivery takes ten days.",
}


def _ingest_corpus(catalog: Catalog, org: str = "acme", tags: tuple[str, ...] = ()) -> None:
    for name, body in CORPUS.items():
        kind = "markdown" if name.endswith(".md") else "text"
        ingest_text(catalog, org, name, body, document_format=kind, tags=tags, by="tester")


def test_ingest_replace_unchanged_and_audit(catalog: Catalog) -> None:
    first = ingest_text(catalog, "acme", "faq.md", "# FAQ\n\nOld answer.", by="ana")
    assert (first.status, first.chunks) == ("ingested", 1)
    again = ingest_text(catalog, "acme", "faq.md", "# FAQ\n\nOld answer.", by="ana")
    assert again.status == "unchanged"
    changed = ingest_text(
        catalog, "acme", "faq.md", "# FAQ\n\nNew answer.\n\n## More\n\nDetails.", by="bo"
    )
    assert (changed.status, changed.chunks) == ("replaced", 2)
    retriever = LexicalRetriever(catalog)
    assert retriever.search("acme", "old") == []
    hits = retriever.search("acme", "answer")
    assert [(h.chunk.heading, h.chunk.text) for h in hits] == [("FAQ", "New answer.")]
    retagged = ingest_text(catalog, "acme", "faq.md", "# FAQ\n\nNew answer.\n\n## More\n\nDetails.",
                           tags=["help"], by="bo")  # fmt: skip
    assert retagged.status == "replaced"  # same content, new tags
    rows = kbstore.audit_rows(catalog, "acme")
    assert [(r.action, r.actor, r.document_id, r.chunks) for r in rows] == [
        ("ingest", "ana", "faq.md", 1),
        ("replace", "bo", "faq.md", 2),
        ("replace", "bo", "faq.md", 2),
    ]
    assert all(r.host and r.sha256 and r.at.tzinfo for r in rows)
    with catalog.connect() as connection:
        chunks = connection.execute(text("SELECT count(*) FROM kb_chunks")).scalar()
    assert chunks == 2  # the old chunks are gone, not kept beside the new ones


def test_delete_by_document_and_by_tag_is_audited(catalog: Catalog) -> None:
    ingest_text(catalog, "acme", "a.md", "alpha text", tags=["public"], by="ana")
    ingest_text(catalog, "acme", "b.md", "beta text", tags=["public", "old"], by="ana")
    ingest_text(catalog, "acme", "c.md", "gamma text", by="ana")
    ingest_text(catalog, "other", "b.md", "beta text", tags=["old"], by="ana")
    assert delete_documents(catalog, "acme", tag="old", by="cy").documents == 1
    assert delete_documents(catalog, "acme", document_id="c.md", by="cy").chunks == 1
    with pytest.raises(InputError, match=r"no document 'c\.md'"):
        delete_documents(catalog, "acme", document_id="c.md")
    with pytest.raises(InputError, match="tagged 'old'"):
        delete_documents(catalog, "acme", tag="old")
    with pytest.raises(InputError, match="one of the two"):
        delete_documents(catalog, "acme")
    assert [d.document_id for d in kbstore.document_rows(catalog, "acme")] == ["a.md"]
    assert [d.document_id for d in kbstore.document_rows(catalog, "other")] == ["b.md"]
    deletes = [r for r in kbstore.audit_rows(catalog) if r.action == "delete"]
    assert [(r.org_id, r.document_id, r.tag, r.documents, r.actor) for r in deletes] == [
        ("acme", None, "old", 1, "cy"),
        ("acme", "c.md", None, 1, "cy"),
    ]
    retriever = LexicalRetriever(catalog)
    assert retriever.search("acme", "beta") == []
    assert [h.chunk.org_id for h in retriever.search("other", "beta")] == ["other"]


def test_stats(catalog: Catalog) -> None:
    _ingest_corpus(catalog, tags=("docs",))
    ingest_text(catalog, "beta", "x.md", "# X\n\nsome text", by="ana")
    acme, beta = knowledge_stats(catalog)
    assert (acme.org_id, acme.documents, acme.chunks, acme.tags) == ("acme", 3, 5, {"docs": 3})
    assert acme.bytes == sum(len(body.encode()) for body in CORPUS.values())
    assert (beta.documents, beta.chunks, beta.tags) == (1, 1, {})
    assert knowledge_stats(catalog, "beta") == [beta]
    assert knowledge_stats(catalog, "nobody") == []


def test_ranking_on_a_small_corpus(catalog: Catalog) -> None:
    _ingest_corpus(catalog)
    retriever: Retriever = LexicalRetriever(catalog)
    top = retriever.search("acme", "How long until my refund is paid?", k=3)
    assert top[0].chunk.heading == "Billing > Refunds"
    assert [h.rank for h in top] == list(range(1, len(top) + 1))
    assert [h.score for h in top] == sorted((h.score for h in top), reverse=True)
    session = retriever.search("acme", "when does a session expire", k=1)
    assert session[0].chunk.heading == "Security > Sessions"
    assert retriever.search("acme", "international delivery")[0].chunk.document_id == (
        "shipping.txt"
    )
    # a word of the heading path alone finds the chunks under it, text or not
    assert {h.chunk.heading for h in retriever.search("acme", "security")} >= {
        "Security > Sessions"
    }
    assert len(retriever.search("acme", "the a of", k=2)) <= 2


def test_tags_scope_the_search(catalog: Catalog) -> None:
    ingest_text(catalog, "acme", "pub.md", "refund policy public", tags=["public"], by="a")
    ingest_text(catalog, "acme", "int.md", "refund policy internal", tags=["internal"], by="a")
    ingest_text(catalog, "acme", "none.md", "refund policy untagged", by="a")
    retriever = LexicalRetriever(catalog)
    assert {h.chunk.document_id for h in retriever.search("acme", "refund")} == {
        "pub.md",
        "int.md",
        "none.md",
    }
    public = retriever.search("acme", "refund", tags=["public"])
    assert [(h.chunk.document_id, h.chunk.tags) for h in public] == [("pub.md", ("public",))]
    both = retriever.search("acme", "refund", tags=["public", "internal", "nope"])
    assert {h.chunk.document_id for h in both} == {"pub.md", "int.md"}
    assert retriever.search("acme", "refund", tags=["nope"]) == []


@pytest.mark.parametrize(
    "query",
    ['"', "'", "*", "-", "NEAR(a b)", 'refund" OR "x', "refund*", "^refund", "AND", "()", ":"],
)
def test_syntax_in_a_query_is_text(catalog: Catalog, query: str) -> None:
    _ingest_corpus(catalog)
    hits = LexicalRetriever(catalog).search("acme", query)
    assert all(h.chunk.org_id == "acme" for h in hits)
    if "refund" in query:
        assert hits
        assert hits[0].chunk.heading == "Billing > Refunds"


def test_query_terms() -> None:
    assert query_terms("") == ()
    assert query_terms(' "*" -- NEAR/3 ') == ("near", "3")
    assert query_terms("Refund refund_policy RÉSUMÉ") == ("refund", "policy", "résumé")
    assert len(query_terms(" ".join(f"w{i}" for i in range(200)))) == kbstore.MAX_TERMS


def test_bad_input_is_an_input_error(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="org id is empty"):
        ingest_text(catalog, " ", "a.md", "x")
    with pytest.raises(InputError, match="longer than 512"):
        ingest_text(catalog, "acme", "d" * 513, "x")
    with pytest.raises(InputError, match="not UTF-8"):
        ingest_text(catalog, "acme", "a.md", b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="k=0"):
        LexicalRetriever(catalog).search("acme", "x", k=0)
    odd = tmp_path / "data.csv"
    odd.write_text("a,b")
    with pytest.raises(InputError, match="does not know the format"):
        ingest_paths(catalog, "acme", [odd])
    with pytest.raises(InputError, match="no such file"):
        ingest_paths(catalog, "acme", [tmp_path / "missing.md"])


def test_ingest_paths_names_documents_by_folder(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "guides").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "guides" / "billing.md").write_text(CORPUS["billing.md"])
    (root / "page.html").write_text(
        "<html><head><title>Page</title><script>var secret = 1</script></head>"
        "<body><h1>Returns</h1><p>Return within 30 days.</p></body></html>"
    )
    (root / ".git" / "notes.md").write_text("hidden")
    (root / "image.png").write_bytes(b"\x89PNG")
    results = ingest_paths(catalog, "acme", [root], tags=["docs"], by="ana")
    assert [(r.document_id, r.status) for r in results] == [
        ("guides/billing.md", "ingested"),
        ("page.html", "ingested"),
    ]
    again = ingest_paths(catalog, "acme", [root], tags=["docs"], by="ana")
    assert {r.status for r in again} == {"unchanged"}
    rows = {d.document_id: d for d in kbstore.document_rows(catalog, "acme")}
    assert rows["page.html"].title == "Page"
    assert rows["guides/billing.md"].title == "Billing"
    retriever = LexicalRetriever(catalog)
    assert retriever.search("acme", "secret") == []  # the script is not text
    assert retriever.search("acme", "return days")[0].chunk.heading == "Returns"


# -- terms too common to weigh (SQLite's bm25) ----------------------------------------


def _full_ranking(catalog: Catalog, terms: list[str], k: int) -> list[tuple[str, int]]:
    """The hits of one statement matching every term: no term left out."""
    statement = kbstore.search_statement(catalog.dialect, "acme", terms, k=k)
    with catalog.connect() as connection:
        return [(r.document_id, r.ordinal) for r in connection.execute(statement)]


@pytest.fixture
def prune_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite prunes bm25's ~0-weight terms at any index size (it waits for
    ``PRUNE_FROM_ROWS`` rows otherwise: these corpora are a dozen chunks)."""
    monkeypatch.setattr(kbstore, "PRUNE_FROM_ROWS", 0)


def _common_and_rare(catalog: Catalog) -> None:
    """12 documents all holding 'common' (some twice), 6 also 'rare' (1-3 times), and
    an org whose documents all hold 'rare' (which must not count for acme's hits)."""
    for i in range(12):
        words = ["common"] * (1 + i % 2) + ["rare"] * (i % 3 + 1 if i < 6 else 0)
        body = " ".join(words + ["filler"] * (i + 3))
        ingest_text(catalog, "acme", f"d{i:02d}.md", body, by="t")
    for i in range(4):
        ingest_text(catalog, "other", f"o{i}.md", "rare rare common", by="t")


def test_a_term_in_most_chunks_changes_no_hit(catalog: Catalog, prune_always: None) -> None:
    _common_and_rare(catalog)
    terms = query_terms("common rare")
    # 6 of acme's chunks hold 'rare': the best 5 are among them, in BM25's order
    hits = kbstore.search_chunks(catalog, "acme", terms, k=5)
    assert [(h.document_id, h.ordinal) for h in hits] == _full_ranking(catalog, list(terms), 5)
    assert {h.document_id for h in hits} <= {f"d{i:02d}.md" for i in range(6)}
    assert all(h.org_id == "acme" for h in hits)


def test_too_few_chunks_hold_the_rare_term_so_every_term_is_matched(
    catalog: Catalog, prune_always: None
) -> None:
    _common_and_rare(catalog)
    terms = query_terms("common rare")
    hits = kbstore.search_chunks(catalog, "acme", terms, k=10)
    # 6 chunks hold 'rare'; the other 4 hold only 'common', found by widening the match
    assert len(hits) == 10
    assert [(h.document_id, h.ordinal) for h in hits] == _full_ranking(catalog, list(terms), 10)
    rare = {h.document_id for h in hits[:6]}
    assert rare == {f"d{i:02d}.md" for i in range(6)}
    assert all(h.org_id == "acme" for h in hits)


def test_a_query_of_common_terms_only_matches_them(catalog: Catalog, prune_always: None) -> None:
    _common_and_rare(catalog)
    hits = kbstore.search_chunks(catalog, "acme", ("common", "filler"), k=3)
    assert [(h.document_id, h.ordinal) for h in hits] == _full_ranking(
        catalog, ["common", "filler"], 3
    )


# -- the SQL itself: every statement is scoped to one org ---------------------------------


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"]
)
@pytest.mark.parametrize("tags", [(), ("public", "x")])
def test_search_sql_filters_by_org_in_where(dialect: object, tags: tuple[str, ...]) -> None:
    name = "sqlite" if isinstance(dialect, sqlite.dialect) else "postgresql"
    statement = kbstore.search_statement(name, "org-a", ["refund", 'NEAR"x'], k=5, tags=tags)
    compiled = statement.compile(dialect=dialect)  # type: ignore[arg-type]
    sql = str(compiled)
    # the inner query (the best k) filters by org before its LIMIT; the outer one again
    inner, outer = sql.split(") AS best", 1)
    assert "kb_chunks.org_id = " in inner.split("WHERE", 1)[1]
    where = outer.split("WHERE", 1)[1]
    assert "kb_chunks.org_id = " in where
    assert "kb_documents.org_id = " in where
    assert inner.index("WHERE") < inner.index("LIMIT")
    org_params = [k for k, v in compiled.params.items() if v == "org-a"]
    assert len(org_params) == 3 + (1 if tags else 0)
    where = inner.split("WHERE", 1)[1]
    # the user's terms are bound parameters, never part of the SQL text
    assert "refund" not in sql
    assert "NEAR" not in sql
    if name == "sqlite":
        assert "MATCH" in where
        assert "bm25(kb_fts" in sql
        assert compiled.params["fts_query"] == '"refund" OR "NEAR""x"'
    else:
        assert "@@" in where
        assert "ts_rank_cd(kb_chunks.kb_fts" in sql
        assert "plainto_tsquery('english'::regconfig" in sql
    if tags:
        assert "kb_tags.org_id = " in where


@pytest.mark.parametrize("prune_from", [0, 10**9], ids=["pruning", "small-index"])
def test_every_statement_on_kb_tables_names_the_org(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, prune_from: int
) -> None:
    monkeypatch.setattr(kbstore, "PRUNE_FROM_ROWS", prune_from)
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", record)
    try:
        _ingest_corpus(catalog, tags=("docs",))
        ingest_text(catalog, "acme", "billing.md", "# Billing\n\nchanged", by="t")
        LexicalRetriever(catalog).search("acme", "refund", tags=["docs"])
        LexicalRetriever(catalog).search("acme", "refund the card", tags=["docs"])
        knowledge_stats(catalog, "acme")
        delete_documents(catalog, "acme", tag="docs", by="t")
    finally:
        event.remove(catalog.engine, "before_cursor_execute", record)
    scoped = [
        s
        for s in seen
        if " kb_" in s and s.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE"))
    ]
    # SQLite's term statistics (bm25's, over the whole index) count rows, reading none:
    # the index's size for the multi-term search, then, from PRUNE_FROM_ROWS, each term's
    statistics = [s for s in scoped if "kb_fts" in s and "org_id" not in s]
    sqlite = catalog.dialect == "sqlite"
    assert len(statistics) == sqlite * (1 + (prune_from == 0))
    for statement in statistics:
        assert "kb_chunks" not in statement
    if sqlite and prune_from == 0:
        # the outer SELECT's columns are the inner counts, one per term
        assert statistics[1].count("count(*)") == statistics[1].count("SELECT") - 1 == 3
    scoped = [s for s in scoped if s not in statistics]
    assert len(scoped) >= 9
    for statement in scoped:
        where = statement.upper().split("WHERE", 1)
        assert len(where) == 2, statement
        assert "ORG_ID =" in where[1], statement
