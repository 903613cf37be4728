"""What an infrastructure error was, read from a stored result's evidence.

An ``infra_error`` row (or a row a fallback model answered) is never the model's failure,
but a person still needs to see what failed: the error's kind, the HTTP status and the
provider's own message. The eval engine stores them in the row's evidence (``kind``,
``status_code``, ``provider_message``; ``from_recording`` when a replay reached a trial
recorded while the provider failed). Rows stored before ``provider_message`` existed give
their last failed attempt's detail, or the error's message.

:func:`infra_cause` reads one row, :func:`group_infra` groups rows by kind and HTTP status
(for ``clearance runs show`` and the report's infra section), :func:`describe_cause` says
one in words, and :func:`unjudged_reason` explains a model none of whose items was judged.
Every message given out is redacted (:func:`redact`): provider keys, bearer tokens and the
values of ``*_API_KEY`` / ``*_TOKEN`` / ``*_SECRET`` / ``*_KEY`` variables.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearance.evaluation.recording import default_rerecord_command
from clearance.evaluation.scrub import Scrubber, redact_secrets

__all__ = [
    "InfraCause",
    "InfraGroup",
    "InfraMessage",
    "describe_cause",
    "group_infra",
    "infra_cause",
    "redact",
    "unjudged_reason",
]

_MESSAGE_LIMIT = 300
_MESSAGES_KEPT = 3
_CASES_IN_A_COMMAND = 10
_HTTP_KINDS = frozenset(
    {
        "http_error",
        "rate_limit",
        "auth",
        "payment_required",
        "model_not_found",
        "context_length",
        "content_policy",
        "bad_request",
        "server_error",
    }
)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with provider keys, bearer tokens and secret variables' values replaced."""
    scrubber = Scrubber.from_environ(os.environ if environ is None else environ)
    return redact_secrets(scrubber.text(text))


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True)
class InfraCause:
    """Why one trial was not judged."""

    kind: str
    """The error's kind: ``server_error``, ``auth``, ``rate_limit``, ``timeout``,
    ``connection``, ``fallback_served``, ``missing_recording``..."""
    status_code: int | None
    """The HTTP status the provider sent last (``None``: no answer, or not a provider's)."""
    message: str
    """The provider's message (or the error's, when no provider answered), redacted."""
    from_recording: bool = False
    """Replayed from a recording made while the provider failed (not a live failure)."""
    fix: str | None = None
    """What to do about it (the command that re-records, for a recording)."""


def _last_failed_attempt(evidence: Mapping[str, Any]) -> Mapping[str, Any] | None:
    attempts = evidence.get("attempts")
    if not isinstance(attempts, list):
        return None
    failed = [a for a in attempts if isinstance(a, Mapping) and a.get("outcome") == "error"]
    return failed[-1] if failed else None


def infra_cause(
    evidence: Mapping[str, Any] | None,
    *,
    failure_code: str | None = None,
    fallback_served: bool = False,
    environ: Mapping[str, str] | None = None,
) -> InfraCause:
    """The cause of one infra row, from its evidence (any shape a version stored)."""
    found: Mapping[str, Any] = evidence if isinstance(evidence, Mapping) else {}
    attempt = _last_failed_attempt(found)
    kind = found.get("kind")
    if fallback_served and not kind:
        kind = "fallback_served"
    status = found.get("status_code")
    if status is None and attempt is not None:
        status = attempt.get("status_code")
    message = found.get("provider_message")
    if not message and attempt is not None and kind != "fallback_served":
        message = attempt.get("detail")
    if not message:
        message = found.get("message")
    fix = found.get("fix")
    return InfraCause(
        kind=str(kind or failure_code or "infra_error"),
        status_code=status if isinstance(status, int) and not isinstance(status, bool) else None,
        message=_cut(redact(str(message or ""), environ)),
        from_recording=found.get("from_recording") is True,
        fix=redact(str(fix), environ) if fix else None,
    )


def describe_cause(cause: InfraCause) -> str:
    """One cause in words: ``HTTP 500 from provider: upstream broke``."""
    if cause.status_code is not None and cause.kind in _HTTP_KINDS:
        head = f"HTTP {cause.status_code} from provider"
    elif cause.status_code is not None:
        head = f"{cause.kind} (HTTP {cause.status_code})"
    else:
        head = cause.kind
    text = f"{head}: {cause.message}" if cause.message else head
    return f"{text} [replayed from a recording]" if cause.from_recording else text


@dataclass(frozen=True, slots=True)
class InfraMessage:
    """One of a group's messages and how many of its trials gave it."""

    message: str
    trials: int


@dataclass(frozen=True, slots=True)
class InfraGroup:
    """Trials not judged, with the same kind and HTTP status."""

    kind: str
    """The error's kind (``server_error``, ``timeout``...) or ``fallback_served``."""
    status_code: int | None
    """The HTTP status the provider sent (``None``: no answer, or not a provider's)."""
    trials: int
    cases: tuple[str, ...]
    """The cases of those trials, sorted."""
    messages: tuple[InfraMessage, ...]
    """The commonest distinct messages (provider's words, redacted), most frequent first."""
    other_messages: int
    """Distinct messages left out of ``messages``."""
    from_recording: int
    """Trials replayed from a recording made while the provider failed."""
    fix: str | None
    """What to do about it, when the errors said: for trials replayed from a recording,
    the command that records the group's cases again."""

    @property
    def example(self) -> str | None:
        """The commonest message."""
        return self.messages[0].message if self.messages else None


def _rerecord(model_id: str, cases: list[str]) -> str:
    """The command that records the cases of a group again (``new`` records again only
    what failed, is stale or is missing, so a long list of cases is left out)."""
    if len(cases) > _CASES_IN_A_COMMAND:
        command = f"clearance eval --models {shlex.quote(model_id)} --record-mode new"
        return f"record again what failed (and only that): {command}"
    return f"record them again: {default_rerecord_command(model_id, ','.join(cases))}"


def group_infra(
    rows: Iterable[tuple[str, Mapping[str, Any] | None, str | None, bool]],
    *,
    model_id: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[InfraGroup, ...]:
    """Infra rows grouped by (kind, HTTP status), the largest group first.

    Args:
        rows: ``(case_id, evidence, failure_code, fallback_served)`` of each infra row.
        model_id: the model the rows are of: a group replayed from recordings then names
            the command that records all its cases again (else each row's own fix).
        environ: where secret variables are read (default ``os.environ``).
    """
    found: dict[tuple[str, int | None], list[tuple[str, InfraCause]]] = {}
    for case_id, evidence, code, served in rows:
        cause = infra_cause(evidence, failure_code=code, fallback_served=served, environ=environ)
        found.setdefault((cause.kind, cause.status_code), []).append((case_id, cause))
    groups = []
    for (kind, status), members in found.items():
        counts = Counter(cause.message for _, cause in members if cause.message)
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        replayed = sorted({case for case, cause in members if cause.from_recording})
        fix = next((cause.fix for _, cause in members if cause.fix), None)
        if replayed and model_id is not None:
            fix = _rerecord(model_id, replayed)
        groups.append(
            InfraGroup(
                kind=kind,
                status_code=status,
                trials=len(members),
                cases=tuple(sorted({case for case, _ in members})),
                messages=tuple(InfraMessage(m, n) for m, n in ordered[:_MESSAGES_KEPT]),
                other_messages=max(0, len(ordered) - _MESSAGES_KEPT),
                from_recording=sum(cause.from_recording for _, cause in members),
                fix=fix,
            )
        )
    return tuple(sorted(groups, key=lambda g: (-g.trials, g.kind, g.status_code or 0)))


def unjudged_reason(
    model_id: str,
    rows: Iterable[tuple[str, Mapping[str, Any] | None, str | None, bool]],
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Why nothing of ``model_id`` was judged, from its infra rows (every row it has):

    ``mock:gpt-mock: all 3 items failed on infrastructure (HTTP 500 from provider:
    upstream broke); nothing was judged``.
    """
    groups = group_infra(rows, environ=environ)
    items = sum(group.trials for group in groups)
    causes = []
    for group in groups[:2]:
        cause = InfraCause(
            group.kind, group.status_code, group.example or "", group.from_recording > 0
        )
        share = "" if len(groups) == 1 else f" on {group.trials}"
        causes.append(describe_cause(cause) + share)
    if len(groups) > 2:
        causes.append(f"{len(groups) - 2} more cause(s)")
    every = "the 1 item" if items == 1 else f"all {items} items"
    return f"{model_id}: {every} failed on infrastructure ({'; '.join(causes)}); nothing was judged"
