"""Every error clearance raises, under one root.

One module past 600 lines, on purpose: the tree below is read as one (a caller chooses
from it what to catch), and each class is a few lines: its meaning, its fields, its
``fix=``; split into files, the picture and the classes would drift apart.

The hierarchy keeps the caller's mistakes apart from the catalog's state, from
provider failures and from policy refusals, so a caller can catch exactly the
family it can act on::

    ClearanceError
    ├── InputError                 the caller's input is wrong; fix it and retry
    │   ├── ConfigError            clearance.toml / pyproject / CLEARANCE_* variable
    │   ├── SourceFormatError      a /models answer or price table that cannot be read
    │   ├── ContractError          a tool contract, flow or lock file that is wrong
    │   ├── MissingApiKey          a provider's api_key_env names a variable that is not set
    │   ├── InvalidModelId         a model id that does not parse
    │   ├── InvalidIdentifier      an org, session or model id the call log cannot store
    │   ├── InvalidUsage           token counts that contradict each other
    │   ├── InvalidPrice           a rate missing, not a Decimal, negative or not finite
    │   ├── RunSpecMismatch        an eval shard joining a run started with other options
    │   └── InvalidShard           a shard number or transition that does not fit the run
    ├── CatalogError               the catalog database
    │   ├── CatalogUnavailable     cannot connect, or a query failed
    │   ├── UnknownModel           no such model in the catalog (or ambiguous)
    │   └── UnknownRun             no such eval run
    ├── RecordingError             an eval recording cannot serve the run (never the model's fault)
    │   ├── MissingRecording       replay-only and nothing recorded for the request
    │   ├── RecordingMismatch      the request differs from the one recorded at its place
    │   ├── StaleRecording         recorded against another version of the case or contracts
    │   ├── UnplayedRecording      recorded interactions the suite never asked for
    │   ├── BrokenCassette         a cassette file that does not parse
    │   └── RecordedProviderFailure a replay reached a trial recorded while the provider failed
    ├── DiscoverySourceError       a provider's /models endpoint could not be fetched
    ├── PricingError
    │   └── MissingPrice           strict pricing found no price for the model
    ├── RetrievalFailed            a call's required knowledge retrieval failed (nothing sent)
    ├── PolicyRefusal              the policy will not serve the request
    │   ├── UnknownOrg             an org the catalog does not know, under `refuse`
    │   ├── NoModelAvailable       every candidate was rejected; `.rejections` says why
    │   ├── KnowledgeOrgMismatch   a call asked for another org's knowledge base
    │   ├── RetrieverNotCleared    the org's retriever configuration is not enabled by the gate
    │   └── KillSwitchActive       a kill switch covers the call (or its state is unreadable)
    └── ProviderError              a provider call failed; `.kind` names which way
        ├── ProviderHTTPError      an error answer (status code, body, Retry-After)
        │   ├── RateLimited              429, or an error body saying so
        │   ├── AuthenticationFailed     401 / 403
        │   ├── PaymentRequired          402 (OpenRouter: out of credits)
        │   ├── ModelNotFound            404 model_not_found
        │   ├── ContextLengthExceeded    the prompt does not fit the model's window
        │   ├── ContentPolicyViolation   the provider's moderation refused it
        │   ├── BadRequest               any other 4xx (Groq's tool_use_failed among them)
        │   └── ProviderServerError      5xx, or an error inside a 200 answer or a stream
        ├── ProviderTimeout        no complete answer within timeout_s, or before deadline_s
        ├── ProviderConnectionError the provider could not be reached
        ├── ProviderProtocolError  an answer that breaks HTTP itself (encoding, framing, cut short)
        ├── InvalidEndpoint        a base URL that HTTP cannot use (not a URL, not http/https)
        └── MalformedResponse      an answer that is not the wire protocol (broken JSON)

Every error carries structured fields (never parse ``str(error)``) and a message
that names the bad value, where it came from and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clearance.modelpolicy import Rejection
    from clearance.retryplan import Attempt

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "BrokenCassette",
    "CatalogError",
    "CatalogUnavailable",
    "ClearanceError",
    "ConfigError",
    "ContentPolicyViolation",
    "ContextLengthExceeded",
    "ContractError",
    "DiscoverySourceError",
    "InputError",
    "InvalidEndpoint",
    "InvalidIdentifier",
    "InvalidModelId",
    "InvalidPrice",
    "InvalidShard",
    "InvalidUsage",
    "KillSwitchActive",
    "KnowledgeOrgMismatch",
    "MalformedResponse",
    "MissingApiKey",
    "MissingPrice",
    "MissingRecording",
    "ModelNotFound",
    "NoModelAvailable",
    "PaymentRequired",
    "PolicyRefusal",
    "PricingError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderProtocolError",
    "ProviderServerError",
    "ProviderTimeout",
    "RateLimited",
    "RecordedProviderFailure",
    "RecordingError",
    "RecordingMismatch",
    "RetrievalFailed",
    "RetrieverNotCleared",
    "RunSpecMismatch",
    "SourceFormatError",
    "StaleRecording",
    "UnknownModel",
    "UnknownOrg",
    "UnknownRun",
    "UnplayedRecording",
]


class ClearanceError(Exception):
    """Root of every error clearance raises.

    Attributes:
        message: what went wrong, without the fix.
        fix: how to fix it, when there is something to do.
        attempts: for a routed call that failed, every attempt made (router ``Attempt``s).
    """

    attempts: tuple[Attempt, ...] = ()

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if fix is None else f"{message}\n  fix: {fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by state, not by re-calling ``__init__``: each subclass has its own
        signature, so the default (``cls(*args)``) fails on ``pickle.loads`` and an error
        could not cross a process pool."""
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type[ClearanceError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InputError(ClearanceError):
    """The caller's input (a file, an argument, a variable) is wrong."""


class ConfigError(InputError):
    """A configuration value is invalid.

    Attributes:
        source: where the value came from (a file path or an environment variable).
        key: dotted path of the offending key, or ``None`` for the whole file.
    """

    def __init__(
        self, message: str, *, source: str, key: str | None = None, fix: str | None = None
    ) -> None:
        self.source = source
        self.key = key
        where = source if key is None else f"{source}: {key}"
        super().__init__(f"{where}: {message}", fix=fix)


class SourceFormatError(InputError):
    """A model list or price table that does not have the expected shape.

    Attributes:
        source: the file or URL read.
        pointer: JSON pointer of the offending value ("" for the whole document).
    """

    def __init__(self, message: str, *, source: str, pointer: str = "", fix: str | None = None):
        self.source = source
        self.pointer = pointer
        where = f"{source} at {pointer}" if pointer else source
        super().__init__(f"{where}: {message}", fix=fix)


class ContractError(InputError):
    """A contract, flow or lock file that is wrong.

    Attributes:
        path: the file.
        line: 1-based line in the file, when it is known.
        pointer: JSON pointer of the offending value inside the document ("" = whole file).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        pointer: str = "",
        fix: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.pointer = pointer
        where = path if line is None else f"{path}:{line}"
        if pointer:
            where += f" at {pointer}"
        super().__init__(f"{where}: {message}", fix=fix)


class MissingApiKey(InputError):
    """A provider needs an API key from an environment variable that is not set (or empty).

    Raised before any network I/O: by ``clearance models sync --provider``, by the router
    for the model it chose (a fallback without its key is passed over instead), and by
    the eval engine for every candidate it must record.

    Attributes:
        provider: the provider's name.
        variable: the environment variable its ``api_key_env`` names.
        source: where ``api_key_env`` was declared (the configuration file), or ``None``
            when only the catalog's providers table names it.
        models: the models that need the key, when a run named them (else empty).
    """

    kind = "missing_api_key"

    def __init__(
        self,
        provider: str,
        variable: str,
        *,
        source: str | None = None,
        models: Sequence[str] = (),
    ) -> None:
        self.provider = provider
        self.variable = variable
        self.source = source
        self.models = tuple(models)
        needed = f"; {', '.join(self.models)} cannot be recorded without it" if self.models else ""
        if source is None:
            no_key = (
                f"declare provider {provider!r} under [[providers]] in clearance.toml without "
                "api_key_env (the catalog names the variable for it)"
            )
        else:
            no_key = f"remove api_key_env from provider {provider!r} in {source}"
        super().__init__(
            f"provider {provider!r} needs the environment variable {variable}, "
            f"which is not set{needed}",
            fix=f"export {variable}=<key>, or, if the server needs no key, {no_key}",
        )


class InvalidModelId(InputError):
    """A model id that does not parse."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(
            f"invalid model id {text!r}: {reason}",
            fix="write a model as NAME (unique in the catalog) or PROVIDER:NAME",
        )


class InvalidIdentifier(InputError):
    """An org, session or model identifier (or a tier) the call log cannot store.

    Raised by the router before any I/O (no kill switch read, no provider call, no
    ``ai_calls`` row), with the same limits on SQLite and PostgreSQL: the column sizes of
    ``ai_calls`` in ``clearance/catalog/tables.py``.

    Attributes:
        field: which argument: ``org``, ``session``, ``model`` or ``tier``.
        reason: ``too_long``, ``empty``, ``control_character`` (a C0/C1 control or a lone
            surrogate, which PostgreSQL or UTF-8 refuse), ``not_text`` or ``unknown_tier``.
        length: the value's length in characters (0 when it is not text).
        limit: the most characters its column holds.
        preview: the value's start, as a Python literal (at most 40 characters of it).
    """

    def __init__(self, field: str, *, reason: str, length: int, limit: int, preview: str) -> None:
        self.field = field
        self.reason = reason
        self.length = length
        self.limit = limit
        self.preview = preview
        if reason == "too_long":
            detail = f"is {length} characters long; the call log holds at most {limit}"
            fix = f"pass a shorter {field} id (a SHA-256 hex digest of a long one is 64)"
        elif reason == "empty":
            detail = "is empty"
            fix = f"pass None when there is no {field}"
        elif reason == "not_text":
            detail = "is not text"
            fix = f"pass the {field} id as a str"
        elif reason == "unknown_tier":
            detail = "is not one of strong, mid, cheap"
            fix = "pass one of strong, mid, cheap, or None"
        else:
            detail = "contains a control character or a lone surrogate"
            fix = "remove it: ids are stored as text, which PostgreSQL and UTF-8 refuse it in"
        super().__init__(f"{field} {preview} {detail}", fix=fix)


class InvalidUsage(InputError):
    """Token counts that cannot describe a real call (negative, or parts above the whole)."""

    def __init__(self, field: str, value: int | Decimal | str, reason: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"usage.{field}={value}: {reason}")


class CatalogError(ClearanceError):
    """The catalog database failed or does not hold what was asked for."""


class CatalogUnavailable(CatalogError):
    """The catalog database cannot be reached or a statement failed.

    Attributes:
        url: the database URL with any password hidden.
        cause: the driver's own message.
    """

    def __init__(self, url: str, cause: str, *, fix: str | None = None) -> None:
        self.url = url
        self.cause = cause
        super().__init__(
            f"catalog database {url} is unavailable: {cause}",
            fix=fix
            or "check that the server is running and CLEARANCE_DATABASE_URL is right, "
            "then run `clearance db upgrade`",
        )


class UnknownModel(CatalogError):
    """No model (or more than one) in the catalog answers to a name.

    Attributes:
        model_id: the id asked for.
        candidates: close or ambiguous matches, best first.
    """

    def __init__(self, model_id: str, candidates: Sequence[str] = (), *, ambiguous: bool = False):
        self.model_id = model_id
        self.candidates = tuple(candidates)
        self.ambiguous = ambiguous
        if ambiguous:
            msg = f"model {model_id!r} is ambiguous: {', '.join(self.candidates)}"
            fix = "name the provider, as PROVIDER:NAME"
        else:
            msg = f"model {model_id!r} is not in the catalog"
            fix = (
                f"did you mean {', '.join(map(repr, self.candidates))}?"
                if self.candidates
                else "run `clearance models sync` first, or check `clearance models list`"
            )
        super().__init__(msg, fix=fix)


class DiscoverySourceError(ClearanceError):
    """A provider's model list could not be fetched (network, HTTP status)."""

    def __init__(self, source: str, cause: str, *, status_code: int | None = None) -> None:
        self.source = source
        self.cause = cause
        self.status_code = status_code
        if status_code is None:
            fix = "is the server running? check the URL and the network"
        elif status_code in (401, 403):
            fix = "check the API key (the provider's api_key_env)"
        elif status_code == 404:
            fix = (
                "check the base URL: OpenAI-compatible servers and Anthropic's API answer "
                "GET {base_url}/models, Gemini's API GET {base_url}/models with a base URL "
                "ending in /v1beta"
            )
        else:
            fix = "check the URL, the network and the API key"
        super().__init__(
            f"cannot read models from {source}: {cause}",
            fix=f"{fix}; nothing was changed in the catalog",
        )


class PricingError(ClearanceError):
    """A call could not be priced."""


class InvalidPrice(InputError, ValueError):
    """A price that cannot bill a call: a rate missing, not a ``Decimal``, not finite or < 0
    (or a tier that is not a whole-number start and a :class:`PriceRates`).

    Also a ``ValueError``, which the price constructors raised before it existed.

    Attributes:
        field: the rate refused (``prompt``, ``completion``, ``cache_read``, ``cache_write``,
            ``reasoning``, ``per_request``, ``per_image``, ``per_web_search``), or a tier's
            ``min_prompt_tokens``, or the ``rates`` of a price or tier.
        value: the value refused, as it was given.
        reason: what is wrong with it.
    """

    fix: str  # always given (ClearanceError's is optional)

    def __init__(self, field: str, value: object, reason: str, *, fix: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"price {field}={value!r}: {reason}", fix=fix)


class MissingPrice(PricingError):
    """Strict pricing found no usable price for a model.

    Attributes:
        model_id: the model that has no price.
        reason: why (``no_price``, ``dynamic``).
    """

    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        self.reason = reason
        super().__init__(
            f"no price for model {model_id!r} ({reason})",
            fix="import one (`clearance models sync`, `clearance prices import-litellm`) "
            "or price best-effort, which uses the configured default price",
        )


class PolicyRefusal(ClearanceError):
    """The model policy refuses to serve a request."""


class UnknownOrg(PolicyRefusal):
    """An org with no settings in the catalog, while `policy.unknown_org` is `refuse`."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        super().__init__(
            f"org {org_id!r} has no settings in the catalog",
            fix=f"create them with `clearance orgs set {org_id} --default MODEL`, "
            'or set policy.unknown_org = "platform_default"',
        )


class NoModelAvailable(PolicyRefusal):
    """Every candidate model was rejected.

    Attributes:
        rejections: each candidate considered and why it was rejected.
    """

    def __init__(self, rejections: Sequence[Rejection], *, org_id: str | None) -> None:
        self.rejections = tuple(rejections)
        self.org_id = org_id
        detail = "; ".join(f"{r.model_id}: {r.reason}" for r in self.rejections) or "no candidates"
        who = "this request" if org_id is None else f"org {org_id!r}"
        super().__init__(
            f"no model can serve {who}: {detail}",
            fix=(
                "name a model (--model), set policy.default_model, or enable a model "
                "(clearance models enable MODEL --reason ...)"
                if org_id is None
                else f"enable a model for org {org_id!r} (clearance orgs set {org_id} --enable "
                "MODEL) and on the platform, or set policy.default_model"
            ),
        )


class KnowledgeOrgMismatch(PolicyRefusal):
    """A routed call asked for the knowledge base of an org other than its own.

    Attributes:
        call_org: the call's ``org`` (``None``: the call named none).
        knowledge_org: the org whose knowledge base it asked for.
    """

    def __init__(self, call_org: str | None, knowledge_org: str) -> None:
        self.call_org = call_org
        self.knowledge_org = knowledge_org
        who = "a call without an org" if call_org is None else f"a call of org {call_org!r}"
        super().__init__(
            f"{who} asked for org {knowledge_org!r}'s knowledge base; a call only reads its "
            "own org's documents",
            fix=f"call with org={knowledge_org!r}, or give Knowledge(org_id=) the call's org",
        )


class RetrieverNotCleared(PolicyRefusal):
    """The retriever configuration meant for an org's knowledge is not cleared by the
    retrieval gate (disabled, inconclusive, never judged, expired or changed since), or
    the org has none: its calls go without context (or end, when the knowledge is
    required).

    Attributes:
        org_id: the org.
        retriever: the configuration's name (``None``: none is configured for the org).
        state: ``disable``, ``inconclusive``, ``ungated``, ``expired``, ``changed`` or
            ``none``.
    """

    def __init__(self, org_id: str, retriever: str | None, state: str) -> None:
        self.org_id = org_id
        self.retriever = retriever
        self.state = state
        if retriever is None:
            message = f"org {org_id!r} has no retriever configuration"
            fix = "set [knowledge] default_retriever or org_retrievers in clearance.toml"
        else:
            message = f"retriever {retriever!r} of org {org_id!r} is not cleared ({state})"
            fix = (
                "clearance eval --suites retrieval, then clearance gate --retrieval; or set "
                "the org's retriever to an enabled one ([knowledge] org_retrievers)"
            )
        super().__init__(message, fix=fix)


class KillSwitchActive(PolicyRefusal):
    """A kill switch covers this call; nothing was sent.

    Attributes:
        scope: ``global``, ``provider``, ``model`` or ``org`` (``unreadable`` when the
            switch state could not be read and the guard fails closed).
        target: what the switch names (``""`` for global).
        reason: the reason recorded when it was thrown.
    """

    def __init__(self, scope: str, target: str, reason: str) -> None:
        self.scope = scope
        self.target = target
        self.reason = reason
        where = scope if not target else f"{scope} {target!r}"
        if scope == "unreadable":
            message = f"the kill switch state cannot be read, so calls are refused: {reason}"
            fix = "restore the catalog database, or set killswitch.fail_open = true"
        else:
            message = f"kill switch on ({where}): {reason}"
            fix = (
                f"clearance killswitch off --scope {scope}"
                + (f" --target {target}" if target else "")
                + ' --reason "..."'
            )
        super().__init__(message, fix=fix)


class RetrievalFailed(ClearanceError):
    """A call's knowledge retrieval failed and the call required it: no provider was called.

    Attributes:
        org_id: the org whose knowledge base was searched.
        retriever: the retriever configuration's name.
        cause: what failed (the error's class name and first line).
    """

    def __init__(self, org_id: str, retriever: str, cause: str) -> None:
        self.org_id = org_id
        self.retriever = retriever
        self.cause = cause
        super().__init__(
            f"retrieval from org {org_id!r}'s knowledge base ({retriever}) failed: {cause}",
            fix="restore the catalog database the knowledge base is in, or call with "
            "Knowledge(required=False) to answer without context when retrieval fails",
        )


class ProviderError(ClearanceError):
    """A provider call failed.

    Attributes:
        kind: a stable name for the failure (``rate_limit``, ``auth``, ``timeout``, ...).
        provider: the provider's name.
        model_id: the catalog model id called.
        retryable: whether the router tries the same model again (read from the rules of
            :mod:`clearance.retryplan`, keyed by ``kind``).
        detail: what went wrong in the provider's own words (clearance's, for a timeout or
            an unreachable provider), without the provider, model and status the message
            puts first; secrets masked as in the message.
    """

    kind = "provider_error"
    fix_template: str | None = None
    """What to do about it, with ``{provider}`` for the provider's name (``None``: nothing
    general to say; the message is specific)."""

    @property
    def retryable(self) -> bool:
        """Whether the router tries the same model again after this error: its kind's rule
        in :data:`clearance.retryplan.RULES`, the one place that decides it."""
        from clearance.retryplan import rule_for  # the rules sit above the errors

        return rule_for(self).retry

    def __init__(self, message: str, *, provider: str, model_id: str | None) -> None:
        self.provider = provider
        self.model_id = model_id
        self.detail = message
        super().__init__(
            f"{provider} ({model_id or 'no model'}): {message}", fix=self._fix(provider)
        )

    def _fix(self, provider: str) -> str | None:
        """The fix line: :attr:`fix_template` for this provider (a subclass may know more)."""
        return None if self.fix_template is None else self.fix_template.format(provider=provider)


class ProviderHTTPError(ProviderError):
    """The provider answered with an error.

    Attributes:
        status_code: the HTTP status (200 for an error inside a 200 answer or a stream).
        code: the provider's own error code, if it sent one (``tool_use_failed``).
        body: the error body, decoded when it was JSON (never holds request headers).
        retry_after: seconds the provider asked to wait, if it said.
    """

    kind = "http_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model_id: str | None,
        status_code: int,
        body: object = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.code = code
        self.retry_after = retry_after
        status = f"HTTP {status_code}{self._status_note()}"
        super().__init__(f"{status}: {message}", provider=provider, model_id=model_id)
        self.detail = message

    def _status_note(self) -> str:
        """Said right after the status code (a subclass's context)."""
        return ""


class RateLimited(ProviderHTTPError):
    """429: too many requests; retry after ``retry_after``, then fall back."""

    kind = "rate_limit"
    fix_template = (
        "wait and try again, lower the load (eval --concurrency), or let the router fall "
        "back (clearance policy fallbacks set)"
    )


class AuthenticationFailed(ProviderHTTPError):
    """401/403: the key is missing, wrong or not allowed this model. Never retried.

    Attributes:
        api_key_env: the environment variable the key was read from, when the provider
            was configured with one (named in the message; the key itself never is).
    """

    kind = "auth"

    def __init__(self, message: str, *, api_key_env: str | None = None, **fields: Any) -> None:
        self.api_key_env = api_key_env
        super().__init__(message, **fields)

    def _status_note(self) -> str:
        return f" (key from {self.api_key_env})" if self.api_key_env else ""

    def _fix(self, provider: str) -> str:
        where = f"the key in {self.api_key_env}" if self.api_key_env else f"{provider}'s key"
        return f"check {where}: the provider refused it (wrong, revoked, or not allowed this model)"


class PaymentRequired(ProviderHTTPError):
    """402: the account is out of credits (OpenRouter). Falls back, never retried."""

    kind = "payment_required"
    fix_template = "add credits to the {provider} account, or call another provider's model"


class ModelNotFound(ProviderHTTPError):
    """404: the provider does not serve this model."""

    kind = "model_not_found"
    fix_template = (
        "the provider no longer serves it: `clearance models sync --provider {provider}` "
        "refreshes the catalog"
    )


class ContextLengthExceeded(ProviderHTTPError):
    """The prompt does not fit the model's context window; a larger model may take it."""

    kind = "context_length"


class ContentPolicyViolation(ProviderHTTPError):
    """The provider's moderation refused the request."""

    kind = "content_policy"


class BadRequest(ProviderHTTPError):
    """Any other 4xx: the request itself is wrong for this provider."""

    kind = "bad_request"


class ProviderServerError(ProviderHTTPError):
    """5xx, or an error reported inside a 200 answer or a stream."""

    kind = "server_error"
    fix_template = (
        "the provider failed after clearance's retries: try again later, or give the model "
        "a fallback chain (clearance policy fallbacks set)"
    )


class ProviderTimeout(ProviderError):
    """No complete answer in time: within ``timeout_s`` (one attempt, from the request to
    the last byte, a stream included) or before ``deadline_s`` (the whole call, across
    retries and fallbacks).

    Attributes:
        limit: the bound that ran out: ``timeout_s`` (the attempt) or ``deadline_s`` (the
            call).
        limit_s: its value in seconds (for ``deadline_s`` of an attempt cut short by it,
            the seconds that were left for that attempt), when known.
    """

    kind = "timeout"
    fix_template = (
        "the provider did not answer in time: try again, or raise timeout_s of provider "
        "'{provider}' in the configuration (or --timeout)"
    )

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model_id: str | None,
        limit: str = "timeout_s",
        limit_s: float | None = None,
    ) -> None:
        self.limit = limit
        self.limit_s = limit_s
        super().__init__(message, provider=provider, model_id=model_id)

    def _fix(self, provider: str) -> str | None:
        if self.limit == "deadline_s":
            return (
                "the call ran out of time across its attempts: raise router.deadline_s in the "
                "configuration (or deadline_s= / --deadline), or lower timeout_s of provider "
                f"'{provider}' so that a retry or a fallback gets its turn"
            )
        return super()._fix(provider)


class ProviderConnectionError(ProviderError):
    """The provider could not be reached (DNS, refused, reset)."""

    kind = "connection"
    fix_template = (
        "is the server running? check base_url of provider '{provider}' "
        "(`clearance config show`) and the network"
    )


class ProviderProtocolError(ProviderError):
    """An answer that breaks HTTP itself, below the wire protocol: a body that is not in
    its declared ``content-encoding``, a status line, header or chunk that does not parse,
    a connection closed before the declared length, a redirect loop.

    Retried, then falls back: a connection cut short is often passing, and a broken answer
    costs one more request at most ``router.retries_per_model`` times, within the call's
    ``deadline_s``.
    """

    kind = "protocol"
    fix_template = (
        "the answer of provider '{provider}' broke HTTP (see the message): try again; if it "
        "persists, report it to the provider or a proxy on the way, or give the model a "
        "fallback chain (clearance policy fallbacks set)"
    )


class InvalidEndpoint(ProviderError):
    """A base URL that HTTP cannot use: it does not parse, or its scheme is not http or
    https. Never retried (the same URL fails the same way, before any byte is sent); falls
    back, since another model's provider has its own URL."""

    kind = "invalid_endpoint"
    fix_template = (
        "check base_url of provider '{provider}': an http:// or https:// URL such as "
        "https://openrouter.ai/api/v1 (`clearance config show`)"
    )


class MalformedResponse(ProviderError):
    """An answer that does not follow the wire protocol (broken JSON, missing fields).

    Attributes:
        body: the raw text received (truncated to 2,000 characters).
    """

    kind = "malformed_response"

    def __init__(self, message: str, *, provider: str, model_id: str | None, body: str) -> None:
        self.body = body[:2000]
        super().__init__(message, provider=provider, model_id=model_id)


class RecordingError(ClearanceError):
    """An eval recording (cassette) that cannot serve the run: missing, stale, broken or
    not matching what the suite sent.

    Never a model's failure: the eval engine records it as ``infra_error`` and the
    pytest plugin fails the item loudly. ``fix`` names the command that re-records.

    Attributes:
        model_id: the candidate model.
        case_id: the case or flow.
        trial: 1-based trial number (``None``: the cassette as a whole).
        path: the cassette file.
    """

    kind = "recording"

    def __init__(
        self,
        message: str,
        *,
        model_id: str,
        case_id: str,
        path: str,
        trial: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.model_id = model_id
        self.case_id = case_id
        self.trial = trial
        self.path = path
        where = f"{model_id} / {case_id}" + (f" / trial {trial}" if trial is not None else "")
        super().__init__(f"{where} ({path}): {message}", fix=fix)


class MissingRecording(RecordingError):
    """Replay-only mode and no recording of this request (or of the whole case)."""

    kind = "missing_recording"


class RecordingMismatch(RecordingError):
    """A request that differs from the one recorded at its place."""

    kind = "recording_mismatch"


class StaleRecording(RecordingError):
    """A recording made against another version of the case or of its contracts."""

    kind = "stale_recording"


class UnplayedRecording(RecordingError):
    """Recorded interactions the suite never asked for (the case sent fewer requests)."""

    kind = "unplayed_recording"


class BrokenCassette(RecordingError):
    """A cassette file that does not parse (half-written, hand-edited, wrong format)."""

    kind = "broken_cassette"


class RecordedProviderFailure(RecordingError):
    """A replay-only run reached a trial whose recording ended on a provider failure (5xx,
    401/403, 429 after retries, a timeout, an unreachable provider, a fallback's answer).

    The recording is kept as it was made and never served as an answer: the trial is an
    infrastructure error, never the model's failure, until it is recorded again (``fix``).

    Attributes:
        failure_kind: the provider error's kind as recorded (``server_error``, ``auth``,
            ``rate_limit``, ``timeout``, ``connection``, ``fallback_served``...).
        status_code: the last HTTP status the provider sent (``None``: no answer at all).
        detail: the provider's message as recorded (secrets scrubbed).
    """

    kind = "recorded_failure"

    def __init__(
        self,
        message: str,
        *,
        failure_kind: str,
        status_code: int | None,
        detail: str,
        model_id: str,
        case_id: str,
        path: str,
        trial: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.failure_kind = failure_kind
        self.status_code = status_code
        self.detail = detail
        self._reason = message
        super().__init__(
            message, model_id=model_id, case_id=case_id, path=path, trial=trial, fix=fix
        )


class RunSpecMismatch(InputError):
    """A shard joins a run that was started with a different spec.

    Attributes:
        run_id: the run.
        field: the first field that differs.
        differences: every differing field -> (stored value, this shard's value).
    """

    def __init__(self, run_id: str, differences: Mapping[str, tuple[Any, Any]]) -> None:
        self.run_id = run_id
        self.differences = dict(differences)
        self.field = next(iter(self.differences))
        detail = "; ".join(
            f"{name}: run has {stored!r}, this shard has {given!r}"
            for name, (stored, given) in self.differences.items()
        )
        super().__init__(
            f"run {run_id!r} was started with another spec ({detail})",
            fix="run every shard from the same commit with the same options, or use a new --run-id",
        )


class InvalidShard(InputError):
    """A shard number or shard transition that does not fit the run.

    Attributes:
        run_id: the run.
        shard: the shard named (``None``: unsharded).
        reason: what is wrong with it.
    """

    def __init__(self, run_id: str, shard: int | None, reason: str, *, fix: str) -> None:
        self.run_id = run_id
        self.shard = shard
        self.reason = reason
        where = f"run {run_id!r}" + ("" if shard is None else f" shard {shard}")
        super().__init__(f"{where}: {reason}", fix=fix)


class UnknownRun(CatalogError):
    """No eval run with this id in the catalog.

    Attributes:
        run_id: the id asked for.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"eval run {run_id!r} is not in the catalog",
            fix="`clearance runs list` shows the stored runs",
        )
