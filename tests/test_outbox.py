"""Durable sending and follow-ups, through the real twilio client to a local fake Twilio."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from intake.app import create_app
from intake.cases.followups import send_times
from intake.core import outbox
from intake.core.models import Caller, Case, Outbound
from intake.core.outbox import after_quiet_hours
from intake.delivery import dispatcher
from intake.infra import signing
from intake.infra.transport import LocalTransport, Outgoing, TwilioTransport
from tests.conftest import (
    ACCOUNT,
    BASE_URL,
    LINE_NUMBER,
    Phone,
    make_settings,
    signed_post,
    twilio_settings,
)
from tests.test_sms_webhook import intake as text_intake

NY = ZoneInfo("America/New_York")


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


@pytest.fixture
def transport(settings):
    return TwilioTransport(settings, timeout=1.0)


def intake(phone) -> None:
    """A whole intake by text, its card already out: the card goes at once and is tested
    in tests/test_card.py; these tests follow the follow-up plan and the other texts."""
    text_intake(phone)
    line = phone.app.extensions["intake"]
    with line.db.transaction() as s:
        s.execute(update(Outbound).where(Outbound.kind == outbox.CARD).values(status="sent"))


def rows(line, **where) -> list[Outbound]:
    """The outbox's rows (but the card, see `intake`), oldest first."""
    query = select(Outbound).where(Outbound.kind != outbox.CARD).order_by(Outbound.id)
    for key, value in where.items():
        query = query.where(getattr(Outbound, key) == value)
    with line.db.sessions() as s:
        return list(s.scalars(query))


def completed_at(line) -> datetime:
    with line.db.sessions() as s:
        return s.scalar(select(Case.completed_at))


def later(line, minutes: float) -> datetime:
    return completed_at(line) + timedelta(minutes=minutes)


# --- the plan -----------------------------------------------------------------------


def test_a_completed_intake_schedules_the_follow_up_plan(line, phone):
    intake(phone)
    plan = rows(line, kind="followup")
    assert [r.template for r in plan] == [f"followup_{n}" for n in range(1, 7)]
    assert all(r.status == "pending" and r.to_phone == phone.number for r in plan)
    start = completed_at(line)
    offsets = [r.send_at - start for r in plan]
    assert offsets[:4] == [
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=8),
    ]
    for row in plan[4:]:  # after the first day: never between 21:00 and 08:00 local
        local = row.send_at.astimezone(NY).time()
        assert local.hour >= 8 and local.hour < 21


def test_an_unfinished_intake_schedules_nothing(line, phone):
    phone.text("my son is missing")
    phone.text("Leo")
    assert rows(line) == []


@pytest.mark.parametrize(
    "local, expected",
    [
        ("2026-03-02 12:00", "2026-03-02 12:00"),
        ("2026-03-02 20:59", "2026-03-02 20:59"),
        ("2026-03-02 21:00", "2026-03-03 08:00"),
        ("2026-03-02 23:30", "2026-03-03 08:00"),
        ("2026-03-03 03:15", "2026-03-03 08:00"),
        ("2026-03-08 02:30", "2026-03-08 08:00"),  # the night clocks spring forward
    ],
)
def test_quiet_hours_move_a_text_to_eight_in_the_morning(local, expected):
    at = datetime.fromisoformat(local).replace(tzinfo=NY).astimezone(UTC)
    moved = after_quiet_hours(at, NY).astimezone(NY)
    assert moved.strftime("%Y-%m-%d %H:%M") == expected


def test_only_follow_ups_after_the_first_day_wait_for_morning():
    start = datetime(2026, 3, 2, 23, 0, tzinfo=NY).astimezone(UTC)  # 11 p.m.
    offsets = (timedelta(minutes=15), timedelta(hours=8), timedelta(hours=24), timedelta(hours=48))
    times = [t.astimezone(NY) for t in send_times(start, offsets, NY)]
    assert times[0].strftime("%H:%M") == "23:15"  # the first night: replies are fine
    assert times[1].strftime("%H:%M") == "07:00"
    assert times[2].strftime("%d %H:%M") == "04 08:00"
    assert times[3].strftime("%d %H:%M") == "05 08:00"


def test_a_day_two_follow_up_claimed_at_night_waits_for_morning(line, phone, fake, transport):
    intake(phone)
    start = completed_at(line)
    night = start + timedelta(days=3)
    night = night.astimezone(NY).replace(hour=2, minute=30).astimezone(UTC)
    dispatcher.dispatch(line, transport, now=night)  # a worker that was down for days
    sent = [m["body"] for m in fake.messages]
    plan = rows(line, kind="followup")
    assert len(sent) == 4  # the first-day texts go; replies to a texting caller may
    for row in plan[4:]:
        assert row.status == "pending" and row.attempts == 0
        assert row.send_at.astimezone(NY).strftime("%H:%M") == "08:00"
    morning = plan[4].send_at
    dispatcher.dispatch(line, transport, now=morning)
    assert len(fake.messages) == 6


# --- sending --------------------------------------------------------------------------


def test_due_follow_ups_go_out_through_twilio_with_a_status_callback(line, phone, fake, transport):
    intake(phone)
    report = dispatcher.dispatch(line, transport, now=later(line, 16))
    assert report.sent == 1
    [message] = fake.messages
    sent = rows(line, status="sent")[0]
    assert message["to"] == phone.number and message["from_"] == LINE_NUMBER
    assert message["sid"] == sent.twilio_sid
    with line.db.sessions() as s:
        ref = s.scalar(select(Case.ref))
    assert ref in message["body"] and "FOUND" in message["body"]
    assert message["status_callback"] == f"{BASE_URL}/twilio/status?outbox={sent.id}"


def test_nothing_goes_out_before_it_is_due(line, phone, fake, transport):
    intake(phone)
    assert dispatcher.dispatch(line, transport, now=later(line, 14)).sent == 0
    assert fake.messages == []


def test_follow_ups_go_out_in_the_callers_language(app, line, settings, fake, transport):
    phone = Phone(app, settings)
    phone.text("Hola, mi hijo esta perdido")
    for answer in [
        "si",
        "Leo",
        "7",
        "hace 2 horas",
        "el parque",
        "camisa roja, pelo negro",
        "SALTAR",
        "1",
        "SALTAR",
        "MISMO",
    ]:
        phone.text(answer)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    bodies = [m["body"] for m in fake.messages]  # the card, then the first follow-up
    assert bodies[0].startswith("Lea esto a la policia y a NCMEC")
    assert bodies[1].startswith("Caso ") and "ENCONTRADO" in bodies[1]


def test_found_cancels_every_pending_follow_up(line, phone, fake, transport):
    intake(phone)
    phone.text("FOUND")
    assert {r.status for r in rows(line, kind="followup")} == {"cancelled"}
    assert dispatcher.dispatch(line, transport, now=later(line, 60 * 72)).sent == 0
    assert fake.messages == []


def test_stop_cancels_everything_for_that_number(line, phone, transport, fake):
    intake(phone)
    phone.text("STOP")
    assert {r.status for r in rows(line)} == {"cancelled"}
    dispatcher.dispatch(line, transport, now=later(line, 60 * 72))
    assert fake.messages == []


def test_a_case_closed_by_staff_cancels_its_follow_ups(line, phone):
    from intake.cases import lifecycle as cases

    intake(phone)
    with line.db.transaction() as s:
        cases.close(s, s.scalars(select(Case)).one(), line.clock.now())
    told = [r for r in rows(line) if r.kind == cases.CAREGIVER_TOLD]
    assert [r.template for r in told] == ["case_closed"]  # the caregiver hears it, once
    assert {r.status for r in rows(line) if r.kind != cases.CAREGIVER_TOLD} == {"cancelled"}


def test_21610_marks_the_caller_opted_out_and_cancels_their_texts(line, phone, fake, transport):
    intake(phone)
    fake.fail_to(phone.number, 21610)
    report = dispatcher.dispatch(line, transport, now=later(line, 16))
    assert report.failed == 1
    plan = rows(line)
    assert plan[0].status == "failed" and "21610" in plan[0].last_error
    assert {r.status for r in plan[1:]} == {"cancelled"}
    with line.db.sessions() as s:
        assert s.scalar(select(Caller.opted_out_at)) is not None


@pytest.mark.parametrize("code", [21211, 21614, 21408])
def test_a_permanent_error_fails_once_and_shows_on_the_case(line, phone, fake, transport, code):
    intake(phone)
    fake.fail_to(phone.number, code)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    first = rows(line)[0]
    assert first.status == "failed" and first.error_code == code and first.attempts == 1
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        failed = [
            r
            for r in s.scalars(select(Outbound).where(Outbound.case_id == case.id))
            if r.status == "failed"
        ]
    assert len(failed) == 1
    assert dispatcher.dispatch(line, transport, now=later(line, 17)).ids == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_retry_with_backoff(line, phone, fake, transport, status):
    intake(phone)
    fake.fail_next(1, status)
    now = later(line, 16)
    assert dispatcher.dispatch(line, transport, now=now).retried == 1
    row = rows(line)[0]
    assert row.status == "pending" and row.attempts == 1 and row.send_at > now
    assert dispatcher.dispatch(line, transport, now=now + timedelta(seconds=5)).ids == []
    assert dispatcher.dispatch(line, transport, now=row.send_at).sent == 1
    assert len(fake.messages) == 1


def test_a_timeout_is_retried(line, phone, fake, settings):
    intake(phone)
    fake.delay_next(1, 2.0)
    quick = TwilioTransport(settings, timeout=0.3)
    now = later(line, 16)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    assert "network" in rows(line)[0].last_error


def test_nothing_is_retried_forever(line, phone, fake, transport):
    intake(phone)
    fake.fail_to(phone.number, 20500, status=500)
    now = later(line, 16)
    for _ in range(dispatcher.MAX_ATTEMPTS + 2):
        dispatcher.dispatch(line, transport, now=now)
        now += dispatcher.BACKOFF_MOST * 2
    first = rows(line)[0]
    assert first.status == "failed" and first.attempts == dispatcher.MAX_ATTEMPTS


def test_a_restart_loses_nothing_late_ones_go_at_once_and_none_twice(settings, phone, fake, line):
    intake(phone)
    start = completed_at(line)
    dispatcher.dispatch(line, TwilioTransport(settings), now=start + timedelta(hours=2))
    assert len(fake.messages) == 2
    restarted = create_app(settings).extensions["intake"]  # a new process, same database
    noon = (start + timedelta(days=4)).astimezone(NY).replace(hour=12).astimezone(UTC)
    report = dispatcher.dispatch(restarted, TwilioTransport(settings), now=noon)
    assert report.sent == 4
    assert sorted(m["body"] for m in fake.messages) == sorted(
        r.body for r in rows(line, status="sent")
    )
    assert len({m["body"] for m in fake.messages}) == 6
    restarted.db.dispose()


def test_a_row_left_sending_by_a_dead_worker_is_sent_after_its_lease(line, phone, fake, transport):
    intake(phone)
    now = later(line, 16)
    claimed = outbox.claim(line.db, line, now)  # a worker claims, then dies
    assert len(claimed) == 1
    assert dispatcher.dispatch(line, transport, now=now + timedelta(seconds=30)).ids == []
    report = dispatcher.dispatch(
        line, transport, now=now + line.settings.send_lease + timedelta(seconds=1)
    )
    assert report.sent == 1 and len(fake.messages) == 1


# --- two dispatchers, many rows ---------------------------------------------------------


def fill(line, count: int, now: datetime) -> None:
    with line.db.transaction() as s:
        for n in range(count):
            outbox.enqueue(
                s,
                kind="test",
                to=f"+1212555{n % 10000:04d}",
                body=f"row {n}",
                send_at=now - timedelta(seconds=1),
                channel="sms",
            )


def test_two_dispatchers_send_a_thousand_due_rows_each_exactly_once(line, settings, fake):
    now = line.clock.now()
    fill(line, 1000, now)
    lines = [create_app(settings).extensions["intake"] for _ in range(2)]

    def work(worker_line) -> None:
        transport = TwilioTransport(settings)
        while dispatcher.dispatch(worker_line, transport, now=now, limit=50).ids:
            pass

    threads = [threading.Thread(target=work, args=(w,)) for w in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = [m["body"] for m in fake.messages]
    assert len(bodies) == 1000 and len(set(bodies)) == 1000
    assert {r.status for r in rows(line)} == {"sent"}
    for w in lines:
        w.db.dispose()


# --- delivery status ---------------------------------------------------------------------


def post_status(app, params: dict[str, str], query: str = ""):
    return signed_post(app, "/twilio/status" + (f"?{query}" if query else ""), params)


def test_a_status_callback_records_delivery_on_the_row(app, line, phone, transport):
    intake(phone)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    sent = rows(line, status="sent")[0]
    params = {"MessageSid": sent.twilio_sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
    assert post_status(app, params, f"outbox={sent.id}").status_code == 204
    late = dict(params, MessageStatus="sent")  # arrives after "delivered": ignored
    assert post_status(app, late, f"outbox={sent.id}").status_code == 204
    assert rows(line, id=sent.id)[0].delivery_status == "delivered"


def test_an_undelivered_status_marks_the_row_failed_with_its_code(app, line, phone, transport):
    intake(phone)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    sent = rows(line, status="sent")[0]
    params = {"MessageSid": sent.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    post_status(app, params, f"outbox={sent.id}")
    row = rows(line, id=sent.id)[0]
    assert (row.status, row.error_code) == ("failed", 30003)


def test_a_callback_for_a_send_whose_commit_was_lost_marks_it_sent(app, line, phone):
    intake(phone)
    [claimed] = outbox.claim(line.db, line, later(line, 16))  # Twilio took it; we crashed
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent"}
    post_status(app, params, f"outbox={claimed.id}")
    row = rows(line, id=claimed.id)[0]
    assert (row.status, row.twilio_sid) == ("sent", "SM" + "a" * 32)


def test_a_forged_status_callback_changes_nothing(app, line, phone, transport):
    intake(phone)
    dispatcher.dispatch(line, transport, now=later(line, 16))
    sent = rows(line, status="sent")[0]
    params = {"MessageSid": sent.twilio_sid, "MessageStatus": "failed"}
    response = app.test_client().post(
        "/twilio/status", data=params, headers={signing.SIGNATURE_HEADER: "forged"}
    )
    assert response.status_code == 403
    assert rows(line, id=sent.id)[0].status == "sent"


def test_a_status_callback_without_fields_is_400(app):
    assert post_status(app, {"MessageSid": "SM1"}).status_code == 400


# --- without Twilio ---------------------------------------------------------------------


def test_without_credentials_the_local_transport_keeps_texts_in_the_outbox(db_url, tmp_path):
    local_app = create_app(make_settings(db_url, tmp_path))
    local = local_app.extensions["intake"]
    phone = Phone(local_app, local.settings)
    intake(phone)
    report = dispatcher.dispatch(local, LocalTransport(), now=later(local, 61))
    assert report.sent == 2
    sent = rows(local, status="sent")
    assert all(r.twilio_sid.startswith("LOCAL") and r.body for r in sent)
    local.db.dispose()


def test_a_batch_that_outruns_half_its_lease_hands_the_rest_back(settings, fake):
    from dataclasses import replace

    slow = create_app(replace(settings, send_lease=timedelta(seconds=2), send_concurrency=1))
    line = slow.extensions["intake"]
    now = line.clock.now()
    fill(line, 12, now)
    fake.delay_next(12, 0.25)  # 12 sends of 0.25 s outrun the 1 s left of a 2 s lease
    report = dispatcher.dispatch(line, TwilioTransport(line.settings), now=now)
    handed_back = rows(line, status="pending")
    assert 0 < report.sent < 12 and len(handed_back) == 12 - report.sent
    assert all(r.attempts == 0 and r.lease_until is None for r in handed_back)
    for _ in range(50):  # later ticks send the rest (how many depends on the machine's speed)
        if not rows(line, status="pending"):
            break
        dispatcher.dispatch(line, TwilioTransport(line.settings), now=now)
    bodies = [m["body"] for m in fake.messages]
    assert len(bodies) == len(set(bodies)) == 12
    line.db.dispose()


def test_start_after_stop_brings_back_the_follow_ups_still_ahead(line, phone, fake, transport):
    intake(phone)
    phone.text("STOP")
    phone.text("START")
    plan = rows(line, kind="followup")
    assert {r.status for r in plan} == {"pending"}
    dispatcher.dispatch(line, transport, now=later(line, 16))
    assert len(fake.messages) == 1


# --- an answer lost after Twilio took the text --------------------------------------------

TO = "+12125557788"


def one_row(line, body: str = "hello", **extra) -> datetime:
    """A text due now (`channel="voice"` in `extra` for a call)."""
    now = line.clock.now()
    with line.db.transaction() as s:
        outbox.enqueue(
            s,
            kind="test",
            to=TO,
            body=body,
            send_at=now - timedelta(seconds=1),
            **{"channel": "sms", **extra},
        )
    return now


def wait_until(condition, within: float = 10.0) -> None:
    """Wait for the fake Twilio's server threads to catch up (a loaded machine is slow)."""
    done, deadline = threading.Event(), time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the fake Twilio never got there"
        done.wait(0.02)


# Only the first send of these tests is cut short (`quick`); the lookups and sends after it
# use the usual client, so a slow machine cannot turn them into timeouts too.


def test_a_text_twilio_took_before_a_timeout_is_found_not_sent_again(
    line, fake, settings, transport
):
    now = one_row(line)
    fake.hang_next(1, 2.0)
    quick = TwilioTransport(settings, timeout=0.3)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    [row] = rows(line)
    assert row.unsure and row.tried_at is not None and "network" in row.last_error
    wait_until(lambda: len(fake.messages) == 1)  # Twilio has it; the line does not know
    report = dispatcher.dispatch(line, transport, now=row.send_at)
    assert (report.sent, report.found) == (1, 1)
    [row] = rows(line)
    assert len(fake.messages) == 1
    assert (row.status, row.twilio_sid, row.unsure) == ("sent", fake.messages[0]["sid"], False)


def test_a_timeout_before_twilio_took_it_is_sent_again_after_the_lookup(
    line, fake, settings, transport
):
    now = one_row(line)
    fake.delay_next(1, 1.0)
    fake.fail_next(1, 500)  # answered (too late) with an error: nothing was created
    quick = TwilioTransport(settings, timeout=0.3)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    wait_until(lambda: len(fake.rejected) == 1)
    report = dispatcher.dispatch(line, transport, now=rows(line)[0].send_at)
    assert (report.sent, report.found) == (1, 0)
    assert len(fake.messages) == 1 and rows(line)[0].twilio_sid == fake.messages[0]["sid"]


def test_a_lookup_never_takes_a_text_another_row_was_sent_as(line, fake, settings, transport):
    now = one_row(line, body="same words")
    assert dispatcher.dispatch(line, transport, now=now).sent == 1
    now = one_row(line, body="same words")
    fake.delay_next(1, 1.0)
    fake.fail_next(1, 500)
    quick = TwilioTransport(settings, timeout=0.3)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    wait_until(lambda: len(fake.rejected) == 1)
    report = dispatcher.dispatch(line, transport, now=rows(line)[1].send_at)
    assert (report.sent, report.found) == (1, 0)
    assert len(fake.messages) == 2
    assert {r.twilio_sid for r in rows(line)} == {m["sid"] for m in fake.messages}


def test_a_lookup_that_fails_sends_nothing_and_stays_unsure(line, fake, settings, transport):
    now = one_row(line)
    fake.hang_next(1, 2.0)
    quick = TwilioTransport(settings, timeout=0.3)
    dispatcher.dispatch(line, quick, now=now)
    wait_until(lambda: len(fake.messages) == 1)
    fake.random_faults(seed=1, error_500=1.0)  # every request, the lookup too, fails
    report = dispatcher.dispatch(line, transport, now=rows(line)[0].send_at)
    assert report.retried == 1 and len(fake.messages) == 1
    [row] = rows(line)
    assert row.unsure and row.last_error.startswith("lookup:")
    fake.clear_failures()
    assert dispatcher.dispatch(line, transport, now=row.send_at).found == 1
    assert len(fake.messages) == 1


def test_a_row_whose_worker_died_mid_send_is_looked_up_first(line, fake, transport):
    now = one_row(line)
    [claimed] = outbox.claim(line.db, line, now)  # a worker claims, sends, dies unrecorded
    sid = transport.send_sms(Outgoing(to=claimed.to, body=claimed.body))
    report = dispatcher.dispatch(
        line, transport, now=now + line.settings.send_lease + timedelta(seconds=1)
    )
    assert (report.sent, report.found) == (1, 1)
    assert len(fake.messages) == 1 and rows(line)[0].twilio_sid == sid


def test_an_alert_call_twilio_placed_before_a_timeout_is_not_placed_again(
    line, fake, settings, transport
):
    now = one_row(line, body="", channel="voice", params={"call_url": BASE_URL + "/voice/x"})
    fake.hang_next(1, 2.0)
    quick = TwilioTransport(settings, timeout=0.3)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    wait_until(lambda: len(fake.calls) == 1)
    report = dispatcher.dispatch(line, transport, now=rows(line)[0].send_at)
    assert (report.sent, report.found) == (1, 1)
    assert len(fake.calls) == 1 and rows(line)[0].twilio_sid == fake.calls[0]["sid"]


def test_only_a_request_that_may_have_arrived_is_ambiguous(db_url, tmp_path, fake, settings):
    from intake.infra.transport import SendError

    message = Outgoing(to=TO, body="hi")
    fake.hang_next(1, 2.0)
    with pytest.raises(SendError) as timed_out:
        TwilioTransport(settings, timeout=0.3).send_sms(message)
    assert timed_out.value.ambiguous and timed_out.value.retry
    closed = make_settings(
        db_url,
        tmp_path,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
        twilio_api_base_url="http://127.0.0.1:9",  # nothing listens: refused
    )
    with pytest.raises(SendError) as refused:
        TwilioTransport(closed, timeout=0.3).send_sms(message)
    assert refused.value.retry and not refused.value.ambiguous
    fake.fail_next(1, 500)
    with pytest.raises(SendError) as error:
        TwilioTransport(settings, timeout=1.0).send_sms(message)
    assert error.value.retry and not error.value.ambiguous


def test_an_unsure_follow_up_is_looked_up_in_the_words_it_was_sent_in(
    line, phone, fake, settings, transport
):
    intake(phone)
    now = later(line, 16)
    fake.hang_next(1, 2.0)  # Twilio took follow-up 1; its answer came too late
    quick = TwilioTransport(settings, timeout=0.3)
    assert dispatcher.dispatch(line, quick, now=now).retried == 1
    wait_until(lambda: len(fake.messages) == 1)
    english = fake.messages[0]["body"]
    phone.text("ESPANOL")  # then the caregiver chose Spanish
    [row] = rows(line, kind="followup", attempts=1)
    report = dispatcher.dispatch(line, transport, now=row.send_at)
    assert (report.sent, report.found) == (1, 1)
    assert [m["body"] for m in fake.messages] == [english]  # sent once, in English
    row = rows(line, id=row.id)[0]
    assert (row.status, row.body, row.twilio_sid) == ("sent", english, fake.messages[0]["sid"])
