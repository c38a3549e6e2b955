"""Photos and voicemails callers sent, fetched from Twilio with the account's credentials
for signed-in staff only: the dashboard never links to Twilio's address itself.

Only addresses under this account at api.twilio.com are fetched (a media URL came in a
webhook; nothing else is ever requested with the credentials). In local mode there is
no Twilio: a simulated phone's "photo" is just an address it typed, shown as text and
never fetched (it could point anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests

from intake.infra.config import Settings

TWILIO_HOST = "api.twilio.com"
MAX_BYTES = 20 * 1024 * 1024  # Twilio's own limit on an MMS is 5 MB; a recording is more
TIMEOUT = 10.0
CHUNK = 64 * 1024
SHOWN_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic")


class MediaError(Exception):
    """The file could not be fetched; the message says why, without the address."""


@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str


def fetchable(settings: Settings, url: str) -> bool:
    """Whether this address is a file of this Twilio account (so it may be fetched)."""
    if not settings.uses_twilio:
        return False
    parts = urlsplit(url)
    prefix = f"/2010-04-01/Accounts/{settings.twilio_account_sid}/"
    return (
        parts.scheme == "https" and parts.hostname == TWILIO_HOST and parts.path.startswith(prefix)
    )


def fetch(settings: Settings, url: str) -> Fetched:
    """The file behind a Twilio media or recording address, read with the account's key."""
    if not fetchable(settings, url):
        raise MediaError("not a file of this Twilio account")
    auth = (settings.twilio_account_sid, settings.twilio_auth_token)
    try:
        with requests.get(_address(settings, url), auth=auth, timeout=TIMEOUT, stream=True) as got:
            if got.status_code != 200:
                raise MediaError(f"Twilio answered {got.status_code}")
            content = _read(got)
            kind = got.headers.get("Content-Type", "application/octet-stream")
    except requests.RequestException as error:
        raise MediaError(f"Twilio could not be reached ({type(error).__name__})") from None
    return Fetched(content, kind.split(";")[0].strip())


def _address(settings: Settings, url: str) -> str:
    """Twilio's address, sent to TWILIO_API_BASE_URL instead when one is set (a fake)."""
    base = settings.twilio_api_base_url
    if not base:
        return url
    parts, to = urlsplit(url), urlsplit(base)
    return urlunsplit((to.scheme, to.netloc, parts.path, parts.query, ""))


def _read(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise MediaError("the file is larger than the line serves")
        chunks.append(chunk)
    return b"".join(chunks)
