"""The inputs only a call sends, through the same engine as texts: silence, coming to the
questions, an unsure answer read back, the end-of-intake offers; keys mean what the voice
adapter's keypad says, and only when they are keys."""

from __future__ import annotations

from flows import events as ev
from flows.engine import (
    ACTIVE,
    CALLED,
    CHECKLIST,
    COMPLETE,
    ENDED,
    HANG_UP,
    KEYS,
    OFFER,
    PHOTO,
    SILENCE,
    SPEECH,
    Inbound,
    State,
    run,
)
from flows.intake import intake_flow
from intake.channels.voice_call import KEYPAD
from intake.core.words import vocabulary

FLOW = intake_flow("US", vocabulary())
SENDER = "+12125551234"


def call(state: State, kind: str, text: str = "", **extra):
    inbound = Inbound(text=text, sender=SENDER, channel="voice", kind=kind, keypad=KEYPAD, **extra)
    return run(FLOW, state, inbound)


def text(state: State, body: str):
    return run(FLOW, state, Inbound(text=body, sender=SENDER, channel="sms"))


def templates(result) -> list[str]:
    return [r.template for r in result.replies]


def at(step: str, status: str = ACTIVE, **answers) -> State:
    return State(status=status, step=step, answers=answers, warned=("en",))


def test_a_call_coming_to_the_questions_starts_an_intake_said_on_a_call():
    started = call(State(), CALLED)
    assert templates(started) == ["welcome", "ask_police"]
    assert [type(e) for e in started.events] == [ev.IntakeStarted]


def test_a_call_after_the_child_was_found_is_a_new_report():
    again = call(State(status=ENDED, lang="es", warned=("es",)), CALLED)
    assert again.state.status == ACTIVE and again.state.lang == "es"
    assert ev.IntakeStarted(lang="es") in again.events


def test_a_call_to_an_intake_at_the_photo_question_passes_it_over_quietly():
    resumed = call(at("photos", police_called=True), CALLED)
    assert templates(resumed) == ["ask_callback"]
    assert resumed.state.answers["photos"] is None


def test_a_call_after_the_intake_hears_the_summary_again():
    done = call(at(None, COMPLETE, police_called=False), CALLED)
    assert templates(done) == ["summary"] and done.replies[0].params["police_called"] is False


def test_silence_passes_the_question_over_as_unknown():
    moved = call(at("police_called"), SILENCE)
    assert templates(moved) == ["moving_on", "ask_name"]
    assert moved.state.answers["police_called"] is None


def test_an_unsure_answer_is_read_back_and_kept_only_when_confirmed():
    heard = call(at("child_name", police_called=True), SPEECH, "Mia Lopes", unsure=True)
    assert templates(heard) == ["heard"] and heard.replies[0].params["heard"] == "Mia Lopes"
    assert "child_name" not in heard.state.answers
    kept = call(heard.state, KEYS, "1")
    assert kept.state.answers["child_name"] == "Mia Lopes" and kept.state.pending is None
    not_kept = call(heard.state, KEYS, "2")
    assert templates(not_kept) == ["ask_name"] and "child_name" not in not_kept.state.answers


def test_the_callers_read_back_is_a_question_in_between_not_a_key_of_its_own():
    heard = call(at("child_name", police_called=True), SPEECH, "Mia Lopes", unsure=True)
    stored = State.from_dict(heard.state.to_dict())
    assert stored == heard.state and "heard" not in heard.state.to_dict()


def test_keys_are_yes_skip_and_same_number_on_a_call_only():
    assert call(at("police_called"), KEYS, "1").state.answers["police_called"] is True
    assert call(at("police_report"), KEYS, "1").state.answers["police_report"] is None
    assert text(at("police_report"), "1").state.answers["police_report"] == "1"
    assert call(at("callback_phone"), KEYS, "1").state.answers["callback_phone"] == SENDER
    other = call(at("callback_phone"), KEYS, "2")
    assert templates(other) == ["ask_callback_number"] and other.state.retries == 0


def test_the_follow_up_texts_go_with_a_texted_intake_and_are_offered_on_a_call():
    by_text = text(at("callback_phone"), "same")
    by_call = call(at("callback_phone"), KEYS, "1")
    [texted] = [e for e in by_text.events if isinstance(e, ev.IntakeCompleted)]
    [called] = [e for e in by_call.events if isinstance(e, ev.IntakeCompleted)]
    assert texted.followups is True and called.followups is False
    taken = call(by_call.state, OFFER, CHECKLIST)
    assert templates(taken) == ["checklist_sent"] and taken.events == (ev.FollowupsWanted(),)
    photo = call(by_call.state, OFFER, PHOTO)
    assert photo.events == (ev.PhotoRequested(),)
    assert call(at("police_called"), OFFER, CHECKLIST).events == ()  # no intake done yet


def test_a_hang_up_mid_intake_is_an_event_and_the_conversation_waits_for_a_call_back():
    mid = call(at("child_name", police_called=True), HANG_UP)
    assert mid.events == (ev.HungUp(),) and mid.replies == ()
    assert mid.state == at("child_name", police_called=True)
    assert call(at(None, COMPLETE), HANG_UP).events == ()  # the intake was done
    assert call(State(), HANG_UP).events == ()  # hung up at the greeting: no intake


def test_a_text_after_a_read_back_left_on_a_call_is_read_as_a_text():
    heard = call(at("child_name", police_called=True), SPEECH, "Mia Lopes", unsure=True)
    asked = text(heard.state, "who is this?")
    assert "heard" not in templates(asked) and templates(asked)[-1] == "ask_name"
    named = text(heard.state, "Mia Lopez")
    assert named.state.answers["child_name"] == "Mia Lopez" and named.state.pending is None
