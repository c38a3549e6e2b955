"""Twilio's SIDs: the one place that says what each kind looks like.

A SID is two letters naming its kind and 32 hex digits, as Twilio's OpenAPI description
of the 2010-04-01 API gives each one (`^AC[0-9a-fA-F]{32}$`, `^(SM|MM)[0-9a-fA-F]{32}$`,
...). A webhook field named for a SID that does not have its kind's shape is none of
Twilio's: Twilio's signature joins names and values with no delimiter, so a signed
`MessageSid=SM…7c&NumMedia=0` can be replayed as `MessageSid=SM…7cNumMedia0`, and only
the shape tells the two apart.
"""

from __future__ import annotations

import re

ACCOUNT = "account"
CALL = "call"
MESSAGE = "message"
RECORDING = "recording"
SERVICE = "service"
MEDIA = "media"

PATTERNS = {
    ACCOUNT: re.compile(r"AC[0-9a-fA-F]{32}"),
    CALL: re.compile(r"CA[0-9a-fA-F]{32}"),
    MESSAGE: re.compile(r"(SM|MM)[0-9a-fA-F]{32}"),
    RECORDING: re.compile(r"RE[0-9a-fA-F]{32}"),
    SERVICE: re.compile(r"MG[0-9a-fA-F]{32}"),
    MEDIA: re.compile(r"ME[0-9a-fA-F]{32}"),
}

# Every webhook field that carries a SID, and its kind.
FIELDS = {
    "AccountSid": ACCOUNT,
    "MessageSid": MESSAGE,
    "SmsSid": MESSAGE,
    "SmsMessageSid": MESSAGE,
    "MessagingServiceSid": SERVICE,
    "CallSid": CALL,
    "ParentCallSid": CALL,
    "DialCallSid": CALL,
    "RecordingSid": RECORDING,
}


def is_sid(kind: str, value: str | None) -> bool:
    """Whether `value` is a SID of this kind, exactly (no space, nothing before or after)."""
    return value is not None and PATTERNS[kind].fullmatch(value) is not None


def bad_fields(values) -> list[str]:
    """The names of SID fields present in `values` (a form) whose value is not a SID of its
    kind; a field sent twice counts as bad (Twilio sends each once)."""
    bad = []
    for name, kind in FIELDS.items():
        given = values.getlist(name)
        if given and (len(given) > 1 or not is_sid(kind, given[0])):
            bad.append(name)
    return bad
