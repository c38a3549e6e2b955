"""Structured logs: one event a line, key=value. Never a message body or a child's name."""

from __future__ import annotations

import logging
import sys
import unicodedata

logger = logging.getLogger("intake")


class KeyValueFormatter(logging.Formatter):
    """One event, one line: every value escaped, so no value can start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        pairs = " ".join(f"{escape(str(k))}={_quote(v)}" for k, v in fields.items())
        line = f"{self.formatTime(record)} {record.levelname} {escape(record.getMessage())}"
        line = f"{line} {pairs}" if pairs else line
        if record.exc_info:  # an exception's words may carry a request's values too
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


# Characters a log reader could take for the end of a line or a field, spelled out.
_SPELLED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'}
# Control, format (bidi overrides), line/paragraph separators and lone surrogates.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def escape(text: str) -> str:
    """The text with every character that could break or forge a log line escaped."""
    return "".join(_escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    if ch in _SPELLED:
        return _SPELLED[ch]
    if unicodedata.category(ch) in _HIDDEN:
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


def _quote(value: object) -> str:
    """A field value: escaped, and quoted when it has a space or an = or is empty."""
    text = escape(str(value))
    return f'"{text}"' if not text or any(ch in text for ch in ' ="') else text


def setup(level: str = "INFO") -> None:
    """Send the line's logs to stderr, one event a line."""
    # the twilio library logs request bodies (texts, numbers) at INFO: keep it quiet
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    if any(isinstance(h.formatter, KeyValueFormatter) for h in logger.handlers):
        logger.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)


def event(name: str, level: int = logging.INFO, exc_info: bool = False, **fields: object) -> None:
    """Log one event with its fields."""
    logger.log(level, name, extra={"fields": fields}, exc_info=exc_info)
