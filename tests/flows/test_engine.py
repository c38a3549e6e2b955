"""The engine and the intake flow by themselves: pure, no database, no Flask."""

from __future__ import annotations

from flows import events as ev
from flows.engine import ACTIVE, COMPLETE, ENDED, Inbound, Media, State, run
from flows.intake import intake_flow

FLOW = intake_flow("US")
SENDER = "+12125551234"
PHOTO = Media(url="https://api.twilio.com/media/ME1", content_type="image/jpeg")


def say(state: State, text: str = "", media: tuple[Media, ...] = ()):
    return run(FLOW, state, Inbound(text=text, media=media, sender=SENDER))


def templates(result) -> list[str]:
    return [r.template for r in result.replies]


def kinds(result) -> list[type]:
    return [type(e) for e in result.events]


def walk(*texts: str, state: State | None = None):
    """Feed texts in order; return the last result."""
    state = state or State()
    result = None
    for text in texts:
        result = say(state, text)
        state = result.state
    return result


HAPPY_PATH = (
    "my daughter is missing",
    "Mia Lopez",
    "7",
    "2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet, brown hair in a ponytail",
    "yes",
    "Springfield PD, report 24-1187",
    "mom",
    "SKIP",
    "SAME",
)


def test_first_message_gets_the_safety_message_before_the_first_question():
    result = say(State(), "help my son is gone")
    assert templates(result) == ["welcome", "ask_name"]
    assert result.state.status == ACTIVE
    assert result.state.step == "child_name"
    assert kinds(result) == [ev.IntakeStarted]


def test_happy_path_collects_every_answer_and_completes():
    result = walk(*HAPPY_PATH)
    assert result.state.status == COMPLETE
    assert templates(result) == ["summary"]
    completed = [e for e in result.events if isinstance(e, ev.IntakeCompleted)]
    answers = completed[0].answers
    assert answers["child_name"] == "Mia Lopez"
    assert answers["age_months"] == 84
    assert answers["last_seen_when"] == {"text": "2 hours ago", "ago_minutes": 120}
    assert answers["police_called"] is True
    assert answers["police_report"] == "Springfield PD, report 24-1187"
    assert answers["relationship"] == "parent"
    assert answers["photos"] == []
    assert answers["callback_phone"] == SENDER


def test_each_question_is_asked_in_order():
    asked = []
    state = State()
    for text in HAPPY_PATH[:-1]:
        result = say(state, text)
        asked.append(templates(result)[-1])
        state = result.state
    assert asked == [
        "ask_name",
        "ask_age",
        "ask_when",
        "ask_where",
        "ask_description",
        "ask_police",
        "ask_police_report",
        "ask_relationship",
        "ask_photo",
        "ask_callback",
    ]


def test_an_answer_that_cannot_be_understood_is_asked_again_in_plain_words():
    state = walk(*HAPPY_PATH[:2]).state
    result = say(state, "banana")
    assert templates(result) == ["retry_age"]
    assert result.state.step == "age_months"
    assert result.state.retries == 1
    assert say(result.state, "seven").state.step == "last_seen_when"


def test_police_not_called_urges_then_asks_again_then_moves_on():
    state = walk(*HAPPY_PATH[:6]).state
    assert state.step == "police_called"
    first_no = say(state, "no")
    assert templates(first_no) == ["police_urge"]
    assert first_no.state.step == "police_called"
    assert ev.PoliceNotCalled in kinds(first_no)
    second_no = say(first_no.state, "not yet")
    assert templates(second_no) == ["police_reminder", "ask_relationship"]
    assert second_no.state.answers["police_called"] is False


def test_police_report_can_be_skipped():
    result = walk(*HAPPY_PATH[:7], "SKIP")
    assert result.state.answers["police_report"] is None
    assert result.state.step == "relationship"


def test_caseworkers_are_told_of_their_duty_to_report_and_parents_are_not():
    caseworker = walk(*HAPPY_PATH[:8], "I'm her caseworker")
    assert templates(caseworker) == ["note_caseworker_duty", "ask_photo"]
    parent = walk(*HAPPY_PATH[:9])
    assert templates(parent) == ["ask_photo"]


def test_an_adult_is_still_taken_with_a_word_about_adult_reports():
    result = walk(*HAPPY_PATH[:2], "19")
    assert templates(result) == ["note_adult", "ask_when"]
    assert result.state.answers["age_months"] == 19 * 12


def test_a_photo_is_kept_and_a_text_without_one_is_asked_again():
    state = walk(*HAPPY_PATH[:9]).state
    assert templates(say(state, "hold on"))[-1] == "retry_photo"
    result = say(state, "", (PHOTO,))
    assert result.state.answers["photos"] == [{"url": PHOTO.url, "content_type": "image/jpeg"}]
    assert ev.MediaReceived in kinds(result)
    assert result.state.step == "callback_phone"


def test_a_photo_sent_early_is_kept_and_the_photo_question_is_not_asked():
    state = walk(*HAPPY_PATH[:2]).state
    early = say(state, "7", (PHOTO,))
    assert early.state.step == "last_seen_when"
    result = walk(*HAPPY_PATH[3:9], state=early.state)
    assert templates(result)[-1] == "ask_callback"


def test_callback_number_is_validated_and_same_means_the_sender():
    state = walk(*HAPPY_PATH[:10]).state
    assert templates(say(state, "call me maybe"))[-1] == "retry_callback"
    typed = say(state, "(212) 555-0123")
    assert typed.state.answers["callback_phone"] == "+12125550123"


def test_a_short_code_sender_must_type_a_number():
    state = walk(*HAPPY_PATH[:10]).state
    result = run(FLOW, state, Inbound(text="SAME", sender="22395"))
    assert templates(result) == ["retry_callback_number"]


def test_stop_records_the_opt_out_and_says_nothing():
    state = walk(*HAPPY_PATH[:3]).state
    result = say(state, "STOP")
    assert result.replies == ()
    assert kinds(result) == [ev.OptedOut]
    assert result.state == state


def test_help_answers_and_asks_the_current_question_again():
    state = walk(*HAPPY_PATH[:3]).state
    result = say(state, "HELP")
    assert templates(result) == ["help", "ask_when"]
    assert kinds(result) == [ev.AskedForPerson]


def test_help_as_a_first_message_still_says_call_the_police_first():
    result = say(State(), "help")
    assert templates(result) == ["welcome", "help", "ask_name"]


def test_found_ends_the_conversation_and_the_next_text_starts_a_new_intake():
    result = walk(*HAPPY_PATH, "FOUND")
    assert templates(result) == ["found"]
    assert result.state.status == ENDED
    assert kinds(result) == [ev.ChildFound]
    again = say(result.state, "my other child is missing")
    assert templates(again) == ["welcome", "ask_name"]


def test_restart_begins_a_new_intake_from_the_top():
    result = walk(*HAPPY_PATH[:4], "RESTART")
    assert templates(result) == ["welcome", "ask_name"]
    assert result.state.answers == {}
    assert kinds(result)[:2] == [ev.Restarted, ev.IntakeStarted]


def test_spanish_first_message_starts_in_spanish_and_language_can_switch():
    result = say(State(), "Hola, mi hijo esta perdido")
    assert result.state.lang == "es"
    switched = say(result.state, "ENGLISH")
    assert switched.state.lang == "en"
    assert templates(switched) == ["language_set", "ask_name"]
    assert say(switched.state, "ESPAÑOL").state.lang == "es"


def test_texts_after_the_intake_are_case_messages_not_a_new_intake():
    done = walk(*HAPPY_PATH)
    result = say(done.state, "she may be at her friend Ana's house")
    assert templates(result) == ["after_intake"]
    assert kinds(result) == [ev.CaseMessage]
    assert result.state.status == COMPLETE


def test_keyword_words_inside_an_answer_are_answers():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "near the bus stop on 5th")
    assert result.state.answers["last_seen_where"] == "near the bus stop on 5th"


def test_state_survives_a_round_trip_through_json():
    state = walk(*HAPPY_PATH[:5]).state
    assert State.from_dict(state.to_dict()) == state
