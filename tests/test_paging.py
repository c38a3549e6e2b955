"""Pages that wake people without flooding them, the stalled-intake rule, and nobody on call.

Everything goes through signed webhooks, the real twilio client against the local fake
Twilio, and the worker's tick with an injected clock; nothing sleeps. Where a page was
made by a webhook (at the real time), the test reads its due time from the database and
ticks just before and at it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from intake import scheduler
from intake.app import create_app
from intake.core.models import Alert, Caller, Case, OnCallPerson, Outbound, Page
from intake.infra.transport import TwilioTransport
from intake.oncall import escalation as oncall
from intake.oncall import roster
from intake.staff.commands import leave_roster
from tests.conftest import Phone, twilio_settings
from tests.test_oncall import (
    ANA,
    BEN,
    CY,
    FALLBACK,
    add,
    asks_for_ack,
    staff,
    texts_to,
    tick,
    tick_all,
)
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake, fallback_alert_number=FALLBACK)


@pytest.fixture
def crew(line):
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)


def caregivers(app, settings, count: int) -> list[Phone]:
    return [Phone(app, settings, f"+1212555{200 + n:04d}") for n in range(count)]


def half_intake(phone: Phone) -> None:
    """A caregiver who names the child and then stops answering."""
    phone.text("my son is missing")
    phone.text("Leo")


def ref_of(line, phone: Phone) -> str:
    with line.db.sessions() as s:
        query = select(Case.ref).join(Caller).where(Caller.phone == phone.number)
        return s.scalars(query.order_by(Case.id.desc())).first()


def alerts(line) -> list[Alert]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def pending_page_to(line, number: str) -> Outbound:
    with line.db.sessions() as s:
        query = select(Outbound).where(
            Outbound.to_phone == number, Outbound.kind == "alert", Outbound.status == "pending"
        )
        return s.scalars(query).one()


def assert_no_page_held_over_15_seconds(line) -> None:
    with line.db.sessions() as s:
        for page, send_at in s.execute(
            select(Page, Outbound.send_at).join(Outbound, Outbound.id == Page.outbox_id)
        ):
            assert send_at - page.created_at <= timedelta(seconds=15)


# --- combining ------------------------------------------------------------------------------


def test_ten_stalled_intakes_wake_each_person_once_not_ten_times(
    app, line, settings, fake, transport
):
    add(line, "Ana", ANA, by="both")
    add(line, "Ben", BEN)
    phones = caregivers(app, settings, 10)
    for phone in phones:
        half_intake(phone)
    start = line.clock.now()
    tick_all(line, transport, start + timedelta(minutes=11))
    [text] = texts_to(fake, ANA)
    refs = [ref_of(line, p) for p in phones]
    assert "10 missing-child cases" in text and "ACK ALL" in text
    assert sum(ref in text for ref in refs) == 8 and "and 2 more" in text  # stays short
    assert [c["to"] for c in fake.calls] == [ANA]  # one call, not ten
    tick_all(line, transport, start + timedelta(minutes=16, seconds=1))  # nobody acked
    [to_ben] = texts_to(fake, BEN)
    assert "10 missing-child cases" in to_ben
    assert len(texts_to(fake, ANA)) == 1 and len(fake.calls) == 1
    with line.db.sessions() as s:  # one text, but each page still traceable to its alert
        pages = s.scalars(select(Page).where(Page.to_phone == BEN)).all()
    assert len({p.alert_id for p in pages}) == 10 and len({p.outbox_id for p in pages}) == 1
    assert_no_page_held_over_15_seconds(line)


def test_a_page_soon_after_another_waits_at_most_15_seconds_to_be_combined(
    app, line, settings, crew, fake, transport
):
    first, second, third = caregivers(app, settings, 3)
    intake(first)
    start = line.clock.now()
    tick(line, transport, start)
    assert len(texts_to(fake, ANA)) == 1  # the first page to Ana goes at once
    intake(second)
    intake(third)  # both inside the window: held, and combined into one text
    held = pending_page_to(line, ANA)
    tick(line, transport, held.send_at - timedelta(seconds=1))
    assert len(texts_to(fake, ANA)) == 1
    tick(line, transport, held.send_at)
    combined = texts_to(fake, ANA)[-1]
    assert len(texts_to(fake, ANA)) == 2
    assert ref_of(line, second) in combined and ref_of(line, third) in combined
    assert ref_of(line, first) not in combined
    assert_no_page_held_over_15_seconds(line)


def test_ack_all_takes_every_case_sent_to_the_worker_and_tells_the_others(
    app, line, settings, crew, fake, transport
):
    phones = caregivers(app, settings, 3)
    for phone in phones:
        half_intake(phone)
    start = line.clock.now()
    tick_all(line, transport, start + timedelta(minutes=11))
    tick_all(line, transport, start + timedelta(minutes=16, seconds=1))  # Ben paged too
    reply = staff(app, settings, ANA).reply("ACK ALL")
    assert "Yours now" in reply
    assert all(ref_of(line, p) in reply and p.number in reply for p in phones)
    assert all(a.status == "acked" and a.acked_by_id is not None for a in alerts(line))
    with line.db.sessions() as s:
        owners = s.scalars(select(OnCallPerson.name).join(Case.assigned_person)).all()
    assert owners == ["Ana"] * 3
    tick_all(line, transport, start + timedelta(minutes=17))
    told = texts_to(fake, BEN)[1:]
    assert len(told) == 3 and all("taken by Ana" in t for t in told)
    for minutes in (22, 30, 60):
        tick_all(line, transport, start + timedelta(minutes=minutes))
    assert len(texts_to(fake, BEN)) == 4 and len(texts_to(fake, ANA)) == 1


def test_ack_all_takes_a_case_whose_worker_did_not_answer_its_new_alert(
    app, line, settings, crew, fake, transport
):
    """Ben has a case; its caregiver asks for a person again and Ben does not answer in
    time. The alert waits for whoever answers: Ana's ACK ALL takes it, and Ben is told."""
    first, second = caregivers(app, settings, 2)
    half_intake(first)
    half_intake(second)
    start = line.clock.now()
    tick_all(line, transport, start + timedelta(minutes=11))
    taken, left = ref_of(line, first), ref_of(line, second)
    assert "is yours" in staff(app, settings, BEN).reply(f"ACK {taken}")
    first.text("HELP")  # a new alert on Ben's case: Ben first, then Ana
    tick_all(line, transport, start + timedelta(minutes=11, seconds=20))
    tick_all(line, transport, start + timedelta(minutes=16, seconds=30))
    assert taken in texts_to(fake, ANA)[-1]
    reply = staff(app, settings, ANA).reply("ack all")
    assert f"{left} ({second.number})" in reply and f"{taken} ({first.number})" in reply
    assert "Not taken" not in reply
    assert the_case_owner(line, taken) == "Ana" and the_case_owner(line, left) == "Ana"
    tick_all(line, transport, start + timedelta(minutes=17))
    assert any(taken in t and "Ana" in t for t in texts_to(fake, BEN))
    add(line, "Cy", CY)
    assert "no alert" in staff(app, settings, CY).reply("ACK ALL").lower()


def the_case_owner(line, ref: str) -> str:
    with line.db.sessions() as s:
        return s.scalar(select(OnCallPerson.name).join(Case.assigned_person).where(Case.ref == ref))


def test_a_case_found_before_its_combined_text_goes_is_left_out_of_it(
    app, line, settings, crew, fake, transport
):
    first, second, third = caregivers(app, settings, 3)
    intake(first)
    start = line.clock.now()
    tick(line, transport, start)
    intake(second)
    intake(third)
    held = pending_page_to(line, ANA)
    second.text("FOUND")
    tick(line, transport, held.send_at)
    alert_text = [t for t in texts_to(fake, ANA) if "MISSING CHILD" in t][-1]
    assert ref_of(line, third) in alert_text and ref_of(line, second) not in alert_text
    assert "ACK takes it" in alert_text  # one case left: its own alert's words


def test_a_combined_text_that_cannot_be_delivered_escalates_every_case_in_it(
    app, line, settings, crew, fake, transport
):
    phones = caregivers(app, settings, 3)
    for phone in phones:
        half_intake(phone)
    fake.fail_to(ANA, 21211)
    start = line.clock.now()
    tick_all(line, transport, start + timedelta(minutes=11))
    assert texts_to(fake, ANA) == []
    tick_all(line, transport, start + timedelta(minutes=11, seconds=5))
    [to_ben] = texts_to(fake, BEN)
    assert all(ref_of(line, p) in to_ben for p in phones)


def test_a_worker_reached_by_call_is_called_once_a_window_and_texted_the_rest(
    app, line, settings, fake, transport
):
    add(line, "Ana", ANA, by="call")
    first, second = caregivers(app, settings, 2)
    intake(first)
    tick(line, transport)
    intake(second)
    held = pending_page_to(line, ANA)
    tick(line, transport, held.send_at)
    assert [c["to"] for c in fake.calls] == [ANA]
    [text] = texts_to(fake, ANA)
    assert ref_of(line, second) in text and ref_of(line, first) not in text


# --- stalled intakes --------------------------------------------------------------------------


def test_a_stalled_hello_is_for_the_dashboard_not_a_page(
    app, line, settings, crew, fake, transport
):
    wrong_number, missing = caregivers(app, settings, 2)
    wrong_number.text("hello")
    missing.text("hello")
    with line.db.transaction() as s:  # the conversation sets it when the text says so
        query = select(Case).join(Caller).where(Caller.phone == missing.number)
        s.scalars(query).one().reported_missing = True
    start = line.clock.now()
    for minutes in (11, 12, 20):
        tick_all(line, transport, start + timedelta(minutes=minutes))
    [alert] = texts_to(fake, ANA)
    assert ref_of(line, missing) in alert and ref_of(line, wrong_number) not in alert
    assert len(alerts(line)) == 1


# --- nobody on call ---------------------------------------------------------------------------


def test_with_nobody_on_call_the_fallback_is_told_and_alerts_wait_for_someone(
    app, line, settings, fake, transport
):
    first, second = caregivers(app, settings, 2)
    intake(first)
    intake(second)
    start = line.clock.now()
    tick(line, transport, start)
    [told] = texts_to(fake, FALLBACK)  # both cases in one text
    assert "nobody" in told.lower() and not asks_for_ack(told)
    assert ref_of(line, first) in told and ref_of(line, second) in told
    assert all(a.status == "open" and a.next_check_at is None for a in alerts(line))
    for minutes in (5, 30, 120):
        tick(line, transport, start + timedelta(minutes=minutes))
    assert len(texts_to(fake, FALLBACK)) == 1
    add(line, "Ana", ANA)  # someone comes on call
    tick(line, transport, start + timedelta(minutes=121))
    [text] = texts_to(fake, ANA)
    assert ref_of(line, first) in text and ref_of(line, second) in text
    assert all(a.next_check_at is not None for a in alerts(line))


def test_nobody_on_call_and_no_fallback_still_waits(db_url, tmp_path, fake, caplog, clock):
    app = create_app(twilio_settings(db_url, tmp_path, fake), clock)
    line, transport = app.extensions["intake"], TwilioTransport(app.extensions["intake"].settings)
    add(line, "Ana", ANA)
    with line.db.transaction() as s:
        roster.by_phone(s, ANA).opted_out_at = line.clock.now()  # all opted out
    with caplog.at_level(logging.CRITICAL, logger="intake"):
        intake(Phone(app, line.settings))
    assert {"oncall.empty_chain", "oncall.no_fallback"} <= {r.getMessage() for r in caplog.records}
    tick(line, transport)
    assert texts_to(fake, ANA) == []
    [alert] = alerts(line)
    assert alert.status == "open" and alert.chain == []
    add(line, "Ben", BEN)
    tick(line, transport, line.clock.now() + timedelta(seconds=5))
    assert len(texts_to(fake, BEN)) == 1
    line.db.dispose()


def test_escalation_skips_people_who_opted_out_or_were_removed(
    app, line, settings, fake, transport
):
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)
    add(line, "Cy", "+12125550133")
    with line.db.transaction() as s:
        roster.by_phone(s, ANA).opted_out_at = line.clock.now()
    intake(Phone(app, settings))
    start = line.clock.now()
    tick(line, transport, start)
    assert texts_to(fake, ANA) == [] and len(texts_to(fake, BEN)) == 1
    with line.db.transaction() as s:
        leave_roster(s, line, "+12125550133", line.clock.now())
    tick(line, transport, start + timedelta(minutes=5, seconds=1))  # Cy is gone: Ben again
    assert texts_to(fake, "+12125550133") == [] and len(texts_to(fake, BEN)) == 2


def test_when_everyone_in_the_chain_is_gone_the_alert_waits_instead_of_ending(
    app, line, settings, crew, fake, transport
):
    intake(Phone(app, settings))
    start = line.clock.now()
    tick(line, transport, start)
    with line.db.transaction() as s:
        leave_roster(s, line, ANA, line.clock.now())
        leave_roster(s, line, BEN, line.clock.now())
    tick(line, transport, start + timedelta(minutes=5, seconds=1))
    [alert] = alerts(line)
    assert alert.status == "open" and alert.next_check_at is None
    assert "nobody is on call" in texts_to(fake, FALLBACK)[0].lower()


def test_someone_to_page_means_someone_on_call_or_a_fallback_number(db_url, tmp_path, fake, clock):
    app = create_app(twilio_settings(db_url, tmp_path, fake), clock)
    line = app.extensions["intake"]
    with line.db.sessions() as s:
        assert not oncall.someone_to_page(s, line, line.clock.now())
    add(line, "Ana", ANA)
    with line.db.sessions() as s:
        assert oncall.someone_to_page(s, line, line.clock.now())
    line.db.dispose()
    with_fallback = create_app(
        twilio_settings(db_url, tmp_path, fake, fallback_alert_number=FALLBACK), clock
    )
    other = with_fallback.extensions["intake"]
    with other.db.transaction() as s:
        leave_roster(s, line, ANA, line.clock.now())
    with other.db.sessions() as s:
        assert oncall.someone_to_page(s, other, line.clock.now())
    other.db.dispose()


def test_the_clock_runs_a_tick_with_waiting_alerts_without_error(
    app, line, settings, fake, transport, caplog
):
    intake(Phone(app, settings))
    with caplog.at_level(logging.INFO, logger="intake"):
        scheduler.dispatch_job(line, transport)
        scheduler.dispatch_job(line, transport)
    assert not [r for r in caplog.records if r.getMessage() == "job.error"]
    assert len(texts_to(fake, FALLBACK)) == 1


def test_a_worker_twilio_says_has_unsubscribed_is_skipped_from_then_on(
    line, phone, crew, fake, transport
):
    fake.fail_to(ANA, 21610)
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    tick(line, transport, start + timedelta(seconds=5))  # refused: Ben at once
    assert len(texts_to(fake, BEN)) == 1
    with line.db.sessions() as s:
        assert roster.by_phone(s, ANA).opted_out_at is not None
    tick(line, transport, start + timedelta(minutes=5, seconds=10))  # Ana's turn: skipped
    assert len(texts_to(fake, BEN)) == 2 and texts_to(fake, ANA) == []
    assert [r for r in fake.rejected if r["to"] == ANA][1:] == []
