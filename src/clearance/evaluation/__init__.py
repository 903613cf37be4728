"""Evaluation: judging what models did, from recorded or live traffic.

:func:`audit_cassettes` audits third-party VCR.py cassettes: every tool call
checked against the schema sent with its request, quirks and errors counted
per model.
"""

from clearance.evaluation.audit import (
    AuditReport,
    CallVerdict,
    CassetteAudit,
    ExchangeAudit,
    ModelRow,
    UnreadableCassette,
    audit_cassettes,
)

__all__ = [
    "AuditReport",
    "CallVerdict",
    "CassetteAudit",
    "ExchangeAudit",
    "ModelRow",
    "UnreadableCassette",
    "audit_cassettes",
]
