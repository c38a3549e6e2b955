"""Phone numbers under one policy: read in the line's region, kept in E.164, shown to people.

The region is INTAKE_DEFAULT_REGION (Settings.default_region, "US" unless set): a number
written without a country code is read as one of its numbers. Two strengths of reading,
both the engine's own (flows.parse.parse_phone): `dialable` for a number a person typed
(settings, the roster, staff accounts: it must be a number that can be dialled), and
`possible` for a sender Twilio has already checked. Shown national at home
("(212) 555-0147") and international abroad ("+52 55 1234 5678").
"""

from __future__ import annotations

from typing import NamedTuple

import phonenumbers

from flows.parse import parse_phone

DEFAULT_REGION = "US"  # INTAKE_DEFAULT_REGION when it is not set
E164 = phonenumbers.PhoneNumberFormat.E164
NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL


class Shown(NamedTuple):
    """A number as stored (E.164) and as a person reads it."""

    e164: str
    shown: str


def is_region(code: str) -> bool:
    """Whether this is a region numbers can be read in ("US", "GB", "MX")."""
    return code in phonenumbers.SUPPORTED_REGIONS


def dialable(text: str, region: str) -> str | None:
    """A valid number (one a person could be reached on) in E.164, or None."""
    return parse_phone(text, region, strict=True)


def possible(text: str, region: str | None) -> str | None:
    """A number of a possible length in E.164 (a sender Twilio checked), or None. A region
    of None takes only numbers written with their country code."""
    return parse_phone(text, region, strict=False)


def shown(text: str, region: str) -> Shown | None:
    """The number and how to show it: national in the line's region, else international;
    None for anything that is not a possible number (a short code, a sender name)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    local = phonenumbers.region_code_for_number(number) == region
    style = NATIONAL if local else INTERNATIONAL
    return Shown(
        phonenumbers.format_number(number, E164), phonenumbers.format_number(number, style)
    )


def readable(phone: str, region: str) -> str:
    """How a person reads a stored number; anything else as it came."""
    found = shown(phone, region)
    return found.shown if found else phone


def masked(phone: str) -> str:
    """The country and area code only ("+1 212..."), for a text that must not carry the
    whole number."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "(number not shown)"
    national = str(parsed.national_number)
    area = phonenumbers.length_of_geographical_area_code(parsed) or 3
    return f"+{parsed.country_code} {national[:area]}..."


def is_fictitious(number: str) -> bool:
    """A North American 555-0100 to 555-0199 number: set aside for fiction, it reaches no one."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    national = str(parsed.national_number)
    if parsed.country_code != 1 or len(national) != 10:
        return False
    return national[3:6] == "555" and 100 <= int(national[6:]) <= 199
