"""Record and replay an eval's HTTP traffic, one cassette per (model, case).

The eval engine runs each (model, case) as one asyncio task playing its trials in order,
many tasks at once, all through one shared :class:`RecordingTransport`. The transport
finds the cassette of the task it serves through a :class:`~contextvars.ContextVar`, set
by :meth:`CaseCassette.use` (asyncio tasks copy the context they start in)::

    library = CassetteLibrary(Path("evals/cassettes"), default_record_mode(os.environ))
    transport = RecordingTransport(inner_async=httpx.AsyncHTTPTransport())
    cassette = library.open("ref:ref/steady", "cancel_meeting", fingerprint=fingerprint)
    for trial in (1, 2, 3):
        with cassette.use(trial):
            ...  # every request made here is replayed from, or recorded into, the cassette
    cassette.finish()  # replay: fails on unplayed interactions; record: writes the file

Record modes (:data:`RecordMode`):

``none``
    Replay only, never the network. A missing cassette, a request that is not the next
    one recorded for its trial, and a stale fingerprint all raise.
``once``
    Replay an existing cassette exactly as ``none`` does; record a cassette that does
    not exist yet, or that holds a trial which ended on a provider failure (see below).
``new``
    Replay what is recorded and record what is missing. A missing, stale or broken
    cassette is recorded afresh; a trial with no recording, one that goes on past its
    recording, or one that ended on a provider failure, is recorded (again) and
    appended. A trial whose request differs from the one recorded at its place keeps
    the part that matched and is recorded from there on (what it had recorded after
    that point is dropped), as are recorded requests a trial no longer sends. ``new``
    is therefore the one fix for every replay error.
``all``
    Record everything, ignoring (and at :meth:`CaseCassette.finish` replacing) the file.

Matching is strict: the method, the URL path and query (not scheme, host or port: the
reference server's port changes every run) and the body, compared as parsed JSON. Within
a trial, each request must match the next recorded one, so retries of one body (429,
503, then 200) replay in order. vcrpy's ``Cassette.play_response`` would serve any
unplayed match, in any order; the order is checked here instead, with vcrpy's matchers.
The matchers, and the messages that say what differs (a request from its recording, a
fingerprint from the case's), are :mod:`~clearance.evaluation.matching`. A cassette is
indexed once, when it is opened: each recorded request keeps what the matchers compare
(method, path and query as vcrpy reads them, and its body's comparison key, made from
the stored JSON without encoding and parsing it again), so a request made is parsed once
and compared by equality; vcrpy's matchers run only to explain a mismatch. The eval
engine's replays skip httpx altogether (:mod:`~clearance.evaluation.replay` asks
:meth:`CaseCassette.serve` directly); this transport serves everything else.

A stale cassette (its fingerprint differs from the one the engine passes) is reported in
:attr:`CaseCassette.stale_reason` as soon as it is opened; in ``none`` and ``once`` the
first request made through it, and :meth:`CaseCassette.finish`, raise
:class:`~clearance.errors.StaleRecording`. A broken file raises
:class:`~clearance.errors.BrokenCassette` from :meth:`CassetteLibrary.open` in ``none`` and
``once`` (``new`` records it afresh, ``all`` never reads it).

A trial whose recording ended on a provider failure (the engine marks it with
:meth:`CaseCassette.mark_failure`: 5xx, 401/403, 429 after retries, a timeout, an
unreachable provider, a fallback's answer) keeps its interactions, and the header names
it (``infra_failures``). So does a trial whose last recorded answer is an HTTP error,
which is how a trial recorded before failures were marked ends. No replay serves such a
trial as an answer: ``none`` raises :class:`~clearance.errors.RecordedProviderFailure` at
its first request; ``once`` records the whole cassette again (it is not "present"); ``new``
records those trials again and keeps the others; ``all`` records everything anyway.

Errors raised by the transport are :class:`~clearance.errors.RecordingError` subclasses,
not httpx exceptions: :class:`~clearance.providers.openai.OpenAICompatibleProvider` maps
only httpx's errors, and the router only catches ``ProviderError``, so they reach the
engine untouched.

Why this module is past 600 lines: :class:`CaseCassette` is one state machine (load,
then per request replay or record, then finish), about 380 lines sharing per-trial
cursors, and :class:`RecordingTransport` is the thin shell that drives it through one
context variable, calling its private steps (``_plan``, ``_record``). Putting them in two
modules would make those steps public for one caller. The file format is
:mod:`~clearance.evaluation.cassettes`, secret hygiene :mod:`~clearance.evaluation.scrub`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlparse

import httpx
import orjson

from clearance.errors import (
    BrokenCassette,
    ConfigError,
    MissingRecording,
    RecordedProviderFailure,
    RecordingError,
    RecordingMismatch,
    StaleRecording,
    UnplayedRecording,
)
from clearance.evaluation.cassettes import (
    CASSETTE_FORMAT,
    CassetteFormatError,
    CassettePersister,
    CassetteSerializer,
    RecordedFailure,
    StoredRequest,
    cassette_path,
)
from clearance.evaluation.matching import (
    MATCHERS,
    explain_mismatch,
    fingerprint_changes,
    json_body,
    request_matches,
    route,
    sent_key,
)
from clearance.evaluation.scrub import Scrubber, redact_secrets, scan_for_secrets

if TYPE_CHECKING:  # imported where a request is recorded or a mismatch explained
    from vcr.request import Request

__all__ = [
    "MATCHERS",
    "RECORD_MODES",
    "CaseCassette",
    "CassetteLibrary",
    "CassettePersister",
    "CassetteSerializer",
    "RecordMode",
    "RecordedFailure",
    "RecordingTransport",
    "active_cassette",
    "cassette_holds_failure",
    "cassette_path",
    "default_record_mode",
    "default_rerecord_command",
    "json_body",
    "replaying_now",
    "scan_for_secrets",
]

RecordMode = Literal["none", "once", "new", "all"]
"""When to replay and when to record; see the module docstring."""
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new", "all")
_FALSE = frozenset({"", "0", "false", "no", "off"})
_REQUEST_NOISE = frozenset(
    {"host", "content-length", "accept", "accept-encoding", "connection", "user-agent"}
)
"""Request headers not stored: set by httpx itself, never matched, and noisy in a diff (the
host holds the reference server's port of the day, the user agent httpx's version)."""
_BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})
"""Response headers not stored: the body is stored decoded, whole."""
_FAILURE_MESSAGE_LIMIT = 500
"""Characters of a provider's message kept in a cassette's header."""
_E = TypeVar("_E", bound=RecordingError)


def default_record_mode(environ: Mapping[str, str]) -> RecordMode:
    """``none`` on CI (``CI`` set, and not empty, ``0``, ``false`` or ``no``), else ``once``."""
    value = environ.get("CI")
    return "none" if value is not None and value.strip().lower() not in _FALSE else "once"


def default_rerecord_command(model_id: str, case_id: str) -> str:
    """The command that re-records one (model, case): ``clearance eval ... --record-mode new``."""
    return (
        f"clearance eval --models {shlex.quote(model_id)} --cases {shlex.quote(case_id)}"
        " --record-mode new"
    )


# -- provider failures ---------------------------------------------------------------------


def _ended_on_error(statuses: Iterable[tuple[Any, Any]]) -> dict[int, int]:
    """Trial -> status, for the trials whose last recorded answer is an HTTP error.

    The router retries or gives up on an error answer, and a trial goes on only after a
    good one: a trial recorded to its end with an error last ended on a provider failure.
    """
    last: dict[int, Any] = {}
    for trial, status in statuses:
        last[trial] = status
    return {
        trial: status
        for trial, status in last.items()
        if isinstance(trial, int) and isinstance(status, int) and status >= 400
    }


def _failure_from_answer(trial: int, response: Mapping[str, Any], provider: str) -> RecordedFailure:
    """What a recorded error answer says, classified as the provider adapter classifies it."""
    from clearance.providers.wire import classify_error

    status = int(response["status"]["code"])
    headers = {name: values[0] for name, values in response["headers"].items() if values}
    error = classify_error(
        status, response["body"]["string"], headers, provider=provider, model_id=None
    )
    return RecordedFailure(trial, error.kind, status, error.detail[:_FAILURE_MESSAGE_LIMIT])


def cassette_holds_failure(path: Path) -> bool:
    """Whether the cassette at ``path`` holds a trial that ended on a provider failure.

    A quick look for the record mode ``once`` (which records such a cassette again): a
    missing or unreadable file holds none (opening it says what is wrong with it).
    """
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    if not isinstance(data, dict) or not isinstance(data.get("clearance"), dict):
        return False
    if data["clearance"].get("infra_failures"):
        return True
    interactions = data.get("interactions")
    if not isinstance(interactions, list):
        return False

    def statuses() -> Iterator[tuple[Any, Any]]:
        for item in interactions:
            try:
                yield item["trial"], item["response"]["status"]["code"]
            except (KeyError, TypeError):
                continue

    return bool(_ended_on_error(statuses()))


# -- cassettes ------------------------------------------------------------------------------


def _to_httpx(response: Mapping[str, Any]) -> httpx.Response:
    """An ``httpx.Response`` from a stored response (a stream, so SSE parsers can read it)."""
    status = response["status"]
    message = status.get("message")
    headers = [(name, value) for name, values in response["headers"].items() for value in values]
    return httpx.Response(
        status["code"],
        headers=headers,
        stream=httpx.ByteStream(response["body"]["string"]),
        extensions={"reason_phrase": message.encode("ascii", "replace")} if message else {},
    )


def _vcr_request(method: str, uri: str, body: bytes) -> Request:
    """A request made, as vcrpy's ``Request`` (vcrpy imported here, not for a replay)."""
    from vcr.request import Request

    return Request(method, uri, body, {})


def _path_of(request: StoredRequest | Request) -> str:
    """A request's URL path, as vcrpy reads it."""
    return urlparse(request.uri).path if isinstance(request, StoredRequest) else request.path


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


_ACTIVE: ContextVar[tuple[CaseCassette, int] | None] = ContextVar(
    "clearance_cassette", default=None
)


def active_cassette() -> tuple[CaseCassette, int] | None:
    """The cassette and trial the requests made in this context are served from
    (set by :meth:`CaseCassette.use`; ``None`` outside any)."""
    return _ACTIVE.get()


def replaying_now() -> bool:
    """Whether the last request made in this context was served from a recording.

    For retry waits: in ``new`` a cassette may replay one trial and record the next, so
    :attr:`CaseCassette.replaying` alone cannot say whether a wait is real.
    """
    active = _ACTIVE.get()
    return active is not None and active[0]._replayed_last.get(active[1]) is True


class CaseCassette:
    """The cassette of one (model, case): every trial's interactions, in order.

    Made by :meth:`CassetteLibrary.open`. Use :meth:`use` around each trial and call
    :meth:`finish` once every trial has run.
    """

    def __init__(
        self,
        library: CassetteLibrary,
        model_id: str,
        case_id: str,
        fingerprint: Mapping[str, Any],
    ) -> None:
        self.model_id = model_id
        self.case_id = case_id
        self.path = cassette_path(library.root, model_id, case_id)
        self.mode: RecordMode = library.mode
        try:
            normalized = orjson.loads(orjson.dumps(fingerprint, default=_plain))
        except TypeError as error:
            raise TypeError(f"a cassette fingerprint must be JSON data: {error}") from None
        self.fingerprint: dict[str, Any] = normalized
        self.stale_reason: str | None = None
        """Why the cassette on disk no longer fits the case (``None`` when it fits)."""
        self.replaying = False
        """Whether the cassette is served from disk (``False``: it is being recorded)."""
        self.held_failures: dict[int, RecordedFailure] = {}
        """Trials whose recording on disk ended on a provider failure (``none`` raises
        :class:`~clearance.errors.RecordedProviderFailure` for them; ``once`` and ``new``
        record them again)."""
        self._scrubber = library.scrubber
        self._command = library.rerecord_command(model_id, case_id)
        # (request, response) in the order read or recorded: a loaded request is a
        # StoredRequest (indexed once: what matching compares), a recorded one vcrpy's
        self._data: list[tuple[StoredRequest | Request, dict[str, Any]]] = []
        self._played = 0
        self._by_trial: dict[int, list[int]] = {}  # trial -> indices in self._data
        self._cursor: dict[int, int] = {}  # trial -> position of its next interaction
        self._diverged: set[int] = set()  # trials recording past what they replayed (new)
        self._used: set[int] = set()
        self._missing = False
        self._stale: str | None = None  # the StaleRecording message (none, once)
        self._dirty = False
        self._finished = False
        self.interactions_recorded = 0
        """Interactions recorded into this cassette so far."""
        self._provider_ms: dict[int, float | None] = {}  # trial -> provider time, None: unknown
        self._recorded_trials: set[int] = set()  # trials with a request recorded in this run
        self._failures: dict[int, RecordedFailure] = {}  # marked by this run, for the header
        self.last_replayed: bool | None = None
        """Whether the last request was served from disk (``None``: no request yet)."""
        self._replayed_last: dict[int, bool] = {}  # the same, per trial (they run at once)
        self._load()

    def __repr__(self) -> str:
        state = "replaying" if self.replaying else "recording"
        return f"CaseCassette({self.model_id!r}, {self.case_id!r}, {state}, path={self.path!r})"

    @property
    def interactions_played(self) -> int:
        """Interactions replayed from disk so far."""
        return self._played

    def provider_ms(self, trial: int) -> float | None:
        """The provider's time for the requests of ``trial`` served so far, in ms.

        Recorded interactions keep the time the provider took (``elapsed_ms``), so a
        replayed trial reports the latency it had when it was recorded, not the time a
        replay takes. ``None`` when an interaction served has no recorded time (a
        cassette written before times were kept).
        """
        return self._provider_ms.get(trial)

    def recorded_now(self, trial: int) -> bool:
        """Whether a request of ``trial`` reached the provider and was recorded in this
        run (``False``: every request of it served so far came from the recording)."""
        return trial in self._recorded_trials

    def _add_time(self, trial: int, elapsed: Any) -> None:
        known = self._provider_ms.get(trial, 0.0)
        if known is None or not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool):
            self._provider_ms[trial] = None
        else:
            self._provider_ms[trial] = known + float(elapsed)

    def _error(self, cls: type[_E], message: str, trial: int | None, fix: str | None = None) -> _E:
        return cls(
            message,
            model_id=self.model_id,
            case_id=self.case_id,
            path=str(self.path),
            trial=trial,
            fix=fix or f"re-record it: {self._command}",
        )

    # -- loading --------------------------------------------------------------------------

    def _load(self) -> None:
        if self.mode == "all":
            return
        try:
            interactions, header = CassettePersister.load_interactions(self.path)
        except FileNotFoundError:  # vcrpy's CassetteNotFoundError: there is no file
            self._missing = self.replaying = self.mode == "none"
            return
        except CassetteFormatError as error:
            if self.mode in ("none", "once"):
                raise self._error(
                    BrokenCassette,
                    f"broken cassette: {error.reason}",
                    None,
                    fix=f"delete {self.path} and re-record with: {self._command}",
                ) from None
            self.stale_reason = f"the file is broken ({error.reason})"
            return
        held = {
            failure.trial: failure
            for index, entry in enumerate(header.get("infra_failures", []))
            for failure in [RecordedFailure.from_json(entry, f"/clearance/infra_failures/{index}")]
        }
        changes = [
            f"recorded for {key} {header[key]!r}"
            for key, value in (("model", self.model_id), ("case", self.case_id))
            if header[key] != value
        ] + fingerprint_changes(header["fingerprint"], self.fingerprint)
        if changes:
            self.stale_reason = "; ".join(changes)
            if self.mode in ("none", "once"):
                self.replaying = True
                self._stale = f"the recording is stale: {self.stale_reason}"
            return
        provider = self.model_id.partition(":")[0]
        last = {stored.trial: stored.response for stored in interactions}
        for trial in _ended_on_error((i.trial, i.response["status"]["code"]) for i in interactions):
            if trial not in held:  # recorded before failures were marked
                held[trial] = _failure_from_answer(trial, last[trial], provider)
        self.held_failures = dict(sorted(held.items()))
        if held and self.mode == "once":
            return  # not "present": record the whole cassette again
        for stored in interactions:
            trial = stored.trial
            del stored.response["trial"]
            if trial in held and self.mode == "new":
                self._dirty = True  # dropped: the trial is recorded again
                continue
            self._by_trial.setdefault(trial, []).append(len(self._data))
            self._data.append((stored.request, stored.response))
        self.replaying = True

    # -- serving requests -------------------------------------------------------------------

    @contextlib.contextmanager
    def use(self, trial: int) -> Iterator[CaseCassette]:
        """Serve the requests made inside the block from this cassette, as trial ``trial``.

        Raises:
            ValueError: ``trial`` is below 1.
        """
        if trial < 1:
            raise ValueError(f"trials are numbered from 1, not {trial}")
        self._used.add(trial)
        token = _ACTIVE.set((self, trial))
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def replays(self, trial: int) -> bool:
        """Whether a request of ``trial`` made now is looked up in the recording (it may
        still fail to match); ``False``: it is recorded, or refused, without a look."""
        return self.replaying and trial not in self._diverged and self._stale is None

    def serve(self, method: str, url: httpx.URL, body: bytes, trial: int) -> dict[str, Any] | None:
        """The recorded response (as stored) to a request of ``trial``, matched and
        counted as the transport matches one; ``None``: the request is to be recorded
        (send it through the :class:`RecordingTransport`, which records it).

        Raises:
            StaleRecording, MissingRecording, RecordingMismatch, RecordedProviderFailure:
                the request cannot be served (the same errors as through the transport).
        """
        planned = self._plan(method, url, body, trial)
        return planned if isinstance(planned, dict) else None

    def _live(self, method: str, url: httpx.URL, body: bytes) -> Request:
        """The request as it would be stored (headers are added only if it is recorded)."""
        return _vcr_request(method, self._scrubber.url(str(url)), self._scrubber.body(body))

    def _plan(
        self, method: str, url: httpx.URL, body: bytes, trial: int
    ) -> dict[str, Any] | Request:
        """The replayed response (as stored), or the scrubbed request to send and record.

        Raises:
            StaleRecording, MissingRecording, RecordingMismatch: the request cannot be served.
        """
        if self._stale is not None:
            raise self._error(StaleRecording, self._stale, trial)
        if self._missing:
            raise self._error(
                MissingRecording,
                f"there is no cassette, and record mode 'none' never records ({method} {url.path})",
                trial,
            )
        if self.mode == "none" and trial in self.held_failures:
            raise self._recorded_failure(self.held_failures[trial])
        self.last_replayed = self._replayed_last[trial] = False
        if not self.replaying or trial in self._diverged:
            return self._live(method, url, body)
        indices = self._by_trial.get(trial, [])
        position = self._cursor.get(trial, 0)
        if position < len(indices):
            index = indices[position]
            recorded, response = self._data[index]
            uri = self._scrubber.url(str(url))
            scrubbed = self._scrubber.body(body)
            if (
                route(method, uri) == recorded.route and sent_key(scrubbed) == recorded.key
                if isinstance(recorded, StoredRequest)
                else request_matches(_vcr_request(method, uri, scrubbed), recorded)
            ):
                self._cursor[trial] = position + 1
                self._played += 1
                self.last_replayed = self._replayed_last[trial] = True
                self._add_time(trial, response.get("elapsed_ms"))
                return response
            live = _vcr_request(method, uri, scrubbed)
            if self.mode != "new":
                wanted = recorded.vcr() if isinstance(recorded, StoredRequest) else recorded
                raise self._error(
                    RecordingMismatch,
                    f"request #{position + 1} of the trial ({method} "
                    f"{url.path}) differs from the recording: "
                    f"{explain_mismatch(live, wanted)}",
                    trial,
                )
            del indices[position:]  # new: keep what matched, record the rest of the trial
            self._dirty = True
        elif self.mode != "new":
            held = (
                f"only {len(indices)} were recorded for this trial"
                if indices
                else f"nothing was recorded for this trial (recorded trials: "
                f"{', '.join(map(str, sorted(self._by_trial))) or 'none'})"
            )
            once = "; record mode 'once' never adds to an existing cassette" * (self.mode == "once")
            raise self._error(
                MissingRecording,
                f"request #{position + 1} of the trial ({method} {url.path}) "
                f"is not in the cassette: {held}{once}",
                trial,
            )
        else:
            live = self._live(method, url, body)
        self._diverged.add(trial)
        return live

    def _record(
        self,
        request: httpx.Request,
        live: Request,
        response: httpx.Response,
        content: bytes,
        trial: int,
        elapsed_ms: float,
    ) -> httpx.Response:
        """Store one interaction (scrubbed) and return the response as a replay would."""
        live.headers = self._scrubber.headers(request.headers.multi_items(), _REQUEST_NOISE)
        stored = {
            "status": {"code": response.status_code, "message": response.reason_phrase},
            "headers": self._scrubber.headers(response.headers.multi_items(), _BODY_HEADERS),
            "body": {"string": self._scrubber.body(content)},
            "elapsed_ms": round(elapsed_ms, 3),
        }
        self._add_time(trial, stored["elapsed_ms"])
        self._recorded_trials.add(trial)
        self._by_trial.setdefault(trial, []).append(len(self._data))
        self._data.append((live, stored))
        self.interactions_recorded += 1
        self._dirty = True
        return _to_httpx(stored)

    def _recorded_failure(self, failure: RecordedFailure) -> RecordedProviderFailure:
        return RecordedProviderFailure(
            "the recording of this trial holds a provider failure, not the model's answer "
            f"({failure.describe()})",
            failure_kind=failure.kind,
            status_code=failure.status_code,
            detail=failure.message,
            model_id=self.model_id,
            case_id=self.case_id,
            path=str(self.path),
            trial=failure.trial,
            fix=f"re-record it (the provider must answer this time): {self._command}",
        )

    def mark_failure(
        self, trial: int, kind: str, *, status_code: int | None = None, message: str = ""
    ) -> None:
        """Name ``trial`` in the header as ended on a provider failure (when recording).

        The next ``once`` or ``new`` run records the trial again, and a ``none`` run
        reports it as :class:`~clearance.errors.RecordedProviderFailure`. Does nothing
        in ``none``, which never writes.

        Args:
            trial: the trial (1-based).
            kind: the provider error's kind (``server_error``, ``timeout``...).
            status_code: the last HTTP status the provider sent, if it answered.
            message: the provider's message (secrets are scrubbed here).
        """
        if self.mode == "none":
            return
        text = redact_secrets(self._scrubber.text(message))[:_FAILURE_MESSAGE_LIMIT]
        self._failures[trial] = RecordedFailure(trial, kind, status_code, text)
        self._dirty = True

    def _no_network(self, trial: int) -> RecordingError:
        return self._error(
            RecordingError,
            "this request must be recorded, but the RecordingTransport has no inner "
            "transport to send it through",
            trial,
            fix="pass inner_async= (or inner_sync=) to RecordingTransport, "
            "or replay with --record-mode none",
        )

    # -- finishing --------------------------------------------------------------------------

    def finish(self) -> None:
        """End the cassette after the last trial (a second call does nothing).

        Replaying (``none``, ``once``): checks that every trial that ran asked for all its
        recorded interactions (trials that did not run are not checked). Recording: writes
        the file atomically when anything was recorded (or, in ``new``, dropped).

        Raises:
            StaleRecording: the cassette is stale (``none``, ``once``).
            UnplayedRecording: a trial left recorded interactions unplayed.
        """
        if self._finished:
            return
        self._finished = True
        if self._stale is not None:
            raise self._error(StaleRecording, self._stale, None)
        if self.replaying and not self._missing:
            self._check_played()
        if self._dirty:
            self._save()

    def _check_played(self) -> None:
        """Raise on interactions a trial that ran never asked for (drop them, in ``new``)."""
        leftovers = {
            trial: self._by_trial[trial][self._cursor.get(trial, 0) :]
            for trial in sorted(self._used)
            if trial in self._by_trial
            and trial not in self._diverged
            and not (self.mode == "none" and trial in self.held_failures)
        }
        leftovers = {trial: left for trial, left in leftovers.items() if left}
        if leftovers and self.mode != "new":
            detail = "; ".join(
                f"trial {trial} stopped after {self._cursor.get(trial, 0)} of "
                f"{len(self._by_trial[trial])} (next recorded: "
                f"{self._data[left[0]][0].method} "
                f"{_path_of(self._data[left[0]][0])})"
                for trial, left in leftovers.items()
            )
            count = sum(map(len, leftovers.values()))
            raise self._error(
                UnplayedRecording,
                f"{count} recorded interaction(s) were never requested: {detail}",
                None,
            )
        for trial, left in leftovers.items():  # new: what a trial no longer sends goes
            del self._by_trial[trial][-len(left) :]
            self._dirty = True

    def _save(self) -> None:
        order = [(t, i) for t in sorted(self._by_trial) for i in self._by_trial[t]]
        data = [
            (request.vcr() if isinstance(request, StoredRequest) else request, response)
            for request, response in self._data
        ]
        header = {
            "format": CASSETTE_FORMAT,
            "model": self.model_id,
            "case": self.case_id,
            "fingerprint": self.fingerprint,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            # a trial that failed before any answer (a timeout) has no interaction
            "trials": len({t for t, _ in order} | set(self._failures)),
        }
        if self._failures:
            header["infra_failures"] = [f.to_json() for _, f in sorted(self._failures.items())]
        CassettePersister.save_cassette(
            self.path,
            {
                "requests": [data[i][0] for _, i in order],
                "responses": [{**data[i][1], "trial": t} for t, i in order],
                "metadata": {"clearance": header},
            },
            CassetteSerializer,
        )


class CassetteLibrary:
    """The cassettes under one folder, opened in one record mode.

    Args:
        root: the cassette folder (``evals/cassettes``).
        mode: the record mode (see :data:`RecordMode`).
        environ: where the secrets to scrub are read (default ``os.environ``).
        rerecord_command: ``(model_id, case_id) -> command`` named in errors' ``fix``.

    Raises:
        ConfigError: ``mode`` is not a record mode.
    """

    def __init__(
        self,
        root: Path,
        mode: RecordMode,
        *,
        environ: Mapping[str, str] | None = None,
        rerecord_command: Callable[[str, str], str] | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ConfigError(
                f"unknown record mode {mode!r}",
                source="record mode",
                fix=f"use one of {', '.join(RECORD_MODES)}",
            )
        self.root = Path(root)
        self.mode: RecordMode = mode
        self.scrubber = Scrubber.from_environ(os.environ if environ is None else environ)
        self.rerecord_command = rerecord_command or default_rerecord_command

    def __repr__(self) -> str:
        return f"CassetteLibrary({str(self.root)!r}, {self.mode!r})"

    def open(self, model_id: str, case_id: str, *, fingerprint: Mapping[str, Any]) -> CaseCassette:
        """The cassette of one (model, case), loaded from disk when the mode replays.

        Raises:
            BrokenCassette: the file does not parse (``none``, ``once``).
            InvalidModelId: ``model_id`` is not ``PROVIDER:NAME``.
        """
        return CaseCassette(self, model_id, case_id, fingerprint)


# -- the transport ---------------------------------------------------------------------------


def _no_cassette() -> RecordingError:
    return RecordingError(
        "a request was made outside any cassette, and the RecordingTransport has no inner "
        "transport to pass it to",
        model_id="(none)",
        case_id="(none)",
        path="(none)",
        fix="make eval requests inside `with cassette.use(trial):`, or give the transport "
        "an inner transport",
    )


class RecordingTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """An httpx transport that replays or records through the active cassette.

    With no cassette active (no :meth:`CaseCassette.use` around the call), requests go
    to the inner transport unchanged. One instance serves any number of concurrent
    cassettes. Closing it closes the inner transports.

    Args:
        inner_async: the network for async clients (``httpx.AsyncHTTPTransport()``).
        inner_sync: the network for sync clients (``httpx.HTTPTransport()``).
    """

    def __init__(
        self,
        inner_async: httpx.AsyncBaseTransport | None = None,
        inner_sync: httpx.BaseTransport | None = None,
    ) -> None:
        self._inner_async = inner_async
        self._inner_sync = inner_sync

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Replay, record or pass through one request (async clients)."""
        active = _ACTIVE.get()
        inner = self._inner_async
        if active is None:
            if inner is None:
                raise _no_cassette()
            return await inner.handle_async_request(request)
        cassette, trial = active
        planned = cassette._plan(request.method, request.url, await request.aread(), trial)
        if isinstance(planned, dict):  # the recorded response; else the request to record
            return _to_httpx(planned)
        if inner is None:
            raise cassette._no_network(trial)
        started = time.perf_counter()
        response = await inner.handle_async_request(request)
        try:
            content = await response.aread()  # decoded: the cassette holds the plain body
        finally:
            await response.aclose()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return cassette._record(request, planned, response, content, trial, elapsed_ms)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Replay, record or pass through one request (sync clients)."""
        active = _ACTIVE.get()
        inner = self._inner_sync
        if active is None:
            if inner is None:
                raise _no_cassette()
            return inner.handle_request(request)
        cassette, trial = active
        planned = cassette._plan(request.method, request.url, request.read(), trial)
        if isinstance(planned, dict):  # the recorded response; else the request to record
            return _to_httpx(planned)
        if inner is None:
            raise cassette._no_network(trial)
        started = time.perf_counter()
        response = inner.handle_request(request)
        try:
            content = response.read()
        finally:
            response.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return cassette._record(request, planned, response, content, trial, elapsed_ms)

    async def aclose(self) -> None:
        """Close the inner async transport."""
        if self._inner_async is not None:
            await self._inner_async.aclose()

    def close(self) -> None:
        """Close the inner sync transport."""
        if self._inner_sync is not None:
            self._inner_sync.close()
