"""Twilio request signatures: checked on every webhook, made by every local client."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url(base_url: str, path: str, query_string: str = "") -> str:
    """The URL Twilio signed: the configured public base, not the host Flask saw."""
    url = base_url.rstrip("/") + path
    return f"{url}?{query_string}" if query_string else url


def is_valid(token: str, url: str, params, signature: str | None) -> bool:
    if not signature:
        return False
    return RequestValidator(token).validate(url, params, signature)


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send; used by the simulator and the tests."""
    return RequestValidator(token).compute_signature(url, dict(params))
