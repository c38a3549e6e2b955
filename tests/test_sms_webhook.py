"""The SMS line end to end: signed Twilio requests, a real database, TwiML back."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from intake.core.models import Caller, Case, CaseMedia, Message
from intake.core.words import facts, render
from tests.conftest import CALLER

POLICE = facts()["police"]
NCMEC = facts()["ncmec_digits"]
ORG = "Bright Path Family Services"
PHOTO_URL = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1"

ANSWERS = [
    "yes",
    "Mia Lopez",
    "seven",
    "about 2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet tall, brown ponytail",
    "Springfield PD report 24-1187",
    "1",
]


def session(app):
    return app.extensions["intake"].db.sessions()


def count(app, model) -> int:
    with session(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def the_case(app) -> Case:
    with session(app) as s:
        query = select(Case).options(selectinload(Case.media), selectinload(Case.messages))
        return s.scalars(query.order_by(Case.id.desc())).first()


def intake(phone, photo: bool = True) -> str:
    """A whole intake; returns the summary text."""
    phone.text("my daughter is missing")
    for answer in ANSWERS:
        phone.text(answer)
    if photo:
        phone.text("", media=[PHOTO_URL])
    else:
        phone.text("SKIP")
    return phone.reply("SAME")


def test_first_reply_says_call_police_and_ncmec_before_any_question(phone):
    reply = phone.reply("please help my son is missing")
    assert POLICE in reply and NCMEC in reply
    assert "waiting period" in reply
    assert "?" not in reply[: reply.index(NCMEC)]
    assert reply.rstrip().endswith(
        render("ask_police", "en", channel="sms")
    )  # police first, then the child


def test_a_whole_intake_is_kept_on_a_case(app, phone):
    summary = intake(phone)
    case = the_case(app)
    assert case.ref in summary and NCMEC in summary and "FOUND" in summary
    assert case.status == "open" and case.completed_at is not None
    assert case.child_name == "Mia Lopez"
    assert case.age_months == 84
    assert case.last_seen_when == "about 2 hours ago"
    assert case.last_seen_at is not None
    assert case.last_seen_where == "Elm Park, Springfield"
    assert case.police_called is True
    assert case.police_report == "Springfield PD report 24-1187"
    assert case.relationship_to_child == "parent"
    assert case.callback_phone == CALLER
    assert [(m.url, m.content_type) for m in case.media] == [(PHOTO_URL, "image/jpeg")]
    incoming = [m for m in case.messages if m.direction == "in"]
    assert len(incoming) == len(phone.sent)
    assert all(m.twilio_sid for m in incoming)


def test_answers_are_saved_as_they_come_not_only_at_the_end(app, phone):
    phone.text("my son is missing")
    phone.text("yes")
    phone.text("Leo")
    phone.text("18 months")
    case = the_case(app)
    assert case.status == "intake"
    assert (case.police_called, case.child_name, case.age_months) == (True, "Leo", 18)


def test_nonsense_is_asked_again_in_plain_words(phone):
    phone.text("missing child")
    phone.text("yes")
    phone.text("Leo")
    again = phone.reply("???")
    assert "age" in again.lower() and "7" in again


def test_police_not_called_is_urged_with_911_then_asked_again(phone):
    phone.text("missing child")
    urge = phone.reply("no")
    assert POLICE in urge and "waiting period" in urge and "YES or NO" in urge
    reminder = phone.reply("not yet")
    assert POLICE in reminder and "now" in reminder.lower()
    assert reminder.rstrip().endswith(render("ask_name", "en", channel="sms"))


def test_caseworkers_hear_of_their_24_hour_duty(phone):
    phone.text("missing child")
    for answer in ANSWERS[:7]:
        phone.text(answer)
    reply = phone.reply("I am her caseworker")
    assert "24 hours" in reply and NCMEC in reply


def test_spanish_first_message_is_answered_in_spanish(app, phone):
    reply = phone.reply("Hola, mi hija esta perdida")
    assert "policia" in reply.lower() and NCMEC in reply
    assert the_case(app).lang == "es"


def test_language_switch_keywords(phone):
    phone.text("my son is missing")
    phone.text("yes")
    spanish = phone.reply("ESPAÑOL")
    assert (
        render("welcome", "es", channel="sms", org=ORG) in spanish
    )  # the safety message, now in Spanish
    assert spanish.rstrip().endswith(render("ask_name", "es", channel="sms"))
    english = phone.reply("english")
    assert english.rstrip().endswith(render("ask_name", "en", channel="sms"))
    assert (
        render("welcome", "en", channel="sms", org=ORG) not in english
    )  # had it in English already


def test_stop_records_opt_out_and_sends_nothing(app, phone):
    phone.text("my son is missing")
    assert phone.text("STOP") == []
    with session(app) as s:
        assert s.scalar(select(Caller.opted_out_at)) is not None
    assert "again" in phone.reply("START").lower()
    with session(app) as s:
        assert s.scalar(select(Caller.opted_out_at)) is None


def test_help_gives_the_line_and_how_to_stop(phone):
    phone.text("my son is missing")
    reply = phone.reply("HELP")
    assert ORG in reply and "STOP" in reply and POLICE in reply
    assert reply.rstrip().endswith(render("ask_police", "en", channel="sms"))


def test_found_marks_the_case_found_and_says_what_to_do_next(app, phone):
    intake(phone)
    reply = phone.reply("found")
    case = the_case(app)
    assert case.status == "found" and case.found_at is not None
    assert "police" in reply.lower() and NCMEC in reply


def test_restart_starts_a_new_case(app, phone):
    phone.text("my son is missing")
    phone.text("yes")
    phone.text("Leo")
    restart = phone.reply("RESTART")
    assert POLICE in restart
    with session(app) as s:
        statuses = s.scalars(select(Case.status).order_by(Case.id)).all()
    assert statuses == ["abandoned", "intake"]


def test_texts_after_the_intake_attach_to_the_open_case(app, phone):
    intake(phone)
    reply = phone.reply("She may be at her friend Ana's house")
    case = the_case(app)
    assert case.ref in reply
    assert count(app, Case) == 1
    assert case.messages[-2].body == "She may be at her friend Ana's house"


def test_a_twilio_retry_gets_the_same_answer_and_changes_nothing(app, phone):
    phone.text("my son is missing")
    first = phone.post(phone.sent[0])
    before = (count(app, Message), count(app, Case))
    with session(app) as s:
        state = s.scalar(select(Caller.state))
    again = phone.post(phone.sent[0])
    assert first.get_data() == again.get_data()
    assert (count(app, Message), count(app, Case)) == before
    with session(app) as s:
        assert s.scalar(select(Caller.state)) == state


def test_a_photo_is_kept_with_its_url_and_type(app, phone):
    intake(phone, photo=True)
    with session(app) as s:
        media = s.scalars(select(CaseMedia)).all()
    assert [(m.url, m.content_type) for m in media] == [(PHOTO_URL, "image/jpeg")]


def test_a_clear_new_report_after_staff_closed_the_case_starts_a_new_intake(app, phone):
    from intake.cases import lifecycle as case_service

    intake(phone)
    with session(app) as s, s.begin():
        now = app.extensions["intake"].clock.now()
        case_service.close(s, s.scalars(select(Case)).one(), now)
    reply = phone.reply("my son is missing now too")
    assert POLICE in reply and NCMEC in reply
    assert count(app, Case) == 2


def test_found_names_another_case_of_the_caller_that_is_still_open(app, phone):
    first = intake(phone)
    phone.text("RESTART")  # a second child
    for answer in ANSWERS:
        phone.text(answer)
    phone.text("SKIP")
    phone.text("SAME")
    replies = phone.reply("FOUND")
    with session(app) as s:
        refs = dict(s.execute(select(Case.status, Case.ref).order_by(Case.id)).all())
    assert refs["open"] in first and refs["open"] in replies and "FOUND again" in replies
    phone.text("FOUND")
    with session(app) as s:
        assert set(s.scalars(select(Case.status))) == {"found"}


def test_another_child_reported_after_the_intake_is_told_how_to_report_that_child(app, phone):
    intake(phone)
    first = the_case(app)
    told = phone.reply("now my son is missing too, he never came home")
    assert first.ref in told and "RESTART" in told  # kept on the first case, and told how
    assert count(app, Case) == 1
    assert render("ask_police", "en", channel="sms") in phone.reply("RESTART")
    with session(app) as s:
        statuses = s.execute(select(Case.ref, Case.status).order_by(Case.id)).all()
    assert [tuple(row) for row in statuses][0] == (first.ref, "open") and len(statuses) == 2


def test_an_alert_link_shows_no_case_data_before_sign_in(app, client, phone):
    intake(phone)
    ref = the_case(app).ref
    page = client.get(f"/cases/{ref}", follow_redirects=True)
    assert page.request.path == "/dashboard/sign-in"
    assert "Mia Lopez" not in page.get_data(as_text=True)
    assert client.get("/cases/not-a-ref").status_code == 404


def test_a_caller_who_cannot_answer_a_question_is_not_trapped(app, phone):
    phone.text("my son is missing")
    phone.text("yes")
    phone.text("Leo")
    phone.text("seven")
    for _ in range(2):
        assert "last seen" in phone.reply("???").lower()
    moved_on = phone.reply("???")
    assert "go on" in moved_on.lower() and "where" in moved_on.lower()
    case = the_case(app)
    assert case.last_seen_when is None and case.age_months == 84


def test_a_texted_1_is_not_the_keypads_skip_at_the_police_report(phone, line):
    # "Press 1 to skip" is a call's keypad convention: a texted "1" is the report number.
    for text in ["my son is missing", "yes", "Leo", "7", "an hour ago", "the park", "red coat"]:
        phone.text(text)
    phone.text("1")
    with line.db.sessions() as s:
        assert s.scalars(select(Case)).one().police_report == "1"


def test_a_texted_1_is_not_the_keypads_skip_at_the_photo(phone, line):
    for text in ["my son is missing", "no", "no", "Leo", "7", "an hour ago", "the park"]:
        phone.text(text)
    phone.text("red coat")
    phone.text("mom")
    said = phone.text("1")  # no photo, and no skip word: asked again
    with line.db.sessions() as s:
        assert s.scalars(select(Caller)).one().state["step"] == "photos"
    assert "photo" in said[-1].lower()
