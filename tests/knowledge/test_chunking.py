"""Chunking: no text lost or repeated, every chunk within the limit, headings carried
(hypothesis over generated Markdown, HTML and plain text), and the documented cases."""

from __future__ import annotations

import html
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.knowledge.chunking import MAX_CHARS, TextChunk, chunk_document, format_for

# words hold no whitespace and nothing Markdown reads as structure (headings, fences)
_WORD = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="#`~\x85"),
    min_size=1,
    max_size=40,
)
_PARAGRAPH = st.lists(_WORD, min_size=1, max_size=30).map(" ".join)
_TITLE = st.lists(_WORD, min_size=1, max_size=4).map(" ".join)
_SECTION = st.tuples(st.integers(1, 6), _TITLE, st.lists(_PARAGRAPH, max_size=4))


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _expected(
    preamble: list[str], sections: list[tuple[int, str, list[str]]]
) -> list[tuple[str, str]]:
    """(heading path, body without whitespace) per run of sections with text."""
    runs: list[tuple[str, str]] = []
    if preamble:
        runs.append(("", _squeeze("".join(preamble))))
    stack: list[tuple[int, str]] = []
    for level, title, paragraphs in sections:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        if not paragraphs:
            continue
        path = " > ".join(name for _, name in stack)
        body = _squeeze("".join(paragraphs))
        if runs and runs[-1][0] == path:
            runs[-1] = (path, runs[-1][1] + body)
        else:
            runs.append((path, body))
    return runs


def _actual(chunks: tuple[TextChunk, ...]) -> list[tuple[str, str]]:
    return [
        (heading, "".join(_squeeze(c.text) for c in group))
        for heading, group in itertools.groupby(chunks, key=lambda c: c.heading)
    ]


def _markdown(preamble: list[str], sections: list[tuple[int, str, list[str]]]) -> str:
    parts = list(preamble)
    for level, title, paragraphs in sections:
        parts.append(f"{'#' * level} {title}")
        parts.extend(paragraphs)
    return "\n\n".join(parts)


def _html(preamble: list[str], sections: list[tuple[int, str, list[str]]]) -> str:
    parts = ["<html><head><title>T</title><style>p {}</style></head><body>"]
    parts.extend(f"<p>{html.escape(p)}</p>" for p in preamble)
    for level, title, paragraphs in sections:
        parts.append(f"<h{level}>{html.escape(title)}</h{level}>")
        parts.extend(f"<div>{html.escape(p)}<script>never()</script></div>" for p in paragraphs)
    return "\n".join(parts) + "</body></html>"


@settings(max_examples=150)
@given(
    preamble=st.lists(_PARAGRAPH, max_size=3),
    sections=st.lists(_SECTION, max_size=6),
    max_chars=st.integers(8, 400),
    form=st.sampled_from(["markdown", "html"]),
)
def test_no_text_lost_or_repeated_and_headings_carried(
    preamble: list[str], sections: list[tuple[int, str, list[str]]], max_chars: int, form: str
) -> None:
    source = _markdown(preamble, sections) if form == "markdown" else _html(preamble, sections)
    parsed = chunk_document(source, form, max_chars=max_chars)  # type: ignore[arg-type]
    assert all(0 < len(chunk.text) <= max_chars for chunk in parsed.chunks)
    assert all(chunk.text.strip() for chunk in parsed.chunks)
    assert _actual(parsed.chunks) == _expected(preamble, sections)
    if form == "html":
        assert not any("never()" in chunk.text for chunk in parsed.chunks)


@given(paragraphs=st.lists(_PARAGRAPH, max_size=8), max_chars=st.integers(8, 300))
def test_plain_text_keeps_every_paragraph(paragraphs: list[str], max_chars: int) -> None:
    parsed = chunk_document("\r\n\r\n".join(paragraphs), "text", max_chars=max_chars)
    assert {chunk.heading for chunk in parsed.chunks} <= {""}
    assert "".join(_squeeze(c.text) for c in parsed.chunks) == _squeeze("".join(paragraphs))
    assert all(len(chunk.text) <= max_chars for chunk in parsed.chunks)


@given(words=st.lists(_WORD, min_size=1, max_size=60), max_chars=st.integers(20, 200))
def test_no_word_is_cut_unless_longer_than_the_limit(words: list[str], max_chars: int) -> None:
    parsed = chunk_document(" ".join(words), "text", max_chars=max_chars)
    pieces = [piece for chunk in parsed.chunks for piece in chunk.text.split()]
    whole = [word for word in words if len(word) <= max_chars]
    assert [piece for piece in pieces if piece in whole] == whole


def test_code_blocks_stay_whole_when_they_fit() -> None:
    code = "```python\ndef f():\n\n    # not a heading\n    return 1\n```"
    parsed = chunk_document(f"# Guide\n\nIntro.\n\n{code}\n\nAfter.", "markdown", max_chars=60)
    assert TextChunk("Guide", code) in parsed.chunks
    assert all(chunk.heading == "Guide" for chunk in parsed.chunks)


def test_a_long_code_block_is_split_at_line_ends() -> None:
    lines = [f"line_{i} = {i}" for i in range(40)]
    parsed = chunk_document("```\n" + "\n".join(lines) + "\n```", "markdown", max_chars=100)
    assert len(parsed.chunks) > 1
    for chunk in parsed.chunks:
        assert len(chunk.text) <= 100
        assert all(line.startswith(("line_", "```")) for line in chunk.text.split("\n"))


def test_heading_path_and_title() -> None:
    parsed = chunk_document(
        "intro\n\n# Billing #\n\n## Refunds\n\nfive days\n\n### Cards\n\nvisa\n\n## Invoices\n\n"
        "monthly\n\n# Other\n\nx",
        "markdown",
    )
    assert parsed.title == "Billing"
    assert [c.heading for c in parsed.chunks] == [
        "",
        "Billing > Refunds",
        "Billing > Refunds > Cards",
        "Billing > Invoices",
        "Other",
    ]


def test_html_reduced_to_text() -> None:
    parsed = chunk_document(
        "<html><head><title>Help &amp; FAQ</title><meta name=x></head><body>"
        "<nav>Home<br>About</nav><h2>Refunds</h2><p>Paid in <b>5</b>&nbsp;days.</p>"
        "<style>.x{}</style><pre>a  =  1\n\nb = 2</pre><noscript>no</noscript></body></html>",
        "html",
    )
    assert parsed.title == "Help & FAQ"
    assert parsed.chunks == (
        TextChunk("", "Home\n\nAbout"),
        TextChunk("Refunds", "Paid in 5 days.\n\na  =  1\n\nb = 2"),
    )


def test_nul_and_line_ends_are_normalised() -> None:
    parsed = chunk_document("a\x00b\r\nc\rd", "text")
    assert parsed.chunks == (TextChunk("", "ab\nc\nd"),)


def test_formats_and_limits() -> None:
    assert (format_for(".MD"), format_for(".htm"), format_for(".txt")) == (
        "markdown",
        "html",
        "text",
    )
    assert format_for(".pdf") is None
    assert chunk_document("", "markdown").chunks == ()
    assert MAX_CHARS == 1200
    with pytest.raises(ValueError, match="at least 1"):
        chunk_document("x", "text", max_chars=0)
