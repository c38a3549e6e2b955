"""The engine and the intake flow by themselves: pure, no database, no Flask."""

from __future__ import annotations

import pytest

from flows import events as ev
from flows.engine import (
    ACTIVE,
    CLOSED,
    COMPLETE,
    ENDED,
    MAX_RETRIES,
    NEW,
    Inbound,
    Media,
    State,
    run,
)
from flows.intake import intake_flow
from intake.core.words import vocabulary

FLOW = intake_flow("US", vocabulary())
SENDER = "+12125551234"
PHOTO = Media(url="https://api.twilio.com/media/ME1", content_type="image/jpeg")
VOICE = Media(url="https://api.twilio.com/media/ME2", content_type="audio/amr")
VCARD = Media(url="https://api.twilio.com/media/ME3", content_type="text/vcard")


def say(state: State, text: str = "", media: tuple[Media, ...] = ()):
    return run(FLOW, state, Inbound(text=text, media=media, sender=SENDER, channel="sms"))


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
    "yes",
    "Mia Lopez",
    "7",
    "2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet, brown hair in a ponytail",
    "Springfield PD, report 24-1187",
    "mom",
    "SKIP",
    "SAME",
)


def test_first_message_gets_the_safety_message_before_the_first_question():
    result = say(State(), "my son is gone")
    assert templates(result) == ["welcome", "ask_police"]
    assert result.state.status == ACTIVE
    assert result.state.step == "police_called"
    assert kinds(result) == [ev.IntakeStarted, ev.ReportedMissing]
    assert kinds(say(State(), "hello")) == [ev.IntakeStarted]  # no sign of a missing child


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
        "ask_police",
        "ask_name",
        "ask_age",
        "ask_when",
        "ask_where",
        "ask_description",
        "ask_police_report",
        "ask_relationship",
        "ask_photo",
        "ask_callback",
    ]


def test_an_answer_that_cannot_be_understood_is_asked_again_in_plain_words():
    state = walk(*HAPPY_PATH[:3]).state
    result = say(state, "banana")
    assert templates(result) == ["retry_age"]
    assert result.state.step == "age_months"
    assert result.state.retries == 1
    assert say(result.state, "seven").state.step == "last_seen_when"


def test_police_not_called_urges_then_asks_again_then_moves_on():
    state = walk(*HAPPY_PATH[:1]).state
    assert state.step == "police_called"
    first_no = say(state, "no")
    assert templates(first_no) == ["police_urge"]
    assert first_no.state.step == "police_called"
    assert ev.PoliceNotCalled in kinds(first_no)
    second_no = say(first_no.state, "not yet")
    assert templates(second_no) == ["police_reminder", "ask_name"]
    assert second_no.state.answers["police_called"] is False
    at_report = walk(*HAPPY_PATH[2:7], state=second_no.state)
    assert at_report.state.step == "relationship"  # no report question without a call


def test_police_report_can_be_skipped():
    result = walk(*HAPPY_PATH[:7], "SKIP")
    assert result.state.answers["police_report"] is None
    assert result.state.step == "relationship"


def test_caseworkers_are_told_of_their_duty_to_report_and_parents_are_not():
    caseworker = walk(*HAPPY_PATH[:8], "I'm her caseworker")
    assert templates(caseworker) == ["note_caseworker_duty", "ask_photo"]
    foster = walk(*HAPPY_PATH[:8], "foster mom")
    assert templates(foster) == ["note_foster", "ask_photo"]
    parent = walk(*HAPPY_PATH[:9])
    assert templates(parent) == ["ask_photo"]


def test_an_adult_is_still_taken_with_a_word_about_adult_reports():
    result = walk(*HAPPY_PATH[:3], "19")
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
    state = walk(*HAPPY_PATH[:3]).state
    early = say(state, "7", (PHOTO,))
    assert early.state.step == "last_seen_when"
    result = walk(*HAPPY_PATH[4:9], state=early.state)
    assert templates(result)[-1] == "ask_callback"


def test_callback_number_is_validated_and_same_means_the_sender():
    state = walk(*HAPPY_PATH[:10]).state
    assert templates(say(state, "whenever"))[-1] == "retry_callback"
    typed = say(state, "(212) 555-0123")
    assert typed.state.answers["callback_phone"] == "+12125550123"


def test_a_short_code_sender_must_type_a_number():
    state = walk(*HAPPY_PATH[:10]).state
    result = run(FLOW, state, Inbound(text="SAME", sender="22395", channel="sms"))
    assert templates(result) == ["retry_callback_number"]


def test_stop_records_the_opt_out_and_confirms_it():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "STOP")
    assert templates(result) == ["opted_out"]  # the SMS adapter leaves Twilio's words unsaid
    assert kinds(result) == [ev.OptedOut]
    assert result.state == state


def test_help_answers_and_asks_the_current_question_again():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "HELP")
    assert templates(result) == ["help", "ask_when"]
    assert kinds(result) == [ev.AskedForPerson]


def test_help_as_a_first_message_still_says_call_the_police_first():
    result = say(State(), "help")
    assert templates(result) == ["welcome", "help", "ask_police"]


def test_found_ends_the_conversation_and_only_a_new_report_starts_another():
    result = walk(*HAPPY_PATH, "FOUND")
    assert templates(result) == ["found"]
    assert result.state.status == ENDED
    assert kinds(result) == [ev.ChildFound]
    thanks = say(result.state, "thank you so much")
    assert templates(thanks) == ["after_found"]
    assert thanks.events == () and thanks.state.status == ENDED
    again = say(result.state, "my other child is missing")
    assert templates(again) == ["welcome", "ask_police"]
    assert kinds(again) == [ev.IntakeStarted, ev.ReportedMissing]
    assert templates(say(result.state, "RESTART")) == ["welcome", "ask_police"]


def test_restart_begins_a_new_intake_from_the_top():
    result = walk(*HAPPY_PATH[:5], "RESTART")
    assert templates(result) == ["welcome", "ask_police"]
    assert result.state.answers == {}
    assert kinds(result)[:2] == [ev.Restarted, ev.IntakeStarted]


def test_spanish_first_message_starts_in_spanish_and_language_can_switch():
    result = say(State(), "Hola, mi hijo esta perdido")
    assert result.state.lang == "es"
    switched = say(result.state, "ENGLISH")
    assert switched.state.lang == "en"
    assert templates(switched) == ["language_set", "welcome", "ask_police"]
    back = say(switched.state, "ESPAÑOL")
    assert back.state.lang == "es"
    assert templates(back) == ["language_set", "ask_police"]  # had it in Spanish already


def test_switching_to_spanish_midway_repeats_the_safety_message_in_spanish_once():
    state = walk(*HAPPY_PATH[:4]).state
    switched = say(state, "español")
    assert templates(switched) == ["language_set", "welcome", "ask_when"]
    assert switched.state.lang == "es" and switched.state.step == "last_seen_when"
    assert switched.state.answers == state.answers
    again = say(say(switched.state, "english").state, "espanol")
    assert templates(again) == ["language_set", "ask_when"]


def test_texts_after_the_intake_are_case_messages_not_a_new_intake():
    done = walk(*HAPPY_PATH)
    result = say(done.state, "she may be at her friend Ana's house")
    assert templates(result) == ["after_intake"]
    assert kinds(result) == [ev.CaseMessage]
    assert result.state.status == COMPLETE


def test_keyword_words_inside_an_answer_are_answers():
    state = walk(*HAPPY_PATH[:5]).state
    result = say(state, "near the bus stop on 5th")
    assert result.state.answers["last_seen_where"] == "near the bus stop on 5th"


def test_state_survives_a_round_trip_through_json():
    state = walk(*HAPPY_PATH[:6]).state
    assert State.from_dict(state.to_dict()) == state


# --- keywords win even when media comes with them ---------------------------


def test_found_with_a_photo_ends_the_intake_and_keeps_the_photo_on_the_case():
    state = walk(*HAPPY_PATH[:5]).state
    result = say(state, "FOUND", (PHOTO,))
    assert templates(result) == ["found"]
    assert result.state.status == ENDED
    assert kinds(result) == [ev.MediaReceived, ev.ChildFound]
    assert result.events[0].media == (PHOTO,)


def test_found_with_a_photo_after_the_intake_keeps_the_photo_first():
    done = walk(*HAPPY_PATH).state
    result = say(done, "we found her", (PHOTO,))
    assert kinds(result) == [ev.MediaReceived, ev.ChildFound]
    assert result.state.status == ENDED


def test_help_with_media_answers_help_and_keeps_the_media():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "HELP", (VOICE,))
    assert templates(result) == ["help", "ask_when"]
    assert kinds(result) == [ev.MediaReceived, ev.AskedForPerson]
    assert result.state.step == "last_seen_when"
    assert "photos" not in result.state.answers


def test_stop_with_media_opts_out_and_keeps_the_media():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "STOP", (PHOTO,))
    assert templates(result) == ["opted_out"]
    assert kinds(result) == [ev.MediaReceived, ev.OptedOut]
    assert result.state == state


def test_a_keyword_with_media_before_any_intake_emits_no_media_of_its_own():
    result = say(State(), "FOUND", (PHOTO,))
    assert kinds(result) == [ev.ChildFound]


def test_help_with_a_photo_as_a_first_message_starts_the_intake_with_the_photo():
    result = say(State(), "help", (PHOTO,))
    assert templates(result) == ["welcome", "help", "ask_police"]
    assert kinds(result) == [ev.IntakeStarted, ev.MediaReceived, ev.AskedForPerson]
    assert result.state.answers["photos"] == [{"url": PHOTO.url, "content_type": "image/jpeg"}]


def test_restart_with_a_photo_puts_it_on_the_new_intake_once():
    state = walk(*HAPPY_PATH[:5]).state
    result = say(state, "RESTART", (PHOTO,))
    assert kinds(result) == [ev.Restarted, ev.IntakeStarted, ev.MediaReceived]
    assert result.state.answers == {"photos": [{"url": PHOTO.url, "content_type": "image/jpeg"}]}


# --- only images answer the photo question -------------------------------------


@pytest.mark.parametrize("media", [VOICE, VCARD])
def test_other_media_sent_early_is_kept_but_the_photo_question_is_still_asked(media):
    state = walk(*HAPPY_PATH[:3]).state
    early = say(state, "7", (media,))
    assert ev.MediaReceived in kinds(early)
    assert early.state.answers.get("photos") in (None, [])
    result = walk(*HAPPY_PATH[4:9], state=early.state)
    assert templates(result)[-1] == "ask_photo"


def test_other_media_in_the_first_message_is_kept_but_is_not_a_photo():
    result = say(State(), "my son is missing", (VOICE,))
    assert kinds(result) == [ev.IntakeStarted, ev.ReportedMissing, ev.MediaReceived]
    assert "photos" not in result.state.answers


def test_only_the_images_of_mixed_media_sent_early_become_photos():
    state = walk(*HAPPY_PATH[:3]).state
    early = say(state, "7", (VOICE, PHOTO))
    assert early.state.answers["photos"] == [{"url": PHOTO.url, "content_type": "image/jpeg"}]
    assert early.events[0] == ev.MediaReceived(media=(VOICE, PHOTO))


def test_a_voice_note_at_the_photo_question_is_kept_and_the_photo_asked_again():
    state = walk(*HAPPY_PATH[:9]).state
    result = say(state, "", (VOICE,))
    assert templates(result) == ["retry_photo"]
    assert ev.MediaReceived in kinds(result)


# --- a caller is never trapped on one question ---------------------------------


def test_the_third_unclear_answer_is_taken_as_unknown_and_the_intake_goes_on():
    state = walk(*HAPPY_PATH[:3]).state
    for n in range(1, MAX_RETRIES + 1):
        result = say(state, "banana")
        assert templates(result) == ["retry_age"]
        assert result.state.retries == n
        state = result.state
    result = say(state, "no idea at all")
    assert templates(result) == ["moving_on", "ask_when"]
    assert result.state.step == "last_seen_when"
    assert result.state.retries == 0
    assert result.state.answers["age_months"] is None
    assert result.state.answers["age_months_unparsed"] == "no idea at all"
    assert ev.AnswerGiven(key="age_months", value=None) in result.events


def test_a_clear_answer_after_retries_is_taken_and_resets_the_count():
    state = walk(*HAPPY_PATH[:3], "banana", "banana").state
    assert state.retries == 2
    result = say(state, "7")
    assert templates(result) == ["ask_when"]
    assert result.state.answers["age_months"] == 84
    assert "age_months_unparsed" not in result.state.answers
    assert result.state.retries == 0


def test_being_stuck_on_the_last_question_still_completes_the_intake():
    state = walk(*HAPPY_PATH[:10]).state
    result = walk("whenever", "dunno", "whatever", state=state)
    assert templates(result) == ["moving_on", "summary"]
    assert result.state.status == COMPLETE
    assert result.state.answers["callback_phone"] is None
    assert result.state.answers["callback_phone_unparsed"] == "whatever"
    assert kinds(result)[-2:] == [ev.AnswerGiven, ev.IntakeCompleted]


def test_being_stuck_on_the_photo_question_moves_on():
    state = walk(*HAPPY_PATH[:9]).state
    result = walk("hold on", "wait", "one sec", state=state)
    assert templates(result) == ["moving_on", "ask_callback"]
    assert result.state.answers["photos"] is None


def test_three_unclear_police_answers_move_on_as_unknown():
    state = walk(*HAPPY_PATH[:1]).state
    result = walk("hmm", "umm", "banana", state=state)
    assert templates(result) == ["moving_on", "ask_name"]
    assert result.state.answers["police_called"] is None
    assert result.state.answers["police_called_unparsed"] == "banana"
    assert ev.PoliceNotCalled not in kinds(result)


def test_urging_the_police_call_does_not_count_as_being_stuck():
    state = walk(*HAPPY_PATH[:1]).state
    urged = say(state, "no")
    assert templates(urged) == ["police_urge"]
    assert urged.state.retries == 0
    unclear = walk("hmm", "umm", state=urged.state)
    assert templates(unclear) == ["retry_police"]
    assert unclear.state.retries == 2
    result = say(unclear.state, "banana")
    assert templates(result) == ["moving_on", "ask_name"]
    assert result.state.answers["police_called"] is None


def test_a_no_after_unclear_police_answers_is_still_urged_once():
    state = walk(*HAPPY_PATH[:1], "hmm", "umm").state
    urged = say(state, "no")
    assert templates(urged) == ["police_urge"]
    assert ev.PoliceNotCalled in kinds(urged)
    second_no = say(urged.state, "no")
    assert templates(second_no) == ["police_reminder", "ask_name"]
    assert second_no.state.answers["police_called"] is False


def test_an_unknown_police_answer_skips_the_report_question():
    state = walk(*HAPPY_PATH[:1], "hmm", "umm").state
    unknown = say(state, "banana").state
    result = walk(*HAPPY_PATH[2:7], state=unknown)
    assert result.state.step == "relationship"


def test_the_retry_count_survives_a_round_trip_through_json():
    state = walk(*HAPPY_PATH[:3], "banana", "banana").state
    restored = State.from_dict(state.to_dict())
    assert templates(say(restored, "banana")) == ["moving_on", "ask_when"]


# --- opt-out confirmation --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["stop texting me", "please stop", "STOP STOP", "don't text me", "parar", "no más mensajes"],
)
def test_every_stop_phrase_opts_out_and_is_confirmed(text):
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, text)
    assert templates(result) == ["opted_out"]
    assert kinds(result) == [ev.OptedOut]
    assert result.state == state


def test_a_stop_phrase_before_any_intake_is_confirmed_without_starting_one():
    result = say(State(), "no me envien mas mensajes")
    assert templates(result) == ["opted_out"]
    assert result.state.status == NEW


# --- after FOUND, after a close, and intents wherever they come -------------------------


def closed(state: State) -> State:
    return State(status=CLOSED, lang=state.lang, warned=state.warned)


def test_after_a_close_an_update_goes_to_the_case_and_a_new_report_starts_an_intake():
    after = closed(walk(*HAPPY_PATH).state)
    update = say(after, "hello? still no sign of him")
    assert templates(update) == ["after_close"]
    assert kinds(update) == [ev.CaseMessage] and update.state.status == CLOSED
    assert templates(say(after, "Leo")) == ["after_close"]  # an answer to the worker
    new = say(after, "my daughter is missing now")
    assert templates(new) == ["welcome", "ask_police"]
    assert kinds(new) == [ev.IntakeStarted, ev.ReportedMissing]


def test_after_a_close_help_and_found_act_on_the_case_without_a_new_intake():
    after = closed(walk(*HAPPY_PATH).state)
    assert kinds(say(after, "can someone call me")) == [ev.AskedForPerson]
    assert templates(say(after, "can someone call me")) == ["help"]
    found = say(after, "we found him at his dad's")
    assert kinds(found) == [ev.ChildFound] and found.state.status == ENDED


def test_after_found_help_start_and_language_answer_without_a_new_intake():
    ended = walk(*HAPPY_PATH, "FOUND").state
    assert templates(say(ended, "HELP")) == ["help"]
    assert templates(say(ended, "START")) == ["opted_in"]
    assert templates(say(ended, "ESPANOL")) == ["language_set"]
    assert say(ended, "still no sign of him").state.status == ENDED


def test_asking_for_a_person_mid_intake_alerts_and_keeps_the_question():
    state = walk(*HAPPY_PATH[:3]).state
    result = say(state, "can i talk to someone please")
    assert templates(result) == ["help", "ask_age"]
    assert kinds(result) == [ev.AskedForPerson]
    assert result.state.step == "age_months"


def test_we_found_him_mid_intake_ends_it_as_found():
    state = walk(*HAPPY_PATH[:4]).state
    result = say(state, "We found him!! he was at the neighbor's")
    assert templates(result) == ["found"] and kinds(result) == [ev.ChildFound]


def test_an_unsure_found_is_confirmed_before_anything_is_kept():
    state = walk(*HAPPY_PATH[:5]).state  # asked where
    result = say(state, "found his bike by the river")
    assert "last_seen_where" not in result.state.answers
    assert templates(result) == ["ask_confirm_found"] and kinds(result) == []
    no = say(result.state, "no")
    assert templates(no) == ["not_confirmed", "ask_where"] and kinds(no) == []
    yes = say(result.state, "yes")
    assert templates(yes) == ["found"] and kinds(yes) == [ev.ChildFound]
    done = say(walk(*HAPPY_PATH).state, "i think that's him in the video")
    assert templates(done) == ["ask_confirm_found"] and kinds(done) == [ev.CaseMessage]


def test_the_summary_carries_whether_the_police_were_called():
    assert walk(*HAPPY_PATH).replies[-1].params == {"police_called": True}
    not_called = walk(HAPPY_PATH[0], "no", "no", *HAPPY_PATH[2:7], *HAPPY_PATH[8:])
    assert not_called.replies[-1].params == {"police_called": False}


@pytest.mark.parametrize("text", ["ok calling now", "im calling them now", "estoy llamando"])
def test_a_caller_dialling_the_police_now_counts_as_calling(text):
    result = walk(HAPPY_PATH[0], text)
    assert result.state.answers["police_called"] is True
    assert templates(result) == ["ask_name"]


def test_what_do_i_do_at_the_police_question_gets_the_urge_not_a_dry_retry():
    result = walk(HAPPY_PATH[0], "what do i do??")
    assert templates(result) == ["police_urge"]
    assert result.state.retries == 0
    again = say(result.state, "what now?")  # once urged, a question is asked again plainly
    assert templates(again) == ["retry_police"]


@pytest.mark.parametrize("text", ["no pic sorry", "i dont have one rn", "no tengo foto ahorita"])
def test_saying_there_is_no_photo_in_any_words_skips_it(text):
    state = walk(*HAPPY_PATH[:9]).state
    assert state.step == "photos"
    assert templates(say(state, text))[-1] == "ask_callback"


def test_a_photo_after_the_photo_question_was_passed_over_is_kept():
    state = walk(*HAPPY_PATH[:9], "hold on", "wait", "one sec").state
    assert state.step == "callback_phone" and state.answers["photos"] is None
    result = say(state, "", (PHOTO,))
    assert result.state.answers["photos"] == [{"url": PHOTO.url, "content_type": "image/jpeg"}]
    assert ev.MediaReceived in kinds(result)


def test_skip_on_when_where_and_description_leaves_them_unknown_and_goes_on():
    state = walk(*HAPPY_PATH[:4]).state
    when = say(state, "skip")
    assert templates(when) == ["ask_where"]
    where = say(when.state, "none")
    assert templates(where) == ["ask_description"]
    description = say(where.state, "Skip.")
    assert templates(description) == ["ask_police_report"]
    answers = description.state.answers
    assert answers["last_seen_when"] is answers["last_seen_where"] is answers["description"] is None
    assert "description_unparsed" not in answers  # nothing left for a person to decipher


def test_a_skip_phrase_inside_a_description_is_part_of_the_description():
    state = walk(*HAPPY_PATH[:6]).state
    words = "dont have a photo, she has a red coat and glasses"
    result = say(state, words)
    assert templates(result) == ["ask_police_report"]
    assert result.state.answers["description"] == words


def test_a_child_reported_missing_after_the_intake_is_told_how_to_report_another_child():
    done = walk(*HAPPY_PATH)
    other = say(done.state, "now my other son is missing too, he didnt come home")
    assert templates(other) == ["after_intake_missing"]
    assert kinds(other) == [ev.CaseMessage, ev.ReportedMissing]  # kept on the case all the same
    assert other.state == done.state
    for update in ("still no sign of her", "she may be at her friend Ana's house"):
        assert templates(say(done.state, update)) == ["after_intake"]


def test_a_message_without_its_channel_is_an_error_not_a_text():
    with pytest.raises(TypeError):
        Inbound(text="my son is missing", sender=SENDER)  # noqa - the channel is left out
