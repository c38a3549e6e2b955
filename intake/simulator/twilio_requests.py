"""The requests Twilio makes to the line, made here instead (the simulator, the tests, the
benches): the form fields of a text or a call, their signature, and posting in-process."""

from __future__ import annotations

import uuid
from typing import Protocol

from intake.infra import signing
from intake.infra.config import SIMULATOR_NUMBER, Settings

LINE_NUMBER = SIMULATOR_NUMBER  # Twilio's documented magic test number
ACCOUNT_SID = "AC" + "0" * 32


class Post(Protocol):
    """Sends one signed request to the line; answers (HTTP status, body).

    `path` may carry a query string. A GET (Redirect method="GET") passes its parameters
    in the path's query and none in `params`.
    """

    def __call__(
        self, path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]: ...


def sms_params(
    sender: str,
    body: str,
    media_urls: list[str] | None = None,
    settings: Settings | None = None,
) -> dict[str, str]:
    """The form fields Twilio sends for an incoming text (to the line `settings` run)."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": account_sid(settings),
        "From": sender,
        "To": line_number(settings),
        "Body": body,
        "NumMedia": str(len(media_urls or [])),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for i, url in enumerate(media_urls or []):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = "image/jpeg"
    return params


def line_number(settings: Settings | None) -> str:
    """The number a line answers on, as Twilio sends it in `To`."""
    if settings is None:
        return LINE_NUMBER
    return settings.twilio_phone_number or next(iter(settings.other_numbers), LINE_NUMBER)


def account_sid(settings: Settings | None) -> str:
    """The AccountSid Twilio sends for this line (the simulator's own without Twilio)."""
    return (settings.twilio_account_sid if settings else None) or ACCOUNT_SID


def signed_headers(settings: Settings, path: str, params: dict[str, str]) -> dict[str, str]:
    url = signing.public_url(settings.public_base_url, path)
    return {signing.SIGNATURE_HEADER: signing.sign(settings.twilio_auth_token, url, params)}


def app_post(app) -> Post:
    """Requests to an app in this process, through Flask's test client."""
    client = app.test_client()

    def post(
        path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]:
        response = client.open(path, method=method, data=params or None, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def call_params(sender: str, call_sid: str, **extra: str) -> dict[str, str]:
    """The form fields Twilio sends with every request about an incoming call.

    `extra` overrides or adds fields (To, CallStatus, Direction, Digits...).
    """
    to = extra.get("To", LINE_NUMBER)
    params = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Caller": sender,
        "Called": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "US",
        "ToCountry": "US",
    }
    params.update(extra)
    return params
