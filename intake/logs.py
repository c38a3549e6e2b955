"""Structured logs: one event a line, key=value. Never a message body or a child's name."""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("intake")


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        line = f"{self.formatTime(record)} {record.levelname} {record.getMessage()}"
        line = f"{line} {pairs}" if pairs else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if " " in text or not text else text


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
