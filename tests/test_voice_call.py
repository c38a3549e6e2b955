"""The voice line end to end: whole calls driven as Twilio drives them (signed webhooks,
TwiML followed verb by verb), on a real database, with pages through the fake Twilio."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from intake.core.models import Alert, Case, CaseMedia, Message, Outbound
from intake.core.words import render
from intake.delivery import dispatcher
from intake.infra.transport import TwilioTransport
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import LINE_NUMBER, Phone, signed_post, twilio_settings

CALLER = "+12125551234"
ANA, BEN = "+12125550111", "+12125550122"
FALLBACK = "+12125550199"
NCMEC_SPOKEN = "1, 8 0 0, 8 4 3, 5 6 7 8"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


def add(line, name, phone):
    with line.db.transaction() as s:
        roster.add(s, name, phone)


def call(app, settings, callee=simulator.nobody_answers, sender=CALLER) -> simulator.Call:
    post = simulator.app_post(app)
    return simulator.Call.start(post, settings, sender, to=LINE_NUMBER, callee=callee)


def cases(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def alerts(line) -> list[Alert]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def spoken(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def voice(name: str, lang: str = "en", **params) -> str:
    """The words of a voice template, as a caller hears them (one line)."""
    params = {"org": "Bright Path Family Services", "ref": "", "child_name": "", **params}
    return " ".join(render(name, lang, channel="voice", **params).split())


def worker_of(line, case_id: int) -> str | None:
    with line.db.sessions() as s:
        person = s.get(Case, case_id).assigned_person
        return person.name if person else None


def answer_up_to_the_callback(phone: simulator.Call) -> list[str]:
    """An English intake by keypad and speech up to the callback question (what it says)."""
    phone.silence()  # past the menu
    phone.press("1")  # police called
    phone.say("Mia Lopez")
    phone.press("7#")
    phone.say("about two hours ago")
    phone.say("Elm Park in Springfield")
    phone.say("red coat and blue jeans")
    phone.say("Springfield police report 24 1187")
    return phone.press("1")  # parent


def answer_everything(phone: simulator.Call) -> list[str]:
    """A whole English intake by keypad and speech; returns what was said at the end."""
    answer_up_to_the_callback(phone)
    return phone.press("1")  # this number


# --- the first words ---------------------------------------------------------------------


def test_the_safety_words_come_before_any_question(app, settings):
    phone = call(app, settings)
    first = spoken(phone.heard)
    assert first.index("9 1 1") < first.index("Para español") < first.index("NCMEC")
    assert NCMEC_SPOKEN in first and "waiting period" in first
    assert "police do not tell NCMEC" in first
    assert "?" not in first  # no question before the safety words
    assert phone.spoken[1].language == "es-US"  # "para español, oprima 2" in Spanish


def test_the_greeting_is_said_inside_the_first_gather_spanish_in_its_second_sentence(app, settings):
    # Keys pressed while the safety words are said count: they are the Gather's own words.
    [gather, redirect] = twiml_of(app, settings, "/twilio/voice")
    assert gather.tag == "Gather" and redirect.tag == "Redirect"
    says = [(say.get("language"), say.text) for say in gather]
    assert says[0][1].startswith("If a child is in danger right now")
    assert says[1] == ("es-US", "Para español, oprima 2.")
    assert NCMEC_SPOKEN in " ".join(text for _, text in says[2:])
    assert "press 0" in says[-1][1] and "9" in says[-1][1]


def twiml_of(app, settings, path: str, **fields) -> list[ET.Element]:
    account = simulator.account_sid(settings)
    params = simulator.call_params(CALLER, "CA" + "1" * 32, To=LINE_NUMBER, AccountSid=account)
    params |= fields
    headers = simulator.signed_headers(settings, path, params)
    status, twiml = simulator.app_post(app)(path, params, headers)
    assert status == 200
    return list(ET.fromstring(twiml))


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/twilio/voice", {}),
        ("/twilio/voice/menu", {}),
        ("/twilio/voice/turn", {"Digits": "1"}),
        ("/twilio/voice/turn", {"SpeechResult": "Mia", "Confidence": "0.9"}),
        ("/twilio/voice/turn?silent=1", {}),
    ],
)
def test_every_gather_is_followed_by_a_redirect(app, settings, path, fields):
    twiml_of(app, settings, "/twilio/voice")
    verbs = twiml_of(app, settings, path, **fields)
    gathers = [i for i, verb in enumerate(verbs) if verb.tag == "Gather"]
    assert gathers
    assert all(verbs[i + 1].tag == "Redirect" for i in gathers)


# --- a whole call --------------------------------------------------------------------------


def test_a_whole_call_in_english_by_keypad_and_speech_leaves_a_case(app, line, settings):
    phone = call(app, settings)
    assert phone.current_gather.input == "dtmf"
    phone.silence()
    assert phone.current_gather.num_digits == 1  # yes 1, no 2
    end = spoken(answer_everything(phone))
    [case] = cases(line)
    assert case.channel == "voice" and case.status == "open"
    assert (case.child_name, case.age_months, case.police_called) == ("Mia Lopez", 84, True)
    assert case.last_seen_where == "Elm Park in Springfield"
    assert case.relationship_to_child == "parent" and case.callback_phone == CALLER
    assert ", ".join(case.ref) in end and NCMEC_SPOKEN in end  # the reference, spelled
    assert "press 1" in end.lower()
    assert "photo" not in " ".join(phone.heard[:-1]).lower()  # no photo step on a call


def test_a_whole_call_in_spanish_after_pressing_2(app, line, settings):
    phone = call(app, settings)
    said = spoken(phone.press("2"))
    assert "policía" in said and NCMEC_SPOKEN in said  # the safety words again, in Spanish
    assert phone.current_gather.language == "es-US"
    assert phone.spoken[-1].language == "es-US"
    phone.press("2")  # police not called yet: urged
    phone.press("1")
    phone.say("Sofía")
    assert cases(line)[0].lang == "es" and cases(line)[0].child_name == "Sofía"


def test_the_checklist_by_text_only_when_the_caller_asks(app, line, settings):
    phone = call(app, settings)
    answer_everything(phone)
    with line.db.sessions() as s:
        assert s.scalars(select(Outbound).where(Outbound.kind == "followup")).all() == []
    phone.press("1")
    with line.db.sessions() as s:
        plan = s.scalars(select(Outbound).where(Outbound.kind == "followup")).all()
    assert len(plan) == 6 and all(r.to_phone == CALLER for r in plan)
    left = spoken(phone.heard[-1:])
    assert left == voice("end_options", offer_checklist=False, offer_photo=True)
    phone.press("2")
    with line.db.sessions() as s:
        assert s.scalar(select(Outbound.template).where(Outbound.kind == "photo_request"))
    assert spoken(phone.heard[-1:]) == voice(
        "end_options", offer_checklist=False, offer_photo=False
    )
    phone.silence()
    assert phone.ended


def test_speech_hints_help_where_the_answer_has_expected_words(app, settings):
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    assert phone.current_gather.hints == ""  # a name: free speech
    phone.say("Mia")
    assert "months" in phone.current_gather.hints.split(", ")
    phone.press("7#")
    assert "ago" in phone.current_gather.hints.split(", ")


def test_spanish_speech_hints_are_spelled_as_said(app, settings):
    phone = call(app, settings)
    phone.press("2")
    phone.press("1")
    phone.say("Sofía")
    age = phone.current_gather.hints.split(", ")
    assert phone.current_gather.language == "es-US"
    assert {"año", "años", "recién nacido"} <= set(age) and "ano" not in age
    phone.press("7#")
    when = phone.current_gather.hints.split(", ")
    assert {"mañana", "mediodía", "no sé"} <= set(when) and "manana" not in when


def test_every_speech_hint_is_a_word_the_answer_is_read_with():
    from flows.text import normalize
    from intake.core.words import speech_hints, vocabulary

    vocab = vocabulary()
    known = {
        "age_months": set(vocab.age_units) | set(vocab.newborn),
        "last_seen_when": set(vocab.when) | set(vocab.ago_after) | set(vocab.ago_before),
    }
    for lang in ("en", "es"):
        for step, hints in speech_hints(lang).items():
            unknown = [h for h in hints if normalize(h) not in known[step]]
            assert not unknown, f"{lang}/{step}: the parser does not read {unknown}"


def test_a_low_confidence_answer_is_read_back(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    heard = spoken(phone.say("Mia Lopes", confidence=0.3))
    assert heard == voice("heard", heard="Mia Lopes")
    again = spoken(phone.press("2"))
    assert voice("ask_name") in again and cases(line)[0].child_name is None
    phone.say("Mia Lopez", confidence=0.2)
    phone.press("1")
    assert cases(line)[0].child_name == "Mia Lopez"


def test_silence_asks_twice_then_moves_on_and_a_silent_call_ends_safely(app, line, settings):
    phone = call(app, settings)
    phone.silence()  # the menu
    for _ in range(2):
        assert voice("silence") in spoken(phone.silence())
    moved = spoken(phone.silence())
    assert voice("moving_on") in moved and voice("ask_name") in moved
    assert cases(line)[0].police_called is None
    phone.silence()
    phone.silence()
    last = spoken(phone.silence())
    assert "9 1 1" in last and NCMEC_SPOKEN in last
    assert phone.ended


def test_a_9_year_old_keyed_at_the_age_question_is_an_age_not_the_menu(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    phone.say("Leo")
    said = spoken(phone.press("9#"))
    assert voice("ask_when") in said and NCMEC_SPOKEN not in said
    assert cases(line)[0].age_months == 9 * 12
    assert NCMEC_SPOKEN in spoken(phone.press("9"))  # elsewhere, 9 is the NCMEC number


def test_press_9_says_the_ncmec_number_and_asks_again(app, settings):
    phone = call(app, settings)
    phone.silence()
    again = spoken(phone.press("9"))
    assert NCMEC_SPOKEN in again and voice("ask_police") in again


def test_a_lone_9_at_the_age_question_is_the_ncmec_number_as_promised(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    phone.say("Leo")
    again = spoken(phone.press("9"))  # no pound key: the menu's 9
    assert NCMEC_SPOKEN in again and voice("ask_age") in again
    assert cases(line)[0].age_months is None
    phone.press("9#")
    assert cases(line)[0].age_months == 9 * 12


def test_a_lone_0_at_the_age_question_rings_a_person_not_a_newborn(app, line, settings):
    add(line, "Ana", ANA)
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    phone.say("Leo")
    phone.press("0")
    assert phone.dialled == [ANA]
    assert cases(line)[0].age_months is None


def test_0_and_9_work_while_an_answer_is_read_back(app, line, settings):
    add(line, "Ana", ANA)
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    phone.say("Mia Lopes", confidence=0.3)
    again = spoken(phone.press("9"))
    assert NCMEC_SPOKEN in again and voice("ask_name") in again
    phone.say("Mia Lopes", confidence=0.3)
    phone.press("0")
    assert phone.dialled == [ANA] and cases(line)[0].child_name is None


def test_2_during_the_greeting_is_spanish_and_not_an_answer(app, line, settings):
    phone = call(app, settings)
    said = spoken(phone.press("2"))
    assert voice("ask_police", "es") in said and voice("menu", "es") in said
    assert phone.current_gather.language == "es-US"
    [case] = cases(line)
    assert case.lang == "es" and case.police_called is None
    said = spoken(phone.press("2"))  # at the question, 2 is "no": urged, not a language
    assert said.startswith(voice("police_urge", "es")[:40])
    phone.press("2")
    assert cases(line)[0].police_called is False and cases(line)[0].lang == "es"


def test_a_spanish_caller_is_offered_english_in_the_english_voice(app, line, settings):
    phone = call(app, settings)
    phone.press("2")
    phone.hang_up()
    again = call(app, settings)
    assert again.spoken[0].language == "es-US"
    assert (again.spoken[1].language, again.heard[1]) == ("en-US", "For English, press 2.")
    again.press("2")
    assert again.current_gather.language == "en-US"


# --- reaching a person -----------------------------------------------------------------


def test_press_0_rings_the_chain_and_pressing_1_takes_the_call(app, line, settings):
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)
    who = simulator.callees({BEN: simulator.answers("1")})
    phone = call(app, settings, callee=who)
    phone.silence()
    phone.press("0")
    assert phone.dialled == [ANA, BEN]
    assert [leg.connected for leg in phone.legs] == [True]
    assert "Press 1 to take the call" in spoken([s.text for s in phone.legs[0].heard])
    [case] = cases(line)
    assert worker_of(line, case.id) == "Ben"


def test_pressing_1_on_a_whispered_call_is_kept_with_twilios_metadata(app, line, settings):
    add(line, "Ben", BEN)
    phone = call(app, settings, callee=simulator.callees({BEN: simulator.answers("1")}))
    phone.silence()
    phone.press("0")
    [leg] = phone.legs
    [case] = cases(line)
    with line.db.sessions() as s:
        [kept] = s.scalars(select(Message).where(Message.person_id.is_not(None))).all()
    assert kept.case_id == case.id and kept.body == "1" and kept.direction == "in"
    assert kept.meta["CallSid"] == leg.sid and kept.meta["ParentCallSid"] == phone.sid
    assert kept.meta["To"] == BEN and kept.meta["Direction"] == "outbound-dial"
    assert kept.meta["RemoteAddr"] and "Digits" not in kept.meta


def test_nobody_takes_the_call_so_a_voicemail_is_kept_and_the_chain_alerted(
    app, line, settings, fake
):
    add(line, "Ana", ANA)
    phone = call(app, settings)  # Ana does not pick up
    phone.silence()
    said = spoken(phone.press("0"))
    assert voice("no_one_answered") in said
    phone.say("My son Leo is gone, call me back please")
    assert phone.ended
    [case] = cases(line)
    with line.db.sessions() as s:
        media = s.scalars(select(CaseMedia).where(CaseMedia.case_id == case.id)).all()
    assert [m.content_type for m in media] == ["audio/x-wav"]
    assert [a.reason for a in alerts(line)] == ["voicemail"]
    dispatcher.dispatch(line, TwilioTransport(settings, timeout=2.0), now=line.clock.now())
    assert any(case.ref in m["body"] and "voicemail" in m["body"] for m in fake.messages)


def test_a_voicemail_never_takes_the_call(app, line, settings):
    add(line, "Ana", ANA)
    machine = simulator.callees({ANA: simulator.answers()})  # picks up, presses nothing
    phone = call(app, settings, callee=machine)
    phone.silence()
    phone.press("0")
    assert [leg.connected for leg in phone.legs] == [False]
    assert worker_of(line, cases(line)[0].id) is None


# --- the call ends ---------------------------------------------------------------------


def test_a_caller_who_hangs_up_partway_leaves_a_case_and_wakes_someone(app, line, settings, fake):
    add(line, "Ana", ANA)
    phone = call(app, settings)
    phone.silence()
    phone.press("2")
    phone.press("2")
    phone.say("Leo")
    phone.hang_up()
    [case] = cases(line)
    assert case.child_name == "Leo" and case.police_called is False
    assert [a.reason for a in alerts(line)] == ["hung_up"]
    dispatcher.dispatch(line, TwilioTransport(settings, timeout=2.0), now=line.clock.now())
    assert any("hung up" in m["body"] for m in fake.messages if m["to"] == ANA)


def test_a_call_then_texts_are_the_same_caller_and_the_same_case(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    phone.press("1")
    phone.say("Mia")
    phone.hang_up()
    texts = Phone(app, settings, number=CALLER)
    reply = texts.reply("7")  # the age, by text, on the same intake
    assert render("ask_when", "en", channel="sms") in reply
    [case] = cases(line)
    assert (case.child_name, case.age_months) == ("Mia", 84)


def test_texts_then_a_call_go_on_with_the_same_intake(app, line, settings):
    texts = Phone(app, settings, number=CALLER)
    texts.text("my daughter is missing")
    texts.text("yes")
    phone = call(app, settings)
    said = spoken(phone.silence())
    assert voice("ask_name") in said
    phone.say("Ana")
    assert len(cases(line)) == 1 and cases(line)[0].child_name == "Ana"


# --- bad requests and a broken database -------------------------------------------------


def test_an_unsigned_call_is_refused_and_changes_nothing(app, line):
    params = simulator.call_params(CALLER, "CA" + "2" * 32)
    response = app.test_client().post("/twilio/voice", data=params)
    assert response.status_code == 403 and cases(line) == []


@pytest.mark.parametrize("missing", ["CallSid", "From"])
def test_a_call_without_callsid_or_from_is_a_400(app, line, missing):
    params = simulator.call_params(CALLER, "CA" + "3" * 32)
    params.pop(missing)
    assert signed_post(app, "/twilio/voice", params).status_code == 400


def test_with_the_database_down_the_call_still_hears_the_safety_words(make_app, tmp_path, fake):
    broken = tmp_path / "not-a-database.db"
    broken.write_text("this is not sqlite")
    settings = twilio_settings(
        f"sqlite:///{broken}", tmp_path, fake, fallback_alert_number=FALLBACK
    )
    app = make_app(settings)
    phone = call(app, settings)
    first = spoken(phone.heard)
    assert "9 1 1" in first and NCMEC_SPOKEN in first
    phone.press("0")
    assert phone.dialled == [FALLBACK]


def test_with_the_database_down_and_no_fallback_number_no_key_is_offered(make_app, tmp_path, fake):
    broken = tmp_path / "not-a-database.db"
    broken.write_text("this is not sqlite")
    settings = twilio_settings(f"sqlite:///{broken}", tmp_path, fake)
    phone = call(make_app(settings), settings)
    first = spoken(phone.heard)
    assert "9 1 1" in first and NCMEC_SPOKEN in first
    assert "Press 0" not in first and "call back in a few minutes" in first


def test_nobody_on_call_and_no_fallback_goes_straight_to_a_voicemail(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    said = spoken(phone.press("0"))
    assert voice("no_one_on_call") in said and phone.dialled == []


# --- office hours ------------------------------------------------------------------------

OFFICE = "+12125550155"


@pytest.fixture
def office_app(db_url, tmp_path, fake):
    from intake.app import create_app

    always = ("always",)  # 00:00-23:59 would close the office at 23:59 and fail a test then
    settings = twilio_settings(db_url, tmp_path, fake, office_hours=always, office_number=OFFICE)
    app = create_app(settings)
    yield app, settings
    app.extensions["intake"].db.dispose()


def test_in_office_hours_the_call_hears_the_safety_words_then_goes_to_the_office(office_app):
    app, settings = office_app
    staffed = simulator.callees({OFFICE: simulator.answers(talks=120)})
    phone = call(app, settings, callee=staffed)
    said = spoken(phone.heard)
    assert said.index(NCMEC_SPOKEN) < said.index(voice("office_connecting"))
    assert phone.dialled == [OFFICE] and phone.ended
    assert cases(app.extensions["intake"]) == []


def test_when_nobody_answers_at_the_office_the_after_hours_line_runs(office_app):
    app, settings = office_app
    phone = call(app, settings)  # the office does not pick up
    assert phone.dialled == [OFFICE]
    assert "Para español" in spoken(phone.heard)
    assert voice("ask_police") in spoken(phone.silence())


@pytest.mark.parametrize("duration", ["99999999999999", "-4", "twelve"])
def test_a_voicemail_with_an_odd_duration_is_still_kept(app, line, settings, duration):
    call(app, settings)  # a case for the caller
    account = simulator.account_sid(settings)
    params = simulator.call_params(CALLER, "CA" + "4" * 32, To=LINE_NUMBER, AccountSid=account)
    signed_post(app, "/twilio/voice/menu", params)
    params |= {"RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": duration}
    assert signed_post(app, "/twilio/voice/voicemail", params).status_code == 200
    with line.db.sessions() as s:
        assert s.scalars(select(CaseMedia.content_type)).all() == ["audio/x-wav"]


def test_police_refusing_said_aloud_at_the_yes_no_question_is_heard(app, line, settings):
    """The police question takes speech too: a caller who says the police told them to
    wait hears that there is no waiting period, and the case keeps the refusal."""
    phone = call(app, settings)
    phone.press("2")  # Spanish, at the greeting
    said = spoken(phone.say("no, me dijeron que espere 24 horas"))
    assert "No hay que esperar" in said and "1-800-843-5678" in said
    assert "No oí nada" not in said
    [case] = cases(line)
    assert case.police_refused


def test_the_callback_question_takes_one_key_and_2_asks_for_another_number(app, line, settings):
    """1 (this number) is one key, so it goes at once; 2 asks for the number itself, keyed
    in and ended with #."""
    phone = call(app, settings)
    asked = spoken(answer_up_to_the_callback(phone))
    assert "press 1" in asked and "press 2" in asked
    assert phone.current_gather.num_digits == 1  # a 1 needs no # and no wait
    asked = spoken(phone.press("2"))
    assert "10 digit number" in asked and "pound key" in asked
    assert not phone.current_gather.num_digits and "#" in phone.current_gather.finish_on_key
    phone.press("2125550143#")
    [case] = cases(line)
    assert case.callback_phone == "+12125550143" and case.status == "open"


def test_a_new_caller_who_picks_spanish_on_a_call_is_a_spanish_call_all_the_way(
    app, line, settings
):
    phone = call(app, settings)
    phone.press("2")  # Spanish, at the greeting: the first thing this caller ever does
    [case] = cases(line)
    assert (case.channel, case.lang) == ("voice", "es")
    answer_by_keypad_and_speech(phone, "Sofía", "hace dos horas", "en el parque")
    with line.db.sessions() as s:
        case = s.get(Case, case.id)
        assert (case.channel, case.lang, case.child_name) == ("voice", "es", "Sofía")
        assert case.status == "open"
    assert all(said.language == "es-US" for said in phone.spoken[-3:])


def answer_by_keypad_and_speech(phone: simulator.Call, name: str, when: str, where: str):
    """A whole intake on a call in any language: keys where a key answers, else speech."""
    phone.press("1")  # police called
    phone.say(name)
    phone.press("7#")
    phone.say(when)
    phone.say(where)
    phone.say("abrigo rojo y pantalones azules")
    phone.press("1")  # no police report number (1 skips it on a call)
    phone.press("1")  # parent
    phone.press("1")  # this number


def test_a_caller_who_calls_back_after_the_intake_and_presses_2_hears_it_in_spanish(
    app, line, settings
):
    phone = call(app, settings)
    answer_everything(phone)
    phone.hang_up()
    again = call(app, settings)
    said = spoken(again.press("2"))  # Spanish, at the greeting of the second call
    [case] = cases(line)
    assert case.lang == "es" and ", ".join(case.ref) in said  # the case number, spelled
    assert voice("end_options", "es", offer_checklist=True, offer_photo=True) in said
    assert again.current_gather.language == "es-US"


def test_a_key_said_aloud_on_a_call_counts_as_the_key(app, line, settings):
    phone = call(app, settings)
    phone.silence()
    said = spoken(phone.say("1"))  # "one", for "press 1 if you called the police"
    assert voice("ask_name") in said and cases(line)[0].police_called is True
