"""The model policy: which model serves a request, and why.

Every caller (chat, agents, evals, the router) asks :func:`resolve_model`. It is
a pure function of a :class:`RouteRequest` and a :class:`PolicySnapshot` (the
catalog and configuration state, loaded elsewhere): no I/O, no globals, and its
inputs are never changed. The rules:

1. A model is *platform-available* when it is in ``snapshot.models``, enabled,
   not removed by its provider, not killed and allowed by the gate. The first
   failing condition, in that order, is the rejection reason (``unknown_model``,
   ``disabled_on_platform``, ``removed_by_provider``, ``killed``,
   ``gate_refused``), except that a model both disabled and refused by the gate
   (the gate disabled it) is rejected as ``gate_refused``.
2. A model is *org-permitted* when there is no org (or the org is unknown and
   ``unknown_org`` is ``platform_default``); or it is the org's own default
   (``default_model_id``, else ``legacy_model``); or it is in the org's enabled
   list. An org whose list was never written (``None``) permits only its
   default, or the platform default when it has none. An explicitly empty list
   permits only the default, and a refusal then says ``org_enabled_list_empty``.
3. An org id absent from ``snapshot.orgs`` raises :class:`UnknownOrg` under
   ``unknown_org="refuse"``; otherwise it is served as if there were no org,
   with ``org_known=False``.
4. Candidates, in order: the requested model (available and permitted); the
   tier's model (available only: tiers are platform configuration; an unmapped
   tier is rejected as ``tier_unmapped`` under the tier's name); the session's
   pin, when it belongs to no org or to the request's org (available and
   permitted); the org default; the first allowed model of the org default's
   fallback chain; the platform default (permitted as in rule 2, so an org with
   no enabled list gets it only when it has no default at all).
5. Each skipped candidate adds one :class:`Rejection` (no duplicate
   ``(model_id, reason, role)``), in the order considered. When no candidate
   is left, :class:`NoModelAvailable` carries every rejection.
6. With a session id, a decision other than ``tier`` asks to (re)pin the chosen
   model when it differs from the session's pin or there is none; a ``tier``
   decision never changes the pin.
7. ``fallbacks`` is the chosen model's chain from ``snapshot.fallbacks`` without
   the model itself, duplicates, and models not available or not permitted
   (each dropped one adds a ``fallback`` rejection).

The records it decides on (:class:`ModelState`, :class:`OrgPolicy`, :class:`SessionPin`,
:class:`PolicySnapshot`) are defined in :mod:`clearance.catalog.policyrecords`, so the
catalog's stores build them without importing this module, and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from clearance.catalog.policyrecords import ModelState, OrgPolicy, PolicySnapshot, SessionPin
from clearance.config import Tier
from clearance.errors import NoModelAvailable, UnknownOrg

__all__ = [
    "DecisionReason",
    "ModelState",
    "OrgPolicy",
    "PolicySnapshot",
    "RejectReason",
    "Rejection",
    "Role",
    "RouteDecision",
    "RouteRequest",
    "SessionPin",
    "fallback_chain",
    "org_default",
    "resolve_model",
]

RejectReason = Literal[
    "unknown_model",
    "disabled_on_platform",
    "removed_by_provider",
    "killed",
    "gate_refused",
    "not_enabled_for_org",
    "org_enabled_list_empty",
    "tier_unmapped",
]
Role = Literal[
    "requested",
    "tier",
    "session_pin",
    "org_default",
    "legacy_default",
    "platform_default",
    "fallback",
]
DecisionReason = Literal[
    "requested",
    "tier",
    "session_pin",
    "org_default",
    "legacy_default",
    "platform_default",
    "fallback_chain",
]


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """What a caller asks for; every field is optional."""

    org_id: str | None = None
    model: str | None = None
    """A requested model, already a catalog id."""
    tier: Tier | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A candidate model that was skipped, and why."""

    model_id: str
    """The model id (the tier name for ``tier_unmapped``)."""
    role: Role
    """Why the model was a candidate."""
    reason: RejectReason
    detail: str
    """One human sentence."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The model that serves a request, and how it was chosen."""

    model_id: str
    reason: DecisionReason
    request: RouteRequest
    org_known: bool
    """Whether the request's org has settings (``False`` when there is no org)."""
    rejected: tuple[Rejection, ...]
    """Every candidate skipped, in the order considered, then dropped fallbacks."""
    fallbacks: tuple[str, ...]
    """The chosen model's fallback chain, filtered to allowed models."""
    pin: str | None
    """Model id to (re)pin for the session, or ``None`` when nothing is to be written."""

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data (for ``--json`` and the call log)."""
        request = self.request
        return {
            "model_id": self.model_id,
            "reason": self.reason,
            "request": {
                "org_id": request.org_id,
                "model": request.model,
                "tier": request.tier,
                "session_id": request.session_id,
            },
            "org_known": self.org_known,
            "rejected": [
                {"model_id": r.model_id, "role": r.role, "reason": r.reason, "detail": r.detail}
                for r in self.rejected
            ],
            "fallbacks": list(self.fallbacks),
            "pin": self.pin,
        }


def org_default(org: OrgPolicy) -> tuple[str | None, DecisionReason]:
    """The org's default model: ``default_model_id``, else ``legacy_model``.

    Returns:
        The model id (``None`` when neither is set) and the decision reason it
        would give (``org_default`` or ``legacy_default``).
    """
    if org.default_model_id is not None:
        return org.default_model_id, "org_default"
    return org.legacy_model, "legacy_default"


def fallback_chain(
    model_id: str, snapshot: PolicySnapshot, org: OrgPolicy | None = None
) -> tuple[tuple[str, ...], tuple[Rejection, ...]]:
    """The allowed part of a model's fallback chain.

    Args:
        model_id: the model whose chain is read from ``snapshot.fallbacks``.
        snapshot: the policy state.
        org: the org whose permissions apply; ``None`` permits every available model.

    Returns:
        The chain without ``model_id`` itself, duplicates, and models not
        platform-available or not org-permitted; and a ``fallback`` rejection
        for each model dropped for those last two reasons.
    """
    default_id = None if org is None else org_default(org)[0]
    rejected: list[Rejection] = []
    chain = _chain(model_id, snapshot, org, default_id, rejected)
    return chain, tuple(rejected)


def resolve_model(request: RouteRequest, snapshot: PolicySnapshot) -> RouteDecision:
    """Choose the model that serves ``request`` (the rules are in the module docstring).

    Args:
        request: what the caller asks for.
        snapshot: the policy state.

    Returns:
        The decision, with every rejected candidate and the chosen model's fallbacks.

    Raises:
        UnknownOrg: the org has no settings and ``snapshot.unknown_org`` is ``refuse``.
        NoModelAvailable: every candidate was rejected.
    """
    org_id = request.org_id
    org: OrgPolicy | None = None
    if org_id is not None:
        org = snapshot.orgs.get(org_id)
        if org is None and snapshot.unknown_org == "refuse":
            raise UnknownOrg(org_id)
    default_id, default_reason = (None, "org_default") if org is None else org_default(org)
    rejected: list[Rejection] = []
    chosen, reason = _choose(request, snapshot, org, default_id, default_reason, rejected)
    if chosen is None:
        raise NoModelAvailable(_unique(rejected), org_id=org_id)

    pin: str | None = None
    if request.session_id is not None and reason != "tier":
        current = _session_pin(request, snapshot)
        if current is None or current.model_id != chosen:
            pin = chosen
    fallbacks = _chain(chosen, snapshot, org, default_id, rejected)
    return RouteDecision(
        model_id=chosen,
        reason=reason,
        request=request,
        org_known=org is not None,
        rejected=_unique(rejected) if rejected else (),
        fallbacks=fallbacks,
        pin=pin,
    )


def _choose(
    request: RouteRequest,
    snapshot: PolicySnapshot,
    org: OrgPolicy | None,
    default_id: str | None,
    default_reason: DecisionReason,
    rejected: list[Rejection],
) -> tuple[str | None, DecisionReason]:
    """Walk the candidates in order; the first allowed one wins, the others are rejected."""
    models = snapshot.models
    if request.model is not None and _allowed(
        request.model, "requested", models, org, default_id, snapshot, rejected
    ):
        return request.model, "requested"

    tier = request.tier
    if tier is not None:
        tier_model = snapshot.tiers.get(tier)
        if tier_model is None:
            rejected.append(
                Rejection(
                    tier,
                    "tier",
                    "tier_unmapped",
                    f"Tier {tier!r} is mapped to no model in policy.tiers.",
                )
            )
        elif _allowed(tier_model, "tier", models, None, None, snapshot, rejected):
            return tier_model, "tier"

    pin = _session_pin(request, snapshot)
    if pin is not None and _allowed(
        pin.model_id, "session_pin", models, org, default_id, snapshot, rejected
    ):
        return pin.model_id, "session_pin"

    if default_id is not None:
        role: Role = "legacy_default" if default_reason == "legacy_default" else "org_default"
        if _allowed(default_id, role, models, org, default_id, snapshot, rejected):
            return default_id, default_reason
        chain = _chain(default_id, snapshot, org, default_id, rejected)
        if chain:
            return chain[0], "fallback_chain"

    platform = snapshot.platform_default
    if platform is not None and _allowed(
        platform, "platform_default", models, org, default_id, snapshot, rejected
    ):
        return platform, "platform_default"
    return None, "platform_default"


def _session_pin(request: RouteRequest, snapshot: PolicySnapshot) -> SessionPin | None:
    """The session's pin, unless it was written for another org."""
    if request.session_id is None:
        return None
    pin = snapshot.pins.get(request.session_id)
    if pin is None or (pin.org_id is not None and pin.org_id != request.org_id):
        return None
    return pin


def _chain(
    model_id: str,
    snapshot: PolicySnapshot,
    org: OrgPolicy | None,
    default_id: str | None,
    rejected: list[Rejection],
) -> tuple[str, ...]:
    """The allowed part of ``model_id``'s chain; dropped models are added to ``rejected``."""
    chain = snapshot.fallbacks.get(model_id)
    if not chain:
        return ()
    kept: list[str] = []
    models = snapshot.models
    for candidate in chain:
        if candidate == model_id or candidate in kept:
            continue
        if _allowed(candidate, "fallback", models, org, default_id, snapshot, rejected):
            kept.append(candidate)
    return tuple(kept)


def _allowed(
    model_id: str,
    role: Role,
    models: Mapping[str, ModelState],
    org: OrgPolicy | None,
    default_id: str | None,
    snapshot: PolicySnapshot,
    rejected: list[Rejection],
) -> bool:
    """Whether the model is available (and permitted, when ``org`` is given); else record why."""
    state = models.get(model_id)
    if (
        state is not None
        and state.enabled
        and not state.removed
        and not state.killed
        and state.gate_allows
    ):
        if org is None or model_id == default_id:
            return True
        enabled = org.enabled_models
        if enabled is None:
            if default_id is None and model_id == snapshot.platform_default:
                return True
            only = "its default model" if default_id is not None else "the platform default"
            rejected.append(
                Rejection(
                    model_id,
                    role,
                    "not_enabled_for_org",
                    f"Org {org.org_id!r} has no enabled-model list, so it may use only {only} "
                    f"({default_id or snapshot.platform_default!r}), not {model_id!r}.",
                )
            )
            return False
        if model_id in enabled:
            return True
        if enabled:
            rejected.append(
                Rejection(
                    model_id,
                    role,
                    "not_enabled_for_org",
                    f"Model {model_id!r} is not in the enabled-model list of org {org.org_id!r}.",
                )
            )
        else:
            rejected.append(
                Rejection(
                    model_id,
                    role,
                    "org_enabled_list_empty",
                    f"Org {org.org_id!r} has an empty enabled-model list, so it may use "
                    f"only its default model ({default_id!r}), not {model_id!r}.",
                )
            )
        return False
    rejected.append(_unavailable(model_id, role, state))
    return False


def _unavailable(model_id: str, role: Role, state: ModelState | None) -> Rejection:
    """The rejection of a model that is not platform-available."""
    if state is None:
        return Rejection(
            model_id, role, "unknown_model", f"Model {model_id!r} is not in the catalog."
        )
    if not state.enabled and not state.gate_allows:
        return _gate_refused(model_id, role, state)
    if not state.enabled:
        return Rejection(
            model_id,
            role,
            "disabled_on_platform",
            f"Model {model_id!r} is not enabled on the platform.",
        )
    if state.removed:
        return Rejection(
            model_id,
            role,
            "removed_by_provider",
            f"Model {model_id!r} is no longer listed by its provider.",
        )
    if state.killed:
        return Rejection(
            model_id,
            role,
            "killed",
            f"A kill switch is thrown for model {model_id!r} or its provider.",
        )
    return _gate_refused(model_id, role, state)


def _gate_refused(model_id: str, role: Role, state: ModelState) -> Rejection:
    detail = state.gate_detail or "the gate's latest decision does not allow it"
    return Rejection(
        model_id, role, "gate_refused", f"The gate refuses model {model_id!r}: {detail}."
    )


def _unique(rejected: list[Rejection]) -> tuple[Rejection, ...]:
    """The rejections without repeats of the same (model, reason, role), first kept."""
    seen: set[tuple[str, str, str]] = set()
    unique: list[Rejection] = []
    for rejection in rejected:
        key = (rejection.model_id, rejection.reason, rejection.role)
        if key not in seen:
            seen.add(key)
            unique.append(rejection)
    return tuple(unique)
