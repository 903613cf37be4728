"""The simulator's prompt cache: which prompt prefixes a server has already seen.

Anthropic caches a prompt up to each ``cache_control`` breakpoint: the first request
writes the prefix (``cache_creation_input_tokens``), later ones with the same prefix
read it (``cache_read_input_tokens``). The simulator keeps the digests of prefixes it
saw, so its usage figures follow the same rule; like the other per-server counts, what
a request gets depends on the requests before it, in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["MIN_CACHED_TOKENS", "PromptCache"]

MIN_CACHED_TOKENS = 1_024
"""The shortest prefix that is cached (Anthropic's minimum for its larger models)."""

_SIZE = 65_536


class PromptCache:
    """Prefix digests seen by one server (oldest forgotten first past 65,536)."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def use(self, prefixes: Sequence[tuple[str, int]]) -> tuple[int, int]:
        """Read and write the cache for a request's breakpoints; return (read, written).

        Args:
            prefixes: (the prefix's text, its tokens) at each breakpoint, shortest first.

        Returns:
            the tokens of the longest prefix seen before (read from the cache), and how
            many more tokens up to the last breakpoint are written to it now.
        """
        eligible = [(text, tokens) for text, tokens in prefixes if tokens >= MIN_CACHED_TOKENS]
        if not eligible:
            return 0, 0
        digests = [(hashlib.sha256(text.encode()).hexdigest(), tokens) for text, tokens in eligible]
        read = max((tokens for digest, tokens in digests if digest in self._seen), default=0)
        written = max(0, digests[-1][1] - read)
        for digest, _ in digests:
            self._seen.pop(digest, None)
            self._seen[digest] = None
        while len(self._seen) > _SIZE:
            del self._seen[next(iter(self._seen))]
        return read, written
