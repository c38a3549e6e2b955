"""The line's logs: one event, one line, whatever a request carries."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.infra import logs
from tests.conftest import signed_post
from tests.test_worker import wait_for

FORGED = 'a\nCRITICAL x="1"\u2028b'  # a status: kept (clipped to 20), and logged


@pytest.fixture
def log_lines():
    """What the line's own formatter writes for the 'intake' logger, as written."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.KeyValueFormatter())
    logger = logging.getLogger("intake")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: stream.getvalue().splitlines()
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_a_signed_status_with_a_newline_cannot_forge_a_log_line(app, log_lines):
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": FORGED}
    assert signed_post(app, "/twilio/status", form).status_code == 204
    lines = log_lines()
    assert len(lines) == 1 and "status.received" in lines[0]
    assert not any(line.split(" ")[2:3] == ["CRITICAL"] for line in lines)
    assert "a\\ncritical" in lines[0] and '\\"1\\"' in lines[0] and "\\u2028" in lines[0]


def test_a_failing_text_logs_its_exception_on_the_same_line(log_lines, phone, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("line one\nCRITICAL line two")

    monkeypatch.setattr("intake.channels.sms.handle_sms", broken)
    phone.text("help")
    turns = phone.app.extensions["intake"].turns
    wait_for(lambda: turns.pending() == 0)  # the words are kept, on another thread
    lines = log_lines()
    (line,) = [line for line in lines if "sms.fallback" in line]
    assert "line one\\nCRITICAL" in line
    assert not any(line.split(" ")[2:3] == ["CRITICAL"] for line in lines)


@given(
    name=st.text(max_size=20),
    fields=st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=4),
)
def test_any_event_is_one_line(name, fields):
    record = logging.LogRecord("intake", logging.INFO, __file__, 1, name, None, None)
    record.fields = fields
    line = logs.KeyValueFormatter().format(record)
    assert len(line.splitlines()) == 1
    line.encode("utf-8")  # a lone surrogate is spelled out, never written raw


def test_cr_lf_and_nul_in_any_value_key_or_name_are_spelled_out():
    record = logging.LogRecord("intake", logging.INFO, __file__, 1, "a\x00b\rc", None, None)
    record.fields = {"k\ney": "v\r\n\x00x", "path": "/x\n2026-12-07 INFO staff.signed_in"}
    (line,) = logs.KeyValueFormatter().format(record).splitlines()
    assert "\x00" not in line and "\r" not in line
    assert "a\\x00b\\rc" in line and "k\\ney=" in line and "v\\r\\n\\x00x" in line
