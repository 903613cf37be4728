"""Reading written HTML in tests: a tree from the standard library's parser, never regexes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["Node", "assert_self_contained", "parse"]

_VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str, **attrs: str | None) -> list[Node]:
        """Descendants with this tag and, for each given attribute, that value (None: any)."""
        found = []
        for node in self.walk():
            if node is self or node.tag != tag:
                continue
            names = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
            if all(
                name in node.attrs and (value is None or node.attrs[name] == value)
                for name, value in names.items()
            ):
                found.append(node)
        return found

    def one(self, tag: str, **attrs: str | None) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, [n.attrs for n in found])
        return found[0]

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(path: Path) -> Node:
    builder = _TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    return builder.root


def assert_self_contained(paths: Iterable[Path]) -> None:
    """No script, no stylesheet link, no remote address, no event handler attribute."""
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text.lower(), path
        assert "<link" not in text.lower(), path
        for node in parse(path).walk():
            assert node.tag not in ("script", "link", "img", "iframe", "object"), (path, node)
            for name, value in node.attrs.items():
                assert not name.startswith("on"), (path, node.tag, name)
                if name in ("src", "href", "action", "xlink:href"):
                    assert not value.lower().startswith(("http:", "https:", "//")), (path, value)
