"""The call driver (intake.simulator.phone.Call) acts as Twilio does for a phone call.

A small Flask app of this module's own answers TwiML built with twilio's VoiceResponse
and checks every signature with RequestValidator, as the real app does. The real app's
on-call alert call is driven too, and the terminal phone (`intake simulate --voice`) is
run as a process against a local server.
"""

from __future__ import annotations

import threading

import pytest
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server

from intake.app import create_app
from intake.devtools.simulate import http_post
from intake.infra import signing
from intake.infra.config import Settings
from intake.infra.transport import TwilioTransport
from intake.simulator.phone import (
    BUSY,
    NO_ANSWER,
    Call,
    CallEnded,
    CallError,
    answers,
    app_post,
    callees,
)
from tests.conftest import BASE_URL, CALLER, TOKEN, Phone, twilio_settings
from tests.test_cli import run_intake
from tests.test_oncall import add, the_alert, the_case, tick
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

ANA, BEN = "+12125550111", "+12125550122"
LINE = "+12125550100"


# --- a small line of the test's own ----------------------------------------------------------


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def ivr_app(base_url: str = BASE_URL) -> Flask:
    """A tiny voice line: a language menu, a name by speech, a GET menu, a Dial with
    screening, a voicemail, and the status callback. It keeps what it was sent."""
    app = Flask(__name__)
    app.config["seen"] = []  # (method, path, values) of every signed request
    validator = RequestValidator(TOKEN)

    @app.before_request
    def signed():
        url = signing.public_url(base_url, request.path, request.query_string.decode())
        signature = request.headers.get(signing.SIGNATURE_HEADER, "")
        if not validator.validate(url, request.form, signature):
            abort(403)
        app.config["seen"].append((request.method, request.path, request.values.to_dict()))

    @app.post("/twilio/voice")
    def welcome():
        r = VoiceResponse()
        r.say("Call the police now.", voice="Polly.Joanna", language="en-US")
        _language_menu(r)
        r.say("We did not hear a key.")
        r.redirect("/twilio/voice/again")
        return twiml(r)

    @app.post("/twilio/voice/again")
    def again():
        r = VoiceResponse()
        _language_menu(r)
        r.say("Goodbye.")
        r.hangup()
        return twiml(r)

    @app.post("/language")
    def language():
        r = VoiceResponse()
        lang = {"1": "en", "2": "es"}.get(request.form["Digits"])
        if lang is None:
            r.say("Sorry, that is not on the menu.")
            r.redirect("/twilio/voice/again")
        else:
            _ask_name(r, lang)
        return twiml(r)

    @app.post("/name")
    def name():
        r = VoiceResponse()
        lang = request.args["lang"]
        if request.args.get("silent"):
            r.say("We will go on without the name.")
            r.hangup()
        elif float(request.form["Confidence"]) < 0.5:
            r.say(f"Did you say {request.form['SpeechResult']}?")
            _ask_name(r, lang)
        else:
            r.say(f"Thank you. We have {request.form['SpeechResult']}.")
            r.redirect("/menu?lang=" + lang, method="GET")
        return twiml(r)

    @app.get("/menu")
    def menu():
        r = VoiceResponse()
        r.gather(num_digits=1, action="/dial").say("Press 4 to reach a person.")
        r.hangup()
        return twiml(r)

    @app.post("/dial")
    def dial():
        r = VoiceResponse()
        r.say("Connecting you to a person.")
        d = r.dial(action="/dialled", timeout=20, caller_id=LINE)
        d.number(ANA, url="/screen")
        d.number(BEN, url="/screen")
        return twiml(r)

    @app.post("/dial-plain")
    def dial_plain():
        r = VoiceResponse()
        r.dial(ANA, timeout=15)  # no action: the document goes on
        r.say("Nobody answered.")
        return twiml(r)

    @app.post("/screen")
    def screen():
        r = VoiceResponse()
        r.gather(num_digits=1, action="/screen/answer").say(
            "A caller needs help. Press 1 to take the call."
        )
        r.say("Nobody pressed a key.")
        r.hangup()
        return twiml(r)

    @app.post("/screen/answer")
    def screen_answer():
        r = VoiceResponse()
        if request.form["Digits"] == "1":
            r.say("Connecting.")  # the TwiML runs out: the two are put through
        else:
            r.hangup()
        return twiml(r)

    @app.post("/dialled")
    def dialled():
        r = VoiceResponse()
        if request.form["DialCallStatus"] == "completed":
            r.say("Thank you for calling.")
            r.hangup()
            return twiml(r)
        r.say("Nobody could answer. Please leave a message.")
        r.record(action="/recorded", max_length=120, timeout=5)
        r.say("We did not get a message.")
        r.hangup()
        return twiml(r)

    @app.post("/recorded")
    def recorded():
        r = VoiceResponse()
        r.say(f"We got your message of {request.form['RecordingDuration']} seconds.")
        r.hangup()
        return twiml(r)

    @app.post("/press-anything")
    def press_anything():
        r = VoiceResponse()
        if "Digits" in request.form:
            r.say(f"You pressed {request.form['Digits']}.")
            return twiml(r)
        r.gather(num_digits=2).say("Press two keys.")  # no action: back to this URL
        return twiml(r)

    @app.post("/loop")
    def loop():
        r = VoiceResponse()
        r.redirect("/loop")
        return twiml(r)

    @app.post("/twilio/voice/status")
    def status():
        return "", 204

    return app


def _language_menu(r: VoiceResponse) -> None:
    gather = r.gather(num_digits=1, action="/language", timeout=6)
    gather.say("For English, press 1.", language="en-US")
    gather.say("Para español, oprima 2.", language="es-US")


def _ask_name(r: VoiceResponse, lang: str) -> None:
    question, code = {
        "en": ("What is your child's first name?", "en-US"),
        "es": ("¿Cómo se llama su hijo?", "es-US"),
    }[lang]
    gather = r.gather(
        input="speech", action=f"/name?lang={lang}", language=code, hints="Leo, Sofía, Mateo"
    )
    gather.say(question, language=code)
    r.redirect(f"/name?lang={lang}&silent=1")


@pytest.fixture
def ivr() -> Flask:
    return ivr_app()


@pytest.fixture
def line_settings(tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        public_base_url=BASE_URL,
        twilio_auth_token=TOKEN,
    )


def seen(app: Flask, path: str) -> list[dict[str, str]]:
    """What the line was sent at this path."""
    return [values for _, p, values in app.config["seen"] if p == path]


def ring(app: Flask, settings: Settings, path: str = "/twilio/voice", **options) -> Call:
    return Call.start(app_post(app), settings, CALLER, path=path, **options)


# --- Say, Gather, Redirect ------------------------------------------------------------------


def test_the_caller_hears_the_welcome_and_presses_2_for_spanish(ivr, line_settings):
    call = ring(ivr, line_settings)
    welcome = ["Call the police now.", "For English, press 1.", "Para español, oprima 2."]
    assert call.heard == welcome
    assert [s.language for s in call.spoken] == ["en-US", "en-US", "es-US"]
    assert call.spoken[0].voice == "Polly.Joanna"
    assert call.current_gather.num_digits == 1 and call.current_gather.timeout == 6

    assert call.press("2") == ["¿Cómo se llama su hijo?"]
    assert call.spoken[-1].language == "es-US"
    question = call.current_gather
    assert question.input == "speech" and question.language == "es-US"
    assert "Sofía" in question.hints
    assert seen(ivr, "/language")[0]["Digits"] == "2"


def test_every_request_is_signed_and_describes_the_call(ivr, line_settings):
    call = ring(ivr, line_settings)
    call.press("1")
    first, second = seen(ivr, "/twilio/voice")[0], seen(ivr, "/language")[0]
    assert first["CallStatus"] == "ringing" and second["CallStatus"] == "in-progress"
    for values in (first, second):
        assert values["CallSid"] == call.sid and values["From"] == CALLER
        assert values["Direction"] == "inbound" and values["ApiVersion"] == "2010-04-01"


def test_a_wrong_token_is_refused_and_the_driver_says_so(ivr, line_settings, tmp_path):
    forged = Settings(
        database_url=line_settings.database_url,
        public_base_url=BASE_URL,
        twilio_auth_token="not-the-token",
    )
    with pytest.raises(CallError, match="HTTP 403"):
        ring(ivr, forged)


def test_a_name_said_with_low_confidence_is_asked_again(ivr, line_settings):
    call = ring(ivr, line_settings)
    call.press("1")
    assert call.say("Leo", confidence=0.3) == [
        "Did you say Leo?",
        "What is your child's first name?",
    ]
    said = call.say("Leo", confidence=0.92)
    assert said == ["Thank you. We have Leo.", "Press 4 to reach a person."]
    answers_sent = seen(ivr, "/name")
    assert [(a["SpeechResult"], a["Confidence"]) for a in answers_sent] == [
        ("Leo", "0.3"),
        ("Leo", "0.92"),
    ]
    [menu] = [v for method, path, v in ivr.config["seen"] if path == "/menu" and method == "GET"]
    assert menu["lang"] == "en" and menu["CallSid"] == call.sid  # a GET carries the fields


def test_silence_falls_through_to_the_redirect_then_the_call_ends(ivr, line_settings):
    call = ring(ivr, line_settings)
    assert call.silence() == [
        "We did not hear a key.",
        "For English, press 1.",
        "Para español, oprima 2.",
    ]
    assert not call.ended
    assert call.silence()[-1] == "Goodbye."
    assert call.ended and call.current_gather is None
    [status] = seen(ivr, "/twilio/voice/status")
    assert status["CallStatus"] == "completed" and status["CallSid"] == call.sid
    assert int(status["CallDuration"]) >= 12  # two 6-second timeouts at least


def test_silence_at_a_speech_question_takes_the_redirect(ivr, line_settings):
    call = ring(ivr, line_settings)
    call.press("1")
    assert call.silence() == ["We will go on without the name."]
    assert call.ended


def test_keys_at_a_speech_only_question_are_not_heard(ivr, line_settings):
    call = ring(ivr, line_settings)
    call.press("1")
    assert call.press("5") == ["We will go on without the name."]
    assert "Digits" not in seen(ivr, "/name")[0]


def test_a_gather_without_action_posts_back_to_its_own_page(ivr, line_settings):
    call = ring(ivr, line_settings, path="/press-anything")
    assert call.heard == ["Press two keys."]
    assert call.press("4711") == ["You pressed 47."]  # numDigits=2 keeps the first two
    assert call.ended and call.ended_by == "end"


def test_the_finish_key_ends_the_digits(ivr, line_settings):
    call = ring(ivr, line_settings, path="/press-anything")
    assert call.press("9#1") == ["You pressed 9."]


def test_a_redirect_loop_stops_with_a_clear_error(ivr, line_settings):
    with pytest.raises(CallError, match="Redirect loop"):
        ring(ivr, line_settings, path="/loop")
    assert 50 <= len(seen(ivr, "/loop")) <= 51


# --- Dial with screening, and a voicemail ---------------------------------------------------


def test_the_first_person_does_not_answer_the_second_presses_1(ivr, line_settings):
    people = callees({ANA: NO_ANSWER, BEN: answers("1", talks=240)})
    call = ring(ivr, line_settings, path="/dial", callee=people)
    assert call.dialled == [ANA, BEN]
    assert call.heard == ["Connecting you to a person.", "Thank you for calling."]
    [leg] = call.legs
    assert leg.number == BEN and leg.connected
    assert leg.heard[0].text == "A caller needs help. Press 1 to take the call."
    [screening] = seen(ivr, "/screen")
    assert screening["To"] == BEN and screening["From"] == LINE  # the Dial's callerId
    assert screening["CallSid"] == leg.sid != call.sid
    assert screening["ParentCallSid"] == call.sid
    [outcome] = seen(ivr, "/dialled")
    assert outcome["DialCallStatus"] == "completed" and outcome["DialCallDuration"] == "240"
    assert outcome["CallSid"] == call.sid and outcome["DialCallSid"] == leg.sid
    assert call.ended


def test_nobody_presses_1_so_the_dial_reports_no_answer(ivr, line_settings):
    people = callees({ANA: answers(), BEN: answers("7")})  # Ana stays silent, Ben presses 7
    call = ring(ivr, line_settings, path="/dial", callee=people)
    assert call.dialled == [ANA, BEN]
    assert [leg.connected for leg in call.legs] == [False, False]
    assert call.legs[0].heard[-1].text == "Nobody pressed a key."
    assert seen(ivr, "/dialled")[0]["DialCallStatus"] == "no-answer"
    assert call.heard[-1] == "Nobody could answer. Please leave a message."
    assert call.current_record is not None and call.current_record.max_length == 120


def test_a_dial_without_action_goes_on_with_the_next_verb(ivr, line_settings):
    call = ring(ivr, line_settings, path="/dial-plain")
    assert call.dialled == [ANA] and call.heard == ["Nobody answered."]
    assert call.ended and call.ended_by == "end"  # the TwiML ran out: Twilio hangs up
    assert int(seen(ivr, "/twilio/voice/status")[0]["CallDuration"]) >= 15  # it rang 15 s


def test_everyone_busy_reports_busy(ivr, line_settings):
    call = ring(ivr, line_settings, path="/dial", callee=callees({}, default=BUSY))
    assert seen(ivr, "/dialled")[0]["DialCallStatus"] == "busy"
    assert call.legs == []


def test_a_message_left_after_the_beep_reaches_the_action(ivr, line_settings):
    call = ring(ivr, line_settings, path="/dial")
    said = call.say("My son Leo is missing, he is seven, please call me back")
    [recording] = call.recorded
    assert said == [f"We got your message of {recording.duration} seconds."]
    [posted] = seen(ivr, "/recorded")
    assert posted["RecordingSid"] == recording.sid and posted["RecordingUrl"] == recording.url
    assert int(posted["RecordingDuration"]) == recording.duration > 0
    assert call.ended


def test_no_message_runs_the_next_verb_without_asking_the_action(ivr, line_settings):
    call = ring(ivr, line_settings, path="/dial")
    assert call.silence() == ["We did not get a message."]
    assert call.recorded == [] and seen(ivr, "/recorded") == []
    assert call.ended and call.ended_by == "hangup"


# --- the caller hangs up --------------------------------------------------------------------


def test_hanging_up_mid_call_tells_the_status_callback_and_nothing_else(ivr, line_settings):
    call = ring(ivr, line_settings)
    assert call.hang_up() == []
    assert call.ended and call.ended_by == "caller"
    [status] = seen(ivr, "/twilio/voice/status")
    assert status["CallStatus"] == "completed"
    assert seen(ivr, "/language") == []
    with pytest.raises(CallEnded):
        call.press("1")


# --- the real line's on-call alert call -----------------------------------------------------


@pytest.fixture
def alerting(db_url, tmp_path, fake):
    """The real app with a worker reached by phone, and the page for a completed intake."""
    settings = twilio_settings(db_url, tmp_path, fake)
    app = create_app(settings)
    line = app.extensions["intake"]
    add(line, "Ana", ANA, by="call")
    intake(Phone(app, settings))
    tick(line, TwilioTransport(settings, timeout=2.0))
    yield app, settings, line
    line.db.dispose()


def test_the_on_call_worker_answers_the_alert_call_and_presses_1(alerting, fake):
    app, settings, line = alerting
    [placed] = fake.calls
    call = Call.answer(
        app_post(app),
        settings,
        ANA,
        placed["url"],
        sid=placed["sid"],
        status_callback=placed["status_callback"],
    )
    assert any("Press 1" in text for text in call.heard)
    assert call.current_gather.num_digits == 1
    said = call.press("1")
    assert any("is yours" in text for text in said)
    assert call.ended and call.ended_by == "hangup"
    assert the_alert(line).status == "acked"
    assert the_case(line).assigned_person_id is not None
    told = call.requests[-1]  # Twilio reports the finished call to its status callback
    assert told.path.startswith("/twilio/call-status?outbox=") and told.status == 204
    assert told.params["CallStatus"] == "completed" and told.params["CallSid"] == placed["sid"]


def test_the_worker_who_stays_silent_hears_the_alert_twice_then_goodbye(alerting, fake):
    app, settings, line = alerting
    [placed] = fake.calls
    call = Call.answer(app_post(app), settings, ANA, placed["url"], sid=placed["sid"])
    alert = [t for t in call.heard if "Press 1" in t]
    assert len(alert) == 2
    call.silence()
    assert call.ended and the_alert(line).status != "acked"


# --- the terminal phone -----------------------------------------------------------------------


@pytest.fixture
def served_ivr():
    """The test's line on a real local port; its public base URL is that address."""
    holder: dict[str, Flask] = {}

    def app(environ, start_response):
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.port}"
    holder["app"] = ivr_app(base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, holder["app"]
    server.shutdown()
    thread.join()


def test_the_terminal_phone_speaks_and_takes_key_presses(served_ivr, tmp_path):
    base, app = served_ivr
    env = {"PUBLIC_BASE_URL": base, "TWILIO_AUTH_TOKEN": TOKEN}
    stdin = "1\nsay@0.3: Leo\nsay: Leo\n4\ny\n1\n"
    done = run_intake(
        ["simulate", "--voice", "--from", CALLER, "--url", base], tmp_path, stdin=stdin, **env
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[en-US] Call the police now." in out and "[es-US] Para español, oprima 2." in out
    assert "Did you say Leo?" in out and "Thank you. We have Leo." in out
    assert "answers? [y/N]" in out
    assert "A caller needs help. Press 1 to take the call." in out  # what the worker heard
    assert "Thank you for calling." in out and "call ended" in out
    assert seen(app, "/dialled")[0]["DialCallStatus"] == "completed"


def test_the_terminal_phone_hangs_up(served_ivr, tmp_path):
    base, app = served_ivr
    env = {"PUBLIC_BASE_URL": base, "TWILIO_AUTH_TOKEN": TOKEN}
    done = run_intake(
        ["simulate", "--voice", "--from", CALLER, "--url", base],
        tmp_path,
        stdin="\nhangup\n",
        **env,
    )
    assert done.returncode == 0, done.stderr
    assert "We did not hear a key." in done.stdout
    assert seen(app, "/twilio/voice/status")[0]["CallStatus"] == "completed"


def test_http_post_sends_a_get_for_a_get_redirect(served_ivr, line_settings):
    base, app = served_ivr
    settings = Settings(database_url="sqlite://", public_base_url=base, twilio_auth_token=TOKEN)
    call = Call.start(http_post(base), settings, CALLER)
    call.press("1")
    call.say("Mateo", confidence=0.8)
    assert call.heard[-1] == "Press 4 to reach a person."
    assert ("GET", "/menu") in [(m, p) for m, p, _ in app.config["seen"]]
