"""The table of transport exceptions: one kind each, and a router rule for each kind."""

from __future__ import annotations

import httpx

from clearance.errors import ProviderError
from clearance.providers.transport_errors import TRANSPORT_ERRORS, classify_transport_error
from clearance.router import RULES


def test_each_kind_has_a_rule_and_the_error_reports_it() -> None:
    for _, error_class, _ in TRANSPORT_ERRORS:
        assert issubclass(error_class, ProviderError)
        rule = RULES[error_class.kind]
        error = error_class("x", provider="p", model_id=None)
        assert error.retryable is rule.retry, error_class  # one source: the rules
        assert rule.fall_back  # another provider's model may not fail the same way
        assert error_class.fix_template is not None
    retried = {c.kind: RULES[c.kind].retry for _, c, _ in TRANSPORT_ERRORS}
    # a passing failure is worth one more request; a base URL HTTP cannot use never is
    assert retried == {
        "timeout": True,
        "invalid_endpoint": False,
        "connection": True,
        "protocol": True,
    }


def test_retryable_follows_the_rules_for_every_provider_error() -> None:
    from clearance import errors

    http = {"provider": "p", "model_id": None, "status_code": 400}
    assert errors.RateLimited("x", **http).retryable
    assert errors.ProviderServerError("x", **http).retryable
    assert errors.MalformedResponse("x", provider="p", model_id=None, body="").retryable
    assert not errors.AuthenticationFailed("x", **http).retryable
    assert not errors.ContextLengthExceeded("x", **http).retryable
    assert not errors.BadRequest("x", code="tool_use_failed", **http).retryable
    assert not errors.ProviderError("a bug", provider="p", model_id=None).retryable


def test_the_message_names_the_exception_and_what_it_said() -> None:
    found = classify_transport_error(httpx.DecodingError("incorrect header check"))
    assert found is not None
    error_class, message = found
    assert error_class.kind == "protocol"
    assert message == (
        "the body does not decode as its declared content-encoding "
        "(DecodingError: incorrect header check)"
    )
    assert classify_transport_error(httpx.ReadTimeout(""))[1].endswith("(ReadTimeout)")  # type: ignore[index]


def test_what_is_not_a_transport_failure_is_not_mapped() -> None:
    assert classify_transport_error(ValueError("a bug")) is None
    assert classify_transport_error(KeyError("model")) is None
