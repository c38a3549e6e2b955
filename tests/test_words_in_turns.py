"""The words a caller gets depend on what they told us: walked through signed webhooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.models import Case, Outbound
from intake.core.words import render
from tests.conftest import Phone, make_settings

ORG = "Bright Path Family Services"
BEFORE_ROLE = ["my son is missing", "yes", "Leo", "AGE", "2 hours ago", "the park", "red coat"]


def walk(phone: Phone, age: str = "7", role: str = "1", callback: str = "SAME") -> list[str]:
    """A whole intake; returns every reply."""
    replies = []
    for text in [*BEFORE_ROLE, "SKIP", role, "SKIP", callback]:
        replies += phone.text(age if text == "AGE" else text)
    return replies


def the_case(app) -> Case:
    with app.extensions["intake"].db.sessions() as s:
        return s.scalars(select(Case)).one()


def followup_params(app) -> list[dict]:
    with app.extensions["intake"].db.sessions() as s:
        query = select(Outbound.params).where(Outbound.kind == "followup").order_by(Outbound.id)
        return list(s.scalars(query))


def words(name: str, **params) -> str:
    return render(
        name, "en", channel="sms", org=ORG, ref=params.pop("ref", ""), child_name="", **params
    )


def test_foster_parents_are_told_to_call_their_caseworker(app, phone):
    replies = walk(phone, role="foster mom")
    assert any(words("note_foster") in r for r in replies)


def test_parents_get_no_note_about_agencies(app, phone):
    replies = walk(phone, role="1")
    assert not any(words("note_foster") in r for r in replies)
    assert not any(words("note_caseworker_duty") in r for r in replies)


def test_the_last_reply_announces_the_tips_and_says_the_line_reports_nothing(app, phone):
    summary = walk(phone)[-1]
    ref = the_case(app).ref
    assert summary == words("summary", ref=ref, police_called=True, followups=True)
    assert summary != words("summary", ref=ref, police_called=True, followups=False)


@pytest.fixture
def quiet_settings(db_url, tmp_path):
    return make_settings(db_url, tmp_path, followup_schedule=())


def test_with_follow_ups_off_no_tips_are_promised(quiet_settings):
    from intake.app import create_app

    app = create_app(quiet_settings)
    summary = walk(Phone(app, quiet_settings))[-1]
    ref = the_case(app).ref
    assert summary == words("summary", ref=ref, police_called=True, followups=False)
    assert followup_params(app) == []
    app.extensions["intake"].db.dispose()


@pytest.mark.parametrize(
    ("age", "role", "early"),
    [("7", "1", False), ("15", "1", True), ("7", "2", True), ("7", "3", True), ("12", "4", True)],
)
def test_teenagers_and_children_in_care_hear_of_the_runaway_line_early(
    app, phone, age, role, early
):
    walk(phone, age=age, role=role)
    params = followup_params(app)
    assert params and all(p["runaway_early"] is early for p in params)


def test_the_first_follow_up_says_to_search_the_home(app, phone):
    walk(phone)
    first = render("followup_1", "en", channel="sms", org=ORG, **followup_params(app)[0])
    assert "closet" in first.lower()


@pytest.mark.parametrize(("role", "specialist"), [("3", True), ("1", False), ("2", False)])
def test_found_names_family_support_and_for_agency_staff_the_specialist(
    app, phone, role, specialist
):
    walk(phone, role=role)
    found = phone.reply("FOUND")
    ref = the_case(app).ref
    relationship = {"1": "parent", "2": "foster", "3": "caseworker"}[role]
    assert found == words("found", ref=ref, relationship=relationship)
    agency = words("found", ref=ref, relationship="caseworker")
    family = words("found", ref=ref, relationship="parent")
    assert agency != family  # the trafficking specialist is named for agency staff only
    assert (found == agency) is specialist


def test_follow_ups_keep_their_order_in_time(app, phone):
    walk(phone)
    with app.extensions["intake"].db.sessions() as s:
        rows = s.scalars(
            select(Outbound).where(Outbound.kind == "followup").order_by(Outbound.id)
        ).all()
    assert [r.template for r in rows] == [f"followup_{n}" for n in range(1, 7)]
    gaps = [b.send_at - a.send_at for a, b in zip(rows, rows[1:], strict=False)]
    assert all(gap > timedelta(0) for gap in gaps)
