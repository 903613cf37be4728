"""How each simulated model behaves: the reply to one checked request.

``ref/steady`` answers (see :mod:`clearance.reference.answers`); the others
are steady with one twist each (see :mod:`clearance.reference.catalog`).
The server counts the attempts of each distinct request: ``ref/flaky``
follows a :class:`FlakySchedule` by them (the same body, streamed or not, is
one request), and ``ref/sloppy`` draws its fault anew for each attempt (plain
and streamed counted apart, so the n-th of each carry the same fault), so
that repeated trials of one case differ the way a sampled model's do. Both
stay reproducible: a fresh server with the same seed, sent the same requests
in the same order, answers the same.

What happens is decided here, whatever the protocol; how it looks on the wire is the
request's :class:`~clearance.reference.dialect.Dialect`'s business (OpenAI chat
completions by default, or Anthropic Messages, or Gemini).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from clearance.reference.answers import compose, digest, share, text_reply
from clearance.reference.catalog import ReferenceModel, find_model
from clearance.reference.dialect import OPENAI, Dialect
from clearance.reference.request import ChatRequest
from clearance.reference.text import message_text
from clearance.reference.wire import Reply, pieces

__all__ = ["FlakySchedule", "Simulator", "status_reply"]

_MEMO_SIZE = 4_096
"""How many answers a simulator keeps (oldest out first)."""

_STATUS_MESSAGES = {
    401: "No auth credentials found (simulated)",
    402: "Insufficient credits (simulated): add credits, or route to another model",
    429: "Rate limit exceeded (simulated): retry after the Retry-After delay",
    500: "Internal server error (simulated)",
    502: "Upstream provider error (simulated)",
    503: "Service unavailable (simulated): no upstream can serve the request right now",
}


@dataclass(frozen=True, slots=True)
class FlakySchedule:
    """How ``ref/flaky`` misbehaves, per distinct request.

    Attempt *n* of a request (counted by the server; the same body, streamed or
    not, is the same request) fails with ``failures[n - 1]`` while
    ``n <= len(failures)``, and succeeds from then on. A ``failing_rate`` share
    of distinct requests (chosen by a hash of seed and request) goes through
    the failures; the others succeed at once. Of the successful answers, a
    ``hang_rate`` share of requests hangs ``hang_s`` seconds on its first
    success (a retry after the client's timeout gets a prompt answer), and a
    ``slow_rate`` share (disjoint) answers every success after ``slow_s``.
    """

    failures: tuple[int, ...] = (429, 503)
    """HTTP statuses of the first attempts (a 429 carries ``Retry-After``)."""
    failing_rate: float = 1.0
    retry_after_s: int = 1
    slow_rate: float = 0.2
    slow_s: float = 0.2
    hang_rate: float = 0.1
    hang_s: float = 5.0
    """Longer than typical client timeouts; cut short when the server stops."""

    def __post_init__(self) -> None:
        for name in ("failing_rate", "slow_rate", "hang_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"FlakySchedule.{name} must be between 0 and 1, not {value}")
        if self.slow_rate + self.hang_rate > 1:
            raise ValueError("FlakySchedule.slow_rate + hang_rate must be at most 1")
        bad = [s for s in self.failures if not 400 <= s <= 599]
        if bad:
            raise ValueError(f"FlakySchedule.failures must be HTTP error statuses, not {bad}")
        if self.slow_s < 0 or self.hang_s < 0 or self.retry_after_s < 0:
            raise ValueError("FlakySchedule delays must not be negative")


def status_reply(
    status: int, *, retry_after_s: int = 1, note: str = "", dialect: Dialect = OPENAI
) -> Reply:
    """A simulated provider failure (OpenRouter-style unless another ``dialect`` is given)."""
    message = _STATUS_MESSAGES.get(status, f"HTTP {status} (simulated)") + note
    return dialect.failure(status, message, retry_after_s=retry_after_s)


def _attempt_header(attempt: int) -> tuple[tuple[str, str], ...]:
    return (("x-reference-attempt", str(attempt)),)


def _delayed(reply: Reply, seconds: float) -> Reply:
    """The reply sent ``seconds`` late, saying so in ``x-reference-delay-ms``."""
    header = ("x-reference-delay-ms", str(round(seconds * 1000)))
    return replace(reply, delay_s=seconds, headers=(*reply.headers, header))


class Simulator:
    """The simulated models of one server; it holds the attempt counts of requests."""

    def __init__(
        self,
        *,
        seed: int = 0,
        sloppy_rate: float = 0.3,
        flaky: FlakySchedule | None = None,
        slow_s: float = 0.2,
    ) -> None:
        if not 0 <= sloppy_rate <= 1:
            raise ValueError(f"sloppy_rate must be between 0 and 1, not {sloppy_rate}")
        self.seed = seed
        self.sloppy_rate = sloppy_rate
        self.flaky = flaky if flaky is not None else FlakySchedule()
        self.slow_s = slow_s
        self._attempts: dict[str, int] = {}  # for ref/flaky and ref/sloppy, by request key
        self._memo: dict[tuple[str, bool, bool, bool, int, Dialect], Reply] = {}

    def chat(self, request: ChatRequest, dialect: Dialect = OPENAI) -> Reply:
        """The reply to a checked chat request, in ``dialect``'s shapes."""
        model = find_model(request.model)
        if model is None:
            return dialect.unknown_model(request.model)
        return self._behave(model, request, dialect)

    def _behave(self, model: ReferenceModel, request: ChatRequest, dialect: Dialect) -> Reply:
        behaviour = model.behaviour
        if behaviour == "status" and model.status is not None:
            note = f" [{model.id} always answers {model.status}]"
            return status_reply(model.status, note=note, dialect=dialect)
        if behaviour == "hang":
            return Reply(0, delay_s=math.inf)
        if behaviour == "flaky":
            return self._flaky(request, dialect)
        if behaviour == "context-small" and request.prompt_tokens > model.context_length:
            return dialect.too_long(request.prompt_tokens, model.context_length)
        if behaviour in ("error-in-200", "stream-error"):
            return self._broken(model, request, dialect)
        if behaviour == "sloppy":
            attempt = self._attempt(request, by_stream=True)
            return self.answer(
                request,
                sloppy=True,
                attempt=attempt,
                headers=_attempt_header(attempt),
                dialect=dialect,
            )
        reply = self.answer(request, dialect=dialect)
        return _delayed(reply, self.slow_s) if behaviour == "slow" else reply

    def _attempt(self, request: ChatRequest, *, by_stream: bool = False) -> int:
        """Count one more attempt of this request on this server; return its number.

        ``by_stream``: count plain and streamed attempts apart (``ref/sloppy``: the n-th
        streamed attempt carries the same fault as the n-th plain one).
        """
        key = f"{request.key}:{request.stream}" if by_stream else request.key
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        return attempt

    def response_id(self, request: ChatRequest) -> str:
        """The OpenAI-style answer id: a digest of seed and request."""
        return "chatcmpl-ref-" + self._tag(request)[:24]

    def _tag(self, request: ChatRequest) -> str:
        """The digest of seed and request that an answer's ids are drawn from."""
        return digest(self.seed, "id", request.key)

    def answer(
        self,
        request: ChatRequest,
        *,
        sloppy: bool = False,
        attempt: int = 1,
        headers: tuple[tuple[str, str], ...] = (),
        dialect: Dialect = OPENAI,
    ) -> Reply:
        """A successful answer, plain or streamed (``x-reference-fault`` names a fault).

        Answers are pure functions of (seed, request, dialect, and for ``ref/sloppy`` the
        attempt), so the last few thousand are kept: a load test that replays its
        prompts costs the server almost nothing.
        """
        memo = (request.key, request.stream, request.include_usage, sloppy, attempt, dialect)
        reply = self._memo.get(memo)
        if reply is None:
            answer = compose(
                request,
                self.seed,
                sloppy_rate=self.sloppy_rate if sloppy else 0.0,
                attempt=attempt,
            )
            reply = dialect.success(request, answer, self._tag(request))
            if answer.fault is not None:
                reply = replace(
                    reply, headers=(*reply.headers, ("x-reference-fault", answer.fault))
                )
            if len(self._memo) >= _MEMO_SIZE:
                del self._memo[next(iter(self._memo))]
            self._memo[memo] = reply
        return replace(reply, headers=(*headers, *reply.headers)) if headers else reply

    def _flaky(self, request: ChatRequest, dialect: Dialect) -> Reply:
        schedule = self.flaky
        attempt = self._attempt(request)
        headers = _attempt_header(attempt)
        failing = share(digest(self.seed, "flaky", request.key)) < schedule.failing_rate
        if failing and attempt <= len(schedule.failures):
            status = schedule.failures[attempt - 1]
            reply = status_reply(
                status,
                retry_after_s=schedule.retry_after_s,
                note=f" [ref/flaky attempt {attempt}]",
                dialect=dialect,
            )
            return replace(reply, headers=(*reply.headers, *headers))
        first_success = len(schedule.failures) + 1 if failing else 1
        timing = share(digest(self.seed, "flaky-timing", request.key))
        reply = self.answer(request, headers=headers, dialect=dialect)
        if timing < schedule.hang_rate:
            return _delayed(reply, schedule.hang_s) if attempt == first_success else reply
        if timing < schedule.hang_rate + schedule.slow_rate:
            return _delayed(reply, schedule.slow_s)
        return reply

    def _broken(self, model: ReferenceModel, request: ChatRequest, dialect: Dialect) -> Reply:
        """``ref/error-in-200`` and ``ref/stream-error``: an error inside a 200 answer."""
        first = None
        if request.stream and model.behaviour == "stream-error":
            prompt = next(
                (message_text(m) for m in reversed(request.messages) if m.get("role") == "user"), ""
            )
            first = pieces(text_reply(prompt))[0]
        message = _STATUS_MESSAGES[502] + f" [{model.id}]"
        return dialect.broken(request, self._tag(request), first, message)
