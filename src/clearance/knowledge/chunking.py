"""Cutting a document into the chunks retrieval returns, keeping the headings above them.

The strategy, for all three formats:

1. **Blocks.** The document becomes a sequence of blocks, each a paragraph or a code
   block under a heading path:

   * Markdown: ATX headings (``#`` to ``######``, outside code fences) open a section;
     the heading path is the titles of the open headings, outermost first (a ``##``
     closes the previous ``##`` and everything below it). Paragraphs are separated by
     blank lines; a fenced code block (```` ``` ```` or ``~~~``, up to its closing fence
     or the end of the document) is one block, blank lines included. Setext underlines
     (``===``) are not headings here: they stay in the text.
   * Plain text: paragraphs separated by blank lines, no headings.
   * HTML (:mod:`html.parser`, no dependency): ``<h1>``-``<h6>`` are headings as in
     Markdown; ``<script>``, ``<style>``, ``<noscript>``, ``<template>`` and everything in
     ``<head>`` but ``<title>`` (the document's title) are dropped; block elements
     (``p``, ``div``, ``li``, ``tr``, ``br``, ...) end a paragraph; ``<pre>`` is a code
     block; other whitespace collapses to one space.

2. **Chunks.** Within one section (chunks never cross a heading), consecutive blocks are
   packed into a chunk, joined by a blank line, while the chunk stays within
   ``max_chars`` characters (:data:`MAX_CHARS` by default). A block longer than the limit
   is split: a code block at line ends, then any piece still too long (and any long
   paragraph) at whitespace, so no word is cut; a single word longer than the limit is
   the one thing cut mid-word, at the limit.

3. **What a chunk holds.** Its text (no heading lines: they are in the heading path,
   ``"Billing > Refunds"``, which is indexed and searched too) and its position. There
   is no overlap between chunks: every non-whitespace character of the body appears in
   exactly one chunk, in order (a property test checks it). A heading whose section,
   subsections included, holds no text yields no chunk. NUL characters are removed (a
   PostgreSQL text cannot hold them) and line ends become ``\\n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

__all__ = [
    "MAX_CHARS",
    "DocumentFormat",
    "ParsedDocument",
    "TextChunk",
    "chunk_document",
    "format_for",
]

MAX_CHARS = 1200
"""The default limit of a chunk's text, in characters (about 300 tokens of English)."""

DocumentFormat = Literal["markdown", "text", "html"]

_SUFFIXES: dict[str, DocumentFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
}


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A chunk before it is stored: its heading path and text."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A document cut into chunks, with the title it gives itself (``None``: none)."""

    title: str | None
    chunks: tuple[TextChunk, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    path: tuple[str, ...]
    text: str
    code: bool = False


def format_for(suffix: str) -> DocumentFormat | None:
    """The format a file suffix (``.md``, ``.txt``, ``.html``…) names, or ``None``."""
    return _SUFFIXES.get(suffix.lower())


def chunk_document(
    text: str, document_format: DocumentFormat, *, max_chars: int = MAX_CHARS
) -> ParsedDocument:
    """Cut ``text`` (in ``document_format``) into chunks of at most ``max_chars``."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    title: str | None
    if document_format == "markdown":
        blocks, title = _markdown_blocks(text)
    elif document_format == "html":
        parser = _HtmlBlocks()
        parser.feed(text)
        parser.close()
        blocks, title = parser.finish(), parser.title
    else:
        blocks, title = [_Block((), p) for p in _paragraphs(text.split("\n"))], None
    return ParsedDocument(title, tuple(_pack(blocks, max_chars)))


# -- Markdown ------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _markdown_blocks(text: str) -> tuple[list[_Block], str | None]:
    blocks: list[_Block] = []
    headings: list[tuple[int, str]] = []
    title: str | None = None
    lines: list[str] = []  # the current section's body lines

    def flush() -> None:
        path = tuple(h for _, h in headings if h)
        blocks.extend(_Block(path, body, code) for body, code in _markdown_paragraphs(lines))
        lines.clear()

    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            heading = _ATX.match(line)
            if heading:
                flush()
                level, name = len(heading.group(1)), (heading.group(2) or "").strip()
                name = re.sub(r"\s+", " ", name)
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, name))
                if title is None and level == 1 and name:
                    title = name
                continue
            opened = _FENCE.match(line)
            if opened:
                fence = opened.group(1)
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            fence = None
        lines.append(line)
    flush()
    return blocks, title


def _markdown_paragraphs(lines: list[str]) -> Iterator[tuple[str, bool]]:
    """(text, is code) of each paragraph or fenced block of a section's lines."""
    current: list[str] = []
    fence: str | None = None
    for line in lines:
        if fence is not None:
            current.append(line)
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                yield "\n".join(current), True
                current, fence = [], None
            continue
        opened = _FENCE.match(line)
        if opened:
            if current:
                yield from ((p, False) for p in _paragraphs(current))
            current, fence = [line], opened.group(1)
            continue
        current.append(line)
    if fence is not None:
        yield "\n".join(current).rstrip(), True
    elif current:
        yield from ((p, False) for p in _paragraphs(current))


def _paragraphs(lines: list[str]) -> Iterator[str]:
    """Runs of non-blank lines, each stripped of surrounding blank space."""
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            yield "\n".join(current).strip()
            current = []


# -- HTML ----------------------------------------------------------------------------

_DROPPED = frozenset({"script", "style", "noscript", "template", "head", "svg", "iframe"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr",
        "li", "main", "nav", "ol", "p", "section", "summary", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul", "caption", "body", "html",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _HtmlBlocks(HTMLParser):
    """HTML reduced to blocks (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self._blocks: list[_Block] = []
        self._headings: list[tuple[int, str]] = []
        self._text: list[str] = []
        self._dropped = 0  # depth inside dropped elements
        self._heading: int | None = None  # level of the heading being read
        self._pre = 0
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _DROPPED:
            self._dropped += 1
        elif self._dropped:
            return
        elif tag in _HEADINGS:
            self._end_paragraph()
            self._heading = _HEADINGS[tag]
        elif tag == "pre":
            self._end_paragraph()
            self._pre += 1
        elif tag in _BLOCK:
            self._end_paragraph()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK and not self._dropped:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            title = " ".join("".join(self._title).split())
            self.title = self.title or title or None
        elif tag in _DROPPED:
            self._dropped = max(0, self._dropped - 1)
        elif self._dropped:
            return
        elif tag in _HEADINGS and self._heading is not None:
            name = " ".join("".join(self._text).split())
            self._text = []
            level = self._heading
            self._heading = None
            while self._headings and self._headings[-1][0] >= level:
                self._headings.pop()
            self._headings.append((level, name))
            if self.title is None and level == 1 and name:
                self.title = name
        elif tag == "pre" and self._pre:
            self._end_paragraph(code=True)
            self._pre -= 1
        elif tag in _BLOCK:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not self._dropped:
            self._text.append(data)

    def _end_paragraph(self, *, code: bool = False) -> None:
        raw = "".join(self._text)
        self._text = []
        if self._heading is not None:  # a block element inside a heading: keep reading it
            self._text = [raw, " "]
            return
        path = tuple(h for _, h in self._headings if h)
        if code or self._pre:
            body = raw.strip("\n").rstrip()
            if body.strip():
                self._blocks.append(_Block(path, body, code=True))
            return
        body = " ".join(raw.split())
        if body:
            self._blocks.append(_Block(path, body))

    def finish(self) -> list[_Block]:
        """The blocks read, the last paragraph included."""
        if self._heading is not None:  # an unclosed heading: its text is a paragraph
            self._heading = None
        self._end_paragraph()
        return self._blocks


# -- packing -------------------------------------------------------------------------


def _pack(blocks: list[_Block], max_chars: int) -> Iterator[TextChunk]:
    current: list[str] = []
    size = 0
    path: tuple[str, ...] | None = None
    for block in blocks:
        if block.path != path:
            if current:
                yield TextChunk(" > ".join(path or ()), "\n\n".join(current))
            current, size, path = [], 0, block.path
        for piece in _pieces(block, max_chars):
            added = len(piece) + (2 if current else 0)
            if current and size + added > max_chars:
                yield TextChunk(" > ".join(path), "\n\n".join(current))
                current, size, added = [], 0, len(piece)
            current.append(piece)
            size += added
    if current and path is not None:
        yield TextChunk(" > ".join(path), "\n\n".join(current))


def _pieces(block: _Block, max_chars: int) -> Iterator[str]:
    """The block, or parts of it within ``max_chars`` (lines of code, then words)."""
    if len(block.text) <= max_chars:
        yield block.text
        return
    if block.code:
        current: list[str] = []
        size = 0
        for line in block.text.split("\n"):
            added = len(line) + (1 if current else 0)
            if current and size + added > max_chars:
                yield from _words("\n".join(current), max_chars)
                current, size, added = [], 0, len(line)
            current.append(line)
            size += added
        if current:
            yield from _words("\n".join(current), max_chars)
        return
    yield from _words(block.text, max_chars)


def _words(text: str, max_chars: int) -> Iterator[str]:
    """``text`` split at whitespace into parts within ``max_chars`` (a longer word cut)."""
    if len(text) <= max_chars:
        if text.strip():
            yield text
        return
    current = ""
    for word in text.split():
        while len(word) > max_chars:
            if current:
                yield current
                current = ""
            yield word[:max_chars]
            word = word[max_chars:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current = f"{current} {word}"
        else:
            yield current
            current = word
    if current:
        yield current
