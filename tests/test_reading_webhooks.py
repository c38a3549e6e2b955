"""Issue 17 through signed webhooks, on both databases: what the caregiver means reaches
the case, the alert and the staff, and nothing irreversible happens on a guess."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.models import Alert, Case, Outbound
from intake.core.words import render
from intake.delivery import dispatcher
from intake.oncall import escalation as oncall
from intake.oncall import paging, roster
from tests.conftest import twilio_settings
from tests.dashboard_helpers import VIEWER, WORKER, make_account, post, sign_in

ANA = "+12125550111"
TWO_KIDS = [
    "my 2 kids didnt come home from the park",
    "yes",
    "Liam and Emma",
    "7 and 5",
    "about an hour ago",
    "Elm Park",
    "blue jacket and a red hat",
    "Springfield PD",
    "mom",
    "SKIP",
    "SAME",
]


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


@pytest.fixture
def crew(line):
    with line.db.transaction() as s:
        roster.add(s, "Ana", ANA)


def tick(line, transport, now):
    oncall.check_due(line, now)
    dispatcher.dispatch(line, transport, now=now, on_failure=paging.page_failed)


def texts_to(fake, number) -> list[str]:
    return [m["body"] for m in fake.messages if m["to"] == number]


def the_case(line) -> Case:
    with line.db.sessions() as s:
        return s.scalars(select(Case)).one()


def the_alert(line) -> Alert:
    with line.db.sessions() as s:
        return s.scalars(select(Alert).order_by(Alert.id.desc())).first()


def pending_followups(line) -> int:
    with line.db.sessions() as s:
        query = select(Outbound).where(Outbound.kind == "followup", Outbound.status == "pending")
        return len(s.scalars(query).all())


def test_one_of_two_children_back_cancels_nothing_and_stands_no_one_down(
    line, phone, crew, fake, transport
):
    for text in TWO_KIDS:
        phone.text(text)
    start = line.clock.now()
    tick(line, transport, start)
    alert_text = texts_to(fake, ANA)[0]
    assert "2 MISSING CHILDREN" in alert_text and "Ages 7, 5" in alert_text
    followups = pending_followups(line)
    assert followups > 0

    asked = phone.reply("shes back")
    assert asked == render("ask_which_child", "en", channel="sms", missing_names=["Liam", "Emma"])
    one = phone.text("Emma")
    assert "Emma" in one[0] and "Liam" in one[0]
    tick(line, transport, start + timedelta(minutes=1))
    case = the_case(line)
    assert case.status == "open"
    assert [c["found"] for c in case.children] == [False, True]
    assert pending_followups(line) == followups
    assert the_alert(line).status != "stood_down"
    assert not any("found" in t for t in texts_to(fake, ANA))

    phone.text("FOUND")  # the last child: now the case ends
    assert the_case(line).status == "found"
    assert pending_followups(line) == 0


def test_police_refusal_is_kept_and_shown_on_the_alert(line, phone, crew, fake, transport):
    phone.text("my daughter is missing")
    reply = phone.text("no they said we have to wait 24 hours")
    assert "no waiting period" in reply[0] and "1-800-843-5678" in reply[0]
    assert the_case(line).police_refused is True
    phone.text("HELP")  # asks for a person: the alert goes out now
    tick(line, transport, line.clock.now())
    assert "Police called: police refused or delayed" in texts_to(fake, ANA)[0]


@pytest.mark.parametrize(
    "first", ["AYUDA", "Llámenme por favor", "necesito hablar con alguien, mi hijo no llega"]
)
def test_a_spanish_first_text_is_answered_in_spanish(phone, line, first):
    replies = phone.text(first)
    assert "Llame ya a la policia" in replies[0]
    assert the_case(line).lang == "es"


def test_a_spanish_text_mid_way_switches_to_spanish(phone, line):
    phone.text("my son is missing")
    replies = phone.text("no entiendo")
    assert any("Llame ya a la policia" in r for r in replies)
    assert the_case(line).lang == "es"


def test_several_children_are_on_the_case_page(app, line, phone, crew):
    for text in TWO_KIDS[:4]:
        phone.text(text)
    case = the_case(line)
    assert [(c["name"], c["age_months"]) for c in case.children] == [("Liam", 84), ("Emma", 60)]
    client = app.test_client()
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    page = client.get(f"/dashboard/cases/{case.ref}").get_data(as_text=True)
    assert "2 children" in page and "Liam (7); Emma (5)" in page
    listed = client.get("/dashboard/").get_data(as_text=True)
    assert "2 children: 7, 5" in listed


def test_a_non_answer_is_not_kept_as_the_childs_name(phone, line):
    phone.text("my son is missing")
    phone.text("yes")
    phone.text("hmm")
    phone.text("idk")
    assert the_case(line).child_name is None
    phone.text("Eli")
    assert the_case(line).child_name == "Eli"


def test_what_happens_now_after_the_intake_gets_an_answer(phone, line, crew):
    for text in TWO_KIDS:
        phone.text(text)
    reply = phone.reply("what happens now??")
    assert "person on call" in reply and "We added this" not in reply


def test_group_home_staff_hear_their_note_in_the_first_two_replies(phone, line):
    first = phone.reply("I work at the group home, one of our residents ran off")
    assert "Call police" in first  # the safety message first, within its budget
    assert the_case(line).relationship_to_child == "group_home"
    second = phone.reply("yes")
    assert "caseworker or agency" in second
    assert "How are you related" not in phone.reply("Jasmine") + phone.reply("15")


def test_staff_mark_one_child_of_two_found_and_the_case_stays_open(app, line, phone, client):
    for text in TWO_KIDS:
        phone.text(text)
    with line.db.transaction() as s:
        roster.add(s, "Ana", ANA)
    make_account(line, WORKER, phone=ANA)
    sign_in(client, WORKER)
    ref = the_case(line).ref
    page = f"/dashboard/cases/{ref}"
    shown = client.get(page).get_data(as_text=True)
    assert "Mark Liam found" in shown and "Mark Emma found" in shown
    followups = pending_followups(line)
    post(client, f"{page}/found", page, child="1")
    case = the_case(line)
    assert case.status == "open" and [c["found"] for c in case.children] == [False, True]
    assert pending_followups(line) == followups
    assert "Mark Emma found" not in client.get(page).get_data(as_text=True)
    post(client, f"{page}/found", page, child="0")
    assert the_case(line).status == "found" and pending_followups(line) == 0


def test_staff_found_by_text_asks_which_child_of_two(app, line, phone, settings, crew):
    from tests.conftest import Phone

    for text in TWO_KIDS:
        phone.text(text)
    ref = the_case(line).ref
    followups = pending_followups(line)
    ana = Phone(app, settings, number=ANA)
    asked = ana.reply(f"FOUND {ref}")
    assert "Liam, Emma" in asked and "Nothing has stopped" in asked
    assert the_case(line).status == "open" and pending_followups(line) == followups
    one = ana.reply(f"FOUND {ref} emma")
    assert "Emma" in one and "stays open" in one
    case = the_case(line)
    assert case.status == "open" and [c["found"] for c in case.children] == [False, True]
    assert pending_followups(line) == followups
    ana.reply(f"FOUND {ref}")  # one child left: it is clear which
    assert the_case(line).status == "found" and pending_followups(line) == 0
