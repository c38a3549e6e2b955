"""Values from Twilio's requests, made safe to store: the one place a form value is read.

Twilio signs what it sends, so the signature is checked on the raw form; everything
after reads it through `form_value`, which takes out what no database will keep.
"""

from __future__ import annotations

import re

from flask import request

MAX_INT = 2**31 - 1  # the largest number an INTEGER column (an id, an error code) holds
REPLACEMENT = "\ufffd"  # what a lone surrogate becomes: the text is kept, marked
SURROGATE = re.compile("[\ud800-\udfff]")


def form_value(name: str, default: str = "") -> str:
    """A form field, cleaned of what PostgreSQL refuses (see `clean`)."""
    return clean(request.form.get(name, default))


def clean(text: str) -> str:
    """The text without NUL bytes (PostgreSQL stores none) and with each lone surrogate
    (no UTF-8 for it) replaced by U+FFFD. Everything else is kept as sent."""
    return SURROGATE.sub(REPLACEMENT, text.replace("\x00", ""))


def whole_number(value: str | None) -> int | None:
    """A whole number an INTEGER column can hold (0 to MAX_INT), else None."""
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= MAX_INT else None
