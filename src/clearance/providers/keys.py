"""API keys: the one place a provider's key is read from the environment.

The configuration never holds a key: a provider's ``api_key_env`` (in clearance.toml,
or in the catalog's providers table) names the environment variable that does.
:mod:`clearance.config` reads the environment for *settings* (all ``CLEARANCE_*``);
keys are secrets, not settings, and are read here and nowhere else, so that
``clearance models sync``, the router and the eval engine all report a missing key
the same way, by name, before any network I/O.

A variable that is set but empty (or only white space) counts as not set: an empty
``Authorization: Bearer`` header is never sent. The key itself never appears in an
error, a log line or a cassette (the cassette scrubber and the providers redact it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from clearance.errors import MissingApiKey

__all__ = ["environment_secret", "read_api_key"]


def environment_secret(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of ``variable``, or ``None`` when it is not set or blank.

    Args:
        variable: the variable's name.
        environ: the environment (default ``os.environ``).
    """
    value = (os.environ if environ is None else environ).get(variable)
    return value if value and value.strip() else None


def read_api_key(
    provider: str,
    variable: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    source: str | None = None,
    models: tuple[str, ...] = (),
    required: bool = True,
) -> str | None:
    """The API key of ``provider``, read from the variable its ``api_key_env`` names.

    Args:
        provider: the provider's name (for the error).
        variable: its ``api_key_env``; ``None``: the provider needs no key.
        environ: the environment (default ``os.environ``).
        source: where ``api_key_env`` was declared (the configuration file; ``None``: the
            catalog), named in the error's fix.
        models: the models that need the key, named in the error.
        required: ``False`` returns ``None`` for a missing key instead of raising (a
            replay sends nothing, so it needs no key).

    Returns:
        The key, or ``None`` when no variable is named (or, unless ``required``, set).

    Raises:
        MissingApiKey: ``variable`` is named but not set, or empty, and ``required``.
    """
    if variable is None:
        return None
    key = environment_secret(variable, environ)
    if key is None and required:
        raise MissingApiKey(provider, variable, source=source, models=models)
    return key
