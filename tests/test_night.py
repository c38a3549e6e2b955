"""Nothing falls through the cracks at night: the caregiver's side, through signed webhooks.

After FOUND, after staff close a case, RESTART with an alert under way, plain words that
ask for a person or say the child is found, and a roster with nobody on it. Pages go out
through the real twilio client to the local fake Twilio; time moves only when a test says.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.cases import lifecycle as case_service
from intake.core.models import Alert, Case, Message, Outbound
from intake.core.words import render
from intake.delivery import dispatcher
from intake.oncall import escalation as oncall
from intake.oncall import paging, roster
from tests.conftest import Phone, twilio_settings
from tests.test_sms_webhook import ANSWERS, intake

ORG = "Bright Path Family Services"
ANA, BEN = "+12125550111", "+12125550122"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


def add(line, name, phone):
    with line.db.transaction() as s:
        roster.add(s, name, phone)


def tick(line, transport, now=None):
    now = now or line.clock.now()
    oncall.check_due(line, now)
    dispatcher.dispatch(line, transport, now=now, on_failure=paging.page_failed)


def texts_to(fake, number) -> list[str]:
    return [m["body"] for m in fake.messages if m["to"] == number]


def cases(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def alerts(line) -> list[Alert]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def close_case(line, ref: str, when=None) -> None:
    with line.db.transaction() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        case_service.close(s, case, when or line.clock.now())


# --- after FOUND -----------------------------------------------------------------------


def test_a_thank_you_after_found_is_not_a_new_emergency(line, phone, fake, transport):
    add(line, "Ana", ANA)
    intake(phone)
    phone.text("FOUND")
    tick(line, transport)
    paged = len(texts_to(fake, ANA))
    reply = phone.reply("thank you so much for your help")
    assert reply == render("after_found", "en", channel="sms", org=ORG, ref="", child_name="")
    assert len(cases(line)) == 1 and cases(line)[0].status == "found"
    tick(line, transport)
    assert len(texts_to(fake, ANA)) == paged  # nobody woken about a missing child
    with line.db.sessions() as s:  # and the text is kept on the case
        kept = s.scalars(select(Message.body).where(Message.case_id == cases(line)[0].id))
        assert "thank you so much for your help" in list(kept)


@pytest.mark.parametrize("text", ["my other son is missing", "RESTART", "desaparecio mi hija"])
def test_after_found_a_clear_new_report_starts_a_new_intake(line, phone, text):
    intake(phone)
    phone.text("FOUND")
    reply = phone.reply(text)
    assert render("ask_police", cases(line)[-1].lang, channel="sms") in reply
    assert [c.status for c in cases(line)] == ["found", "intake"]


# --- after staff close a case ----------------------------------------------------------


def test_a_text_after_a_close_reaches_the_worker_who_had_the_case(line, app, phone, settings):
    add(line, "Ana", ANA)
    intake(phone)
    Phone(app, settings, number=ANA).reply("ACK")
    ref = cases(line)[0].ref
    close_case(line, ref)
    reply = phone.reply("hello? still no sign of him")
    assert ref in reply
    assert reply == render(
        "after_close", "en", channel="sms", org=ORG, ref=ref, child_name="", relayed=True
    )
    answer = phone.reply("Leo")  # an answer to the worker, not a new child's name
    assert ref in answer
    assert len(cases(line)) == 1 and cases(line)[0].child_name == "Mia Lopez"
    with line.db.sessions() as s:
        relayed = s.scalars(
            select(Outbound.params)
            .where(Outbound.kind == "relay", Outbound.to_phone == ANA)
            .order_by(Outbound.id)
        ).all()
    assert [p["text"] for p in relayed] == ["hello? still no sign of him", "Leo"]


def test_a_text_after_a_close_without_a_worker_is_kept_for_staff(line, phone):
    intake(phone)
    ref = cases(line)[0].ref
    close_case(line, ref)
    reply = phone.reply("any news?")
    assert reply == render(
        "after_close", "en", channel="sms", org=ORG, ref=ref, child_name="", relayed=False
    )
    assert len(cases(line)) == 1


def test_a_clear_new_report_after_a_close_starts_a_new_intake(line, phone):
    intake(phone)
    close_case(line, cases(line)[0].ref)
    assert render("ask_police", "en", channel="sms") in phone.reply("my daughter is missing now")
    assert [c.status for c in cases(line)] == ["closed", "intake"]
    assert cases(line)[-1].reported_missing


def test_after_the_reopen_window_a_text_starts_afresh(line, phone):
    intake(phone)
    long_ago = line.clock.now() - line.settings.case_reopen_window - timedelta(minutes=1)
    close_case(line, cases(line)[0].ref, long_ago)
    assert render("welcome", "en", channel="sms", org=ORG) in phone.reply("hello")
    assert [c.status for c in cases(line)] == ["closed", "intake"]


def test_found_after_a_close_is_recorded_on_the_closed_case(line, phone):
    intake(phone)
    close_case(line, cases(line)[0].ref)
    phone.text("we found him, he was at the neighbor's")
    assert [c.status for c in cases(line)] == ["found"]


# --- plain words -----------------------------------------------------------------------


def test_asking_for_a_person_in_plain_words_alerts_the_chain(line, phone, fake, transport):
    add(line, "Ana", ANA)
    phone.text("my son is missing")
    phone.text("yes")
    reply = phone.reply("can someone call me")
    assert render("ask_name", "en", channel="sms") in reply  # the question still stands
    assert [a.reason for a in alerts(line)] == ["asked"]
    tick(line, transport)
    assert cases(line)[0].ref in texts_to(fake, ANA)[0]


def test_we_found_him_in_a_longer_text_counts_as_found_mid_intake(line, phone):
    phone.text("my son is missing")
    phone.text("yes")
    reply = phone.reply("We found him!! he was at the neighbor's")
    assert "NCMEC" in reply
    assert cases(line)[0].status == "found"


def test_ya_lo_encontramos_counts_as_found_after_the_intake(line, phone):
    intake(phone)
    phone.text("ya lo encontramos")
    assert cases(line)[0].status == "found"


def test_an_unsure_found_is_kept_as_said_and_asked_to_confirm(line, phone):
    intake(phone)
    reply = phone.reply("i think that's him in the video")
    assert reply == render(
        "ask_confirm_found", "en", channel="sms", org=ORG, ref=cases(line)[0].ref, child_name=""
    )
    assert cases(line)[0].status == "open"


def test_a_first_text_that_says_a_child_is_missing_marks_the_case(line, phone, app, settings):
    phone.text("my son is missing")
    Phone(app, settings, number="+12125550177").text("hello")
    assert [c.reported_missing for c in cases(line)] == [True, False]


# --- RESTART with an alert under way ---------------------------------------------------


def test_restart_moves_a_waiting_alert_to_the_new_case_and_ack_gives_the_callback(
    line, app, phone, settings, fake, transport
):
    add(line, "Ana", ANA)
    phone.text("my son is missing")
    phone.text("HELP")
    tick(line, transport)
    phone.text("RESTART")
    old, new = cases(line)
    assert (old.status, new.status) == ("abandoned", "intake")
    assert [a.case_id for a in alerts(line)] == [new.id]
    ack = Phone(app, settings, number=ANA).reply("ACK")
    assert new.ref in ack and phone.number in ack
    assert alerts(line)[0].status == "acked"


# --- nobody to tell --------------------------------------------------------------------


def test_with_nobody_on_call_help_does_not_promise_a_person(line, phone):
    phone.text("my son is missing")
    reply = phone.reply("HELP")
    nobody = render(
        "help", "en", channel="sms", org=ORG, ref=cases(line)[0].ref, child_name="", reachable=False
    )
    assert nobody in reply


def test_with_someone_on_call_help_says_a_person_will_be_told(line, phone):
    add(line, "Ana", ANA)
    phone.text("my son is missing")
    reply = phone.reply("HELP")
    someone = render(
        "help", "en", channel="sms", org=ORG, ref=cases(line)[0].ref, child_name="", reachable=True
    )
    assert someone in reply


# --- the last reply --------------------------------------------------------------------


def test_the_summary_names_the_police_call_when_it_was_not_made(line, phone):
    phone.text("my son is missing")
    phone.text("no")
    phone.text("no")
    for answer in ANSWERS[1:6] + ["mom", "SKIP"]:
        phone.text(answer)
    summary = phone.reply("SAME")
    ref = cases(line)[0].ref
    expected = render(
        "summary",
        "en",
        channel="sms",
        org=ORG,
        ref=ref,
        child_name="",
        police_called=False,
        followups=True,
    )
    assert summary == expected
