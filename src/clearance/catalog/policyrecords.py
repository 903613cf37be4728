"""What the model policy decides on, as the catalog holds it: plain records.

:class:`ModelState`, :class:`OrgPolicy` and :class:`SessionPin` are read from the
catalog's tables; :class:`PolicySnapshot` gathers them with the configured tiers,
fallback chains and default. The stores build them
(:func:`~clearance.catalog.orgstore.read_policy_state`) and
:func:`~clearance.modelpolicy.resolve_model` decides on them; :mod:`clearance.modelpolicy`
re-exports them.

This module imports nothing above it (no SQL, no resolver): the stores below and the
policy above both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from clearance.config import Tier

__all__ = ["ModelState", "OrgPolicy", "PolicySnapshot", "SessionPin"]


@dataclass(frozen=True, slots=True)
class ModelState:
    """What the platform knows about one catalog model."""

    model_id: str
    enabled: bool
    """Platform-enabled (the catalog flag)."""
    removed: bool = False
    """Gone from the provider's model list."""
    killed: bool = False
    """A kill switch is thrown at model or provider scope."""
    gate_allows: bool = True
    """The gate's effective decision (or a person's override) allows the model."""
    gate_detail: str | None = None
    """Why the gate does not allow it (one sentence with the fix), for the rejection."""


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    """One org's model settings."""

    org_id: str
    enabled_models: tuple[str, ...] | None
    """Models the org may use; ``None`` when the setting was never written."""
    default_model_id: str | None
    """The org's default model."""
    legacy_model: str | None
    """The legacy single-model field, used when ``default_model_id`` is unset."""


@dataclass(frozen=True, slots=True)
class SessionPin:
    """The model a session was last served with."""

    session_id: str
    model_id: str
    org_id: str | None
    """The org the pin was written for; ``None`` for a session with no org."""


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """The state the policy decides on, loaded from the catalog and configuration."""

    models: Mapping[str, ModelState]
    """Catalog model id to its state."""
    orgs: Mapping[str, OrgPolicy]
    """Org id to its settings."""
    pins: Mapping[str, SessionPin]
    """Session id to its pin."""
    tiers: Mapping[Tier, str]
    """Tier name to model id."""
    fallbacks: Mapping[str, tuple[str, ...]]
    """Model id to its fallback chain, best first."""
    platform_default: str | None = None
    """The model used when nothing more specific applies."""
    unknown_org: Literal["platform_default", "refuse"] = "platform_default"
    """What to do for an org id with no settings."""
