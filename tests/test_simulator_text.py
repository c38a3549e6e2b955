"""A simulated text with a lone surrogate (what a broken emoji in JSON decodes to): the
text is kept, the bad character marked, never a 500."""

from __future__ import annotations

from sqlalchemy import select

from intake.core.models import Message
from tests.test_simulator_page import CAREGIVER, NCMEC, Browser


def test_a_lone_surrogate_in_a_simulated_text_is_replaced_and_the_text_kept(app, line):
    browser = Browser(app)
    answer = browser.post("/text", {"phone": CAREGIVER, "body": "my son is missing \ud83d"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert NCMEC in " ".join(answer.get_json()["replies"])
    with line.db.sessions() as s:
        bodies = s.scalars(select(Message.body).where(Message.direction == "in")).all()
    assert bodies == ["my son is missing \ufffd"]
