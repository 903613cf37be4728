"""``clearance kb``: an org's knowledge base in the catalog database (issue 22): ingest
files, search them with the database's own full-text engine, stats, delete."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli._options import App, split_list

if TYPE_CHECKING:
    from clearance.knowledge import Hit, OrgStats

__all__ = ["app", "delete", "ingest", "search", "stats"]

app = App(
    help="Org knowledge bases: ingest Markdown, text and HTML; search; stats; delete.",
    no_args_is_help=True,
)

_ORG = typer.Argument(metavar="ORG", help="The org whose knowledge base it is.")
_TAGS = typer.Option(
    "--tags", metavar="TAG,...", help="Tags (ingest: given to every document; search: any of)."
)
_BY = typer.Option("--by", metavar="NAME", help="Who, for the audit trail (default: OS user).")
_JSON = typer.Option("--json", help="Print JSON.")


@app.command("ingest")
@handle_errors
def ingest(
    org: Annotated[str, _ORG],
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help="Files (.md, .txt, .html) or folders (their such files, hidden ones left out).",
        ),
    ],
    tags: Annotated[list[str] | None, _TAGS] = None,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Ingest documents: new ones are added, changed ones replaced, unchanged ones kept."""
    from clearance.knowledge import ingest_paths

    _, catalog = load()
    results = ingest_paths(catalog, org, paths, tags=split_list(tags), by=by)
    if as_json:
        emit_json(
            [
                {
                    "document_id": r.document_id,
                    "status": r.status,
                    "chunks": r.chunks,
                    "bytes": r.bytes,
                    "source": r.source,
                }
                for r in results
            ]
        )
        return
    for r in results:
        console.print(f"{r.status:>9}  {escape(r.document_id)}  ({r.chunks} chunks, {r.bytes:,} B)")
    counts = {s: sum(r.status == s for r in results) for s in ("ingested", "replaced", "unchanged")}
    console.print(
        f"org {escape(org)}: {len(results)} document(s): "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
    )


def _hit_document(hit: Hit) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "rank": hit.rank,
        "score": hit.score,
        "document_id": chunk.document_id,
        "ordinal": chunk.ordinal,
        "heading": chunk.heading,
        "tags": list(chunk.tags),
        "text": chunk.text,
    }


@app.command("search")
@handle_errors
def search(
    org: Annotated[str, _ORG],
    query: Annotated[str, typer.Argument(metavar="QUERY", help="Words to look for.")],
    k: Annotated[int, typer.Option("--k", metavar="N", help="At most N hits.")] = 5,
    tags: Annotated[list[str] | None, _TAGS] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Search an org's knowledge base (lexical: the database's full-text index)."""
    from clearance.knowledge import LexicalRetriever

    _, catalog = load()
    hits = LexicalRetriever(catalog).search(org, query, k=k, tags=split_list(tags))
    if as_json:
        emit_json([_hit_document(hit) for hit in hits])
        return
    if not hits:
        console.print(f"no hit in org {escape(org)}'s knowledge base")
        return
    for hit in hits:
        chunk = hit.chunk
        where = f"{chunk.document_id} #{chunk.ordinal}"
        heading = f" — {chunk.heading}" if chunk.heading else ""
        tags_shown = f" [{', '.join(chunk.tags)}]" if chunk.tags else ""
        console.print(
            f"[bold]{hit.rank}.[/] {escape(where + heading + tags_shown)} (score {hit.score:.4g})"
        )
        text = " ".join(chunk.text.split())
        console.print(f"   {escape(text[:300] + ('…' if len(text) > 300 else ''))}")


def _stats_document(s: OrgStats) -> dict[str, Any]:
    return {
        "org_id": s.org_id,
        "documents": s.documents,
        "chunks": s.chunks,
        "bytes": s.bytes,
        "text_chars": s.text_chars,
        "tags": s.tags,
        "last_ingested_at": s.last_ingested_at,
    }


@app.command("stats")
@handle_errors
def stats(
    org: Annotated[
        str | None, typer.Argument(metavar="[ORG]", help="One org (default: every org).")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """What each org's knowledge base holds: documents, chunks, bytes, tags."""
    from clearance.knowledge import knowledge_stats

    _, catalog = load()
    rows = knowledge_stats(catalog, org)
    if as_json:
        emit_json([_stats_document(s) for s in rows])
        return
    if not rows:
        where = f"org {escape(org)}" if org else "any org"
        console.print(f"no knowledge base for {where}: see `clearance kb ingest --help`")
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("org", "documents", "chunks", "bytes", "tags", "last ingest (UTC)"):
        table.add_column(column, justify="right" if column in ("documents", "chunks") else "left")
    for s in rows:
        table.add_row(
            escape(s.org_id),
            f"{s.documents:,}",
            f"{s.chunks:,}",
            f"{s.bytes:,}",
            escape(", ".join(f"{tag} ({n})" for tag, n in s.tags.items()) or "-"),
            f"{s.last_ingested_at:%Y-%m-%d %H:%M}" if s.last_ingested_at else "-",
        )
    console.print(table)


@app.command("delete")
@handle_errors
def delete(
    org: Annotated[str, _ORG],
    document: Annotated[
        str | None, typer.Option("--document", metavar="ID", help="The document to delete.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", metavar="TAG", help="Delete every document with it.")
    ] = None,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Delete one document, or every document carrying a tag (audited)."""
    from clearance.knowledge import delete_documents

    _, catalog = load()
    result = delete_documents(catalog, org, document_id=document, tag=tag, by=by)
    if as_json:
        emit_json({"org_id": org, "documents": result.documents, "chunks": result.chunks})
        return
    console.print(
        f"deleted {result.documents} document(s), {result.chunks} chunk(s) from org {escape(org)}"
    )
