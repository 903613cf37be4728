"""The text the call log stores: checked where it enters, with the same limits on every dialect.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` column and any U+0000, and
UTF-8 cannot carry a lone surrogate; SQLite stores all three. So the limits are the
``ai_calls`` column sizes (:data:`clearance.catalog.callstore.TEXT_LIMITS`), applied
before a database sees a value:

* :func:`check_identifiers`: the router's first step. An org, session or model id the
  log cannot store (or a tier that is not one) is the caller's mistake,
  :class:`~clearance.errors.InvalidIdentifier`, raised before any I/O.
* :func:`fit_row`: the log writer's last step before an insert. Free text the router
  took from a provider (a raw finish reason, an error kind, the model snapshot) is cut
  to its column with the cut noted in ``extra["truncated"]``; an identifier column that
  does not fit is the row's problem, and the row goes to the dead letters, on SQLite as
  on PostgreSQL.
* :func:`scrub`: what the writer retries a refused row with, once: its ``extra`` JSON
  without U+0000 and lone surrogates (PostgreSQL's JSONB refuses both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clearance.catalog.callstore import TEXT_LIMITS
from clearance.config import TIERS
from clearance.errors import InvalidIdentifier

__all__ = ["IDENTIFIER_LIMITS", "check_identifiers", "fit_row", "scrub"]


#: Most characters of each identifier the router takes, from the ``ai_calls`` columns.
IDENTIFIER_LIMITS: Mapping[str, int] = {
    "org": TEXT_LIMITS["org_id"],
    "session": TEXT_LIMITS["session_id"],
    "model": TEXT_LIMITS["requested_model"],
}
_ORG, _SESSION, _MODEL = (IDENTIFIER_LIMITS[k] for k in ("org", "session", "model"))

# C0 and C1 controls (U+0000 among them) and lone surrogates.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(value: str) -> bool:
    """Whether a text holds no control character and no lone surrogate."""
    if value.isascii():
        return value.isprintable()  # printable ASCII is exactly U+0020..U+007E
    return _REFUSED.search(value) is None


def _preview(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:40]) + ("…" if len(text) > 40 else "")


def _check(field: str, value: object, limit: int) -> None:
    if not isinstance(value, str):
        raise InvalidIdentifier(
            field, reason="not_text", length=0, limit=limit, preview=_preview(value)
        )
    if len(value) <= limit and value and _clean(value):
        return
    reason = "too_long" if len(value) > limit else "empty" if not value else "control_character"
    raise InvalidIdentifier(
        field, reason=reason, length=len(value), limit=limit, preview=_preview(value)
    )


def check_identifiers(
    *, org: object = None, session: object = None, model: object = None, tier: object = None
) -> None:
    """Refuse an identifier the call log could not store, before the call does any I/O.

    ``None`` is always accepted (no org, no session, the policy's model, no tier).

    Raises:
        InvalidIdentifier: naming the argument, its length and its column's limit.
    """
    if org is not None:
        _check("org", org, _ORG)
    if session is not None:
        _check("session", session, _SESSION)
    if model is not None:
        _check("model", model, _MODEL)
    if tier is not None and tier not in TIERS:
        raise InvalidIdentifier(
            "tier",
            reason="unknown_tier",
            length=len(tier) if isinstance(tier, str) else 0,
            limit=TEXT_LIMITS["tier"],
            preview=_preview(tier),
        )


#: Columns holding text a provider or the router chose (cut to fit, never refused).
_FREE_TEXT = frozenset(
    {
        "error_kind",
        "finish_reason",
        "finish_reason_raw",
        "model_snapshot",  # the identity the provider reported: its text, not the caller's
        "pricing_source",
        "fallback_reason",
        "policy_reason",
    }
)
_TEXT_COLUMNS = tuple(TEXT_LIMITS.items())


def fit_row(row: dict[str, Any]) -> str | None:
    """Fit an ``ai_calls`` row's text to its columns, in place; the problem, if one is left.

    Free text (a finish reason, an error kind) that is too long or holds a control
    character is cut and cleaned, and ``extra["truncated"]`` keeps its original length.

    Returns:
        ``None`` when the row fits, else what does not (an identifier column), for the
        dead letter.
    """
    for name, limit in _TEXT_COLUMNS:
        value = row.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"ai_calls.{name} must be text, not {type(value).__name__}"
        if len(value) <= limit and _clean(value):
            continue
        if name not in _FREE_TEXT:
            if len(value) > limit:
                return f"ai_calls.{name} is {len(value)} characters long; the column holds {limit}"
            return f"ai_calls.{name} contains a control character or a lone surrogate"
        row[name] = _REFUSED.sub("\ufffd", value)[:limit]
        extra = dict(row.get("extra") or {})
        extra.setdefault("truncated", {})[name] = len(value)
        row["extra"] = extra
    return None


def scrub(document: Any) -> Any:
    """A JSON document with U+0000, other controls but tab/newline and lone surrogates replaced."""
    if isinstance(document, str):
        return _REFUSED.sub(_replacement, document)
    if isinstance(document, list):
        return [scrub(item) for item in document]
    if isinstance(document, dict):
        return {scrub(key): scrub(value) for key, value in document.items()}
    return document


def _replacement(match: re.Match[str]) -> str:
    return match.group() if match.group() in "\t\n\r" else "\ufffd"
