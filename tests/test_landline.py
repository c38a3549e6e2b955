"""A caregiver's number that cannot receive texts (a landline): the follow-ups stop and the
case says to call instead. Through a real intake, the real twilio client and a fake Twilio."""

from __future__ import annotations

from sqlalchemy import select

from intake.core import outbox
from intake.core.models import Case
from intake.delivery import dispatcher
from intake.infra.transport import TwilioTransport
from tests import test_outbox
from tests.test_outbox import intake, later, post_status, rows

# the outbox tests' fixtures: a line with Twilio, the client with a short timeout
settings, transport = test_outbox.settings, test_outbox.transport
WEEK = 60 * 24 * 7  # minutes: long after the last follow-up


def the_case(line) -> Case:
    with line.db.sessions() as s:
        return s.scalars(select(Case)).one()


def assert_plan_stopped(line, fake, sent: int) -> None:
    """No follow-up is left to send, the case says call instead, and nothing more goes."""
    later_ones = [r for r in rows(line, kind="followup") if r.status != "sent"][1:]
    assert later_ones and all(r.status == "cancelled" for r in later_ones)
    assert {r.last_error for r in later_ones} == {outbox.CANNOT_TEXT_REASON}
    assert the_case(line).cannot_text_at is not None
    dispatcher.dispatch(line, TwilioTransport(line.settings), now=later(line, WEEK))
    assert len(fake.messages) == sent


def test_a_follow_up_refused_as_not_a_mobile_number_stops_the_plan(line, phone, fake, transport):
    intake(phone)
    fake.fail_to(phone.number, 21614)
    report = dispatcher.dispatch(line, transport, now=later(line, 16))
    assert report.failed == 1
    first = rows(line, kind="followup")[0]
    assert (first.status, first.error_code, first.attempts) == ("failed", 21614, 1)
    assert_plan_stopped(line, fake, sent=0)
    assert len(fake.rejected) == 1  # one refusal; nothing else was tried


def test_a_delivery_report_saying_it_cannot_route_stops_the_plan(app, line, phone, fake, transport):
    intake(phone)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    sent = rows(line, status="sent")[0]
    assert the_case(line).cannot_text_at is None
    params = {"MessageSid": sent.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "21612"}
    assert post_status(app, params, f"outbox={sent.id}").status_code == 204
    row = rows(line, id=sent.id)[0]
    assert (row.status, row.error_code) == ("failed", 21612)
    assert_plan_stopped(line, fake, sent=1)


def test_an_invalid_number_fails_only_its_own_text(line, phone, fake, transport):
    intake(phone)
    fake.fail_to(phone.number, 21211)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    first, *rest = rows(line, kind="followup")
    assert (first.status, first.error_code) == ("failed", 21211)
    assert {r.status for r in rest} == {"pending"}
    assert the_case(line).cannot_text_at is None
    fake.clear_failures()
    assert dispatcher.dispatch(line, transport, now=later(line, 61)).sent == 1


def test_texts_that_are_not_follow_ups_are_left_alone(line, phone, fake, transport):
    intake(phone)
    page_at = later(line, 30)
    with line.db.transaction() as s:  # say someone on the roster tested from this phone
        outbox.enqueue(
            s, kind="alert", to=phone.number, body="page", send_at=page_at, channel="sms"
        )
    fake.fail_to(phone.number, 21614)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    [alert] = rows(line, kind="alert")
    assert alert.status == "pending"


def test_a_refused_page_does_not_mark_the_case_or_stop_the_plan(line, phone, fake, transport):
    intake(phone)
    staff, page_at = "+12125550177", later(line, 1)
    with line.db.transaction() as s:
        case_id = s.scalar(select(Case.id))
        outbox.enqueue(
            s, kind="alert", to=staff, body="page", case_id=case_id, send_at=page_at, channel="sms"
        )
    fake.fail_to(staff, 21614)
    dispatcher.dispatch(line, transport, now=later(line, 2))
    [alert] = rows(line, kind="alert")
    assert (alert.status, alert.error_code) == ("failed", 21614)
    assert {r.status for r in rows(line, kind="followup")} == {"pending"}
    assert the_case(line).cannot_text_at is None
    assert dispatcher.dispatch(line, transport, now=later(line, 16)).sent == 1


def test_start_does_not_bring_back_follow_ups_to_a_number_that_cannot_get_them(
    line, phone, fake, transport
):
    intake(phone)
    fake.fail_to(phone.number, 21614)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    phone.text("START")
    assert {r.status for r in rows(line, kind="followup")[1:]} == {"cancelled"}


def test_a_number_known_not_to_take_texts_is_not_promised_tips_again(line, phone, fake, transport):
    from intake.core.words import render

    intake(phone)
    fake.fail_to(phone.number, 21614)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    phone.text("RESTART")  # a second report from the same landline-forwarded number
    for answer in ["yes", "Leo", "5", "an hour ago", "the park", "green shirt", "SKIP", "1"]:
        phone.text(answer)
    phone.text("SKIP")
    summary = phone.reply("SAME")
    with line.db.sessions() as s:
        ref = s.scalars(select(Case.ref).order_by(Case.id.desc())).first()
    no_tips = dict(org=line.settings.org_name, ref=ref, child_name="", police_called=True)
    assert summary == render("summary", "en", channel="sms", followups=False, **no_tips)
    assert [r for r in rows(line, kind="followup") if r.status == "pending"] == []
