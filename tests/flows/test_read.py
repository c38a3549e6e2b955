"""flows.read: every reply, at every step, is an answer, a non-answer, a question to the
line, or an event that outranks the step (issue 17's table, row by row)."""

from __future__ import annotations

import pytest

from flows import events as ev
from flows.engine import ACTIVE, ENDED, Inbound, State, run
from flows.intake import intake_flow
from flows.language import confidences
from flows.read import (
    ANSWER,
    EVENT,
    NON_ANSWER,
    QUESTION,
    read,
    split_ages,
    split_names,
    text_language,
)
from intake.core.words import vocabulary

VOCAB = vocabulary()
FLOW = intake_flow("US", VOCAB, confidences)
STEPS = (
    "police_called",
    "child_name",
    "age_months",
    "last_seen_when",
    "last_seen_where",
    "description",
    "police_report",
    "photos",
    "callback_phone",
)


def say(state: State, text: str):
    return run(FLOW, state, Inbound(text=text, sender="+15555550100", channel="sms"))


def walk(*texts: str):
    state, result = State(), None
    for text in texts:
        result = say(state, text)
        state = result.state
    return result


def templates(result) -> list[str]:
    return [r.template for r in result.replies]


def kinds(result) -> list[type]:
    return [type(e) for e in result.events if not isinstance(e, ev.AnswerGiven)]


START = ("my son is missing", "yes", "Eli", "5")  # ends asked "when"


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    "text", ["hmm", "k", "ok", "?", "what?", "\U0001f62d", "...", "huh", "mmm", "bueno"]
)
def test_non_answers_are_never_answers(step, text):
    assert read(VOCAB, step, text).kind == NON_ANSWER


@pytest.mark.parametrize("text", ["idk", "no se", "No sé", "i dont know", "ni idea", "dunno"])
def test_i_dont_know_is_unknown(text):
    reading = read(VOCAB, "last_seen_where", text)
    assert reading.kind == NON_ANSWER and reading.unknown


@pytest.mark.parametrize("text", ["hmm", "idk", "what?", "no se"])
def test_a_non_answer_is_never_kept_as_the_name_place_or_police(text):
    asked_name = walk("my son is missing", "yes").state
    result = say(asked_name, text)
    assert "child_name" not in result.state.answers and result.state.step == "child_name"
    asked_where = walk(*START, "an hour ago").state
    result = say(asked_where, text)
    assert result.state.answers.get("last_seen_where") is None


@pytest.mark.parametrize(
    "text",
    [
        "ya llame otra vez y ya tomaron el reporte",
        "the cops are here now",
        "i called 911 again",
        "7 and 5",
        "around 6pm",
        "20 min ago",
    ],
)
def test_a_police_update_where_the_name_is_asked_is_not_the_name(text):
    asked_name = walk("my son is missing", "yes").state
    result = say(asked_name, text)
    assert "child_name" not in result.state.answers and result.state.step == "child_name"
    assert templates(result)[-1] == "retry_name"


def test_a_time_given_for_the_other_childs_name_is_not_a_name():
    asked_other = walk("my son is missing", "yes", "Eli", "5", "my daughter is missing too")
    assert templates(asked_other)[-1] == "ask_other_child"
    result = say(asked_other.state, "around 6pm")
    names = [c.get("name") for c in result.state.answers.get("children", [])]
    assert "around 6pm" not in names and "around" not in names


def test_unknown_where_is_stored_as_unknown_not_the_words():
    result = say(walk(*START, "an hour ago").state, "idk")
    assert result.state.answers["last_seen_where"] is None
    assert result.state.step == "description"


@pytest.mark.parametrize("text", ["ok", "k", "okay", "sure", "no entiendo", "1"])
def test_ok_at_the_police_question_asks_yes_or_no_again(text):
    result = walk("my son is missing", text)
    assert "police_called" not in result.state.answers
    assert result.state.step == "police_called"
    assert templates(result)[-1] == "retry_police"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("what happens now??", "what_next"),
        ("now what", "what_next"),
        ("que sigue?", "what_next"),
        ("who is this", "who"),
        ("quien es?", "who"),
        ("¿me van a llamar?", "will_call"),
        ("is someone going to call", "will_call"),
        ("can you call the police for me", "police_for_me"),
        ("pueden llamar a la policia por mi?", "police_for_me"),
        ("do i have to wait 24 hours?", "waiting"),
        ("what is ncmec", "ncmec"),
        ("will immigration find out", "privacy"),
    ],
)
def test_questions_to_the_line_have_a_topic(text, topic):
    reading = read(VOCAB, "last_seen_where", text)
    assert (reading.kind, reading.topic) == (QUESTION, topic)


def test_a_question_is_answered_then_the_question_asked_again():
    asked_where = walk(*START, "an hour ago").state
    result = say(asked_where, "what happens now??")
    assert templates(result) == ["answer_what_next", "ask_where"]
    assert result.state.answers == asked_where.answers


def test_what_happens_now_after_the_intake_is_answered():
    done = walk(*START, "1 hr ago", "the park", "red shirt", "skip", "mom", "skip", "same")
    assert done.state.status == "complete"
    result = say(done.state, "what happens now??")
    assert templates(result) == ["answer_what_next"]
    assert result.replies[0].params["done"] is True
    assert kinds(result) == [ev.CaseMessage]


@pytest.mark.parametrize(
    "text",
    [
        "no they said we have to wait 24 hours",
        "state police, they said wait 24 hrs",
        "no quisieron tomar el reporte",
        "they told me to call back tomorrow",
        "dijeron que hay que esperar 24 horas",
        "cops wont take a report",
    ],
)
def test_police_refusing_is_its_own_event(text):
    assert read(VOCAB, "police_called", text).event == "police_refused"
    at_police = walk("my son is missing", text)
    assert at_police.state.answers["police_refused"] is True
    assert at_police.state.answers["police_refused"] is True
    assert ev.PoliceRefused in kinds(at_police)
    at_report = say(walk(*START, "1h ago", "park", "red shirt").state, text)
    assert at_report.state.step == "police_report"
    assert "police_report" not in at_report.state.answers
    said = templates(at_report)
    assert said[-1] == "ask_police_report"
    assert "police_refused" in said or "welcome" in said  # (the welcome says it in Spanish)


def test_asking_about_a_wait_is_a_question_not_a_refusal():
    reading = read(VOCAB, "police_called", "do i have to wait 24 hours?")
    assert reading.kind == QUESTION


@pytest.mark.parametrize(
    "text", ["wait shes back i think", "police found him i think", "a neighbor says hes home"]
)
@pytest.mark.parametrize("asked", [START[:2], START[:4], START[:3] + ("blah",)])
def test_a_hedged_found_is_always_confirmed(text, asked):
    state = walk(*asked).state
    result = say(state, text)
    assert templates(result) == ["ask_confirm_found"]
    assert ev.ChildFound not in kinds(result)
    assert result.state.answers == state.answers


def test_a_second_child_mid_way_is_taken_up_not_stored_as_the_answer():
    asked_when = walk(*START).state
    result = say(asked_when, "my other son is missing too, Noah, hes 4")
    assert "last_seen_when" not in result.state.answers
    children = result.state.answers["children"]
    assert [(c["name"], c["age_months"]) for c in children] == [("Eli", 60), ("Noah", 48)]
    assert templates(result) == ["another_child", "ask_when"]
    later = say(result.state, "20 min ago")
    assert later.state.answers["last_seen_when"]["ago_minutes"] == 20
    assert later.state.step == "last_seen_where"


def test_a_second_child_without_a_name_is_asked_about():
    result = say(walk(*START).state, "her brother is gone too")
    assert templates(result) == ["another_child", "ask_other_child"]
    named = say(result.state, "Mateo, 9")
    assert named.state.answers["children"][1]["name"] == "Mateo"
    assert named.state.answers["children"][1]["age_months"] == 108
    assert templates(named) == ["child_added", "ask_when"]


def test_two_children_found_asks_which_and_never_ends_on_a_guess():
    state = walk("my two kids are missing", "yes", "Liam and Emma", "7 and 5").state
    kids = state.answers["children"]
    assert [(c["name"], c["age_months"]) for c in kids] == [("Liam", 84), ("Emma", 60)]
    asked = say(state, "shes back")
    assert templates(asked) == ["ask_which_child"]
    assert ev.ChildFound not in kinds(asked) and asked.state.status == ACTIVE
    one = say(asked.state, "Emma")
    assert kinds(one) == [ev.OneChildFound] and one.state.status == ACTIVE
    assert templates(one) == ["one_found", "ask_when"]
    last = say(one.state, "FOUND")
    assert kinds(last) == [ev.ChildFound] and last.state.status == ENDED


def test_found_naming_the_child_or_both():
    state = walk("my two kids are missing", "yes", "Liam and Emma").state
    assert kinds(say(state, "we found Liam")) == [ev.OneChildFound]
    both = say(say(state, "FOUND").state, "both")
    assert kinds(both) == [ev.ChildFound]


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("7 and 5", [84, 60]),
        ("7 y 5", [84, 60]),
        ("7, 5", [84, 60]),
        ("2 years and 3 months", [27]),
        ("7", [84]),
        ("the boy is 7 and the girl is 5", [84, 60]),
    ],
)
def test_ages_of_several_children(text, ages):
    assert split_ages(VOCAB, text) == ages


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Liam and Emma", ["Liam", "Emma"]),
        ("Ana y Sofia", ["Ana", "Sofia"]),
        ("Mary Ann Smith", ["Mary Ann Smith"]),
    ],
)
def test_names_of_several_children(text, names):
    assert split_names(text) == names


@pytest.mark.parametrize(
    ("first", "note"),
    [
        ("foster kid ran away from our home", "note_foster"),
        ("I work at the group home, one of our girls left", "note_group_home"),
        ("im her caseworker, she is missing from placement", "note_caseworker_duty"),
    ],
)
def test_a_role_in_the_first_text_brings_its_note_in_the_first_two_replies(first, note):
    result = walk(first)
    second = say(result.state, "yes")
    assert note in templates(result) + templates(second)
    assert templates(result)[0] == "welcome"


def test_a_grandmother_de_crianza_is_family_and_unclear_alone_is_asked():
    assert read(VOCAB, "child_name", "soy su abuela, yo la crie").role == "relative"
    asked = walk(*START[:2], "soy su mamá de crianza")
    assert "child_name" not in asked.state.answers
    assert asked.state.answers.get("relationship") is None


@pytest.mark.parametrize(
    "text",
    ["AYUDA", "Llámenme por favor", "necesito hablar con alguien, mi hijo no llega", "mi hijo"],
)
def test_a_spanish_first_text_is_answered_in_spanish(text):
    assert walk(text).state.lang == "es"


@pytest.mark.parametrize(
    "text",
    ["mi hijo no ha llegado a la casa", "no entiendo", "no hablo ingles", "si", "hace 2 horas"],
)
def test_a_spanish_text_mid_way_switches_and_repeats_the_safety_words(text):
    state = walk("my son is missing", "yes", "Eli", "5").state
    result = say(state, text)
    assert result.state.lang == "es"
    assert "welcome" in templates(result)[:2]  # the safety words again, in Spanish


@pytest.mark.parametrize("text", ["Maria Guadalupe Hernandez", "Jose", "San Antonio"])
def test_a_spanish_name_is_no_switch(text):
    assert text_language(VOCAB, "child_name", text, confidences) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("necesito ayuda con mi nino", "es"),
        ("necesito ayuda", "es"),
        ("mi hija no llega de la escuela", "es"),
        ("my daughter didnt come home from school", "en"),
        ("she was wearing a red jacket", "en"),
    ],
)
def test_language_of_a_text(text, lang):
    assert text_language(VOCAB, "last_seen_when", text, confidences) == lang


def test_a_texted_one_is_no_skip_at_the_police_report_or_photo():
    asked_report = walk(*START, "1h ago", "park", "red shirt").state
    assert read(VOCAB, "police_report", "1").kind == ANSWER
    result = say(asked_report, "1")
    assert result.state.answers["police_report"] == "1"  # a report number, not SKIP


def test_an_event_outranks_the_step_everywhere():
    for step in STEPS:
        assert read(VOCAB, step, "we found him!!").kind == EVENT


@pytest.mark.parametrize("text", ["black hoodie grey sweats", "Walmart on Main Street"])
def test_english_words_in_a_description_keep_a_spanish_conversation_in_spanish(text):
    assert text_language(VOCAB, "description", text, confidences) is None


def test_a_hedged_yes_to_the_confirmation_is_asked_again_and_a_question_answered():
    asked = say(walk(*START[:3]).state, "shes back i think")
    again = say(asked.state, "i think so")
    assert templates(again) == ["ask_confirm_found"] and kinds(again) == []
    answered = say(again.state, "what happens now?")
    assert templates(answered) == ["answer_what_next", "ask_confirm_found"]
    assert kinds(say(answered.state, "yes")) == [ev.ChildFound]


@pytest.mark.parametrize(
    "text", ["my son and my daughter are missing", "mi hijo y mi hija no llegan"]
)
def test_two_children_named_in_the_first_text(text):
    assert len(walk(text).state.answers["children"]) == 2


@pytest.mark.parametrize(
    "text", ["ya llego Kenia, Karla no", "Kenia is home but Karla is still missing"]
)
def test_a_child_said_to_be_still_missing_is_not_marked_found(text):
    state = walk("my two kids are missing", "yes", "Karla and Kenia").state
    result = say(state, text)
    assert ev.OneChildFound in kinds(result) and ev.ChildFound not in kinds(result)
    assert [c["found"] for c in result.state.answers["children"]] == [False, True]
