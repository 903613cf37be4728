"""Secret hygiene for recordings: keep credentials out of what is stored, and check.

:class:`Scrubber` removes credentials before an interaction is stored (and from the
request that is matched against a recording): headers that may carry one
(:func:`is_sensitive_header`) are dropped, credential-like query values and the values of
the ``*_API_KEY``, ``*_TOKEN``, ``*_SECRET`` and ``*_KEY`` variables are replaced with
:data:`REDACTED`. :func:`redact_secrets` replaces whatever looks like a provider key or a
bearer token in free text (messages, reports), and :func:`scan_for_secrets` looks for the
same patterns, and for credential headers, in a cassette file after it is written.

The cassette format itself is :mod:`~clearance.evaluation.cassettes`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import orjson

__all__ = [
    "REDACTED",
    "Scrubber",
    "is_sensitive_header",
    "redact_secrets",
    "scan_for_secrets",
]

REDACTED = "<redacted>"

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
    }
)
"""Headers never stored; any header whose name holds one of :data:`_HEADER_WORDS` neither."""
_HEADER_WORDS = ("key", "token", "secret", "auth", "cookie")
_QUERY_WORDS = ("key", "token", "secret", "signature", "password")
_SECRET_VARIABLE_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_KEY")
MIN_SECRET_LENGTH = 8
"""Shorter variable values are not scrubbed: they would match ordinary text."""


def is_sensitive_header(name: str) -> bool:
    """Whether a header may carry a credential (it is then never stored)."""
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or any(word in lowered for word in _HEADER_WORDS)


def _sensitive_query_name(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return lowered == "sig" or any(word in lowered for word in _QUERY_WORDS)


class Scrubber:
    """Removes credentials from what is about to be stored (and from what is matched).

    Args:
        secrets: values to replace with ``<redacted>`` wherever they appear.
    """

    __slots__ = ("_secret_bytes", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._secrets = tuple(values)
        self._secret_bytes = tuple(s.encode() for s in values)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Scrubber:
        """Scrub the values of the variables named ``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``
        or ``*_KEY``."""
        return cls(
            value
            for name, value in environ.items()
            if name.upper().endswith(_SECRET_VARIABLE_SUFFIXES)
        )

    def text(self, text: str) -> str:
        """``text`` with every secret value replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def body(self, body: bytes) -> bytes:
        """``body`` with every secret value replaced (as it appears in the raw bytes)."""
        for secret in self._secret_bytes:
            if secret in body:
                body = body.replace(secret, REDACTED.encode())
        return body

    def url(self, url: str) -> str:
        """``url`` with secret values replaced and credential-like query values redacted."""
        url = self.text(url)
        base, mark, query = url.partition("?")
        if not mark or not query:
            return url
        query, hash_mark, fragment = query.partition("#")
        parts = []
        for part in query.split("&"):
            name, equals, _ = part.partition("=")
            parts.append(f"{name}={REDACTED}" if equals and _sensitive_query_name(name) else part)
        return f"{base}?{'&'.join(parts)}{hash_mark}{fragment}"

    def headers(
        self, items: Iterable[tuple[str, str]], drop: frozenset[str] = frozenset()
    ) -> dict[str, list[str]]:
        """Headers as ``{name: [values]}``, without credential headers or those in ``drop``."""
        headers: dict[str, list[str]] = {}
        for name, value in items:
            lowered = name.lower()
            if lowered in drop or is_sensitive_header(lowered):
                continue
            headers.setdefault(lowered, []).append(self.text(value))
        return headers


# Keys and tokens are random, so they hold a digit: prose ("bearer instruments",
# "sk-learn-style-models") does not.
_SECRET_PATTERNS = (
    ("OpenRouter key", re.compile(r"\bsk-or-v1-[A-Za-z0-9]{16,}")),
    ("API key", re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?(?=[\w-]*\d)[\w-]{16,}", re.A)),
    ("bearer token", re.compile(r"\b[Bb]earer\s+(?=[\w.~+/=-]*\d)[\w.~+/=-]{12,}", re.A)),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{30,}")),
    ("Groq key", re.compile(r"\bgsk_[A-Za-z0-9]{20,}")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("AWS access key id", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
)
_HEADER_IN_TEXT = re.compile(
    r"""(?:^[ \t-]*|["'])("""
    + "|".join(re.escape(h) for h in sorted(SENSITIVE_HEADERS))
    + r""")["']?\s*:""",
    re.I | re.M,
)


def _preview(secret: str) -> str:
    return secret[:6] + "…" if len(secret) > 6 else secret


def _header_findings(data: Any) -> list[str]:
    findings: list[str] = []
    interactions = data.get("interactions") if isinstance(data, dict) else None
    for index, interaction in enumerate(interactions if isinstance(interactions, list) else ()):
        for part in ("request", "response"):
            message = interaction.get(part) if isinstance(interaction, dict) else None
            headers = message.get("headers") if isinstance(message, dict) else None
            for name in headers if isinstance(headers, dict) else ():
                if is_sensitive_header(name):
                    where = f"/interactions/{index}/{part}/headers"
                    findings.append(f"{where}: credential header {name!r}")
    return findings


def redact_secrets(text: str) -> str:
    """``text`` with everything that looks like a provider key or a bearer token
    replaced by :data:`REDACTED` (the patterns :func:`scan_for_secrets` looks for)."""
    for _, pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def scan_for_secrets(path_or_text: Path | str) -> list[str]:
    """Likely secrets in a cassette: credential headers, bearer tokens, provider keys.

    Args:
        path_or_text: a cassette file (a ``Path``, or a ``str`` naming an existing file),
            or the text itself.

    Returns:
        One line per finding (where, what, the first characters only), empty when clean.
    """
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and len(path_or_text) < 4096 and os.path.isfile(path_or_text)
    ):
        text = Path(path_or_text).read_text(encoding="utf-8", errors="replace")
    else:
        text = path_or_text
    findings: list[str] = []
    try:
        findings.extend(_header_findings(orjson.loads(text)))
    except orjson.JSONDecodeError:
        findings.extend(
            f"line {text.count(chr(10), 0, m.start()) + 1}: credential header {m.group(1)!r}"
            for m in _HEADER_IN_TEXT.finditer(text)
        )
    taken: list[tuple[int, int]] = []
    for kind, pattern in _SECRET_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            line = text.count("\n", 0, start) + 1
            findings.append(f"line {line}: {kind} {_preview(match.group())!r}")
    return findings
