"""Signatures on what a simulated model "thought", which a client must send back unchanged.

Anthropic's ``thinking`` blocks and Gemini's ``thoughtSignature`` parts carry an opaque
signature that the next request must return untouched; the real APIs refuse an
altered one. The simulator signs the same way, without keeping any state: a signature
is a digest of what it covers (the thinking text, or the function call's name and
arguments), so a block or part sent back can be checked on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

__all__ = ["call_signature", "same_signature", "thinking_signature"]

_KEY = b"clearance-reference-simulator"
"""Not a secret: the signatures prove a client sends blocks back, not who made them."""


def _sign(purpose: str, text: str) -> str:
    mac = hmac.new(_KEY, f"{purpose}\n{text}".encode(), hashlib.sha256).digest()
    # as long as a short real one, so that clients meet a realistic size
    return base64.b64encode(mac + hashlib.sha256(mac).digest() * 2).decode()


def thinking_signature(thinking: str) -> str:
    """The signature of an Anthropic ``thinking`` block (base64), over its text."""
    return _sign("anthropic-thinking", thinking)


def call_signature(name: str, arguments: Any) -> str:
    """The ``thoughtSignature`` of a Gemini function call (base64), over its name and args.

    Not bound to the model: a history that a fallback model reads still checks.
    """
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sign("gemini-call", f"{name}\n{canonical}")


def same_signature(sent: Any, expected: str) -> bool:
    """Whether a signature sent back is ``expected``, in either base64 alphabet.

    Google's clients send the bytes back in the URL-safe alphabet (``-_``) that the
    API answered in the standard one (``+/``); both are the same signature.
    """
    if not isinstance(sent, str):
        return False
    try:
        raw = base64.b64decode(sent.replace("-", "+").replace("_", "/") + "==", validate=False)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(raw, base64.b64decode(expected))
